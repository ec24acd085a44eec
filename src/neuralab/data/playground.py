"""TensorFlow Playground's data sets, following its ``dataset.ts`` definition by definition.

Four classification sets (labels -1/+1) and two regression sets (targets in [-1, 1]).
``noise`` is Playground's slider divided by 100 (0 to 0.5 there; larger values are
extrapolated the same way). What the noise does differs per set, as in Playground:

- circle, xor, plane, multi-gauss: the noise jitters the point *used to compute the label*;
  the point drawn is kept, so labels near the boundary flip and points stay where drawn.
- spiral: the noise moves the points (uniform in ±noise per coordinate).
- gauss: the noise sets the variance, 0.5 + 7·noise (0 → 0.5, 0.5 → 4).

Points come in Playground's order (positives first where it does so); Playground shuffles
afterwards when it splits train/test, which :func:`neuralab.data.split` does too.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from neuralab.data.dataset import Dataset
from neuralab.data.synthetic import FLOAT, _check_n, _check_noise
from neuralab.rng import SeedLike, as_generator

CIRCLE_RADIUS = 5.0
XOR_PADDING = 0.3
REGRESS_RADIUS = 6.0
# (cx, cy, sign) of regressGaussian's six bumps
MULTI_GAUSS_CENTRES = np.array([[-4, 2.5, 1], [0, 2.5, -1], [4, 2.5, 1],
                                [-4, -2.5, -1], [0, -2.5, 1], [4, -2.5, -1]], dtype=float)
SOURCE = "TensorFlow Playground (github.com/tensorflow/playground, src/dataset.ts)"


def _classification(X: np.ndarray, y: np.ndarray, name: str, description: str) -> Dataset:
    return Dataset(X=X.astype(FLOAT), y=y.astype(np.int64), name=f"playground-{name}",
                   classes=(-1, 1), source=SOURCE, description=description)


def _regression(X: np.ndarray, y: np.ndarray, name: str, description: str) -> Dataset:
    return Dataset(X=X.astype(FLOAT), y=y.astype(FLOAT), name=f"playground-{name}",
                   task="regression", source=SOURCE, description=description)


def _jitter(rng: np.random.Generator, n: int, half_width: float, noise: float) -> np.ndarray:
    """Playground's label noise: U(-half_width, half_width)·noise per coordinate, (n, 2)."""
    return rng.uniform(-half_width, half_width, size=(n, 2)) * noise


