"""Checkpoint / resume: fit 2N epochs == fit N, checkpoint, resume to 2N (bit for bit)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from neuralab.models import MLPClassifier, MLPRegressor, Perceptron, load
from neuralab.train import Callback

N = 6
CASES = {
    "sgd-momentum": dict(optimizer="sgd", lr=0.1, momentum=0.9, batch_size=16),
    "adam-schedule": dict(optimizer="adam", lr=0.01, schedule="step",
                          schedule_params={"step_size": 4, "gamma": 0.5}, batch_size=32),
    "dropout-nesterov": dict(lr=0.05, momentum=0.9, nesterov=True, dropout=0.2, batch_size=8),
    "rmsprop-bn-cosine": dict(optimizer="rmsprop", lr=0.01, batch_norm=True, batch_size=20,
                              schedule="cosine", schedule_params={"T_max": 2 * N}),
    "ensemble-dropout": dict(lr=[0.05, 0.1, 0.2], momentum=0.5, dropout=0.1, batch_size=16,
                             n_models=3),
}


def _assert_same(a, b):
    wa, wb = a.checkpoint(), b.checkpoint()
    assert sorted(wa) == sorted(wb)
    for key in wa:
        np.testing.assert_array_equal(wa[key], wb[key], err_msg=key)
    assert a.history_.to_dict() == b.history_.to_dict() or all(
        np.array_equal(a.history_[k], b.history_[k], equal_nan=True) for k in a.history_.keys())


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_resume_equals_uninterrupted(moons, case):
    X, y = moons
    Xv, yv = X[::4], y[::4]
    kw = dict(hidden=(8, 6), random_state=7, **CASES[case])
    full = MLPClassifier(epochs=2 * N, **kw).fit(X, y, validation=(Xv, yv))
    half = MLPClassifier(epochs=N, **kw).fit(X, y, validation=(Xv, yv))
    ckpt = half.checkpoint()
    resumed = MLPClassifier(epochs=2 * N, **kw).fit(X, y, validation=(Xv, yv), resume=ckpt)
    _assert_same(full, resumed)


def test_resume_from_file_and_from_callback(moons, tmp_path):
    """A checkpoint saved by a callback in on_epoch_end resumes exactly."""
    X, y = moons
    kw = dict(hidden=(8,), lr=0.1, momentum=0.9, batch_size=16, random_state=3, epochs=8)

    class SaveAt(Callback):
        def on_epoch_end(self, est, epoch, logs):
            if epoch == 3:
                est.save_checkpoint(tmp_path / "ckpt.npz")

    full = MLPClassifier(**kw, callbacks=[SaveAt()]).fit(X, y)
    resumed = MLPClassifier(**kw).fit(X, y, resume=tmp_path / "ckpt.npz")
    _assert_same(full, resumed)


def test_resume_perceptron_and_regressor(moons):
    X, y = moons
    full = Perceptron(epochs=8, random_state=1).fit(X, y)
    half = Perceptron(epochs=4, random_state=1).fit(X, y)
    _assert_same(full, Perceptron(epochs=8, random_state=1).fit(X, y, resume=half.checkpoint()))
    ens = dict(n_models=4, init="random", lr=[0.01, 0.1, 0.5, 1.0], random_state=1)
    full = Perceptron(epochs=8, **ens).fit(X, y)
    half = Perceptron(epochs=4, **ens).fit(X, y)
    _assert_same(full, Perceptron(epochs=8, **ens).fit(X, y, resume=half.checkpoint()))
    t = X.sum(axis=1)
    kw = dict(hidden=(5,), optimizer="adam", lr=0.01, batch_size=10, random_state=2)
    full = MLPRegressor(epochs=6, **kw).fit(X, t)
    half = MLPRegressor(epochs=3, **kw).fit(X, t)
    _assert_same(full, MLPRegressor(epochs=6, **kw).fit(X, t, resume=half.checkpoint()))


def test_resume_refuses_other_parameters(moons):
    X, y = moons
    half = MLPClassifier(hidden=(4,), epochs=2, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="lr"):
        MLPClassifier(hidden=(4,), epochs=4, lr=0.5, random_state=0).fit(
            X, y, resume=half.checkpoint())


def test_keyboard_interrupt_keeps_last_epoch(moons):
    X, y = moons
    seen = {}

    class Interrupt(Callback):
        def on_epoch_end(self, est, epoch, logs):
            seen[epoch] = est.checkpoint()
            if epoch == 2:
                raise KeyboardInterrupt

        def on_train_end(self, est, logs):
            seen["end"] = logs

    est = MLPClassifier(hidden=(4,), epochs=5, random_state=0, callbacks=[Interrupt()])
    with pytest.raises(KeyboardInterrupt):
        est.fit(X, y)
    assert seen["end"]["interrupted"] is True
    assert len(est.history_) == 2
    resumed = MLPClassifier(hidden=(4,), epochs=5, random_state=0).fit(X, y, resume=seen[2])
    _assert_same(MLPClassifier(hidden=(4,), epochs=5, random_state=0).fit(X, y), resumed)


def test_partial_fit_continues(moons):
    X, y = moons
    kw = dict(hidden=(4,), lr=0.1, batch_size=16, random_state=0)
    full = MLPClassifier(epochs=4, **kw).fit(X, y)
    step = MLPClassifier(epochs=2, **kw).fit(X, y)
    step.partial_fit(X, y, epochs=2)
    for k, v in full.net_.state_dict().items():
        np.testing.assert_array_equal(v, step.net_.state_dict()[k])
    fresh = MLPClassifier(**kw).partial_fit(X, y, classes=[0, 1])
    assert len(fresh.history_) == 1
    with pytest.raises(ValueError, match="not in classes"):
        MLPClassifier(**kw).partial_fit(X, y + 5, classes=[0, 1])


SCRIPT = textwrap.dedent("""
    import sys, numpy as np
    from neuralab.models import MLPClassifier
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3)); y = (X[:, 0] * X[:, 1] > 0).astype(int)
    MLPClassifier(hidden=(10, 10), lr=0.1, momentum=0.9, dropout=0.1, batch_size=16,
                  epochs=5, random_state=42).fit(X, y).save(sys.argv[1])
