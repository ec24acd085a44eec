"""The shared loop: callback order and logs, history, metrics, the Trainer on its own."""

from __future__ import annotations

import numpy as np
import pytest

from neuralab import nn
from neuralab.models import MLPClassifier
from neuralab.optim import SGD
from neuralab.train import (
    Callback,
    History,
    Trainer,
    accuracy,
    confusion_matrix,
    evaluate,
    per_class_error,
    predict_chunks,
    r2_score,
)

rng = np.random.default_rng(0)
X = rng.normal(size=(64, 2))
Y = (X[:, 0] + X[:, 1] > 0).astype(int)


class Recorder(Callback):
    def __init__(self):
        self.calls = []

    def on_train_begin(self, est):
        self.calls.append(("begin",))

    def on_epoch_begin(self, est, epoch):
        self.calls.append(("epoch_begin", epoch))

    def on_epoch_end(self, est, epoch, logs):
        assert len(est.history_) == epoch  # the epoch is complete when callbacks see it
        self.calls.append(("epoch_end", epoch, dict(logs)))

    def on_train_end(self, est, logs):
        self.calls.append(("end", logs))


def test_callback_order_and_logs():
    rec = Recorder()
    MLPClassifier(hidden=(4,), epochs=3, eval_every=2, random_state=0, callbacks=[rec]).fit(
        X, Y, validation=(X, Y))
    kinds = [c[0] for c in rec.calls]
    assert kinds == ["begin"] + ["epoch_begin", "epoch_end"] * 3 + ["end"]
    logs = [c[2] for c in rec.calls if c[0] == "epoch_end"]
    assert [lg["evaluated"] for lg in logs] == [False, True, True]
    for key in ("epoch", "step", "lr", "batch_loss", "evaluated", "seconds"):
        assert key in logs[0]
    assert {"train_loss", "train_acc", "val_loss", "val_acc"} <= set(logs[1])
    assert logs[2]["step"] == 3 * 2  # 64 samples / batch 32 = 2 steps per epoch


def test_callback_can_stop_training():
    class StopAt2(Callback):
        def on_epoch_end(self, est, epoch, logs):
            if epoch == 2:
                est.stop_training_ = True

    clf = MLPClassifier(hidden=(4,), epochs=10, random_state=0, callbacks=[StopAt2()]).fit(X, Y)
    assert len(clf.history_) == 2


def test_train_loss_is_full_set_eval_mode_when_asked():
    clf = MLPClassifier(hidden=(8,), dropout=0.5, epochs=2, batch_size=8, random_state=0,
                        train_metrics="full").fit(X, Y)
    Xf = X.astype(np.float32)
    loss, acc = evaluate(clf.net_, nn.SoftmaxCrossEntropy(), Xf, Y,
                         lambda out: accuracy(Y, out.argmax(-1)))
    assert clf.history_.train_loss[-1] == pytest.approx(loss, rel=1e-6)
    assert clf.history_.train_acc[-1] == acc
    assert clf.history_.batch_loss[-1] != clf.history_.train_loss[-1]


def test_trainer_alone_runs_plain_sgd():
    g = np.random.default_rng(0)
    net = nn.Sequential(nn.Linear(2, 2, rng=g, dtype=np.float64, input_grad=False))
    trainer = Trainer(net, nn.SoftmaxCrossEntropy(), SGD(net, 0.5), gens=[g], batch_size=None)
    first = trainer.train_epoch(X, Y)
    for _ in range(20):
        trainer.end_epoch()
        last = trainer.train_epoch(X, Y)
    assert last < first and trainer.step == 21


def test_history_table():
    h = History()
    h.append({"epoch": 1, "train_loss": 0.5, "seconds": 1.0})
    h.append({"epoch": 2, "val_loss": 0.4})
    assert len(h) == 2 and "seconds" not in h.keys()
    np.testing.assert_array_equal(h.train_loss, [0.5, np.nan])
    np.testing.assert_array_equal(h["val_loss"], [np.nan, 0.4])
    back = History.from_arrays(h.to_arrays())
    assert np.array_equal(back.train_loss, h.train_loss, equal_nan=True)
    assert h.to_dict()["epoch"] == [1, 2]
    with pytest.raises(AttributeError, match="no 'val_acc'"):
        _ = h.val_acc
    e = History()
    e.append({"epoch": 1, "train_loss": np.array([1.0, 2.0])})
    e.append({"epoch": 2})
    assert e.train_loss.shape == (2, 2)
    assert e.member(1).train_loss.tolist()[0] == 2.0
    one = History()  # an ensemble of one member: rows (1,), an unevaluated epoch NaN
    one.append({"epoch": 1, "test_acc": np.array([0.5])})
    one.append({"epoch": 2})
    np.testing.assert_array_equal(one.test_acc, [[0.5], [np.nan]])


def test_metrics():
    y = np.array([0, 0, 1, 1, 2])
    p = np.array([0, 1, 1, 1, 0])
    assert accuracy(y, p) == pytest.approx(0.6)
    assert accuracy(y, np.stack([p, y])).tolist() == [0.6, 1.0]
    cm = confusion_matrix(y, p, 3)
    assert cm.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    np.testing.assert_allclose(per_class_error(y, p, 3), [0.5, 0.0, 1.0])
    t = np.array([1.0, 2.0, 3.0])
    assert r2_score(t, t) == 1.0
    assert r2_score(t, np.full(3, 2.0)) == 0.0
    assert r2_score(t, np.stack([t, t])).shape == (2,)


def test_chunked_evaluation_matches_one_pass():
    g = np.random.default_rng(1)
    net = nn.Sequential(nn.Linear(2, 3, rng=g, dtype=np.float64), nn.Tanh(),
                        nn.Linear(3, 2, rng=g, dtype=np.float64))
    whole = predict_chunks(net, X, chunk=1000)
    parts = predict_chunks(net, X, chunk=7)
    np.testing.assert_allclose(whole, parts, rtol=1e-12)
    l1, _ = evaluate(net, nn.SoftmaxCrossEntropy(), X, Y, chunk=1000)
    l2, _ = evaluate(net, nn.SoftmaxCrossEntropy(), X, Y, chunk=5)
    assert l1 == pytest.approx(l2, rel=1e-12)


def test_running_metrics_weigh_every_sample_once():
    """With a zero learning rate the weights never move, so the running metrics of an epoch
    of uneven batches (8, 8, ..., 8 and a last one of 8 - 64 % 24 ...) equal the full pass."""
    g = np.random.default_rng(3)
    net = nn.Sequential(nn.Linear(2, 3, rng=g, dtype=np.float64, input_grad=False))
    trainer = Trainer(net, nn.SoftmaxCrossEntropy(), SGD(net, 0.5), gens=[g], batch_size=24)
    trainer.base_lr = 0.0

    def correct(out, t):
        return (out.argmax(-1) == t).sum()

    trainer.train_epoch(X, Y, correct)  # batches of 24, 24, 16
    loss, acc = evaluate(net, nn.SoftmaxCrossEntropy(), X, Y, lambda o: accuracy(Y, o.argmax(-1)))
    assert trainer.running["loss"] == pytest.approx(loss, rel=1e-12)
    assert trainer.running["acc"] == pytest.approx(acc, rel=1e-12)
