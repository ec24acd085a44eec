"""Parity with TensorFlow Playground (github.com/tensorflow/playground, src/dataset.ts, nn.ts).

Two halves. The data: each generator of :mod:`neuralab.data.playground` against a small
reference written here, point by point, from Playground's definitions, compared by the
statistics that define each set (radius bands, quadrants, variance, spiral arms, targets) and
by two-sample tests against the reference (tests/data/test_data_playground.py has the exact
label rules and ranges; this file adds distributions, noise behaviour and defaults). The
training: Playground's own algorithm (per-example backprop, tanh, 0.5·(o − t)², updates
averaged over the batch, L1/L2 as it applies them), reimplemented here, against neuralab on
the same data, features, network, learning rate and batch size over several seeds.
"""

from __future__ import annotations

import inspect
import itertools
import math

import numpy as np
import pytest
from scipy import stats

from neuralab.data import playground as pg

# Playground's constants (dataset.ts / playground.ts)
RADIUS = 5.0  # classifyCircleData
SPIRAL_TURNS = 1.75
NUM_SAMPLES_CLASSIFY, NUM_SAMPLES_REGRESS = 500, 1200
# Distribution tests: the seeds are fixed, so a pass is deterministic; about 130 tests at
# 1e-5 leave a change of the generators' draws a 0.1 % chance of a false alarm, while a
# wrong definition (a radius uniform in area, a variance used as a std) gives p < 1e-20.
P_MIN = 1e-5


# --- a reference of dataset.ts, one point at a time, as Playground's loops --------------------

def _u(rng: np.random.Generator, a: float, b: float) -> float:
    return float(rng.uniform(a, b))


def ref_circle(n: int, noise: float, rng: np.random.Generator) -> np.ndarray:
    rows = []
    for lo, hi in ((0.0, RADIUS * 0.5), (RADIUS * 0.7, RADIUS)):
        for _ in range(math.ceil(n / 2)):
            r, angle = _u(rng, lo, hi), _u(rng, 0, 2 * math.pi)
            x, y = r * math.sin(angle), r * math.cos(angle)
            nx, ny = _u(rng, -RADIUS, RADIUS) * noise, _u(rng, -RADIUS, RADIUS) * noise
            rows.append((x, y, 1 if math.hypot(x + nx, y + ny) < RADIUS * 0.5 else -1))
    return np.array(rows)


def ref_xor(n: int, noise: float, rng: np.random.Generator) -> np.ndarray:
    rows = []
    for _ in range(n):
        x = _u(rng, -5, 5)
        x += 0.3 if x > 0 else -0.3
        y = _u(rng, -5, 5)
        y += 0.3 if y > 0 else -0.3
        nx, ny = _u(rng, -5, 5) * noise, _u(rng, -5, 5) * noise
        rows.append((x, y, 1 if (x + nx) * (y + ny) >= 0 else -1))
    return np.array(rows)


def ref_gauss(n: int, noise: float, rng: np.random.Generator) -> np.ndarray:
    variance = 0.5 + noise / 0.5 * (4 - 0.5)  # d3 linear scale [0, .5] -> [.5, 4], unclamped
    rows = [(rng.normal(c, math.sqrt(variance)), rng.normal(c, math.sqrt(variance)), label)
            for c, label in ((2, 1), (-2, -1)) for _ in range(math.ceil(n / 2))]
    return np.array(rows)


def ref_spiral(n: int, noise: float, rng: np.random.Generator) -> np.ndarray:
    rows, half = [], n / 2
    for delta, label in ((0.0, 1), (math.pi, -1)):
        for i in range(math.ceil(half)):
            r, t = i / half * 5, SPIRAL_TURNS * i / half * 2 * math.pi + delta
            rows.append((r * math.sin(t) + _u(rng, -1, 1) * noise,
                         r * math.cos(t) + _u(rng, -1, 1) * noise, label))
    return np.array(rows)


