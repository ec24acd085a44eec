"""Synthetic 2-D classification sets: gaussians, blobs, moons, circles, xor, spiral.

moons, circles and blobs delegate to scikit-learn: with an int ``seed`` the arrays equal
``sklearn.datasets.make_*(..., random_state=seed)`` exactly. The others draw from a NumPy
``Generator`` made from ``seed``; no global random state is used.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from neuralab._checks import check_array, check_positive
from neuralab.data.dataset import Dataset
from neuralab.rng import SeedLike, as_generator

FLOAT = np.float32


def _sklearn_seed(seed: SeedLike) -> int | None:
    """``random_state`` for scikit-learn: an int passes through, a Generator gives one draw."""
    if seed is None or (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool)):
        as_generator(seed)  # validates (e.g. negative ints)
        return None if seed is None else int(seed)
    return int(as_generator(seed).integers(2**31 - 1))


def _check_n(n: int, name: str = "n") -> int:
    return int(check_positive(name, n, integer=True))


def _check_noise(noise: float) -> float:
    return float(check_positive("noise", noise, strict=False))


def _dataset(X: np.ndarray, y: np.ndarray, name: str, description: str, **kw) -> Dataset:
    return Dataset(X=np.asarray(X, dtype=FLOAT), y=np.asarray(y, dtype=np.int64), name=name,
                   source="neuralab.data (synthetic)", description=description, **kw)


def _per_class(n: int | Sequence[int], k: int) -> list[int]:
    counts = [n] * k if np.ndim(n) == 0 else list(n)
    if len(counts) != k:
        raise ValueError(f"n_per_class has {len(counts)} entries for {k} classes")
    return [_check_n(c, "n_per_class") for c in counts]


def _covariances(covs, k: int, d: int) -> np.ndarray:
    """(k, d, d) covariances from None (identity), a scalar s (s·I), one (d, d) or k of them."""
    if covs is None:
        covs = 1.0
    if np.ndim(covs) == 0:
        check_positive("covs", covs, strict=False)
        return np.broadcast_to(float(covs) * np.eye(d), (k, d, d))
    C = check_array("covs", covs, ndim=(2, 3))
    C = np.broadcast_to(C, (k, d, d)) if C.shape == (d, d) else C
    if C.shape != (k, d, d):
        raise ValueError(f"covs must be a scalar, one ({d}, {d}) matrix or {k} of them "
                         f"(shape ({k}, {d}, {d})); got shape {np.shape(covs)}")
    for i, c in enumerate(C):
        if not np.allclose(c, c.T):
            raise ValueError(f"covs[{i}] is not symmetric: {c.tolist()}")
        eig = np.linalg.eigvalsh(c)
        if eig.min() < -1e-10 * max(1.0, abs(eig).max()):
            raise ValueError(f"covs[{i}] is not positive semi-definite: its eigenvalues are "
                             f"{np.round(eig, 6).tolist()} (all must be >= 0)")
    return C


DEFAULT_MEANS = ((-2.0, -2.0), (2.0, 2.0))  # seed 000, task 3


def gaussians(
    means: Sequence[Sequence[float]] = DEFAULT_MEANS,
    covs=None,
    n_per_class: int | Sequence[int] = 100,
    labels: Sequence[int] | None = None,
    *,
    shuffle: bool = False,
    seed: SeedLike = None,
) -> Dataset:
    """One Gaussian cloud per class: ``X`` (sum n_per_class, d), ``y`` from ``labels``.

    ``means`` (K, d). ``covs``: None (identity), a scalar s (s·I, seed 001's ``cov_scale``),
    one (d, d) matrix shared by all classes or K matrices (K, d, d), each symmetric PSD.
    Class ``i`` gets label ``labels[i]`` (default ``i``); its points come from
    ``rng.multivariate_normal(means[i], covs[i], n_per_class[i])``, classes in order
    (``shuffle=True`` mixes them). Seed 000: ``labels=(1, 0)``; seed 001: ``labels=(1, -1)``.
    """
    M = check_array("means", means, ndim=2)
    k, d = M.shape
    C = _covariances(covs, k, d)
    counts = _per_class(n_per_class, k)
    labels = tuple(range(k)) if labels is None else tuple(int(v) for v in labels)
    if len(labels) != k or len(set(labels)) != k:
        raise ValueError(f"labels must be {k} distinct integers, one per class; got {labels}")
    rng = as_generator(seed)
    X = np.concatenate([rng.multivariate_normal(m, c, size=n)
                        for m, c, n in zip(M, C, counts, strict=True)])
    y = np.repeat(labels, counts)
    if shuffle:
        order = rng.permutation(len(y))
        X, y = X[order], y[order]
    return _dataset(X, y, "gaussians", f"{k} Gaussian classes in {d}-D",
                    classes=tuple(sorted(labels)))


def blobs(
    n: int = 100,
    centers: int | Sequence[Sequence[float]] = 3,
    cluster_std: float | Sequence[float] = 1.0,
    *,
    n_features: int = 2,
    seed: SeedLike = None,
) -> Dataset:
    """Isotropic Gaussian blobs (scikit-learn's ``make_blobs``): ``X`` (n, n_features)."""
    from sklearn.datasets import make_blobs

    _check_n(n)
    for s in np.atleast_1d(cluster_std):
        check_positive("cluster_std", s, strict=False)
    X, y = make_blobs(n_samples=n, n_features=n_features, centers=centers,
                      cluster_std=cluster_std, random_state=_sklearn_seed(seed))
    k = centers if np.ndim(centers) == 0 else len(centers)
    return _dataset(X, y, "blobs", "Gaussian blobs (scikit-learn make_blobs)",
                    classes=tuple(range(int(k))))


def moons(n: int = 100, noise: float = 0.0, *, seed: SeedLike = None) -> Dataset:
    """Two interleaving half circles (scikit-learn's ``make_moons``): ``X`` (n, 2), y in {0, 1}."""
    from sklearn.datasets import make_moons

    X, y = make_moons(n_samples=_check_n(n), noise=_check_noise(noise),
                      random_state=_sklearn_seed(seed))
    return _dataset(X, y, "moons", "two interleaving half circles (scikit-learn make_moons)",
                    classes=(0, 1))


def circles(
    n: int = 100, noise: float = 0.0, factor: float = 0.8, *, seed: SeedLike = None
) -> Dataset:
    """A small circle inside a large one (``make_circles``): ``X`` (n, 2), inner circle y = 1."""
    from sklearn.datasets import make_circles

    X, y = make_circles(n_samples=_check_n(n), noise=_check_noise(noise), factor=factor,
                        random_state=_sklearn_seed(seed))
    return _dataset(X, y, "circles", "concentric circles (scikit-learn make_circles)",
                    classes=(0, 1))


def xor(n: int = 200, noise: float = 0.0, *, seed: SeedLike = None) -> Dataset:
    """XOR of the signs: points uniform in [-1, 1]², y = 1 where x1·x2 < 0, else 0.

    The label is decided on the clean point; ``noise`` is then the std of Gaussian noise
    added to both coordinates, so noisy points may cross the axes. ``X`` (n, 2).
    """
    rng = as_generator(seed)
    P = rng.uniform(-1.0, 1.0, size=(_check_n(n), 2))
    y = (P[:, 0] * P[:, 1] < 0).astype(np.int64)
    X = P + _check_noise(noise) * rng.standard_normal(P.shape)
    return _dataset(X, y, "xor", "XOR of the coordinate signs on [-1, 1]^2", classes=(0, 1))


def spiral(
    n: int = 300,
    arms: int = 2,
    turns: float = 1.0,
    noise: float = 0.0,
    *,
    seed: SeedLike = None,
) -> Dataset:
    """Interleaved spiral arms, one class per arm: ``X`` (n, 2), y in 0..arms-1.

    Arm k has radius r = linspace(0, 1) and angle θ = 2π·turns·r + 2πk/arms;
    ``noise`` is the std of Gaussian noise added to each coordinate.
    """
    arms = _check_n(arms, "arms")
    turns = check_positive("turns", turns)
    noise = _check_noise(noise)
    counts = [len(part) for part in np.array_split(np.arange(_check_n(n)), arms)]
    rng = as_generator(seed)
    points = []
    for k, m in enumerate(counts):
        r = np.linspace(0.0, 1.0, m)
        theta = 2 * np.pi * (turns * r + k / arms)
        points.append(np.column_stack([r * np.cos(theta), r * np.sin(theta)]))
    X = np.concatenate(points)
    X = X + noise * rng.standard_normal(X.shape)
    y = np.repeat(np.arange(arms), counts)
    return _dataset(X, y, "spiral", f"{arms}-arm spiral with {turns:g} turns",
                    classes=tuple(range(arms)))
