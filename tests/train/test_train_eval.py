"""What the estimator's evaluation costs: one eval-mode forward pass per set and evaluation
epoch, in the model's dtype, and metrics equal to a direct computation."""

from __future__ import annotations

import numpy as np
import pytest

from neuralab import nn
from neuralab.models import MLPClassifier, MLPRegressor
from neuralab.train import Callback, accuracy, evaluate

rng = np.random.default_rng(0)
X = rng.normal(size=(300, 4))  # float64, as NumPy and scikit-learn hand it over
Y = (X[:, 0] - X[:, 2] > 0).astype(int)


class CountForwards(Callback):
    """Wraps the network's forward to record (training mode, dtype, rows) of every call."""

    def __init__(self):
        self.calls = []

    def on_train_begin(self, est):
        net = est.net_
        forward = net.forward

        def counted(x):
            self.calls.append((net.training, x.dtype, len(x)))
            return forward(x)

        net.forward = counted


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_evaluation_is_one_forward_pass_per_set_in_the_model_dtype(cls, dtype):
    spy = CountForwards()
    y = Y if cls is MLPClassifier else X @ np.array([1.0, -2.0, 0.5, 0.0])
    Xv, yv = X[:50], y[:50]
    cls(hidden=(8,), epochs=3, batch_size=64, dtype=dtype, random_state=1,
        callbacks=[spy], train_metrics="full").fit(X, y, validation=(Xv, yv))
    evals = [c for c in spy.calls if not c[0]]
    # 3 evaluation epochs × (training set + validation set), each one forward over its rows
    assert sum(rows for _, _, rows in evals) == 3 * (len(X) + len(Xv))
    assert all(dt == np.dtype(dtype) for _, dt, _ in spy.calls)  # no astype on the way


def test_history_metrics_equal_a_direct_evaluation_after_every_epoch():
    seen = {}

    class Snapshot(Callback):
        def on_epoch_end(self, est, epoch, logs):
            Xf = X.astype(np.float32)
            loss, acc = evaluate(est.net_, nn.SoftmaxCrossEntropy(), Xf, Y,
                                 lambda out: accuracy(Y, out.argmax(-1)))
            seen[epoch] = (loss, acc)

    est = MLPClassifier(hidden=(8,), epochs=3, batch_size=32, random_state=2,
                        callbacks=[Snapshot()], train_metrics="full").fit(X, Y)
    for epoch, (loss, acc) in seen.items():
        assert est.history_.train_loss[epoch - 1] == pytest.approx(loss, rel=1e-6)
        assert est.history_.train_acc[epoch - 1] == acc


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_default_training_metrics_cost_no_extra_pass(cls):
    """By default train_loss/train_acc come from the epoch's own batches: the only
    eval-mode forward passes are over the validation set."""
    spy = CountForwards()
    y = Y if cls is MLPClassifier else X @ np.array([1.0, -2.0, 0.5, 0.0])
    Xv, yv = X[:50], y[:50]
    est = cls(hidden=(8,), epochs=3, batch_size=64, random_state=1, callbacks=[spy])
    est.fit(X, y, validation=(Xv, yv))
    evals = [rows for training, _, rows in spy.calls if not training]
    assert sum(evals) == 3 * len(Xv)
    assert np.isfinite(est.history_.train_loss).all()


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_running_metrics_of_full_batch_gd_are_the_last_epochs_full_pass(cls):
    """Full-batch GD takes one step per epoch, after its forward pass: the running metrics of
    epoch e are the full-pass metrics of the weights at the end of epoch e - 1."""
    y = Y if cls is MLPClassifier else X @ np.array([1.0, -2.0, 0.5, 0.0])
    kw = dict(hidden=(8,), epochs=4, batch_size="full", optimizer="sgd", lr=0.1,
              random_state=5, dtype="float64")
    running = cls(train_metrics="running", **kw).fit(X, y).history_
    full = cls(train_metrics="full", **kw).fit(X, y).history_
    np.testing.assert_allclose(running.train_loss[1:], full.train_loss[:-1], rtol=1e-10)
    if cls is MLPClassifier:
        np.testing.assert_array_equal(running.train_acc[1:], full.train_acc[:-1])


def test_a_target_accuracy_measures_the_epochs_end_weights():
    """auto: a target accuracy (and the perceptron) judge the weights at the epoch's end."""
    est = MLPClassifier(hidden=(8,), epochs=50, target_accuracy=0.9, random_state=0).fit(X, Y)
    assert est._cfg["train_metrics"] == "full"
    assert MLPClassifier(random_state=0).fit(X, Y)._cfg["train_metrics"] == "running"


class _ReadOnlySpy(CountForwards):
    changes_weights = False  # lets full-batch training reuse the evaluation's forward


class _Touching(Callback):
    """A user callback that may change weights (the default): no reuse."""


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_full_batch_gd_reuses_the_training_sets_evaluation(cls):
    """With full training metrics and full batches, each epoch after the first starts from
    the forward pass the evaluation just did: one forward over X per epoch, not two, and
    bit for bit the same training."""
    y = Y if cls is MLPClassifier else X @ np.array([1.0, -2.0, 0.5, 0.0])
    kw = dict(hidden=(8,), epochs=5, batch_size="full", optimizer="sgd", lr=0.1,
              random_state=3, train_metrics="full")
    spy = _ReadOnlySpy()
    primed = cls(callbacks=[spy], **kw).fit(X, y, validation=(X[:50], y[:50]))
    over_x = [training for training, _, rows in spy.calls if rows == len(X)]
    assert over_x.count(False) == 5 and over_x.count(True) == 1  # 5 evaluations, 1 start
    plain = cls(callbacks=[_Touching()], **kw).fit(X, y, validation=(X[:50], y[:50]))
    for (name, a, _), (_, b, _) in zip(primed.net_.named_parameters(),
                                       plain.net_.named_parameters(), strict=True):
        np.testing.assert_array_equal(a, b, err_msg=name)
    np.testing.assert_array_equal(primed.history_.train_loss, plain.history_.train_loss)
    np.testing.assert_array_equal(primed.history_.batch_loss, plain.history_.batch_loss)


def test_dropout_networks_are_never_primed():
    spy = _ReadOnlySpy()
    MLPClassifier(hidden=(8,), dropout=0.2, epochs=3, batch_size="full", random_state=0,
                  train_metrics="full", callbacks=[spy]).fit(X, Y)
    assert [t for t, _, rows in spy.calls if rows == len(X)].count(True) == 3