""")


def test_same_seed_same_bytes_in_fresh_processes(tmp_path):
    paths = [tmp_path / "a.npz", tmp_path / "b.npz"]
    for p in paths:
        subprocess.run([sys.executable, "-c", SCRIPT, str(p)], check=True)
    a, b = load(paths[0]), load(paths[1])
    for key, value in a.net_.state_dict().items():
        assert value.tobytes() == b.net_.state_dict()[key].tobytes()


def _as_written_before_the_rename(state):
    """A checkpoint whose parameters use the old name ``seed`` (files written before the
    estimators took scikit-learn's ``random_state``)."""
    from neuralab.io import from_json_text, json_text

    def rename(params):
        if isinstance(params.get("estimator"), dict):  # OneVsRest had no random_state
            inner = params["estimator"]
            return {"estimator": {**inner, "params": rename(inner["params"])}}
        return {("seed" if k == "random_state" else k): v for k, v in params.items()}

    out = dict(state)
    for key in [k for k in state if k.endswith("meta/params")]:
        params = from_json_text(state[key])
        assert "random_state" in params and "seed" not in params
        out[key] = json_text(rename(params))
    return out


def test_files_with_the_old_seed_parameter_still_load(moons, tmp_path):
    from neuralab.io import load_arrays, save_arrays
    from neuralab.models import OneVsRest

    X, y = moons
    est = MLPClassifier(hidden=(4,), epochs=3, random_state=5).fit(X, y)
    old = _as_written_before_the_rename(est.checkpoint())
    path = tmp_path / "old.npz"
    save_arrays(path, {"estimator": "MLPClassifier"}, old)
    back = load(path)
    assert back.random_state == 5 and "seed" not in back.get_params()
    np.testing.assert_array_equal(back.predict_proba(X), est.predict_proba(X))
    # resuming from an old checkpoint compares parameters under their new names
    longer = MLPClassifier(hidden=(4,), epochs=6, random_state=5).fit(X, y, resume=old)
    _assert_same(longer, MLPClassifier(hidden=(4,), epochs=6, random_state=5).fit(X, y))

    ovr = OneVsRest(Perceptron(epochs=2, random_state=1)).fit(X, y)
    ovr.save(tmp_path / "ovr.npz")
    header, arrays = load_arrays(tmp_path / "ovr.npz")
    save_arrays(tmp_path / "ovr-old.npz", header, _as_written_before_the_rename(arrays))
    back = load(tmp_path / "ovr-old.npz")
    assert back.estimator.random_state == 1
    assert back.estimators_[0].random_state == 1
    np.testing.assert_array_equal(back.predict(X), ovr.predict(X))
