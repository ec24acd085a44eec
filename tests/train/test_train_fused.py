"""The training loop takes ``fused_backward_step`` (the fused step) exactly when it may, and
it trains the same model as ``backward(); step()``."""

from __future__ import annotations

import os

import numpy as np
import pytest

import neuralab.optim.fused as fused_module
from neuralab.models import MLPClassifier, MLPRegressor
from neuralab.train import Callback

rng = np.random.default_rng(0)
X = rng.normal(size=(48, 5))
Y = (X[:, 0] - X[:, 1] + 0.3 * X[:, 2] > 0).astype(int)


@pytest.fixture
def one_blas_thread():
    """The fused step runs only with single-threaded BLAS (and SciPy)."""
    pytest.importorskip("scipy")
    threadpoolctl = pytest.importorskip("threadpoolctl")
    import scipy.linalg.blas  # noqa: F401  (loaded before the limit is applied)

    with threadpoolctl.threadpool_limits(1):
        yield


@pytest.fixture
def fused_calls(monkeypatch):
    """Counts the Linear layers updated by the fused step (a spy around the real function)."""
    calls = []
    real = fused_module._fused_linear_step

    def spy(layer, g, lr, need_in):
        done, g_in = real(layer, g, lr, need_in)
        calls.append(done)
        return done, g_in

    monkeypatch.setattr(fused_module, "_fused_linear_step", spy)
    return calls


def _fit(cls=MLPClassifier, y=Y, **kw):
    params = {**dict(hidden=(7, 6), dtype="float64", lr=0.2, epochs=4, random_state=3), **kw}
    return cls(**params).fit(X, y)


def _assert_close(a, b, tol=1e-10):
    sa, sb = a.net_.state_dict(), b.net_.state_dict()
    for key in sa:
        np.testing.assert_allclose(sa[key], sb[key], rtol=0, atol=tol, err_msg=key)
    np.testing.assert_allclose(a.history_["batch_loss"], b.history_["batch_loss"], rtol=0,
                               atol=tol)


@pytest.mark.parametrize("kw", [
    dict(batch_size=1),
    dict(batch_size=5, schedule="step", schedule_params={"step_size": 2, "gamma": 0.5}),
    dict(batch_size="full", dropout=0.2),
    dict(batch_size=8, batch_norm=True, shuffle=False),
], ids=["bs1", "bs5-schedule", "full-dropout", "bs8-batchnorm"])
def test_fused_equals_plain_and_is_taken(one_blas_thread, fused_calls, monkeypatch, kw):
    fused = _fit(**kw)
    n_fused = len(fused_calls)
    assert n_fused > 0 and all(fused_calls)  # every Linear of every step took the fused step
    monkeypatch.setenv("NEURALAB_FUSED", "0")
    plain = _fit(**kw)
    assert len(fused_calls) == n_fused  # the escape hatch: not one fused call more
    _assert_close(fused, plain)
    # the fused path leaves the weights different from the plain path only by rounding
    assert fused.score(X, Y) == plain.score(X, Y)


def test_fused_regressor_equals_plain(one_blas_thread, fused_calls, monkeypatch):
    y = X @ rng.normal(size=(5, 2))
    fused = _fit(MLPRegressor, y=y, batch_size=4)
    assert fused_calls
    monkeypatch.setenv("NEURALAB_FUSED", "0")
    _assert_close(fused, _fit(MLPRegressor, y=y, batch_size=4))


class GradReader(Callback):
    needs_grads = True

    def on_epoch_end(self, est, epoch, logs):
        pass


@pytest.mark.parametrize("kw", [
    dict(l2=1e-3),                       # the penalty is added to the gradients
    dict(l1=1e-3),
    dict(n_models=2),                    # ensembles keep backward(); step()
    dict(optimizer="adam", lr=0.01),     # not SGD
    dict(momentum=0.9),                  # SGD, but not plain: the two-call form
    dict(weight_decay=1e-3),
    dict(callbacks=[GradReader()]),      # a callback reads gradients
], ids=["l2", "l1", "ensemble", "adam", "momentum", "weight-decay", "callback-needs-grads"])
def test_fused_step_not_taken_where_inexact(one_blas_thread, fused_calls, kw):
    _fit(batch_size=6, **kw)
    assert not any(fused_calls)


def test_fused_off_with_several_blas_threads(fused_calls):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    import scipy.linalg.blas  # noqa: F401

    if os.cpu_count() < 2:
        pytest.skip("one core: BLAS runs one thread anyway")
    with threadpoolctl.threadpool_limits(2):
        _fit(batch_size=6)
    assert not any(fused_calls)  # the step falls back: NumPy's and SciPy's pools


def test_trainer_fused_attribute_and_env(monkeypatch):
    est = _fit(batch_size=6, epochs=1)
    trainer = est._trainer
    assert trainer.uses_fused_step()
    trainer.fused = False
    assert not trainer.uses_fused_step()
    trainer.fused = None
    monkeypatch.setenv("NEURALAB_FUSED", "0")
    assert not trainer.uses_fused_step()


def test_resume_with_fused_step_is_exact(one_blas_thread, fused_calls):
    kw = dict(hidden=(8, 6), random_state=7, lr=0.1, batch_size=4, schedule="step",
              schedule_params={"step_size": 2, "gamma": 0.5})
    full = MLPClassifier(epochs=6, **kw).fit(X, Y)
    half = MLPClassifier(epochs=3, **kw).fit(X, Y)
    resumed = MLPClassifier(epochs=6, **kw).fit(X, Y, resume=half.checkpoint())
    assert fused_calls and all(fused_calls)
    a, b = full.checkpoint(), resumed.checkpoint()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