def _ref_gauss_label(x: float, y: float) -> float:
    label = 0.0
    for cx, cy, sign in ((-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1),
                         (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1)):
        value = sign * min(1.0, max(0.0, 1 - math.hypot(x - cx, y - cy) / 2))
        if abs(value) > abs(label):
            label = value
    return label


def _ref_regress(n: int, noise: float, rng: np.random.Generator, label) -> np.ndarray:
    rows = []
    for _ in range(n):
        x, y = _u(rng, -6, 6), _u(rng, -6, 6)
        nx, ny = _u(rng, -6, 6) * noise, _u(rng, -6, 6) * noise
        rows.append((x, y, label(x + nx, y + ny)))
    return np.array(rows)


def ref_plane(n: int, noise: float, rng: np.random.Generator) -> np.ndarray:
    return _ref_regress(n, noise, rng, lambda x, y: (x + y + 10) / 20 * 2 - 1)


def ref_multi_gauss(n: int, noise: float, rng: np.random.Generator) -> np.ndarray:
    return _ref_regress(n, noise, rng, _ref_gauss_label)


REFERENCES = {"circle": ref_circle, "xor": ref_xor, "gauss": ref_gauss, "spiral": ref_spiral,
              "plane": ref_plane, "multi-gauss": ref_multi_gauss}


def ours(name: str, n: int, noise: float, seed: int) -> np.ndarray:
    ds = pg.PLAYGROUND_SETS[name](n=n, noise=noise, seed=seed)
    return np.column_stack([ds.X.astype(float), ds.y.astype(float)])


def reference(name: str, n: int, noise: float, seed: int) -> np.ndarray:
    return REFERENCES[name](n, noise, np.random.default_rng(10_000 + seed))


def same_distribution(a: np.ndarray, b: np.ndarray, what: str) -> None:
    p = stats.ks_2samp(a, b).pvalue
    assert p > P_MIN, f"{what}: ours and Playground's definition differ (KS p = {p:.2g})"


def same_rate(a: np.ndarray, b: np.ndarray, what: str) -> None:
    """Two proportions (booleans) agree: Fisher's exact test on the 2×2 table."""
    table = [[int(a.sum()), int((~a).sum())], [int(b.sum()), int((~b).sum())]]
    p = stats.fisher_exact(table).pvalue
    assert p > P_MIN, (f"{what}: rate {a.mean():.3f} (ours) vs {b.mean():.3f} (Playground), "
                       f"p = {p:.2g}")


# --- the data -----------------------------------------------------------------------------

@pytest.mark.parametrize("name, default", [("circle", NUM_SAMPLES_CLASSIFY),
                                           ("xor", NUM_SAMPLES_CLASSIFY),
                                           ("gauss", NUM_SAMPLES_CLASSIFY),
                                           ("spiral", NUM_SAMPLES_CLASSIFY),
                                           ("plane", NUM_SAMPLES_REGRESS),
                                           ("multi-gauss", NUM_SAMPLES_REGRESS)])
def test_default_point_counts_and_noise_are_playgrounds(name, default):
    fn = pg.PLAYGROUND_SETS[name]
    params = inspect.signature(fn).parameters
    assert params["n"].default == default and params["noise"].default == 0
    ds = fn(seed=0)
    assert len(ds) == default == len(reference(name, default, 0.0, 0))
    # odd counts: Playground loops i < n/2 per half, i.e. ceil(n/2) each (n for xor/regression)
    assert len(fn(n=201, seed=0)) == len(reference(name, 201, 0.0, 0))


