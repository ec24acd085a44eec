"""LogisticRegression's defaults train a converged model, from a hundred rows to MNIST-sized
data (784 features in [0, 1], thousands of rows); compared with scikit-learn's lbfgs."""

from __future__ import annotations

import numpy as np
import pytest

from neuralab.models import LogisticRegression, OneVsRest, Perceptron

linear_model = pytest.importorskip("sklearn.linear_model")


def _logistic_objective(X, y, coef, intercept, l2):
    s = X @ coef[0] + intercept[0]
    return np.mean(np.logaddexp(0, s) - y * s) + l2 / 2 * coef[0] @ coef[0]


@pytest.mark.parametrize("n", [100, 400, 3000])
def test_logistic_defaults_reach_the_optimum(n):
    """The defaults reach the optimum of their own objective (cross-entropy + l2/2 ‖w‖²);
    scikit-learn's lbfgs with C = 1/(l2 n) solves the same problem."""
    rng = np.random.default_rng(n)
    X = rng.normal(size=(n, 3)) + np.array([2.0, 0.0, -1.0])  # uncentred, as raw data are
    y = (X @ [1.5, -2.0, 0.5] + 0.3 + rng.logistic(size=n) > 0).astype(int)
    ours = LogisticRegression(random_state=0).fit(X, y)  # float32, as a user gets it
    l2 = ours.l2
    ref = linear_model.LogisticRegression(C=1 / (l2 * n), tol=1e-12, max_iter=10_000).fit(X, y)
    best = _logistic_objective(X, y, ref.coef_, ref.intercept_, l2)
    got = _logistic_objective(X, y, ours.coef_, ours.intercept_, l2)
    assert best <= got < best * 1.01 + 1e-4  # within 1 % of the optimum
    assert np.mean(ours.predict(X) == ref.predict(X)) >= 0.97


def _digits():
    datasets = pytest.importorskip("sklearn.datasets")
    d = datasets.load_digits()
    X, y = d.data / 16.0, d.target  # pixels in [0, 1]
    order = np.random.default_rng(0).permutation(len(X))
    X, y = X[order], y[order]
    return X[:1400], y[:1400], X[1400:], y[1400:]


def _synthetic_784():
    """10 classes in 784 features min-max scaled to [0, 1] (pixel-like range, uncentred)."""
    datasets = pytest.importorskip("sklearn.datasets")
    X, y = datasets.make_classification(
        n_samples=3000, n_features=784, n_informative=50, n_redundant=0, n_classes=10,
        n_clusters_per_class=1, class_sep=2.0, random_state=0)
    X = (X - X.min(axis=0)) / (X.max(axis=0) - X.min(axis=0))
    return X[:2400], y[:2400], X[2400:], y[2400:]


@pytest.mark.slow
@pytest.mark.parametrize("make_data", [_digits, _synthetic_784], ids=["digits", "synthetic-784"])
def test_one_vs_rest_logistic_defaults_match_sklearn(make_data):
    """One-vs-rest logistic regression with defaults is at least as good as one-vs-rest
    perceptrons and within 1.5 points of scikit-learn's one-vs-rest LogisticRegression."""
    multiclass = pytest.importorskip("sklearn.multiclass")
    X, y, X_test, y_test = make_data()
    ours = OneVsRest(LogisticRegression(), random_state=0).fit(X, y)
    perceptrons = OneVsRest(Perceptron(), random_state=0).fit(X, y)
    ref = multiclass.OneVsRestClassifier(linear_model.LogisticRegression()).fit(X, y)
    err = 1 - ours.score(X_test, y_test)
    assert err <= 1 - perceptrons.score(X_test, y_test)
    assert err <= 1 - ref.score(X_test, y_test) + 0.015
