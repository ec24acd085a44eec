"""Synthetic 2-D classification sets: gaussians, blobs, moons, circles, xor, spiral.

moons, circles and blobs are scikit-learn's ``make_moons``, ``make_circles`` and
``make_blobs`` written again in NumPy: with an int ``seed`` the arrays equal
``sklearn.datasets.make_*(..., random_state=seed)`` exactly (tests/data check it), without
importing scikit-learn (about a second of start-up). The others draw from a NumPy
``Generator`` made from ``seed``; no global random state is used.

moons and circles default to the sets the courses train on (CS324: 1,000 points, noise 0.2
for moons), so ``moons()``, ``load("moons")``, ``neuralab data show moons`` and
``neuralab train --data moons`` all mean the same data.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from neuralab._checks import check_array, check_in_range, check_positive
from neuralab.data.dataset import Dataset
from neuralab.rng import SeedLike, as_generator

FLOAT = np.float32


def _legacy_stream(seed: SeedLike) -> np.random.RandomState:
    """The stream scikit-learn's ``make_*`` draw from, for ``seed``.

    scikit-learn turns ``random_state`` into a legacy ``RandomState``; drawing from the same
    one is what makes the arrays equal. It is a local object (never NumPy's global state):
    an int seeds it, None takes fresh entropy, a Generator or SeedSequence gives one draw.
    """
    if seed is None or (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool)):
        as_generator(seed)  # validates (e.g. negative ints)
        return np.random.RandomState(None if seed is None else int(seed))
    return np.random.RandomState(int(as_generator(seed).integers(2**31 - 1)))


def _shuffled(X: np.ndarray, y: np.ndarray, stream: np.random.RandomState
              ) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's ``utils.shuffle``: one in-place shuffle of the row indices."""
    order = np.arange(len(y))
    stream.shuffle(order)
    return X[order], y[order]


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
    """Isotropic Gaussian blobs (scikit-learn's ``make_blobs``): ``X`` (n, n_features).

    ``centers``: how many (drawn uniformly in [-10, 10] per coordinate) or their
    coordinates (K, n_features); ``cluster_std``: one standard deviation or one per centre.
    """
    n = _check_n(n)
    n_features = _check_n(n_features, "n_features")
    stream = _legacy_stream(seed)
    if np.ndim(centers) == 0:
        k = _check_n(centers, "centers")
        C = stream.uniform(-10.0, 10.0, size=(k, n_features))
    else:
        C = check_array("centers", centers, ndim=2)
        k, n_features = C.shape
    stds = np.atleast_1d(np.asarray(cluster_std, dtype=float))
    for s in stds:
        check_positive("cluster_std", float(s), strict=False)
    if np.ndim(cluster_std) == 0:
        stds = np.full(k, stds[0])
    elif len(stds) != k:
        raise ValueError(f"cluster_std has {len(stds)} entries for {k} centers; give one "
                         "number or one per center")
    counts = [n // k + (1 if i < n % k else 0) for i in range(k)]
    X = np.concatenate([stream.normal(loc=C[i], scale=stds[i], size=(m, n_features))
                        for i, m in enumerate(counts)])
    X, y = _shuffled(X, np.repeat(np.arange(k), counts), stream)
    return _dataset(X, y, "blobs", "Gaussian blobs (as scikit-learn's make_blobs)",
                    classes=tuple(range(k)))


def _two_arcs(n: int, first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points ``first`` (class 0, n // 2 of them) then ``second`` (class 1), as (X, y)."""
    X = np.concatenate([first, second])
    y = np.repeat([0, 1], [n // 2, n - n // 2])
    return X, y


def moons(n: int = 1000, noise: float = 0.2, *, seed: SeedLike = None) -> Dataset:
    """Two interleaving half circles (scikit-learn's ``make_moons``): ``X`` (n, 2), y in {0, 1}.

    ``noise``: the standard deviation of Gaussian noise added to each coordinate.
    """
    n, noise = _check_n(n), _check_noise(noise)
    stream = _legacy_stream(seed)
    t_out, t_in = np.linspace(0, np.pi, n // 2), np.linspace(0, np.pi, n - n // 2)
    X, y = _two_arcs(n, np.column_stack([np.cos(t_out), np.sin(t_out)]),
                     np.column_stack([1 - np.cos(t_in), 1 - np.sin(t_in) - 0.5]))
    X, y = _shuffled(X, y, stream)
    if noise > 0:
        X += stream.normal(scale=noise, size=X.shape)
    return _dataset(X, y, "moons", "two interleaving half circles (as scikit-learn's "
                    "make_moons)", classes=(0, 1))


def circles(
    n: int = 1000, noise: float = 0.1, factor: float = 0.5, *, seed: SeedLike = None
) -> Dataset:
    """A small circle inside a large one (``make_circles``): ``X`` (n, 2), inner circle y = 1.

    ``factor``: the inner circle's radius (the outer one's is 1), in [0, 1).
    """
    n, noise = _check_n(n), _check_noise(noise)
    factor = float(check_in_range("factor", factor, 0.0, 1.0))
    stream = _legacy_stream(seed)
    # endpoint=False: the first point of a circle is not also its last
    t_out = np.linspace(0, 2 * np.pi, n // 2, endpoint=False)
    t_in = np.linspace(0, 2 * np.pi, n - n // 2, endpoint=False)
    X, y = _two_arcs(n, np.column_stack([np.cos(t_out), np.sin(t_out)]),
                     np.column_stack([np.cos(t_in) * factor, np.sin(t_in) * factor]))
    X, y = _shuffled(X, y, stream)
    if noise > 0:
        X += stream.normal(scale=noise, size=X.shape)
    return _dataset(X, y, "circles", "concentric circles (as scikit-learn's make_circles)",
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
    radius: float = 1.0,
    seed: SeedLike = None,
) -> Dataset:
    """Interleaved spiral arms, one class per arm: ``X`` (n, 2), y in 0..arms-1.

    Arm k has radius r = radius·linspace(0, 1) and angle θ = 2π·turns·r/radius + 2πk/arms;
    ``noise`` is the std of Gaussian noise added to each coordinate (``radius=6`` fills
    TensorFlow Playground's domain, as the playground's k-class spirals do).
    """
    arms = _check_n(arms, "arms")
    turns = check_positive("turns", turns)
    radius = check_positive("radius", radius)
    noise = _check_noise(noise)
    counts = [len(part) for part in np.array_split(np.arange(_check_n(n)), arms)]
    rng = as_generator(seed)
    points = []
    for k, m in enumerate(counts):
        r = np.linspace(0.0, 1.0, m)
        theta = 2 * np.pi * (turns * r + k / arms)
        points.append(np.column_stack([r * np.cos(theta), r * np.sin(theta)]))
    X = np.concatenate(points)
    if radius != 1.0:
        X = radius * X
    X = X + noise * rng.standard_normal(X.shape)
    y = np.repeat(np.arange(arms), counts)
    return _dataset(X, y, "spiral", f"{arms}-arm spiral with {turns:g} turns",
                    classes=tuple(range(arms)))