@pytest.mark.parametrize("name", list(REFERENCES))
@pytest.mark.parametrize("noise", [0.0, 0.2, 0.5])
def test_every_set_matches_the_reference_distribution(name, noise):
    """Each coordinate and the label/target of every set, per label for classification."""
    a, b = ours(name, 3000, noise, seed=1), reference(name, 3000, noise, seed=1)
    regression = name in ("plane", "multi-gauss")
    if regression:
        for col, what in ((0, "x"), (1, "y"), (2, "target")):
            same_distribution(a[:, col], b[:, col], f"{name} noise {noise} {what}")
        return
    same_rate(a[:, 2] > 0, b[:, 2] > 0, f"{name} noise {noise} share of +1")
    for label in (-1, 1):
        for col, what in ((0, "x"), (1, "y")):
            same_distribution(a[a[:, 2] == label, col], b[b[:, 2] == label, col],
                              f"{name} noise {noise} {what} of label {label}")
        same_distribution(np.hypot(*a[a[:, 2] == label, :2].T),
                          np.hypot(*b[b[:, 2] == label, :2].T),
                          f"{name} noise {noise} radius of label {label}")


def test_circle_radius_and_angle_are_uniform_in_each_band():
    """Playground draws r ~ U(band) (not uniform in area) and the angle ~ U(0, 2π)."""
    ds = pg.circle(n=6000, noise=0.0, seed=2)
    X = ds.X.astype(float)
    r, angle = np.hypot(X[:, 0], X[:, 1]), np.arctan2(X[:, 0], X[:, 1]) % (2 * np.pi)
    inner, outer = r[:3000], r[3000:]
    assert stats.kstest(inner, stats.uniform(0, 0.5 * RADIUS).cdf).pvalue > P_MIN
    assert stats.kstest(outer, stats.uniform(0.7 * RADIUS, 0.3 * RADIUS).cdf).pvalue > P_MIN
    assert stats.kstest(angle, stats.uniform(0, 2 * np.pi).cdf).pvalue > P_MIN
    # nothing between the bands: the gap 0.5·R..0.7·R is empty
    assert not ((r > 0.5 * RADIUS + 1e-5) & (r < 0.7 * RADIUS - 1e-5)).any()


@pytest.mark.parametrize("noise", [0.1, 0.3, 0.5])
def test_circle_label_flips_by_band_match_playground(noise):
    """Noise jitters the probe U(-R, R)·noise per axis: the flip rate of each band and of
    each radius bin is Playground's."""
    a, b = ours("circle", 6000, noise, seed=3), reference("circle", 6000, noise, seed=3)
    # the inner band (drawn first) is +1 at noise 0, the outer band -1
    for rows, clean, what in ((slice(None, 3000), 1, "inner"), (slice(3000, None), -1, "outer")):
        same_rate(a[rows, 2] != clean, b[rows, 2] != clean,
                  f"circle noise {noise} flips in the {what} band")
    # flips grow toward the boundary: near the gap far more than near the centre or rim
    r = np.hypot(a[:, 0], a[:, 1])
    flipped = np.where(r < 2.5, a[:, 2] < 0, a[:, 2] > 0)
    assert flipped[(r > 1.8) & (r < 4.0)].mean() > flipped[(r < 0.7) | (r > 4.7)].mean()


def test_xor_quadrants_padding_and_uniform_margins():
    ds = pg.xor(n=8000, noise=0.0, seed=4)
    X = ds.X.astype(float)
    # |coordinate| - 0.3 ~ U(0, 5): the padding pushes the uniform draw off each axis
    for col in (0, 1):
        assert stats.kstest(np.abs(X[:, col]) - 0.3, stats.uniform(0, 5).cdf).pvalue > P_MIN
    quadrant = (X[:, 0] > 0).astype(int) * 2 + (X[:, 1] > 0)
    counts = np.bincount(quadrant, minlength=4)
    assert stats.chisquare(counts).pvalue > P_MIN  # four equally likely quadrants
    # labels: +1 in quadrants I and III, -1 in II and IV, and the classes are balanced
    np.testing.assert_array_equal(ds.y, np.where(quadrant % 3 == 0, 1, -1))
    assert stats.binomtest(int((ds.y == 1).sum()), len(ds.y)).pvalue > P_MIN


