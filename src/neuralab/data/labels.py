"""Label conventions: class indices 0..K-1, binary {0, 1} and {-1, +1}, one-hot rows."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def to_index(y: np.ndarray, classes: Sequence[int] | None = None) -> np.ndarray:
    """Positions of the labels ``y`` (n,) in ``classes`` (sorted unique labels by default)."""
    y = np.asarray(y)
    classes = np.unique(y) if classes is None else np.asarray(classes)
    order = np.argsort(classes, kind="stable")
    pos = np.searchsorted(classes[order], y)
    pos = np.clip(pos, 0, len(classes) - 1)
    bad = classes[order][pos] != y
    if bad.any():
        raise ValueError(f"labels {np.unique(y[bad]).tolist()} are not among the classes "
                         f"{np.asarray(classes).tolist()}")
    return order[pos].astype(np.int64)


def _binary_index(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y)
    classes = np.unique(y)
    if len(classes) > 2:
        raise ValueError(f"binary labels are needed; found {len(classes)} classes "
                         f"{classes.tolist()}")
    if len(classes) == 2:
        return to_index(y, classes)
    # one class only: keep 0/1 and -1/+1 where they are, else call it the positive class
    return (y > 0).astype(np.int64) if classes[0] in (0, 1, -1) else np.ones(len(y), np.int64)


def to_01(y: np.ndarray) -> np.ndarray:
    """Binary labels (n,) as {0, 1}: the smaller label → 0, the larger → 1."""
    return _binary_index(y)


def to_pm1(y: np.ndarray) -> np.ndarray:
    """Binary labels (n,) as {-1, +1}: the smaller label → -1, the larger → +1."""
    return 2 * _binary_index(y) - 1


def one_hot(y: np.ndarray, n_classes: int | None = None, dtype=np.float32) -> np.ndarray:
    """Class indices (n,) in 0..K-1 as one-hot rows (n, K)."""
    y = np.asarray(y)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"one_hot needs integer class indices of shape (n,); got dtype "
                         f"{y.dtype} and shape {y.shape}")
    k = int(y.max()) + 1 if n_classes is None and y.size else int(n_classes or 0)
    if y.size and (y.min() < 0 or y.max() >= k):
        raise ValueError(f"one_hot needs class indices in 0..{k - 1}; found labels from "
                         f"{int(y.min())} to {int(y.max())} (convert with to_index first)")
    out = np.zeros((len(y), k), dtype=dtype)
    out[np.arange(len(y)), y] = 1
    return out


def from_one_hot(Y: np.ndarray) -> np.ndarray:
    """One-hot rows (or scores) (n, K) back to class indices (n,): the arg-max of each row."""
    Y = np.asarray(Y)
    if Y.ndim != 2:
        raise ValueError(f"from_one_hot needs an (n, K) array; got shape {Y.shape}")
    return Y.argmax(axis=1).astype(np.int64)
