"""Member i of an ensemble equals the single model trained with member i's seed."""

from __future__ import annotations

import numpy as np
import pytest

from neuralab.models import LogisticRegression, MLPClassifier, MLPRegressor
from neuralab.rng import spawn_seeds

E = 8


def _pairs(cls, X, y, **kw):
    ens = cls(n_models=E, dtype="float64", seed=123, **kw).fit(X, y)
    seeds = spawn_seeds(123, E)
    for i in range(E):
        single_kw = dict(kw)
        for name in ("lr", "momentum"):
            if np.ndim(kw.get(name, 0)) > 0:
                single_kw[name] = kw[name][i]
        single = cls(dtype="float64", seed=seeds[i], **single_kw).fit(X, y)
        yield i, ens, single


def _assert_member_equal(ens, single, i, tol=1e-9):
    got = ens.member(i).net_.state_dict()
    want = single.net_.state_dict()
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=0, atol=tol, err_msg=name)
        np.testing.assert_allclose(ens.net_.state_dict()[name][i], want[name], rtol=0,
                                   atol=tol, err_msg=name)


@pytest.mark.parametrize("case", [
    dict(batch_size="full", epochs=50),                       # 50 full-batch steps
    dict(batch_size=1, epochs=5),                             # 10 samples x 5 = 50 steps
    dict(batch_size=1, epochs=5, dropout=0.3),
    dict(batch_size="full", epochs=50, dropout=0.2, lr=list(np.linspace(0.05, 0.4, E)),
         momentum=[0.0, 0.5, 0.9, 0.0, 0.5, 0.9, 0.0, 0.5]),
    dict(batch_size=4, epochs=17, optimizer="adam", lr=0.01, batch_norm=True),
], ids=["full", "bs1", "bs1-dropout", "full-dropout-per-member-lr", "adam-bn-minibatch"])
def test_mlp_member_equals_single(moons, case):
    X, y = moons
    n = 10 if case["batch_size"] == 1 else len(X)
    kw = dict(hidden=(6, 5), lr=0.1, **case) if "lr" not in case else dict(hidden=(6, 5), **case)
    for i, ens, single in _pairs(MLPClassifier, X[:n], y[:n], **kw):
        _assert_member_equal(ens, single, i)


def test_ensemble_outputs_have_member_axis(moons):
    X, y = moons
    ens = MLPClassifier(hidden=(5,), n_models=3, epochs=3, batch_size=50, seed=0).fit(X, y)
    assert ens.predict(X).shape == (3, len(X))
    assert ens.predict_proba(X).shape == (3, len(X), 2)
    assert ens.score(X, y).shape == (3,)
    assert ens.history_.train_loss.shape == (3, 3)
    assert ens.history_.lr.shape == (3, 3)
    single = ens.member(1)
    assert single.n_models is None and single.predict(X).shape == (len(X),)
    np.testing.assert_array_equal(single.history_.train_loss, ens.history_.train_loss[:, 1])


def test_regressor_and_logistic_ensembles(moons):
    X, y = moons
    t = X[:, 0] * 2 - X[:, 1]
    for i, ens, single in _pairs(MLPRegressor, X, t, hidden=(4,), lr=0.05, batch_size=32,
                                 epochs=3):
        _assert_member_equal(ens, single, i)
    for i, ens, single in _pairs(LogisticRegression, X, y, lr=0.5, batch_size=16, epochs=3):
        _assert_member_equal(ens, single, i)


def test_target_accuracy_freezes_members(moons):
    X, y = moons
    kw = dict(hidden=(8,), lr=list(np.linspace(0.02, 0.5, E)), momentum=0.9, batch_size=16,
              epochs=40, target_accuracy=0.97)
    converged = []
    for i, ens, single in _pairs(MLPClassifier, X, y, **kw):
        _assert_member_equal(ens, single, i)
        c = ens.converged_epoch_[i]
        assert (c if c >= 0 else None) == single.converged_epoch_
        converged.append(c)
    assert len(set(converged)) > 1  # members really stopped at different epochs


def test_early_stopping_per_member(moons):
    X, y = moons
    Xv, yv = X[::3], y[::3]
    kw = dict(hidden=(8,), lr=list(np.linspace(0.05, 1.0, E)), batch_size=32, epochs=30,
              early_stopping=True, patience=3)
    ens = MLPClassifier(n_models=E, dtype="float64", seed=5, **kw).fit(X, y, validation=(Xv, yv))
    seeds = spawn_seeds(5, E)
    for i in range(E):
        single = MLPClassifier(dtype="float64", seed=seeds[i],
                               **{**kw, "lr": kw["lr"][i]}).fit(X, y, validation=(Xv, yv))
        _assert_member_equal(ens, single, i)
        assert ens.best_epoch_[i] == single.best_epoch_
