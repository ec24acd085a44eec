"""Batches: coverage, fresh order per epoch, determinism, ensemble equivalence."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neuralab import data
from neuralab.rng import spawn_generators


def test_batches_cover_every_index_once_per_epoch():
    ds = data.moons(n=103, seed=0)
    rng = np.random.default_rng(0)
    epochs = []
    for _ in range(3):
        xs, ys = zip(*data.batches(ds, batch_size=16, shuffle=True, rng=rng), strict=True)
        assert [len(x) for x in xs] == [16] * 6 + [7]
        X = np.concatenate(xs)
        assert sorted(map(tuple, X)) == sorted(map(tuple, ds.X))  # each sample exactly once
        np.testing.assert_array_equal(np.concatenate(ys), ds.y[_rows(ds.X, X)])
        epochs.append(X)
    assert not np.array_equal(epochs[0], epochs[1])  # a fresh order each epoch


def _rows(X, sub):
    lookup = {tuple(r): i for i, r in enumerate(X)}
    return np.array([lookup[tuple(r)] for r in sub])


def test_same_seed_same_order_and_no_shuffle():
    a = list(data.batch_indices(50, 8, rng=np.random.default_rng(4)))
    b = list(data.batch_indices(50, 8, rng=np.random.default_rng(4)))
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    plain = np.concatenate(list(data.batch_indices(50, 8, shuffle=False)))
    np.testing.assert_array_equal(plain, np.arange(50))


def test_full_batch_and_drop_last():
    ds = data.moons(n=30, seed=0)
    (xb, yb), = data.batches(ds, batch_size="full", shuffle=False)
    np.testing.assert_array_equal(xb, ds.X)
    np.testing.assert_array_equal(yb, ds.y)
    sizes = [len(x) for x, _ in data.batches(ds, batch_size=8, drop_last=True, rng=0)]
    assert sizes == [8, 8, 8] and data.n_batches(30, 8, drop_last=True) == 3
    assert data.n_batches(30, 8) == 4 and data.n_batches(30, "full") == 1
    with pytest.raises(ValueError, match="batch_size=0"):
        list(data.batches(ds, batch_size=0))
    with pytest.raises(ValueError, match="batch_size='half'"):
        list(data.batches(ds, batch_size="half"))


def test_tuple_input():
    X, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    for xb, yb in data.batches((X, y), batch_size=3, rng=1):
        np.testing.assert_array_equal(xb[:, 0] / 2, yb)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 60), b=st.integers(1, 70), members=st.integers(1, 5),
       seed=st.integers(0, 2**32 - 1), drop_last=st.booleans())
def test_ensemble_rows_equal_single_model_orders(n, b, members, seed, drop_last):
    single = [list(data.batch_indices(n, b, rng=g, drop_last=drop_last))
              for g in spawn_generators(seed, members)]
    stacked = list(data.ensemble_batch_indices(n, b, spawn_generators(seed, members),
                                               drop_last=drop_last))
    assert len(stacked) == len(single[0])
    for step, idx in enumerate(stacked):
        assert idx.shape == (members, len(single[0][step]))
        for i in range(members):
            np.testing.assert_array_equal(idx[i], single[i][step])


def test_ensemble_batches_shapes_and_fresh_epochs():
    ds = data.moons(n=40, seed=0)
    rngs = spawn_generators(0, 3)
    xb, yb = next(data.ensemble_batches(ds, 16, rngs))
    assert xb.shape == (3, 16, 2) and yb.shape == (3, 16)
    np.testing.assert_array_equal(xb[1], ds.X[_rows(ds.X, xb[1])])
    assert not np.array_equal(xb[0], xb[1])  # each member its own order
    second = next(data.ensemble_batches(ds, 16, rngs))[0]
    assert not np.array_equal(second[0], xb[0])
    with pytest.raises(ValueError, match="rngs is empty"):
        next(data.ensemble_batch_indices(10, 2, []))
