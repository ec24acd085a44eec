"""Feature maps for 2-D inputs: TensorFlow Playground's seven features and polynomials."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from neuralab._checks import check_array, check_positive, suggest
from neuralab.data.dataset import Dataset

# TensorFlow Playground's input features, in its order. Each maps X (n, 2) to a column (n,).
PLAYGROUND_FEATURES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "x1": lambda X: X[:, 0],
    "x2": lambda X: X[:, 1],
    "x1^2": lambda X: X[:, 0] ** 2,
    "x2^2": lambda X: X[:, 1] ** 2,
    "x1*x2": lambda X: X[:, 0] * X[:, 1],
    "sin(x1)": lambda X: np.sin(X[:, 0]),
    "sin(x2)": lambda X: np.sin(X[:, 1]),
}
# Playground's own ids for the same features (as in its URLs).
PLAYGROUND_IDS = {"x": "x1", "y": "x2", "xSquared": "x1^2", "ySquared": "x2^2",
                  "xTimesY": "x1*x2", "sinX": "sin(x1)", "sinY": "sin(x2)"}


def _two_d(X) -> np.ndarray:
    X = check_array("X", X, ndim=2)
    if X.shape[1] != 2:
        raise ValueError(f"these feature maps are for 2-D inputs (n, 2); got shape {X.shape}")
    return X


def playground_features(X, features: Sequence[str] = tuple(PLAYGROUND_FEATURES)) -> np.ndarray:
    """Columns ``features`` of Playground's set for ``X`` (n, 2): returns (n, len(features)).

    Names: x1, x2, x1^2, x2^2, x1*x2, sin(x1), sin(x2) (or Playground's ids x, y, xSquared, ...).
    """
    X = _two_d(X)
    names = [PLAYGROUND_IDS.get(f, f) for f in features]
    for f in names:
        if f not in PLAYGROUND_FEATURES:
            allowed = list(PLAYGROUND_FEATURES) + list(PLAYGROUND_IDS)
            raise ValueError(f"feature {f!r} is not known; choose from "
                             f"{', '.join(PLAYGROUND_FEATURES)}" + suggest(f, allowed))
    if not names:
        raise ValueError("features is empty; choose at least one of "
                         f"{', '.join(PLAYGROUND_FEATURES)}")
    return np.column_stack([PLAYGROUND_FEATURES[f](X) for f in names]).astype(X.dtype)


def polynomial_features(X, degree: int = 2, *, include_bias: bool = False) -> np.ndarray:
    """All monomials of the columns of ``X`` (n, d) up to ``degree`` (scikit-learn's order)."""
    from sklearn.preprocessing import PolynomialFeatures

    check_positive("degree", degree, integer=True)
    X = check_array("X", X, ndim=2)
    return PolynomialFeatures(degree=degree, include_bias=include_bias).fit_transform(X)


def polynomial_feature_names(degree: int, n_inputs: int = 2, *,
                             include_bias: bool = False) -> list[str]:
    """Names of :func:`polynomial_features`' columns, e.g. ['x1', 'x2', 'x1^2', 'x1 x2', ...]."""
    from sklearn.preprocessing import PolynomialFeatures

    check_positive("degree", degree, integer=True)
    poly = PolynomialFeatures(degree=degree, include_bias=include_bias)
    poly.fit(np.zeros((1, n_inputs)))
    return [str(s) for s in poly.get_feature_names_out([f"x{i + 1}" for i in range(n_inputs)])]


def map_features(ds: Dataset, features: Sequence[str] | None = None, *,
                 degree: int | None = None) -> Dataset:
    """``ds`` with ``X`` replaced by Playground ``features`` or polynomials up to ``degree``."""
    if (features is None) == (degree is None):
        raise ValueError("give exactly one of features= (Playground names) or degree=")
    if degree is not None:
        X = polynomial_features(ds.X, degree).astype(ds.X.dtype)
        names = polynomial_feature_names(degree, ds.X.shape[1])
    else:
        X = playground_features(ds.X, features)
        names = [PLAYGROUND_IDS.get(f, f) for f in features]
    return ds.replace(X=X, meta={**ds.meta, "features": names})
