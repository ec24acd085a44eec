"""Each estimator learns what it should (small, fast problems)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from neuralab.models import (
    LinearRegression,
    LogisticRegression,
    MLPClassifier,
    MLPRegressor,
    OneVsRest,
    Perceptron,
    clone,
)


def test_mlp_on_moons_reaches_95_percent():
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    X, y = sklearn_datasets.make_moons(500, noise=0.1, random_state=0)
    clf = MLPClassifier(hidden=(20, 20), activation="relu", optimizer="sgd", lr=0.1,
                        momentum=0.9, batch_size=16, epochs=40, random_state=0)
    clf.fit(X[:400], y[:400], validation=(X[400:], y[400:]))
    assert clf.score(X[400:], y[400:]) >= 0.95
    h = clf.history_
    assert h.epoch.tolist() == list(range(1, 41))
    assert {"train_loss", "train_acc", "val_loss", "val_acc", "lr", "batch_loss"} <= set(h.keys())
    assert h.train_loss[-1] < h.train_loss[0]
    proba = clf.predict_proba(X[:5])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def _seed000_gaussians(seed=0):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.multivariate_normal([-2, -2], np.eye(2), 100),
                   rng.multivariate_normal([2, 2], np.eye(2), 100)])
    return X, np.r_[np.zeros(100), np.ones(100)].astype(int)


@pytest.mark.parametrize("mode", ["online", "batch"])
def test_perceptron_separates_seed000_gaussians(mode):
    X, y = _seed000_gaussians()
    p = Perceptron(lr=0.01, epochs=100, mode=mode, random_state=0).fit(X, y)
    assert p.score(X, y) == 1.0
    assert isinstance(p.converged_epoch_, int) and 1 <= p.converged_epoch_ <= 100
    assert p.history_.train_acc[p.converged_epoch_ - 1] == 1.0
    assert p.history_.train_loss[-1] == 0.0
    stop = Perceptron(lr=0.01, epochs=100, mode=mode, random_state=0,
                      stop_on_separation=True).fit(X, y)
    assert len(stop.history_) == stop.converged_epoch_ == p.converged_epoch_


def test_perceptron_labels_and_rules():
    X, y = _seed000_gaussians()
    for labels in ([-1, 1], ["neg", "pos"]):
        lab = np.asarray(labels)[y]
        p = Perceptron(epochs=20, random_state=0).fit(X, lab)
        assert p.classes_.tolist() == sorted(labels)
        assert set(p.predict(X)) <= set(labels)
        assert not hasattr(p, "predict_proba")
    # one online step from w = 0: the first sample is a mistake, w <- w + lr t x
    p = Perceptron(lr=0.5, epochs=1, shuffle=False, fit_intercept=True)
    p.fit(X[:1].repeat(2, 0) * [[1], [-1]], [1, 0])
    np.testing.assert_allclose(p.coef_[0], 0.5 * X[0])
    np.testing.assert_allclose(p.intercept_, [0.5])


def test_multiclass_perceptron_rule():
    X = np.array([[1.0, 0.0]])
    p = Perceptron(lr=1.0, epochs=1, shuffle=False, fit_intercept=False)
    p.partial_fit(X, [2], classes=[0, 1, 2])
    # all scores 0: class 0 wins the tie; the true row (2) gets +x, the winner (0) gets -x
    np.testing.assert_allclose(p.coef_, [[-1, 0], [0, 0], [1, 0]])


def test_onevsrest_digits_with_perceptrons():
    datasets = pytest.importorskip("sklearn.datasets")
    d = datasets.load_digits()
    X, y = d.data / 16.0, d.target
    ovr = OneVsRest(Perceptron(lr=0.1, epochs=8, random_state=0)).fit(X[:1300], y[:1300])
    assert ovr.score(X[1300:], y[1300:]) >= 0.85
    rates = ovr.binary_error_rates(X[1300:], y[1300:])
    assert rates.shape == (10,) and np.all((rates >= 0) & (rates < 0.2))
    assert ovr.decision_function(X[:3]).shape == (3, 10)
    assert not hasattr(ovr, "predict_proba")
    lr = OneVsRest(LogisticRegression(lr=1.0, epochs=20)).fit(X[:300], y[:300])
    np.testing.assert_allclose(lr.predict_proba(X[:4]).sum(axis=1), 1.0)


def test_linear_regression_closed_form_equals_lstsq():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 4)), rng.normal(size=40)
    reg = LinearRegression().fit(X, y)
    A = np.c_[X, np.ones(40)]
    sol = np.linalg.lstsq(A, y, rcond=None)[0]
    np.testing.assert_allclose(reg.coef_, sol[:4], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(reg.intercept_, sol[4], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(reg.predict(X), A @ sol, atol=1e-12)
    Y2 = np.c_[y, 2 * y]
    assert LinearRegression().fit(X, Y2).predict(X).shape == (40, 2)
    # ridge in closed form and by gradient descent minimise the same objective
    ridge = LinearRegression(l2=0.2).fit(X, y)
    gd = LinearRegression(solver="gd", l2=0.2, lr=0.1, epochs=2000).fit(X, y)
    np.testing.assert_allclose(ridge.coef_, gd.coef_, atol=1e-6)


def test_logistic_regression_close_to_sklearn():
    linear_model = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 3))
    y = (X @ [1.5, -2.0, 0.5] + 0.3 + rng.logistic(size=200) > 0).astype(int)
    # plain full-batch gradient descent, no penalty: the unregularised optimum
    ours = LogisticRegression(optimizer="sgd", lr=1.0, batch_size="full", schedule=None, l2=0.0,
                              epochs=3000, dtype="float64").fit(X, y)
    ref = linear_model.LogisticRegression(C=1e6, tol=1e-10, max_iter=10000).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=2e-3)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=2e-3)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-3)


def test_multinomial_logistic_regression(blobs3):
    X, y = blobs3
    clf = LogisticRegression(lr=0.5, epochs=100, l2=1e-3).fit(X, y)
    assert clf.coef_.shape == (3, 2) and clf.score(X, y) > 0.95


def test_mlp_features(moons):
    X, y = moons
    kw = dict(hidden=(16, 8), epochs=15, batch_size=16, random_state=0)
    variants = [
        dict(activation=["tanh", "leaky_relu"], negative_slope=0.1),
        dict(dropout=[0.1, 0.0], batch_norm=True, optimizer="adam", lr=0.01),
        dict(optimizer="rmsprop", lr=0.005, schedule="exponential",
             schedule_params={"gamma": 0.9}),
        dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4, l1=1e-4, l2=1e-4),
        dict(lr=0.1, flooding=0.05, batch_size="full", epochs=60),
        dict(lr=0.1, dtype="float64", init="xavier"),
    ]
    for v in variants:
        clf = MLPClassifier(**{**kw, **v}).fit(X, y)
        assert clf.score(X, y) > 0.8, v
    sched = MLPClassifier(**kw, lr=0.1, schedule="step", schedule_params={"step_size": 5,
                                                                          "gamma": 0.5})
    sched.fit(X, y)
    np.testing.assert_allclose(sched.history_.lr[[0, 5, 10]], [0.1, 0.05, 0.025])


def test_target_accuracy_and_eval_every(moons):
    X, y = moons
    clf = MLPClassifier(hidden=(16,), lr=0.2, momentum=0.9, batch_size=16, epochs=100,
                        target_accuracy=0.97, random_state=0).fit(X, y)
    assert clf.converged_epoch_ == len(clf.history_) < 100
    assert clf.history_.train_acc[-1] >= 0.97
    sparse = MLPClassifier(hidden=(4,), epochs=25, eval_every=10, random_state=0).fit(X, y)
    h = sparse.history_
    assert np.flatnonzero(h.evaluated).tolist() == [9, 19, 24]
    assert np.isnan(h.train_loss[0]) and np.isfinite(h.train_loss[9])
    assert np.all(np.isfinite(h.batch_loss))


def test_early_stopping_restores_best(moons):
    X, y = moons
    clf = MLPClassifier(hidden=(32,), lr=0.5, momentum=0.9, batch_size=8, epochs=200,
                        early_stopping=True, patience=3, monitor="val_loss", random_state=0)
    clf.fit(X[:100], y[:100], validation=(X[100:], y[100:]))
    assert len(clf.history_) < 200
    best = clf.best_epoch_
    val = clf.history_.val_loss
    assert val[best - 1] == np.nanmin(val)
    assert clf._trainer.net is clf.net_
    from neuralab.train.metrics import evaluate

    loss, _ = evaluate(clf.net_, clf._eval_loss, np.ascontiguousarray(X[100:], np.float32),
                       y[100:])
    assert loss == pytest.approx(val[best - 1], rel=1e-6)


def test_eval_sets_and_regressor(moons):
    X, y = moons
    clf = MLPClassifier(hidden=(4,), epochs=3, random_state=0).fit(X, y, eval_sets={"test": (X, y)})
    assert clf.history_.test_acc.shape == (3,)
    t = np.sin(X[:, 0]) + X[:, 1]
    reg = MLPRegressor(hidden=(32,), optimizer="adam", lr=0.01, epochs=60, random_state=0).fit(X, t)
    assert reg.score(X, t) > 0.9
    assert "train_acc" not in reg.history_.keys()


def test_clone_and_params():
    clf = MLPClassifier(hidden=(3, 4), lr=0.5)
    c = clone(clf)
    assert c.get_params() == clf.get_params() and c is not clf
    assert "lr=0.5" in repr(clf) and "momentum" not in repr(clf)
    with pytest.raises(ValueError, match=r"no parameter 'lrr'.*did you mean 'lr'"):
        clf.set_params(lrr=1)
    ovr = OneVsRest(Perceptron(lr=0.3))
    assert ovr.get_params()["estimator__lr"] == 0.3
    ovr.set_params(estimator__lr=0.2)
    assert ovr.estimator.lr == 0.2


@pytest.mark.parametrize("est", [MLPClassifier(hidden=(16,), epochs=3, random_state=0),
                                 LogisticRegression(epochs=3, random_state=0),
                                 MLPRegressor(hidden=(16,), epochs=3, random_state=0)],
                         ids=["mlp", "logistic", "mlp-regressor"])
def test_predictions_do_not_depend_on_the_batch(est):
    """float32-trained networks predict in float64: a row's output is the same whether it
    is predicted alone, in a subset or in the whole set (float32 GEMMs moved it ~1e-7)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 30))
    y = (X[:, 0] + X[:, 1] ** 2 > 1).astype(int)
    est.fit(X, y if est._estimator_type == "classifier" else X[:, 0] * X[:, 1])
    assert est.net_[0].params["weight"].dtype == np.float32  # trained in float32
    method = est.predict if est._estimator_type == "regressor" else est.predict_proba
    whole = method(X)
    assert whole.dtype == np.float64
    parts = np.concatenate([method(X[i:i + 7]) for i in range(0, len(X), 7)])
    singles = np.concatenate([method(X[i:i + 1]) for i in range(0, 60)])
    np.testing.assert_allclose(parts, whole, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(singles, whole[:60], rtol=1e-12, atol=1e-15)
    # float32 input gives the same outputs as its float64 copy (no rounding of the weights)
    X32 = X.astype(np.float32)
    np.testing.assert_allclose(method(X32), method(X32.astype(np.float64)), rtol=1e-12,
                               atol=1e-15)


def test_linear_regression_closed_form_is_float64_whatever_dtype():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 6)) * [1, 10, 100, 0.1, 1, 5] + 3.0
    y = X @ rng.normal(size=6) + rng.normal(size=500)
    for dtype in ("float32", "float64"):
        reg = LinearRegression(dtype=dtype).fit(X, y)
        assert reg.net_[0].params["weight"].dtype == np.float64
        residual = y - reg.predict(X)
        Xc = X - X.mean(axis=0)
        # normal equations: the residual is orthogonal to every (centred) column of X
        cos = Xc.T @ residual / (np.linalg.norm(Xc, axis=0) * np.linalg.norm(residual))
        assert np.abs(cos).max() < 1e-12, dtype
    gd = LinearRegression(solver="gd", dtype="float32", epochs=2).fit(X / 100, y)
    assert gd.net_[0].params["weight"].dtype == np.float32  # dtype is gradient descent's


