from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def moons():
    """make_moons-like two-class data, (200, 2), deterministic."""
    rng = np.random.default_rng(0)
    t = rng.uniform(0, np.pi, 200)
    upper = rng.random(200) < 0.5
    X = np.where(upper[:, None], np.c_[np.cos(t), np.sin(t)],
                 np.c_[1 - np.cos(t), 0.5 - np.sin(t)])
    X += rng.normal(0, 0.1, X.shape)
    return X, upper.astype(np.int64)


@pytest.fixture(scope="session")
def blobs3():
    rng = np.random.default_rng(1)
    centers = np.array([[0, 3], [3, -2], [-3, -2]], float)
    y = rng.integers(0, 3, 150)
    return centers[y] + rng.normal(0, 0.7, (150, 2)), y


def weights(est):
    """Every parameter and buffer of a fitted estimator's network."""
    return est.net_.state_dict()
