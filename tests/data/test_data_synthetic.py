"""Synthetic 2-D sets: equality with scikit-learn, Gaussian statistics, labels, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import datasets as skd

from neuralab import data


@pytest.mark.parametrize("ours, theirs, kwargs", [
    (data.moons, skd.make_moons, {"noise": 0.0}),
    (data.moons, skd.make_moons, {"noise": 0.2}),
    (data.circles, skd.make_circles, {"noise": 0.1, "factor": 0.5}),
    (data.blobs, skd.make_blobs, {"centers": 4, "cluster_std": 0.7}),
])
def test_equal_to_sklearn_with_the_same_int_seed(ours, theirs, kwargs):
    ds = ours(n=301, seed=7, **kwargs)
    X, y = theirs(n_samples=301, random_state=7, **kwargs)
    np.testing.assert_allclose(ds.X, X.astype(np.float32))
    np.testing.assert_array_equal(ds.y, y)
    assert ds.n_classes == len(np.unique(y))


def test_generator_seed_is_reproducible_and_consumed():
    a = data.moons(n=50, noise=0.1, seed=np.random.default_rng(5))
    b = data.moons(n=50, noise=0.1, seed=np.random.default_rng(5))
    np.testing.assert_array_equal(a.X, b.X)
    rng = np.random.default_rng(5)
    first, second = data.moons(n=50, noise=0.1, seed=rng), data.moons(n=50, noise=0.1, seed=rng)
    assert not np.array_equal(first.X, second.X)


def test_gaussians_seed000_configuration():
    ds = data.gaussians(means=[[-2, -2], [2, 2]], covs=[[[1, 0], [0, 1]]] * 2,
                        n_per_class=100, labels=(1, 0), seed=0)
    assert ds.X.shape == (200, 2) and ds.y.dtype == np.int64
    np.testing.assert_array_equal(ds.y[:100], 1)
    np.testing.assert_array_equal(ds.y[100:], 0)
    assert ds.classes == (0, 1)
    # same draws as Generator.multivariate_normal per class, in order
    rng = np.random.default_rng(0)
    expected = np.concatenate([rng.multivariate_normal([-2, -2], np.eye(2), 100),
                               rng.multivariate_normal([2, 2], np.eye(2), 100)])
    np.testing.assert_allclose(ds.X, expected.astype(np.float32))


def test_gaussians_statistics_large_n():
    means = [[3, 3], [-3, -3], [0, 4]]
    covs = [[[4, 2], [2, 4]], [[1, 0.5], [0.5, 1]], [[0.5, 0], [0, 2]]]
    ds = data.gaussians(means, covs, n_per_class=[20000, 10000, 5000], labels=(2, 0, 1),
                        seed=1)
    counts = {c: int((ds.y == c).sum()) for c in (0, 1, 2)}
    assert counts == {2: 20000, 0: 10000, 1: 5000}
    for label, m, c in zip((2, 0, 1), means, covs, strict=True):
        pts = ds.X[ds.y == label].astype(np.float64)
        np.testing.assert_allclose(pts.mean(axis=0), m, atol=0.06)
        np.testing.assert_allclose(np.cov(pts.T), c, atol=0.12)


def test_gaussians_seed001_scalar_covariance_and_pm1_labels():
    ds = data.gaussians([[2, 2], [2.5, 2.5]], covs=8.0, labels=(1, -1), shuffle=True, seed=2)
    assert set(np.unique(ds.y)) == {-1, 1} and ds.classes == (-1, 1)
    assert (ds.y == 1).sum() == 100
    assert not np.all(ds.y[:100] == 1)  # shuffled
    pos = ds.X[ds.y == 1].astype(float)
    assert 4 < np.var(pos, axis=0).mean() < 14  # variance 8 per axis, n = 100


@pytest.mark.parametrize("covs, message", [
    ([[1, 2], [2, 1]], "not positive semi-definite"),
    ([[[1, 0], [0, 1]], [[1, 0], [0.5, 1]]], "covs[1] is not symmetric"),
    ([[[1, 0], [0, 1]], [[1, 0], [0, -1]]], "covs[1] is not positive semi-definite"),
    (np.ones((3, 3)), "covs must be"),
])
def test_gaussians_bad_covariance(covs, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        data.gaussians([[0, 0], [1, 1]], covs)


def test_gaussians_psd_singular_covariance_is_allowed():
    ds = data.gaussians([[0, 0]], covs=[[1, 1], [1, 1]], n_per_class=50, seed=0)
    np.testing.assert_allclose(ds.X[:, 0], ds.X[:, 1], atol=1e-5)


@pytest.mark.parametrize("call, message", [
    (lambda: data.moons(n=-5), "n=-5"),
    (lambda: data.moons(n=10, noise=-0.1), "noise=-0.1"),
    (lambda: data.spiral(arms=0), "arms=0"),
    (lambda: data.xor(n=2.5), "n=2.5"),
    (lambda: data.gaussians([[0, 0], [1, 1]], labels=(1, 1)), "distinct"),
    (lambda: data.gaussians([[0, 0]], n_per_class=[1, 2]), "n_per_class has 2"),
    (lambda: data.moons(n=10, seed=-1), "seed=-1"),
])
def test_bad_input_names_the_parameter(call, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[")):
        call()


def test_xor_label_rule_on_clean_points():
    ds = data.xor(n=500, noise=0.0, seed=0)
    np.testing.assert_array_equal(ds.y, (ds.X[:, 0] * ds.X[:, 1] < 0).astype(int))
    assert np.abs(ds.X).max() <= 1.0
    noisy = data.xor(n=500, noise=0.3, seed=0)
    np.testing.assert_array_equal(noisy.y, ds.y)  # labels from the same clean points
    assert not np.array_equal(noisy.X, ds.X)


def test_spiral_arms_turns_and_noise():
    ds = data.spiral(n=301, arms=3, turns=1.5, noise=0.0, seed=0)
    assert ds.n_classes == 3 and [int((ds.y == k).sum()) for k in range(3)] == [101, 100, 100]
    r = np.hypot(ds.X[:, 0], ds.X[:, 1])
    assert r.max() == pytest.approx(1.0, abs=1e-6) and r.min() == pytest.approx(0.0, abs=1e-6)
    arm0 = ds.X[ds.y == 0].astype(float)
    angle = np.unwrap(np.arctan2(arm0[1:, 1], arm0[1:, 0]))
    assert angle[-1] - angle[0] == pytest.approx(2 * np.pi * 1.5, rel=0.02)
    noisy = data.spiral(n=301, arms=3, turns=1.5, noise=0.1, seed=0)
    assert 0.07 < np.std(noisy.X - ds.X) < 0.13


def test_label_conventions():
    ds = data.moons(n=40, seed=0)
    pm1 = ds.labels_as("pm1")
    assert set(pm1) == {-1, 1}
    np.testing.assert_array_equal(data.to_01(pm1), ds.y)
    onehot = ds.labels_as("onehot")
    assert onehot.shape == (40, 2) and np.all(onehot.sum(axis=1) == 1)
    np.testing.assert_array_equal(data.from_one_hot(onehot), ds.y)
    np.testing.assert_array_equal(ds.with_labels("pm1").y, pm1)
    seed000 = data.gaussians(labels=(1, 0), n_per_class=5, seed=0)
    np.testing.assert_array_equal(seed000.labels_as("pm1"), [1] * 5 + [-1] * 5)
    with pytest.raises(ValueError, match="needs 2 classes"):
        data.spiral(arms=3).labels_as("pm1")
    with pytest.raises(ValueError, match=r"0\.\.1"):
        data.one_hot(np.array([0, 2]), n_classes=2)
