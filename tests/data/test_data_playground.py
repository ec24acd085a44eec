"""TensorFlow Playground sets: balance, radii, ranges and label rules, with and without noise."""

from __future__ import annotations

import numpy as np
import pytest

from neuralab.data import playground as pg


def radius(ds):
    return np.hypot(ds.X[:, 0].astype(float), ds.X[:, 1].astype(float))


def test_circle_noise_zero_label_rule_exact():
    ds = pg.circle(n=1000, noise=0.0, seed=0)
    r = radius(ds)
    np.testing.assert_array_equal(ds.y, np.where(r < 2.5, 1, -1))
    assert (ds.y == 1).sum() == 500 and ds.classes == (-1, 1)
    assert r[:500].max() <= 2.5 and r[500:].min() >= 3.5 - 1e-5 and r.max() <= 5 + 1e-5


def test_circle_noise_flips_labels_but_keeps_points_in_their_bands():
    clean, noisy = pg.circle(n=4000, noise=0.0, seed=1), pg.circle(n=4000, noise=0.5, seed=1)
    r = radius(noisy)
    assert r[:2000].max() <= 2.5 and r[2000:].min() >= 3.5 - 1e-5 and r[2000:].max() <= 5 + 1e-5
    flipped = noisy.y != np.where(r < 2.5, 1, -1)
    assert 0.05 < flipped.mean() < 0.6
    # flips happen near the boundary more than far from it
    near, far = np.abs(r - 3.0) < 1.0, np.abs(r - 3.0) >= 1.5
    assert flipped[near].mean() > flipped[far].mean()
    assert (clean.y != np.where(radius(clean) < 2.5, 1, -1)).sum() == 0


def test_xor_padding_ranges_and_rule():
    ds = pg.xor(n=2000, noise=0.0, seed=2)
    ax = np.abs(ds.X.astype(float))
    assert ax.min() >= 0.3 - 1e-6 and ax.max() <= 5.3 + 1e-6
    np.testing.assert_array_equal(ds.y, np.where(ds.X[:, 0] * ds.X[:, 1] >= 0, 1, -1))
    assert 0.45 < (ds.y == 1).mean() < 0.55
    noisy = pg.xor(n=2000, noise=0.5, seed=2)
    wrong = noisy.y != np.where(noisy.X[:, 0] * noisy.X[:, 1] >= 0, 1, -1)
    assert 0.05 < wrong.mean() < 0.5
    assert np.abs(noisy.X).max() <= 5.3 + 1e-6  # the points themselves are not moved


@pytest.mark.parametrize("noise, variance", [(0.0, 0.5), (0.25, 2.25), (0.5, 4.0)])
def test_gauss_variance_scale(noise, variance):
    ds = pg.gauss(n=40000, noise=noise, seed=3)
    pos, neg = ds.X[ds.y == 1].astype(float), ds.X[ds.y == -1].astype(float)
    assert len(pos) == len(neg) == 20000
    np.testing.assert_allclose(pos.mean(axis=0), [2, 2], atol=0.05)
    np.testing.assert_allclose(neg.mean(axis=0), [-2, -2], atol=0.05)
    np.testing.assert_allclose(pos.var(axis=0), variance, rtol=0.05)


def test_spiral_definition_noise_zero_and_noise_moves_points():
    ds = pg.spiral(n=500, noise=0.0, seed=0)
    half = 250
    i = np.arange(half)
    r, t = i / half * 5, 1.75 * i / half * 2 * np.pi
    np.testing.assert_allclose(ds.X[:half], np.column_stack([r * np.sin(t), r * np.cos(t)]),
                               atol=1e-5)
    np.testing.assert_allclose(ds.X[half:], -ds.X[:half], atol=1e-5)  # Δ = π
    np.testing.assert_array_equal(ds.y, np.repeat([1, -1], half))
    noisy = pg.spiral(n=500, noise=0.5, seed=0)
    shift = noisy.X - ds.X
    assert np.abs(shift).max() <= 0.5 + 1e-6 and np.abs(shift).mean() > 0.2


def test_plane_target_and_noise():
    ds = pg.plane(n=3000, noise=0.0, seed=4)
    assert ds.task == "regression" and ds.n_classes == 0
    assert np.abs(ds.X).max() <= 6
    np.testing.assert_allclose(ds.y, (ds.X[:, 0] + ds.X[:, 1]) / 10, atol=1e-6)
    noisy = pg.plane(n=3000, noise=0.3, seed=4)
    err = noisy.y - (noisy.X[:, 0] + noisy.X[:, 1]) / 10
    # jitter U(-6, 6)·0.3 per coordinate: the error is a sum of two uniforms / 10
    assert np.abs(err).max() <= 0.36 + 1e-5 and err.std() == pytest.approx(
        np.sqrt(2 * 1.8**2 / 3) / 10, rel=0.08)  # U(-1.8, 1.8): var 1.8²/3


def test_multi_gauss_rule():
    ds = pg.multi_gauss(n=3000, noise=0.0, seed=5)
    assert np.abs(ds.X).max() <= 6 and np.abs(ds.y).max() <= 1
    centres = pg.MULTI_GAUSS_CENTRES
    # at each centre the target is its sign; far from all centres it is 0
    at = np.array(centres[:, :2])
    np.testing.assert_allclose(pg.multi_gauss_target(at), centres[:, 2])
    np.testing.assert_allclose(pg.multi_gauss_target(np.array([[0.0, 0.0]])), 0.0)
    # a point 1 away from (4, 2.5) only: value +1 * (1 - 1/2)
    np.testing.assert_allclose(pg.multi_gauss_target(np.array([[5.0, 2.5]])), 0.5)
    # a point between (0, 2.5) (-) and (4, 2.5) (+), nearer the + bump: it wins
    np.testing.assert_allclose(pg.multi_gauss_target(np.array([[2.5, 2.5]])), 0.25)
    np.testing.assert_allclose(ds.y, pg.multi_gauss_target(ds.X.astype(float)), atol=1e-6)


def test_ranges_and_counts_of_every_set():
    for name, fn in pg.PLAYGROUND_SETS.items():
        ds = fn(n=101, noise=0.2, seed=0)
        assert len(ds) in (101, 102), name  # halves are ceil(n / 2), as in Playground
        if name != "gauss":
            assert np.abs(ds.X).max() <= 6, name
    with pytest.raises(ValueError, match="noise"):
        pg.circle(noise=-1)