@pytest.mark.parametrize("noise", [0.1, 0.5])
def test_xor_flip_rate_matches_playground(noise):
    a, b = ours("xor", 6000, noise, seed=5), reference("xor", 6000, noise, seed=5)
    rule = lambda m: np.where(m[:, 0] * m[:, 1] >= 0, 1, -1)  # noqa: E731
    same_rate(a[:, 2] != rule(a), b[:, 2] != rule(b), f"xor noise {noise} flip rate")
    # points nearer an axis flip more (the probe crosses it)
    near = np.minimum(np.abs(a[:, 0]), np.abs(a[:, 1]))
    flips = a[:, 2] != rule(a)
    assert flips[near < 1].mean() > flips[near > 3].mean()


@pytest.mark.parametrize("noise", [0.0, 0.1, 0.35, 0.8])
def test_gauss_is_normal_with_playgrounds_variance(noise):
    """Variance 0.5 + 7·noise (d3's linear scale, which extrapolates past Playground's 0.5),
    the same for both coordinates, which are independent."""
    ds = pg.gauss(n=8000, noise=noise, seed=6)
    std = math.sqrt(0.5 + 7 * noise)
    for label, centre in ((1, 2.0), (-1, -2.0)):
        pts = ds.X[ds.y == label].astype(float)
        assert len(pts) == 4000
        for col in (0, 1):
            assert stats.kstest(pts[:, col], stats.norm(centre, std).cdf).pvalue > P_MIN
        assert abs(stats.pearsonr(pts[:, 0], pts[:, 1]).statistic) < 0.05
    # positives come first, as Playground's genGauss(2, 2, 1) then genGauss(-2, -2, -1)
    np.testing.assert_array_equal(ds.y, np.repeat([1, -1], 4000))


@pytest.mark.parametrize("n", [500, 501, 120])
def test_spiral_radius_grows_linearly_with_angle_and_arms_are_pi_apart(n):
    ds = pg.spiral(n=n, noise=0.0, seed=7)
    X = ds.X.astype(float)
    half = math.ceil(n / 2)
    slope = 5 / (SPIRAL_TURNS * 2 * math.pi)  # r per radian: 5 over 1.75 turns
    for arm, delta in ((X[:half], 0.0), (X[half:], math.pi)):
        arm = arm[1:]  # the first point is the centre, r = 0, where the angle means nothing
        r = np.hypot(arm[:, 0], arm[:, 1])
        # x = r sin t, y = r cos t; t starts at 2π/(n/2)·1.75 (+ π for the second arm)
        angle = np.unwrap(np.arctan2(arm[:, 0], arm[:, 1]))
        angle += (delta + SPIRAL_TURNS * 2 * math.pi / (n / 2)) - angle[0]
        fit = stats.linregress(angle - delta, r)
        assert fit.slope == pytest.approx(slope, rel=1e-4) and abs(fit.intercept) < 1e-4
        assert r.max() == pytest.approx((half - 1) / (n / 2) * 5, rel=1e-5)  # r = 5·i/(n/2)
        assert angle[-1] - angle[0] == pytest.approx(  # 1.75 turns over n/2 points
            SPIRAL_TURNS * 2 * math.pi * (half - 2) / (n / 2), rel=1e-4)
    # arm -1 is arm +1 turned by π: the same radius at the opposite angle
    np.testing.assert_allclose(X[half:], -X[:half], atol=1e-5)


@pytest.mark.parametrize("noise", [0.1, 0.5])
def test_spiral_noise_is_uniform_and_independent_per_coordinate(noise):
    clean, noisy = pg.spiral(n=4000, noise=0.0, seed=8), pg.spiral(n=4000, noise=noise, seed=8)
    shift = noisy.X.astype(float) - clean.X.astype(float)
    for col in (0, 1):
        assert stats.kstest(shift[:, col], stats.uniform(-noise, 2 * noise).cdf).pvalue > P_MIN
    assert abs(stats.pearsonr(shift[:, 0], shift[:, 1]).statistic) < 0.05
    np.testing.assert_array_equal(noisy.y, clean.y)  # spiral noise never changes a label