def _half(n: int) -> int:
    """Points per half: Playground loops ``i < n / 2``, i.e. ceil(n / 2) points."""
    return -(-_check_n(n) // 2)


def _on_rings(rng: np.random.Generator, n: int, r_low: float, r_high: float) -> np.ndarray:
    r = rng.uniform(r_low, r_high, size=n)
    angle = rng.uniform(0.0, 2 * np.pi, size=n)
    return np.column_stack([r * np.sin(angle), r * np.cos(angle)])


def circle(n: int = 500, noise: float = 0.0, *, seed: SeedLike = None) -> Dataset:
    """classifyCircleData: n/2 points with r ~ U(0, 2.5), n/2 with r ~ U(3.5, 5).

    Label +1 where the jittered point lies within radius 2.5 of the origin, else -1.
    """
    rng, half, noise = as_generator(seed), _half(n), _check_noise(noise)
    X = np.concatenate([_on_rings(rng, half, 0, CIRCLE_RADIUS * 0.5),
                        _on_rings(rng, half, CIRCLE_RADIUS * 0.7, CIRCLE_RADIUS)])
    probe = X + _jitter(rng, len(X), CIRCLE_RADIUS, noise)
    y = np.where(np.hypot(probe[:, 0], probe[:, 1]) < CIRCLE_RADIUS * 0.5, 1, -1)
    return _classification(X, y, "circle", "Playground circle: a disc inside a ring")


def xor(n: int = 500, noise: float = 0.0, *, seed: SeedLike = None) -> Dataset:
    """classifyXORData: x, y ~ U(-5, 5) pushed 0.3 away from the axes; +1 where x·y >= 0."""
    rng, noise = as_generator(seed), _check_noise(noise)
    X = rng.uniform(-5.0, 5.0, size=(_check_n(n), 2))
    X += np.where(X > 0, XOR_PADDING, -XOR_PADDING)
    probe = X + _jitter(rng, len(X), 5.0, noise)
    y = np.where(probe[:, 0] * probe[:, 1] >= 0, 1, -1)
    return _classification(X, y, "xor", "Playground XOR: four quadrants")


def gauss(n: int = 500, noise: float = 0.0, *, seed: SeedLike = None) -> Dataset:
    """classifyTwoGaussData: n/2 points around (2, 2) labelled +1, n/2 around (-2, -2) -1.

    Each coordinate is normal with variance 0.5 + 7·noise (std = its square root).
    """
    rng, half, noise = as_generator(seed), _half(n), _check_noise(noise)
    std = np.sqrt(0.5 + noise * (4.0 - 0.5) / 0.5)
    X = np.concatenate([rng.normal(2.0, std, size=(half, 2)),
                        rng.normal(-2.0, std, size=(half, 2))])
    y = np.repeat([1, -1], half)
    return _classification(X, y, "gauss", "Playground gauss: two Gaussian clouds")


def spiral(n: int = 500, noise: float = 0.0, *, seed: SeedLike = None) -> Dataset:
    """classifySpiralData: two arms of n/2 points, r = 5·i/(n/2), t = 1.75·2π·i/(n/2) + Δ.

    Δ = 0 for the +1 arm and π for the -1 arm; x = r·sin t, y = r·cos t, each moved by
    U(-1, 1)·noise.
    """
    rng, half, noise = as_generator(seed), _half(n), _check_noise(noise)
    i = np.arange(half)
    r = i / (n / 2) * 5.0
    arms = []
    for delta in (0.0, np.pi):
        t = 1.75 * i / (n / 2) * 2 * np.pi + delta
        arms.append(np.column_stack([r * np.sin(t), r * np.cos(t)]))
    X = np.concatenate(arms) + rng.uniform(-1.0, 1.0, size=(2 * half, 2)) * noise
    y = np.repeat([1, -1], half)
    return _classification(X, y, "spiral", "Playground spiral: two interleaved arms")


def _regress(rng: np.random.Generator, n: int, noise: float,
             target: Callable[[np.ndarray], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    X = rng.uniform(-REGRESS_RADIUS, REGRESS_RADIUS, size=(n, 2))
    return X, target(X + _jitter(rng, n, REGRESS_RADIUS, noise))


def plane_target(P: np.ndarray) -> np.ndarray:
    """regressPlane's label: (x + y) / 10, i.e. domain [-10, 10] mapped linearly to [-1, 1]."""
    return (P[:, 0] + P[:, 1]) / 10.0


def multi_gauss_target(P: np.ndarray) -> np.ndarray:
    """regressGaussian's label: of the six bumps sign·max(0, 1 - dist/2), the largest in |·|.

    Ties keep the first bump in Playground's order (it replaces only on a strictly larger |·|).
    """
    cx, cy, sign = MULTI_GAUSS_CENTRES.T
    d = np.hypot(P[:, None, 0] - cx, P[:, None, 1] - cy)
    values = sign * np.clip(1.0 - d / 2.0, 0.0, 1.0)  # (n, 6)
    best = np.abs(values).argmax(axis=1)  # first maximum, as Playground's strict '>'
    return values[np.arange(len(P)), best]


def plane(n: int = 1200, noise: float = 0.0, *, seed: SeedLike = None) -> Dataset:
    """regressPlane: x, y ~ U(-6, 6); target (x + y)/10 of the jittered point."""
    X, y = _regress(as_generator(seed), _check_n(n), _check_noise(noise), plane_target)
    return _regression(X, y, "plane", "Playground plane: a tilted linear target")


def multi_gauss(n: int = 1200, noise: float = 0.0, *, seed: SeedLike = None) -> Dataset:
    """regressGaussian: x, y ~ U(-6, 6); target from six signed bumps of the jittered point."""
    X, y = _regress(as_generator(seed), _check_n(n), _check_noise(noise), multi_gauss_target)
    return _regression(X, y, "multi-gauss", "Playground multi-gauss: six signed bumps")


PLAYGROUND_SETS: dict[str, Callable[..., Dataset]] = {
    "circle": circle, "xor": xor, "gauss": gauss, "spiral": spiral,
    "plane": plane, "multi-gauss": multi_gauss,
}
