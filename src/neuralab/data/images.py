"""Turning raw image arrays (uint8 pixels) into a :class:`Dataset`, the same way for every set."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from neuralab.data.dataset import Dataset


def first(array: np.ndarray, n: int | None, what: str) -> np.ndarray:
    """The first ``n`` rows of ``array`` (all when ``n`` is None); ``what`` names it in errors."""
    if n is None:
        return array
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"{what}={n!r} is not allowed; it must be an integer >= 1")
    if n > len(array):
        raise ValueError(f"{what}={n} is more than the {len(array)} samples available")
    return array[:n]


def pixel_scale(normalize: bool | float, max_value: float) -> float:
    """The divisor for ``normalize``: True → ``max_value``, False → 1, a number → itself."""
    if isinstance(normalize, (bool, np.bool_)):
        return float(max_value) if normalize else 1.0
    if not isinstance(normalize, (int, float)) or not normalize > 0:
        raise ValueError(f"normalize={normalize!r} is not allowed; use True (divide by "
                         f"{max_value:g}), False (raw pixel values) or a number > 0 to divide by")
    return float(normalize)


def image_dataset(
    images: np.ndarray,
    labels: np.ndarray,
    *,
    name: str,
    class_names: Sequence[str],
    source: str,
    description: str = "",
    normalize: bool | float = True,
    flatten: bool = True,
    dtype=np.float32,
    max_value: float = 255.0,
) -> Dataset:
    """A Dataset of ``images`` (n, H, W[, C]) with integer ``labels`` (n,) 0..K-1.

    ``X`` is ``images / scale`` as ``dtype``, flattened to (n, H·W·C) when ``flatten``,
    else channels first as a CNN takes it (PyTorch's layout): (n, 1, H, W) for grey images,
    (n, C, H, W) for colour ones. ``image_shape`` remembers the pixels' (H, W[, C]).
    """
    scale = pixel_scale(normalize, max_value)
    X = images.astype(dtype)
    if scale != 1.0:
        X /= np.asarray(scale, dtype=dtype)
    image_shape = tuple(images.shape[1:])
    if flatten:
        X = X.reshape(len(X), -1)
    elif X.ndim == 3:  # grey: one channel
        X = X[:, None]
    elif X.ndim == 4:  # (n, H, W, C) -> (n, C, H, W)
        X = np.ascontiguousarray(X.transpose(0, 3, 1, 2))
    return Dataset(X=X, y=np.asarray(labels, dtype=np.int64), name=name,
                   classes=tuple(range(len(class_names))), class_names=tuple(class_names),
                   image_shape=image_shape, source=source, description=description,
                   meta={"pixel_scale": scale})