def test_random_state_is_the_seed():
    X, y = _seed000_gaussians()
    for cls in (Perceptron, LogisticRegression, MLPClassifier):
        assert "random_state" in cls().get_params() and "seed" not in cls().get_params()
        a = cls(random_state=3).fit(X, y).decision_function(X)
        b = cls(random_state=3).fit(X, y).decision_function(X)
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match=r"random_state=-1 is not allowed.*int >= 0"):
        MLPClassifier(random_state=-1).fit(X, y)
    with pytest.raises(ValueError, match=r"random_state='a' is not allowed"):
        OneVsRest(random_state="a").fit(X, y)
    # OneVsRest(random_state=s) seeds every clone (scikit-learn's tools set it this way)
    ovr = OneVsRest(Perceptron(init="random"), random_state=7).fit(X, y)
    assert all(e.random_state == 7 for e in ovr.estimators_)
    twin = OneVsRest(Perceptron(init="random", random_state=7)).fit(X, y)
    np.testing.assert_array_equal(ovr.decision_function(X), twin.decision_function(X))


def test_one_vs_rest_two_classes_decision_ranks_like_proba(moons):
    """Two classes: the decision is the margin of the normalised probabilities, 2 p₁ − 1
    (C₁ − C₀ of two separately calibrated clones could rank points differently)."""
    X, y = moons
    ovr = OneVsRest(LogisticRegression(epochs=5), random_state=0).fit(X, y)
    p1 = ovr.predict_proba(X)[:, 1]
    np.testing.assert_allclose(ovr.decision_function(X), 2 * p1 - 1, atol=1e-12)
    assert np.array_equal(ovr.predict(X), (p1 > 0.5).astype(int))
    perceptrons = OneVsRest(Perceptron(epochs=3), random_state=0).fit(X, y)
    C = perceptrons.confidences(X)  # signed distances: no normalisation
    np.testing.assert_array_equal(perceptrons.decision_function(X), C[:, 1] - C[:, 0])


