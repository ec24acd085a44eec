"""Member i of an ensemble equals the single model trained with member i's seed."""

from __future__ import annotations

import numpy as np
import pytest

from neuralab.models import (
    LinearRegression,
    LogisticRegression,
    MLPClassifier,
    MLPRegressor,
    OneVsRest,
    Perceptron,
)
from neuralab.rng import spawn_seeds

E = 8


def _pairs(cls, X, y, **kw):
    ens = cls(n_models=E, dtype="float64", random_state=123, **kw).fit(X, y)
    seeds = spawn_seeds(123, E)
    for i in range(E):
        single_kw = dict(kw)
        for name in ("lr", "momentum"):
            if np.ndim(kw.get(name, 0)) > 0:
                single_kw[name] = kw[name][i]
        single = cls(dtype="float64", random_state=seeds[i], **single_kw).fit(X, y)
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
    dict(batch_size=8, epochs=5, loss="squared", activation="tanh"),
], ids=["full", "bs1", "bs1-dropout", "full-dropout-per-member-lr", "adam-bn-minibatch",
        "playground-squared"])
def test_mlp_member_equals_single(moons, case):
    X, y = moons
    n = 10 if case["batch_size"] == 1 else len(X)
    kw = dict(hidden=(6, 5), lr=0.1, **case) if "lr" not in case else dict(hidden=(6, 5), **case)
    for i, ens, single in _pairs(MLPClassifier, X[:n], y[:n], **kw):
        _assert_member_equal(ens, single, i)


def test_ensemble_outputs_have_member_axis(moons):
    X, y = moons
    ens = MLPClassifier(hidden=(5,), n_models=3, epochs=3, batch_size=50, random_state=0).fit(X, y)
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
    ens = MLPClassifier(n_models=E, dtype="float64", random_state=5, **kw)
    ens.fit(X, y, validation=(Xv, yv))
    seeds = spawn_seeds(5, E)
    for i in range(E):
        single = MLPClassifier(dtype="float64", random_state=seeds[i],
                               **{**kw, "lr": kw["lr"][i]}).fit(X, y, validation=(Xv, yv))
        _assert_member_equal(ens, single, i)
        assert ens.best_epoch_[i] == single.best_epoch_


# -- the perceptron: E perceptrons in one vectorized pass ----------------------------------
def _separable(seed=0):
    """Two Gaussian clouds (seed 000's data): separable, so members stop at separation."""
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.multivariate_normal([-2, -2], np.eye(2), 60),
                   rng.multivariate_normal([2, 2], np.eye(2), 60)])
    return X, np.r_[np.zeros(60), np.ones(60)].astype(int)


@pytest.mark.parametrize("mode", ["online", "batch"])
@pytest.mark.parametrize("classes", [2, 3])
@pytest.mark.parametrize("case", [
    dict(),
    dict(init="random"),
    dict(lr=list(np.linspace(0.01, 0.5, E)), init="random"),
    dict(dtype="float32", init="random"),
    dict(fit_intercept=False, shuffle=False, init="random"),
], ids=["default", "random-init", "per-member-lr", "float32", "no-bias-no-shuffle"])
def test_perceptron_member_equals_single(moons, mode, classes, case):
    X, y = moons
    if classes == 3:
        y = np.digitize(X[:, 0], [0.0, 1.0])  # three vertical bands
    kw = dict(mode=mode, epochs=6, **case)
    ens = Perceptron(n_models=E, random_state=11, **kw).fit(X, y)
    seeds = spawn_seeds(11, E)
    for i in range(E):
        single_kw = {**kw, "lr": kw["lr"][i]} if "lr" in kw else kw
        single = Perceptron(random_state=seeds[i], **single_kw).fit(X, y)
        _assert_member_equal(ens, single, i, tol=0)  # the same float operations: exact
        np.testing.assert_array_equal(ens.history_.train_loss[:, i], single.history_.train_loss)
        np.testing.assert_array_equal(ens.predict(X)[i], single.predict(X))
    assert ens.predict(X).shape == (E, len(X)) and ens.score(X, y).shape == (E,)
    assert ens.decision_function(X).shape == ((E, len(X)) if classes == 2 else (E, len(X), 3))
    if mode == "online" and case.get("shuffle", True):  # members differ by their orders
        assert len({ens.net_[0].params["weight"][i].tobytes() for i in range(E)}) > 1