def test_plane_targets_are_unclamped_and_uniform_inputs():
    """(x + y)/10 maps [-10, 10] to [-1, 1] with d3's unclamped scale: corners reach ±1.2."""
    ds = pg.plane(n=20000, noise=0.0, seed=9)
    X, y = ds.X.astype(float), ds.y.astype(float)
    for col in (0, 1):
        assert stats.kstest(X[:, col], stats.uniform(-6, 12).cdf).pvalue > P_MIN
    assert 1.0 < np.abs(y).max() <= 1.2 + 1e-6  # not clipped at ±1
    # the sum of two U(-6, 6) is triangular on [-12, 12]: so is 10·target
    assert stats.kstest(10 * y, stats.triang(0.5, loc=-12, scale=24).cdf).pvalue > P_MIN


def test_multi_gauss_targets_range_and_zero_area():
    """Six bumps of radius 2 (labelScale clamps to [0, 1]): |target| ≤ 1 and the target is 0
    exactly where the point is 2 or more from every centre: 1 - 6·π·2²/144 of the square."""
    ds = pg.multi_gauss(n=20000, noise=0.0, seed=10)
    y = ds.y.astype(float)
    assert np.abs(y).max() <= 1 and np.abs(y).max() > 0.95
    zero_share = 1 - 6 * math.pi * 4 / 144  # the discs do not overlap and lie inside the square
    assert stats.binomtest(int((y == 0).sum()), len(y), zero_share).pvalue > P_MIN
    # the sign of a non-zero target is the sign of its nearest centre
    X = ds.X.astype(float)
    nearest = np.hypot(X[:, None, 0] - pg.MULTI_GAUSS_CENTRES[:, 0],
                       X[:, None, 1] - pg.MULTI_GAUSS_CENTRES[:, 1]).argmin(axis=1)
    nz = y != 0
    np.testing.assert_array_equal(np.sign(y[nz]), pg.MULTI_GAUSS_CENTRES[nearest[nz], 2])


@pytest.mark.parametrize("name", ["plane", "multi-gauss"])
@pytest.mark.parametrize("noise", [0.2, 0.5])
def test_regression_noise_moves_the_probe_not_the_point(name, noise):
    """The target is taken at the point jittered by U(-6, 6)·noise per axis; the point drawn
    is kept: the residual target - f(point) has Playground's distribution."""
    f = pg.plane_target if name == "plane" else pg.multi_gauss_target
    a, b = ours(name, 4000, noise, seed=11), reference(name, 4000, noise, seed=11)
    assert np.abs(a[:, :2]).max() <= 6
    same_distribution(a[:, 2] - f(a[:, :2]), b[:, 2] - f(b[:, :2]),
                      f"{name} noise {noise} residual")
    assert np.abs(a[:, 2] - f(a[:, :2])).mean() > 0.01


# --- training: a reference of nn.ts and playground.ts's oneStep -----------------------------

def _tanh_der(z: np.ndarray) -> np.ndarray:
    return 1 - np.tanh(z) ** 2


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


# nn.ts Activations: output and derivative with respect to the total input
ACTIVATIONS = {
    "tanh": (np.tanh, _tanh_der),
    "relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(float)),
    "sigmoid": (_sigmoid, lambda z: _sigmoid(z) * (1 - _sigmoid(z))),
    "linear": (lambda z: z, np.ones_like),
}


