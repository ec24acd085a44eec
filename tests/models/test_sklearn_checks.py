"""scikit-learn's estimator checks on every estimator (small, fast settings)."""

from __future__ import annotations

import warnings

import pytest

pytest.importorskip("sklearn")
from sklearn.utils.estimator_checks import parametrize_with_checks

from neuralab.models import (
    LinearRegression,
    LogisticRegression,
    MLPClassifier,
    MLPRegressor,
    OneVsRest,
    Perceptron,
)

ESTIMATORS = [
    Perceptron(epochs=10, seed=0),
    Perceptron(epochs=10, mode="batch", seed=0),
    LogisticRegression(lr=0.5, epochs=30, dtype="float64", seed=0),
    LinearRegression(),
    LinearRegression(solver="gd", lr=0.1, epochs=30, seed=0),
    MLPClassifier(hidden=(8,), optimizer="adam", lr=0.05, batch_size="full", epochs=40,
                  dtype="float64", seed=0),
    MLPRegressor(hidden=(8,), optimizer="adam", lr=0.05, batch_size="full", epochs=40,
                 dtype="float64", seed=0),
    OneVsRest(Perceptron(epochs=5, seed=0)),
]

# Checks that cannot pass, with the reason (kept empty where everything passes).
EXPECTED_FAILED: dict[str, dict[str, str]] = {}


def _expected(est):
    return EXPECTED_FAILED.get(type(est).__name__, {})


# neuralab's estimators implement the protocol themselves (no scikit-learn base class, so the
# engine does not need scikit-learn); scikit-learn warns about that, which is expected.
NOT_INHERITED = "ignore:Estimator .* does not inherit:UserWarning"
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Estimator .* does not inherit")
    _parametrize = parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected)


@pytest.mark.filterwarnings(NOT_INHERITED)
@_parametrize
def test_sklearn_compatible(estimator, check):
    check(estimator)