@pytest.mark.parametrize("mode", ["online", "batch"])
def test_perceptron_members_stop_on_separation_on_their_own(mode):
    X, y = _separable()
    kw = dict(mode=mode, lr=0.01, epochs=60, init="random", stop_on_separation=True)
    ens = Perceptron(n_models=E, random_state=4, **kw).fit(X, y)
    assert ens.converged_epoch_.shape == (E,)
    seeds = spawn_seeds(4, E)
    for i in range(E):
        single = Perceptron(random_state=seeds[i], **kw).fit(X, y)
        _assert_member_equal(ens, single, i, tol=0)
        assert single.converged_epoch_ is not None
        assert ens.converged_epoch_[i] == single.converged_epoch_ == len(single.history_)
    assert len(set(ens.converged_epoch_.tolist())) > 1  # they really stopped apart
    assert len(ens.history_) == ens.converged_epoch_.max()  # training ends with the last
    np.testing.assert_array_equal(ens.score(X, y), np.ones(E))


# -- n_models through fit / predict / score, for every estimator ---------------------------
SUPPORTED = [
    (Perceptron, dict(epochs=3)),
    (LogisticRegression, dict(epochs=3)),
    (LinearRegression, dict(solver="gd", epochs=3)),
    (MLPClassifier, dict(hidden=(4,), epochs=2)),
    (MLPRegressor, dict(hidden=(4,), epochs=2)),
]


@pytest.mark.parametrize("cls, kw", SUPPORTED, ids=[c.__name__ for c, _ in SUPPORTED])
def test_every_estimator_supports_n_models(moons, cls, kw):
    X, y = moons
    target = X[:, 0] - X[:, 1] if cls in (LinearRegression, MLPRegressor) else y
    est = cls(n_models=3, random_state=0, **kw).fit(X, target)
    assert est.predict(X).shape == (3, len(X))
    scores = est.score(X, target)
    assert scores.shape == (3,) and np.all(np.isfinite(scores))
    assert est.member(2).predict(X).shape == (len(X),)


@pytest.mark.parametrize("base", [LogisticRegression, Perceptron])
def test_one_vs_rest_over_an_ensemble(blobs3, base):
    X, y = blobs3
    ovr = OneVsRest(base(n_models=3, epochs=5, init="random") if base is Perceptron
                    else base(n_models=3, epochs=5), random_state=2).fit(X, y)
    scores = ovr.score(X, y)
    assert scores.shape == (3,) and np.all(scores > 0.8)
    assert ovr.predict(X).shape == (3, len(X))
    assert ovr.decision_function(X).shape == (3, len(X), 3)
    assert ovr.binary_error_rates(X, y).shape == (3, 3)
    if base is LogisticRegression:
        np.testing.assert_allclose(ovr.predict_proba(X).sum(axis=-1), 1.0)
    # member i of the ensemble one-vs-rest is the one-vs-rest of member i's seed
    seeds = spawn_seeds(2, 3)
    for i in range(3):
        kw = dict(epochs=5, init="random") if base is Perceptron else dict(epochs=5)
        single = OneVsRest(base(random_state=seeds[i], **kw)).fit(X, y)
        np.testing.assert_array_equal(ovr.predict(X)[i], single.predict(X))
        np.testing.assert_allclose(ovr.confidences(X)[i], single.confidences(X), atol=1e-12)


def test_closed_form_refuses_n_models(moons):
    X, y = moons
    with pytest.raises(ValueError, match=r"n_models=3 needs solver='gd'.*nothing random"):
        LinearRegression(n_models=3).fit(X, X[:, 0])
    with pytest.raises(ValueError, match=r"n_models=3 needs solver='gd'"):
        OneVsRest(LinearRegression(n_models=3)).fit(X, y)


def test_a_diverging_member_is_frozen_and_the_others_train_on():
    import numpy as np

    from neuralab.data import moons
    from neuralab.exceptions import TrainingDiverged
    from neuralab.models import MLPClassifier

    ds = moons(n=200, noise=0.1, seed=0)
    kw = dict(hidden=(8,), epochs=30, batch_size="full")
    est = MLPClassifier(lr=np.array([0.5, 1e6, 0.5]), n_models=3, random_state=[1, 2, 3],
                        **kw).fit(ds.X, ds.y)
    assert est.diverged_.tolist() == [False, True, False]
    for i, seed in ((0, 1), (2, 3)):
        single = MLPClassifier(lr=0.5, random_state=seed, **kw).fit(ds.X, ds.y)
        np.testing.assert_array_equal(single.net_[0].params["weight"],
                                      est.member(i).net_[0].params["weight"])
    with pytest.raises(TrainingDiverged):  # every member diverged: nothing left to train
        MLPClassifier(lr=1e6, n_models=2, random_state=[4, 5], **kw).fit(ds.X, ds.y)
