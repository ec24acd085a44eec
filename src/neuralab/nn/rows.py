"""Reductions and row-wise operations along a short last axis ``(…, B, C)``.

NumPy runs its inner loop along the last axis: with a few classes and many rows (an
ensemble's logits ``(E, B, C)``) each row becomes a tiny loop of C values, 5-50× slower than
the same work done column by column. These give NumPy's results (the same floats, up to
the summation order of ``row_sum``) at the column-by-column speed.
"""

from __future__ import annotations

import numpy as np

#: the column-by-column way pays off for at most this many columns and this many values
MAX_COLUMNS, MIN_SIZE = 16, 2048


def row_max(z: np.ndarray) -> np.ndarray:
    """``z.max(axis=-1)`` ``(…, B)``.

    NumPy reduces a short last axis one row at a time (~40 ns per row); with a few classes
    and many rows, taking the maximum column by column is 5-50× faster (same result).
    """
    c = z.shape[-1]
    if c > MAX_COLUMNS or z.size < MIN_SIZE:
        return np.maximum.reduce(z, axis=-1)  # z.max without its Python wrapper
    m = z[..., 0].copy()
    for j in range(1, c):
        np.maximum(m, z[..., j], out=m)
    return m


def row_sum(z: np.ndarray) -> np.ndarray:
    """``z.sum(axis=-1)`` as one BLAS product with a ones vector (NumPy's reduction of a short
    last axis goes row by row, up to 25× slower); equal up to float rounding."""
    if z.size < MIN_SIZE:  # small: the reduction's fixed cost is lower
        return np.add.reduce(z, axis=-1)
    return np.matmul(z, np.ones(z.shape[-1], z.dtype))


def by_row(op: np.ufunc, z: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``op(z, v[..., None])``: each row of ``z (…, B, C)`` with its value of ``v (…, B)``.

    Broadcast along a short last axis, NumPy runs its inner loop C values at a time; with a
    few classes, column by column (loops along B) is 3-5× faster, with the same results.
    """
    c = z.shape[-1]
    if c > MAX_COLUMNS or z.size < MIN_SIZE:
        return op(z, v[..., None])
    out = np.empty(z.shape, np.result_type(z, v))
    for j in range(c):
        op(z[..., j], v, out=out[..., j])
    return out


#: the widest row :func:`add_to_rows` builds: ~16 rows of 20 features, where NumPy's
#: per-loop cost is already small and the tiled vector still sits in L1
TILE_WIDTH = 320
#: below this many entries the plain broadcast add is faster than building the tiled row
#: (a playground batch of 10 rows: 2.4 µs against 15 µs with np.tile)
TILE_MIN_SIZE = 8192
_TILES: dict[tuple[int, int], int] = {}


def _tile_rows(rows: int, width: int) -> int:
    """The largest k that divides ``rows`` with ``k · width <= TILE_WIDTH`` (cached)."""
    k = _TILES.get((rows, width))
    if k is None:
        k = max(1, min(rows, TILE_WIDTH // width))
        while rows % k:
            k -= 1
        if len(_TILES) >= 64:
            _TILES.clear()
        _TILES[(rows, width)] = k
    return k


def add_to_rows(out: np.ndarray, b: np.ndarray) -> None:
    """``out += b`` in place, ``b`` added to every row: ``out (B, F)`` with ``b (F,)``, or
    ``out (E, B, F)`` with ``b (E, F)`` (each member's own vector).

    A bias broadcast over the rows makes NumPy loop F values at a time (B·E loops). Seen as
    ``(E, B/k, k·F)`` with ``b`` repeated k times, each loop covers k rows: 2× faster at
    F = 20 and 10× at F = 2 (an ensemble's logits), with the very same sums.
    """
    rows, width = out.shape[-2], out.shape[-1]
    k = (_tile_rows(rows, width) if out.flags.c_contiguous and out.size >= TILE_MIN_SIZE
         else 1)
    if k == 1:
        out += b if b.ndim == 1 else b[:, None, :]
        return
    wide = out.reshape(*out.shape[:-2], rows // k, k * width)  # a view: out is contiguous
    # b repeated k times along its row: one repeat and a reshape (np.tile takes ~8 µs of
    # Python, more than a small batch's whole add)
    tiled = np.repeat(b[..., None, :], k, axis=-2).reshape(*b.shape[:-1], k * width)
    wide += tiled if b.ndim == 1 else tiled[:, None, :]


def row_argmax(z: np.ndarray) -> np.ndarray:
    """``z.argmax(axis=-1)`` ``(…, B)``: the first largest entry of each row."""
    c = z.shape[-1]
    if c > MAX_COLUMNS or z.size < MIN_SIZE or c < 2:
        return z.argmax(axis=-1)
    best = z[..., 0].copy()
    index = np.zeros(best.shape, np.intp)
    for j in range(1, c):
        column = z[..., j]
        later = column > best  # strictly: a tie keeps the earlier column, as argmax
        index[later] = j
        np.maximum(best, column, out=best)
    if np.isnan(best).any():  # argmax returns the first NaN of a row: leave those to it
        return z.argmax(axis=-1)
    return index


__all__ = ["add_to_rows", "by_row", "row_argmax", "row_max", "row_sum"]
