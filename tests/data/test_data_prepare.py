"""Feature maps, splits (stratified, seeded), scalers fitted on train only, bias column."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neuralab import data
from neuralab.data.dataset import Dataset


def labelled(y) -> Dataset:
    y = np.asarray(y)
    return Dataset(X=np.arange(len(y) * 2, dtype=np.float32).reshape(-1, 2), y=y)


# -- feature maps ----------------------------------------------------------------------------
def test_playground_features_values():
    X = np.array([[1.0, 2.0], [-0.5, 3.0]])
    F = data.playground_features(X)
    expected = np.column_stack([X[:, 0], X[:, 1], X[:, 0] ** 2, X[:, 1] ** 2,
                                X[:, 0] * X[:, 1], np.sin(X[:, 0]), np.sin(X[:, 1])])
    np.testing.assert_allclose(F, expected)
    np.testing.assert_allclose(data.playground_features(X, ["xTimesY", "sin(x2)"]),
                               expected[:, [4, 6]])
    with pytest.raises(ValueError, match="did you mean 'x1\\^2'"):
        data.playground_features(X, ["x1^3"])
    with pytest.raises(ValueError, match="2-D inputs"):
        data.playground_features(np.ones((3, 3)))


def test_polynomial_features_degree3():
    X = np.array([[2.0, 3.0]])
    F = data.polynomial_features(X, degree=3)
    names = data.polynomial_feature_names(3)
    assert len(names) == F.shape[1] == 9
    values = dict(zip(names, F[0], strict=True))
    assert values["x1^2 x2"] == 12 and values["x2^3"] == 27 and values["x1 x2"] == 6
    ds = data.map_features(data.moons(n=10, seed=0), degree=2)
    assert ds.X.shape == (10, 5) and ds.meta["features"][0] == "x1"
    with pytest.raises(ValueError, match="degree=0"):
        data.polynomial_features(X, degree=0)


# -- splits ----------------------------------------------------------------------------------
def test_split_stratified_disjoint_and_seeded():
    ds = labelled(np.repeat([0, 1, 2], [500, 300, 200]))
    train, test = data.split(ds, test=0.2, stratify=True, seed=0)
    assert (len(train), len(test)) == (800, 200)
    for c, share in zip((0, 1, 2), (0.5, 0.3, 0.2), strict=True):
        assert (test.y == c).sum() == round(200 * share)
    rows = lambda d: {tuple(r) for r in d.X}  # noqa: E731
    assert not rows(train) & rows(test) and len(rows(train) | rows(test)) == 1000
    again = data.split(ds, test=0.2, seed=0)[1]
    np.testing.assert_array_equal(again.X, test.X)
    other = data.split(ds, test=0.2, seed=1)[1]
    assert not np.array_equal(other.X, test.X)


def test_split_three_ways_by_counts_and_fractions():
    ds = data.moons(n=1000, noise=0.1, seed=0)
    train, val, test = data.split(ds, test=100, val=0.25, seed=3)
    assert (len(train), len(val), len(test)) == (650, 250, 100)
    for part in (train, val, test):
        assert abs(part.y.mean() - 0.5) <= 1 / len(part)
    assert val.name == "moons/val"


def test_split_errors():
    ds = data.moons(n=100, seed=0)
    with pytest.raises(ValueError, match="sum to at most 1"):
        data.split(ds, test=0.6, val=0.5)
    with pytest.raises(ValueError, match=r"test=1.5"):
        data.split(ds, test=1.5)
    with pytest.raises(ValueError, match="only 100"):
        data.split(ds, test=60, val=50)
    with pytest.raises(ValueError, match="regression"):
        data.split(data.load("playground-plane", n=20), test=0.5, stratify=True)


def test_split_without_shuffle_keeps_order():
    ds = labelled(np.tile([0, 1], 10))
    train, test = data.split(ds, test=0.2, shuffle=False)
    assert np.all(np.diff(train.X[:, 0]) > 0) and np.all(np.diff(test.X[:, 0]) > 0)
    assert train.X[:, 0].max() < test.X[:, 0].max()


@settings(max_examples=60, deadline=None)
@given(counts=st.lists(st.integers(1, 40), min_size=1, max_size=5),
       test=st.floats(0.0, 0.6), val=st.one_of(st.none(), st.floats(0.0, 0.39)),
       seed=st.integers(0, 2**32 - 1))
def test_split_sizes_property(counts, test, val, seed):
    ds = labelled(np.repeat(np.arange(len(counts)), counts))
    n = len(ds)
    parts = data.split(ds, test=test, val=val, seed=seed)
    sizes = [len(p) for p in parts]
    assert sum(sizes) == n
    assert sizes[-1] == round(test * n)
    index = np.concatenate([p.X[:, 0] for p in parts])
    assert len(np.unique(index)) == n  # disjoint and covering
    for p in parts[1:]:  # stratified: each class's share within one sample of its quota
        for c, k in enumerate(counts):
            assert abs((p.y == c).sum() - len(p) * k / n) < 1 + 1e-9


# -- scalers ---------------------------------------------------------------------------------
@pytest.mark.parametrize("method, params", [("standardize", {}), ("minmax", {}),
                                            ("minmax", {"feature_range": (-1, 1)}),
                                            ("divide", {"c": 256})])
def test_scalers_fit_on_train_only_and_round_trip(method, params):
    rng = np.random.default_rng(0)
    train = Dataset(X=rng.normal(5, 3, (200, 3)).astype(np.float32), y=np.zeros(200, int))
    test = Dataset(X=rng.normal(-5, 1, (50, 3)).astype(np.float32), y=np.zeros(50, int))
    train_s, test_s, scaler = data.scale(train, test, method=method, **params)
    if method == "standardize":
        np.testing.assert_allclose(train_s.X.mean(axis=0), 0, atol=1e-5)
        np.testing.assert_allclose(train_s.X.std(axis=0), 1, atol=1e-5)
        expected = (test.X - train.X.mean(axis=0)) / train.X.std(axis=0)
        np.testing.assert_allclose(test_s.X, expected, rtol=1e-4, atol=1e-4)
        assert abs(test_s.X.mean()) > 2  # test statistics were not used
    elif method == "minmax":
        low, high = params.get("feature_range", (0, 1))
        np.testing.assert_allclose(train_s.X.min(axis=0), low, atol=1e-5)
        np.testing.assert_allclose(train_s.X.max(axis=0), high, atol=1e-5)
        assert test_s.X.min() < low
    else:
        np.testing.assert_allclose(test_s.X, test.X / 256, rtol=1e-6)
    assert test_s.X.dtype == np.float32
    clone = data.scaler_from_dict(json.loads(json.dumps(scaler.to_dict())))
    np.testing.assert_allclose(clone.transform(test.X), test_s.X, rtol=1e-6)
    np.testing.assert_allclose(clone.inverse_transform(test_s.X), test.X, rtol=1e-4, atol=1e-4)


def test_scaler_errors_and_constant_feature():
    with pytest.raises(ValueError, match="not fitted"):
        data.Standardize().transform(np.ones((2, 2)))
    X = np.column_stack([np.ones(5), np.arange(5.0)])
    np.testing.assert_allclose(data.Standardize().fit_transform(X)[:, 0], 0)
    with pytest.raises(ValueError, match="feature_range"):
        data.MinMax((1, 0))
    with pytest.raises(ValueError, match="c=0"):
        data.DivideBy(0)
    with pytest.raises(ValueError, match="method='zscore'"):
        data.scale(labelled([0, 1]), method="zscore")


def test_bias_column_first_and_last():
    ds = data.load("digits", n=10)
    first, last = data.add_bias_column(ds, "first"), data.add_bias_column(ds)
    assert first.X.shape == last.X.shape == (10, 65)
    assert np.all(first.X[:, 0] == 1) and np.all(last.X[:, -1] == 1)
    np.testing.assert_array_equal(first.X[:, 1:], ds.X)
