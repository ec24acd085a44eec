"""Mini-batches for one model, and for an ensemble of E models at once.

One call is one epoch. With ``shuffle`` the order is ``rng.permutation(n)``, drawn once per
call, so passing the same ``Generator`` every epoch gives a fresh order each epoch (an int
seed gives the same order every time). Member i of an ensemble sees exactly the order a
single model would get with ``rngs[i]``: index arrays (E, B), batches (E, B, features).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from neuralab.data.dataset import Dataset
from neuralab.rng import SeedLike, as_generator

BatchSize = int | str


def resolve_batch_size(batch_size: BatchSize, n: int) -> int:
    """``batch_size`` as an int: ``"full"`` → n; larger than n → n."""
    if batch_size == "full":
        return n
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r} is not allowed; use an integer >= 1 or "
                         "'full'")
    return min(int(batch_size), n)


def n_batches(n: int, batch_size: BatchSize, drop_last: bool = False) -> int:
    """Number of batches in one epoch of ``n`` samples."""
    b = resolve_batch_size(batch_size, n)
    return n // b if drop_last else -(-n // b)


def _order(n: int, shuffle: bool, rng: SeedLike) -> np.ndarray:
    return as_generator(rng).permutation(n) if shuffle else np.arange(n)


def _chunks(order: np.ndarray, b: int, drop_last: bool) -> Iterator[np.ndarray]:
    """Consecutive slices of ``order`` along its last axis, ``b`` at a time."""
    n = order.shape[-1]
    stop = n - n % b if drop_last else n
    for start in range(0, stop, b):
        yield order[..., start:start + b]


def batch_indices(n: int, batch_size: BatchSize = 32, *, shuffle: bool = True,
                  rng: SeedLike = None, drop_last: bool = False) -> Iterator[np.ndarray]:
    """One epoch of index arrays (B,) covering 0..n-1 once (less the tail with ``drop_last``)."""
    b = resolve_batch_size(batch_size, n)
    yield from _chunks(_order(n, shuffle, rng), b, drop_last)


def ensemble_batch_indices(n: int, batch_size: BatchSize, rngs: Sequence[SeedLike], *,
                           shuffle: bool = True, drop_last: bool = False
                           ) -> Iterator[np.ndarray]:
    """One epoch for E members at once: index arrays (E, B), row i drawn from ``rngs[i]``."""
    if len(rngs) == 0:
        raise ValueError("rngs is empty; give one Generator per ensemble member")
    b = resolve_batch_size(batch_size, n)
    orders = np.stack([_order(n, shuffle, r) for r in rngs])
    yield from _chunks(orders, b, drop_last)


def _arrays(data: Dataset | tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(data, Dataset):
        return data.X, data.y
    X, y = (np.asarray(a) for a in data)
    if len(X) != len(y):
        raise ValueError(f"X and y have different lengths: {len(X)} and {len(y)}")
    return X, y


def batches(data: Dataset | tuple[np.ndarray, np.ndarray], batch_size: BatchSize = 32, *,
            shuffle: bool = True, rng: SeedLike = None, drop_last: bool = False
            ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """One epoch of ``(xb, yb)``: xb (B, ...), yb (B, ...) from a Dataset or an ``(X, y)`` pair."""
    X, y = _arrays(data)
    for idx in batch_indices(len(y), batch_size, shuffle=shuffle, rng=rng, drop_last=drop_last):
        yield X[idx], y[idx]


def ensemble_batches(data: Dataset | tuple[np.ndarray, np.ndarray], batch_size: BatchSize,
                     rngs: Sequence[SeedLike], *, shuffle: bool = True, drop_last: bool = False
                     ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """One epoch for E members: xb (E, B, ...), yb (E, B, ...); member i uses ``rngs[i]``."""
    X, y = _arrays(data)
    for idx in ensemble_batch_indices(len(y), batch_size, rngs, shuffle=shuffle,
                                      drop_last=drop_last):
        yield X[idx], y[idx]