def test_raw_uint8_pixels_are_warned_about_where_they_train_to_chance():
    """MNIST arrives as uint8 0…255; an MLP or CNN fed that with the default learning rate
    stays at chance (digits: 10 % against 78 % scaled) with no sign of why."""
    from sklearn.datasets import load_digits

    from neuralab.models import CNNClassifier, MLPClassifier, Perceptron
    from neuralab.models._validation import UnscaledPixelsWarning

    X, y = load_digits(return_X_y=True)
    pixels = (X[:200] * 16).clip(0, 255).astype(np.uint8)
    for est in (MLPClassifier(epochs=1, random_state=0),
                CNNClassifier(architecture="onelayer_cnn", epochs=1, random_state=0)):
        with pytest.warns(UnscaledPixelsWarning,
                          match=r"uint8 with whole values up to 2\d\d .*X / 255"):
            est.fit(pixels, y[:200])
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnscaledPixelsWarning)
        MLPClassifier(epochs=1, random_state=0).fit(pixels / 255, y[:200])  # scaled
        MLPClassifier(epochs=1, random_state=0).fit((pixels > 0).astype(np.uint8), y[:200])
        Perceptron(random_state=0).fit(pixels, y[:200])  # its updates are scale-free


def test_whole_number_pixels_of_any_dtype_are_warned_about_for_a_cnn():
    """scikit-learn's digits are float64 0…16: LeNet-5 trains to chance on them (98 %
    scaled). A CNN reads images, so whole numbers above 1 warn in any dtype; an MLP's
    features may be counts, so only uint8 warns there."""
    from sklearn.datasets import load_digits

    from neuralab.models import CNNClassifier, MLPClassifier
    from neuralab.models._validation import UnscaledPixelsWarning

    X, y = load_digits(return_X_y=True)
    X, y = X[:120], y[:120]
    for images in (X, X.reshape(-1, 8, 8), X.astype(np.int64)):
        with pytest.warns(UnscaledPixelsWarning, match=r"whole values up to 16 .*X / 16"):
            CNNClassifier(epochs=1, random_state=0).fit(images, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnscaledPixelsWarning)
        CNNClassifier(epochs=1, random_state=0).fit(X / 16, y)  # scaled
        CNNClassifier(epochs=1, random_state=0).fit(X - 8, y)  # centred: not raw counts
        CNNClassifier(epochs=1, random_state=0).fit(X + 0.5, y)  # not whole numbers
        MLPClassifier(epochs=1, random_state=0).fit(X, y)  # features, maybe counts
        # plain features (auto: features_cnn, a 1-D network): counts, not pixels
        CNNClassifier(epochs=1, random_state=0).fit(X[:, :2], y)