class PlaygroundNet:
    """Playground's network and training, from nn.ts and playground.ts (not a copy).

    Weights U(-0.5, 0.5) and biases 0.1; hidden units ``activation``, the output tanh
    (linear for regression); error 0.5·(o − t)², its derivative o − t. Each example's
    derivatives are accumulated with a count; an update subtracts lr · sum / count, then
    (weights only) lr · rate · penalty'(w), and an L1 step that crosses zero pins the weight
    at 0 for good. The examples of a batch see the same weights, so their per-example
    derivatives are computed here as the rows of one matrix: the same sums nn.ts builds one
    example at a time.
    """

    def __init__(self, sizes: list[int], activation: str = "tanh", *, regression: bool = False,
                 regularization: str | None = None, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        pairs = list(itertools.pairwise(sizes))
        self.W = [rng.random((a, b)) - 0.5 for a, b in pairs]  # Math.random() - 0.5
        self.b = [np.full(b, 0.1) for _, b in pairs]
        self.alive = [np.ones((a, b), bool) for a, b in pairs]
        self.acts = [ACTIVATIONS[activation]] * (len(pairs) - 1)
        self.acts.append(ACTIVATIONS["linear" if regression else "tanh"])
        self.regularization = regularization
        self._reset_acc()

    def _reset_acc(self) -> None:
        self.acc_W = [np.zeros_like(w) for w in self.W]
        self.acc_b = [np.zeros_like(b) for b in self.b]
        self.count = 0

    def _forward(self, X: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        outs, totals = [X], []
        for W, b, (f, _) in zip(self.W, self.b, self.acts, strict=True):
            totals.append(outs[-1] @ W + b)
            outs.append(f(totals[-1]))
        return totals, outs

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self._forward(X)[1][-1][:, 0]

    def loss(self, X: np.ndarray, t: np.ndarray) -> float:
        """getLoss: the mean of 0.5·(o − t)² over the points."""
        return float(np.mean(0.5 * (self.predict(X) - t) ** 2))

    def accumulate(self, X: np.ndarray, t: np.ndarray) -> None:
        """backProp for each row of ``X``, adding each example's derivatives."""
        totals, outs = self._forward(X)
        grad = outs[-1] - t[:, None]  # Errors.SQUARE.der
        for layer in range(len(self.W) - 1, -1, -1):
            grad = grad * self.acts[layer][1](totals[layer])  # inputDer, one row per example
            self.acc_b[layer] += grad.sum(axis=0)
            self.acc_W[layer] += (outs[layer].T @ grad) * self.alive[layer]  # dead links: none
            grad = grad @ self.W[layer].T
        self.count += len(X)

    def update(self, lr: float, rate: float) -> None:
        """updateWeights."""
        if self.count == 0:
            return
        for W, b, acc_W, acc_b, alive in zip(self.W, self.b, self.acc_W, self.acc_b, self.alive,
                                             strict=True):
            b -= lr * acc_b / self.count
            W -= lr / self.count * acc_W * alive
            if self.regularization is None:
                continue
            der = W if self.regularization == "L2" else np.where(W < 0, -1.0, 1.0)
            new = W - lr * rate * der * alive
            if self.regularization == "L1":
                crossed = alive & (W * new < 0)
                new[crossed] = 0.0
                alive &= ~crossed
            W[...] = new
        self._reset_acc()

    def train_epoch(self, X: np.ndarray, t: np.ndarray, lr: float, batch_size: int,
                    rate: float = 0.0) -> None:
        """oneStep: every example in order (no reshuffling), an update after example i when
        (i + 1) % batch_size == 0; a last partial batch carries over into the next epoch."""
        for start in range(0, len(X), batch_size):
            stop = min(start + batch_size, len(X))
            self.accumulate(X[start:stop], t[start:stop])
            if stop % batch_size == 0:
                self.update(lr, rate)


def test_reference_matches_a_literal_per_example_loop():
    """The reference's matrix form equals nn.ts's example-at-a-time loop, including a partial
    last batch carried into the next epoch, L1's dead links and an update count of 13."""
    from neuralab.data.features import playground_features

    ds = pg.circle(n=26, noise=0.1, seed=0)
    X, t = playground_features(ds.X.astype(float), ["x", "y", "xTimesY"]), ds.y.astype(float)
    fast, slow = (PlaygroundNet([3, 4, 2, 1], regularization="L1", seed=1) for _ in range(2))
    for _ in range(3):
        fast.train_epoch(X, t, lr=0.3, batch_size=10, rate=0.03)
        for i in range(len(X)):
            slow.accumulate(X[i:i + 1], t[i:i + 1])
            if (i + 1) % 10 == 0:
                slow.update(0.3, 0.03)
    for a, b in zip(fast.W + fast.b, slow.W + slow.b, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    assert fast.count == slow.count == 6  # 26 = 2 × 10 + 6 left over after the third epoch
    dead = [~alive for alive in fast.alive]
    assert sum(d.sum() for d in dead) > 0  # L1 pinned some weights at 0 ...
    assert all((W[d] == 0).all() for W, d in zip(fast.W, dead, strict=True))  # ... for good


# --- the playground session against the reference -------------------------------------------

ALL_FEATURES = ["x", "y", "xSquared", "ySquared", "xTimesY", "sinX", "sinY"]


def session(**state):
    from neuralab.playground.session import Session
    from neuralab.playground.state import PlaygroundState

    return Session(PlaygroundState(**state))


@pytest.mark.parametrize("name, n, perc", [("circle", 501, 33), ("xor", 500, 90),
                                           ("plane", 1200, 10), ("spiral", 300, 67)])
def test_session_data_are_the_generators_with_playgrounds_noise_and_split(name, n, perc):
    """The page's noise slider is in percent (Playground's state.noise / 100), its data are
    the generator's points for the seed, and percTrainData of them train (Playground:
    floor(n · perc / 100); ours is stratified, so within one point)."""
    s = session(dataset=name, numPoints=n, noise=35, percTrainData=perc, seed=4)
    ds = pg.PLAYGROUND_SETS[name](n=n, noise=0.35, seed=4)
    both = np.vstack([s.raw["train"], s.raw["test"]])
    order = np.lexsort(both.T[::-1])
    expected = ds.X.astype(float)[np.lexsort(ds.X.astype(float).T[::-1])]
    np.testing.assert_array_equal(both[order], expected)
    assert abs(len(s.X) - math.floor(len(ds) * perc / 100)) <= 1
    np.testing.assert_array_equal(np.sort(np.concatenate([s.y, s.test[1]])), np.sort(ds.y))


def playground_test_loss(s) -> float:
    """Playground's displayed test loss, mean 0.5·(o − t)², of the session's network: for two
    classes o = p(+1) − p(−1) = tanh of half the logit gap, i.e. Playground's tanh output."""
    X, t = s.test
    if s.classifier:
        p = s.est.predict_proba(X)
        assert list(s.est.classes_) == [-1, 1]
        o = p[:, 1] - p[:, 0]
    else:
        o = s.est.predict(X)
    return float(np.mean(0.5 * (o - np.asarray(t, dtype=float)) ** 2))


def train_both(settings: dict, epochs: int, seed: int) -> tuple[float, float, float, float]:
    """(neuralab's loss, Playground's loss, neuralab's accuracy, Playground's accuracy) on
    the test set, both trained from the session's own train/test split and features."""
    s = session(seed=seed, **settings)
    s.step(epochs)
    X, y, (Xt, yt) = s.X, np.asarray(s.y, dtype=float), s.test
    ref = PlaygroundNet([X.shape[1], *s.state.networkShape, 1], s.state.activation,
                        regression=not s.classifier, regularization=s.state.regularization,
                        seed=seed)
    for _ in range(epochs):
        ref.train_epoch(X, y, s.state.learningRate, s.state.batchSize,
                        s.state.regularizationRate)
    yt = np.asarray(yt, dtype=float)
    if s.classifier:
        acc_nl = float(np.mean(s.est.predict(Xt) == yt))
        acc_pg = float(np.mean(np.where(ref.predict(Xt) >= 0, 1, -1) == yt))
    else:
        acc_nl = acc_pg = math.nan
    return playground_test_loss(s), ref.loss(Xt, yt), acc_nl, acc_pg


# (settings, epochs, threshold): the threshold is a test loss Playground's own algorithm
# reaches on that set (its median over 5 seeds is 2-10× lower; figures in the report)
SETTINGS = {
    "circle": (dict(dataset="circle"), 300, 0.02),
    "xor": (dict(dataset="xor"), 300, 0.02),
    "gauss": (dict(dataset="gauss"), 50, 0.005),
    "spiral": (dict(dataset="spiral", features=ALL_FEATURES, networkShape=[8, 8]), 500, 0.05),
    "plane": (dict(dataset="plane"), 60, 0.005),
    "multi-gauss": (dict(dataset="multi-gauss", networkShape=[8, 8]), 200, 0.025),
    "circle-noise-L2": (dict(dataset="circle", noise=20, regularization="L2",
                             regularizationRate=0.003), 300, 0.15),
    "xor-L1": (dict(dataset="xor", features=ALL_FEATURES, regularization="L1",
                    regularizationRate=0.003), 200, 0.01),
}
SEEDS = range(5)


def check_comparable(key: str, runs: list[tuple[float, float, float, float]],
                     threshold: float) -> None:
    """Seed by seed (the same data and initial weights): neuralab's test loss within twice
    Playground's, and at least as many seeds under the threshold, each allowing one seed of
    the five to differ. Both run the same algorithm, but a long run on a hard set is chaotic:
    a last-bit difference (another summation order, another CPU's kernels) can end one seed
    in another basin (spiral seed 0 on an AVX2 host: 0.138 against 0.012, where AVX-512
    hosts gave equal figures), and a median of five seeds split between two basins jumps
    with it."""
    nl, ref, acc_nl, acc_pg = (np.array(v) for v in zip(*runs, strict=True))
    med_nl, med_ref = float(np.median(nl)), float(np.median(ref))
    figures = (f"{key}: test loss 0.5·(o−t)² median neuralab {med_nl:.4f} "
               f"{np.round(nl, 4).tolist()}, Playground {med_ref:.4f} {np.round(ref, 4).tolist()}")
    print(figures + ("" if np.isnan(acc_nl).all() else
                     f"; test accuracy median neuralab {np.median(acc_nl):.3f}, Playground "
                     f"{np.median(acc_pg):.3f}"))
    assert med_ref < threshold, "the reference no longer reaches Playground's figure: " + figures
    # comparable: never worse than twice Playground's loss (cross-entropy often does better)
    assert np.sum(nl > 2 * ref) <= 1, figures
    assert np.sum(nl < threshold) >= np.sum(ref < threshold) - 1, figures
    if not np.isnan(acc_nl).all():
        assert np.median(acc_nl - acc_pg) >= -0.02, (figures, acc_nl, acc_pg)


def test_same_settings_reach_a_comparable_test_loss_quick():
    """Playground's default network (x, y; 4-2 tanh; lr 0.03; batch 10; half the points to
    train) on its gauss set: the quick version of the test below."""
    settings, _, threshold = SETTINGS["gauss"]
    check_comparable("gauss", [train_both(settings, 30, seed) for seed in range(3)], threshold)


@pytest.mark.slow
@pytest.mark.parametrize("key", [k for k in SETTINGS if k != "gauss"])
def test_same_settings_reach_a_comparable_test_loss(key):
    """Every Playground set with Playground's defaults (features x, y; hidden 4-2 tanh; lr
    0.03; batch 10; 50 % training points; noise 0) but where a set needs more (spiral: all
    seven features and 8-8; multi-gauss: 8-8), plus noise with L2 and all features with L1
    (whose weights Playground pins at 0 once they cross it). Five seeds each."""
    settings, epochs, threshold = SETTINGS[key]
    check_comparable(key, [train_both(settings, epochs, seed) for seed in SEEDS], threshold)


@pytest.mark.parametrize(("name", "factor"), [("circle", 1.0), ("plane", 2.0)])
def test_the_page_shows_playgrounds_loss(name, factor):
    """Two classes: Playground's own ½(o − t)² on a tanh output, by default. Regression:
    neuralab's mean squared error, twice Playground's ½(o − t)² (docs/playground.md)."""
    s = session(dataset=name, seed=0)
    s.step(5)
    assert s.state.loss == "squared"
    assert s.frame()["test_loss"] == pytest.approx(factor * playground_test_loss(s), rel=1e-6)
