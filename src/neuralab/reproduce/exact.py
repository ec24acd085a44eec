"""Exact checks: arithmetic a report states that neuralab computes without any study.

Each check in :data:`CHECKS` takes the claim's ``args`` and returns ``(value, cases,
detail)``: the value to compare with the report's ``expected``, how many cases were
checked (an exhaustive check counts each), and a short note. Convolution arithmetic runs
through ``neuralab.nn`` (``Conv2d`` forward and ``nn.summary``); seed 002 Q3's constructed
networks are evaluated on every point of their domain with ``neuralab.nn.Linear`` layers.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np

Check = Callable[..., tuple[Any, int, str]]
CHECKS: dict[str, Check] = {}


def check(name: str) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        CHECKS[name] = fn
        return fn
    return register


def run_check(name: str, args: dict[str, Any]) -> tuple[Any, int, str]:
    """Run the exact check ``name`` with ``args``; ValueError naming a wrong name or args."""
    if name not in CHECKS:
        from neuralab._checks import suggest

        raise ValueError(f"exact check {name!r} does not exist{suggest(name, CHECKS)}; the "
                         f"checks are {', '.join(sorted(CHECKS))}")
    try:
        return CHECKS[name](**args)
    except TypeError as exc:
        raise ValueError(f"exact check {name!r}: {exc}") from None


# -- convolutions (seed 004 Q4.1) ----------------------------------------------------------------
def _pair(v: Any) -> tuple[int, int]:
    return (int(v[0]), int(v[1])) if isinstance(v, (list, tuple)) else (int(v), int(v))


def _conv(in_channels: int, out_channels: int, kernel: Any, *, stride: Any = 1,
          padding: Any = 0, bias: bool = True) -> Any:
    from neuralab.nn import Conv2d

    return Conv2d(in_channels, out_channels, _pair(kernel), stride=_pair(stride),
                  padding=_pair(padding), bias=bias, rng=0, dtype=np.float64)


def _out_shape(conv: Any, size: tuple[int, int], channels: int = 1) -> tuple[int, int]:
    x = np.zeros((1, channels, *size))
    return tuple(int(d) for d in conv.forward(x).shape[-2:])  # type: ignore[return-value]


@check("conv_parameters")
def conv_parameters(in_channels: int = 1, out_channels: int = 1, kernel: Any = 3,
                    bias: bool = True) -> tuple[Any, int, str]:
    """Trainable parameters of one Conv2d layer, counted by ``nn.summary``."""
    from neuralab.nn import summary

    conv = _conv(in_channels, out_channels, kernel, bias=bias)
    kh, kw = _pair(kernel)
    rows = summary(conv, (in_channels, max(kh, 8), max(kw, 8)), print_table=False)
    n = sum(r.n_params for r in rows)
    return n, 1, f"nn.summary of {rows[0].layer}: {n} parameters"


@check("conv_output_shape")
def conv_output_shape(input: Any, kernel: Any, stride: Any = 1, padding: Any = 0
                      ) -> tuple[Any, int, str]:
    """(height, width) of a Conv2d output, from a forward pass of ``neuralab.nn.Conv2d``."""
    shape = _out_shape(_conv(1, 1, kernel, stride=stride, padding=padding), _pair(input))
    return list(shape), 1, f"input {list(_pair(input))}, kernel {kernel}, stride {stride}"


@check("conv_answers_consistent")
def conv_answers_consistent(output: Any, same_padding: Any, parameters: int,
                            max_size: int = 16, max_stride: int = 3) -> tuple[Any, int, str]:
    """Is there an input size, a single-channel kernel with ``parameters`` weights and a
    stride for which a conv gives ``output`` unpadded *and* keeps the input's size with
    ``same_padding`` ([top, bottom, left, right])? Searched exhaustively; True if one
    exists. Candidates found by the size formula are confirmed by a ``Conv2d`` forward."""
    top, bottom, left, right = (int(p) for p in same_padding)
    want = _pair(output)
    kernels = [(a, parameters // a) for a in range(1, parameters + 1) if parameters % a == 0]
    found, cases = [], 0
    for (kh, kw), s, h, w in itertools.product(kernels, range(1, max_stride + 1),
                                               range(1, max_size + 1), range(1, max_size + 1)):
        cases += 1
        if kh > h or kw > w or ((h - kh) // s + 1, (w - kw) // s + 1) != want:
            continue
        if ((h + top + bottom - kh) // s + 1, (w + left + right - kw) // s + 1) != (h, w):
            continue
        conv = _conv(1, 1, (kh, kw), stride=s)
        padded = _out_shape(conv, (h + top + bottom, w + left + right))
        if _out_shape(conv, (h, w)) == want and padded == (h, w):
            found.append(f"input {h}x{w}, kernel {kh}x{kw}, stride {s}")
    detail = ("consistent with: " + "; ".join(found[:3])) if found else (
        f"no input up to {max_size}x{max_size}, {parameters}-weight kernel and stride "
        f"<= {max_stride} gives output {list(want)} and keeps its size with padding "
        f"{[top, bottom, left, right]}")
    return bool(found), cases, detail


# -- seed 002 Q3: the interval function and its constructed networks ---------------------------
def _domain(D: int) -> np.ndarray:
    return np.array(list(itertools.product((-1.0, 1.0), repeat=D)))


def _target(X: np.ndarray, A: int, B: int) -> np.ndarray:
    s = X.sum(axis=1)
    return np.where((A <= s) & (s <= B), 1.0, -1.0)


def _sign(z: np.ndarray) -> np.ndarray:
    return np.where(z >= 0, 1.0, -1.0)  # the report's sign: sign(0) = +1


def _linear(W: np.ndarray, b: np.ndarray) -> Any:
    from neuralab.nn import Linear

    layer = Linear(W.shape[1], W.shape[0], dtype=np.float64, rng=0)
    layer.params["weight"] = W.T.copy()  # neuralab stores (in, out)
    layer.params["bias"] = b.astype(np.float64)
    return layer


def _network(kind: str, D: int, A: int, B: int) -> Callable[[np.ndarray], np.ndarray]:
    """The report's network: Q3 1b (sign hidden units) or 1c (ReLU hidden units)."""
    ones = np.ones((1, D))
    if kind == "sign":  # b0 = [-A + .5, B + .5], W0 = [1...; -1...], b1 = -1, W1 = [1 1]
        first = _linear(np.vstack([ones, -ones]), np.array([-A + 0.5, B + 0.5]))
        second = _linear(np.array([[1.0, 1.0]]), np.array([-1.0]))
        return lambda X: _sign(second.forward(_sign(first.forward(X))))[:, 0]
    if kind == "relu":  # b0 = [A - .5, -B - .5], W0 = [-1...; 1...], b1 = 0, W1 = [-1 -1]
        from neuralab.nn import ReLU

        first = _linear(np.vstack([-ones, ones]), np.array([A - 0.5, -B - 0.5]))
        second = _linear(np.array([[-1.0, -1.0]]), np.array([0.0]))
        relu = ReLU()
        return lambda X: _sign(second.forward(relu.forward(first.forward(X))))[:, 0]
    raise ValueError(f"network={kind!r} is not allowed; use 'sign' or 'relu'")


@check("interval_values")
def interval_values(D: int, A: int, B: int) -> tuple[Any, int, str]:
    """f(x) on every point of {-1, 1}^D, as {"x1,x2,...": ±1}."""
    X = _domain(D)
    y = _target(X, A, B)
    return ({",".join(str(int(v)) for v in x): int(t) for x, t in zip(X, y, strict=True)},
            len(X), f"D={D}, A={A}, B={B}")


@check("linearly_separable")
def linearly_separable(D: int, A: int, B: int) -> tuple[Any, int, str]:
    """Whether f's two classes on {-1, 1}^D are linearly separable: is there (w, b) with
    y (w·x + b) >= 1 for every point? (a linear program, scipy's ``linprog``)."""
    from scipy.optimize import linprog

    X = _domain(D)
    y = _target(X, A, B)
    # variables (w, b), constraints -y (w·x + b) <= -1; any feasible point separates
    A_ub = -y[:, None] * np.hstack([X, np.ones((len(X), 1))])
    res = linprog(np.zeros(D + 1), A_ub=A_ub, b_ub=-np.ones(len(X)),
                  bounds=[(None, None)] * (D + 1), method="highs")
    return bool(res.status == 0), len(X), f"linprog status {res.status} ({res.message})"


@check("network_computes_f")
def network_computes_f(network: str, max_D: int, perturbation: float = 0.0,
                       trials: int = 0) -> tuple[Any, int, str]:
    """Does the report's ``network`` ("sign": Q3 1b, "relu": 1c) equal f on every point of
    {-1, 1}^D, for every D <= max_D and integers -D <= A <= B <= D? With
    ``perturbation`` > 0, also on ``trials`` random perturbations of each point of at most
    that size per coordinate (the report's robustness argument). Returns the number of
    (D, A, B, x) cases where it differs (0: the construction is right)."""
    rng = np.random.default_rng(0)
    wrong = cases = 0
    example = ""
    for D in range(1, max_D + 1):
        X = _domain(D)
        for A in range(-D, D + 1):
            for B in range(A, D + 1):
                net, y = _network(network, D, A, B), _target(X, A, B)
                inputs = [X] + [X + rng.uniform(-perturbation, perturbation, X.shape)
                                for _ in range(trials if perturbation > 0 else 0)]
                for Z in inputs:
                    bad = net(Z) != y
                    cases += len(Z)
                    if bad.any() and not example:
                        example = f"first miss: D={D}, A={A}, B={B}, x={X[bad][0].tolist()}"
                    wrong += int(bad.sum())
    return wrong, cases, example or f"D = 1..{max_D}, every A <= B"


# -- seed 004 Q2: least squares -------------------------------------------------------------------
@check("least_squares_residual")
def least_squares_residual(n: int = 500, noise: float = 0.1, seeds: int = 20
                           ) -> tuple[Any, int, str]:
    """Largest |Xᵀ r| / (‖X‖ ‖y‖) over ``seeds`` data sets, where r = y − X θ* is the
    residual of neuralab's closed-form least squares (``LinearRegression(solver="lstsq")``)
    on TF Playground's plane with an intercept column: 0 up to round-off when Xᵀ r = 0."""
    from neuralab import data
    from neuralab.models import LinearRegression

    worst = 0.0
    for seed in range(seeds):
        ds = data.load("playground-plane", n=n, noise=noise, seed=seed)
        X, y = np.asarray(ds.X, dtype=np.float64), np.asarray(ds.y, dtype=np.float64)
        model = LinearRegression(solver="lstsq").fit(X, y)
        r = y - model.predict(X)
        X1 = np.hstack([X, np.ones((len(X), 1))])  # the intercept is a column of ones
        worst = max(worst, float(np.abs(X1.T @ r).max()
                                 / (np.linalg.norm(X1) * np.linalg.norm(y))))
    return worst, seeds, f"max over {seeds} data sets of {n} points: {worst:.1e}"


@check("hulls_vs_separability")
def hulls_vs_separability(cases: int = 100, points: int = 6, dim: int = 2
                          ) -> tuple[Any, int, str]:
    """On ``cases`` random pairs of point sets: how often "linearly separable" (a linear
    program for w, b) differs from "the convex hulls do not intersect" (a linear program
    for the convex weights α, β with Σ αᵢ xᵢ = Σ βⱼ yⱼ). 0: the theorem holds on every case."""
    from scipy.optimize import linprog

    rng = np.random.default_rng(0)
    differ = separable_cases = 0
    for _ in range(cases):
        shift = rng.uniform(0, 3)
        P = rng.normal(size=(points, dim))
        Q = rng.normal(size=(points, dim)) + shift
        Z = np.vstack([P, Q])
        y = np.r_[np.ones(points), -np.ones(points)]
        sep = linprog(np.zeros(dim + 1), A_ub=-y[:, None] * np.hstack([Z, np.ones((len(Z), 1))]),
                      b_ub=-np.ones(len(Z)), bounds=[(None, None)] * (dim + 1),
                      method="highs").status == 0
        # hulls meet: α, β >= 0, Σα = Σβ = 1, Pᵀα − Qᵀβ = 0
        A_eq = np.vstack([np.hstack([P.T, -Q.T]),
                          np.r_[np.ones(points), np.zeros(points)],
                          np.r_[np.zeros(points), np.ones(points)]])
        b_eq = np.r_[np.zeros(dim), 1.0, 1.0]
        meet = linprog(np.zeros(2 * points), A_eq=A_eq, b_eq=b_eq, bounds=[(0, None)] *
                       (2 * points), method="highs").status == 0
        separable_cases += sep
        differ += int(sep == meet)  # separable must mean "hulls do not meet"
    return differ, cases, f"{separable_cases} of {cases} random cases separable"


# -- seed 004 Q3.1: the gradient of regularised logistic regression -----------------------------
@check("logistic_gradient")
def logistic_gradient(penalty: str = "l2", strength: float = 0.1, n: int = 50, d: int = 5,
                      trials: int = 20) -> tuple[Any, int, str]:
    """Largest |report's gradient − neuralab's| over ``trials`` random problems. The
    report: ∂f/∂θₖ = (1/N) Σ [−y xₖ + xₖ σ(θᵀx)] + λ θₖ (L2; λ sign(θₖ) for L1); neuralab:
    ``Linear`` + ``BCEWithLogits`` (mean) backward plus ``penalties.L2`` (λ/2 Σθ²) or
    ``L1`` (λ Σ|θ|)."""
    from neuralab.nn import BCEWithLogits, Linear
    from neuralab.nn.penalties import L1, L2

    if penalty not in ("l1", "l2"):
        raise ValueError(f"penalty={penalty!r} is not allowed; use 'l1' or 'l2'")
    rng = np.random.default_rng(0)
    worst = 0.0
    for _ in range(trials):
        X = rng.normal(size=(n, d))
        y = (rng.random(n) < 0.5).astype(np.float64)
        theta = rng.normal(size=d)
        layer = Linear(d, 1, bias=False, dtype=np.float64, rng=0)
        layer.params["weight"] = theta[:, None].copy()
        loss = BCEWithLogits()
        loss.forward(layer.forward(X), y[:, None])
        layer.backward(loss.backward())
        (L2 if penalty == "l2" else L1)(strength).add_grad(layer)
        ours = layer.grads["weight"][:, 0]
        sig = 1 / (1 + np.exp(-X @ theta))
        reg = strength * (theta if penalty == "l2" else np.sign(theta))
        report = (-(y[:, None] * X) + X * sig[:, None]).mean(axis=0) + reg
        worst = max(worst, float(np.abs(ours - report).max()))
    return worst, trials, f"{penalty}, λ = {strength}: largest difference {worst:.1e}"


# -- seed 003 part 1: written answers ------------------------------------------------------------
@check("batches_per_epoch")
def batches_per_epoch(n: int, batch_size: int) -> tuple[Any, int, str]:
    """How many mini-batches neuralab's batching makes of ``n`` samples in one epoch."""
    from neuralab.data.batching import batch_indices

    count = sum(1 for _ in batch_indices(n, batch_size, rng=0))
    return count, 1, f"{n} samples, batch {batch_size}"


@check("sigmoid_derivative")
def sigmoid_derivative(low: float = -20.0, high: float = 20.0, points: int = 10001
                       ) -> tuple[Any, int, str]:
    """Largest |σ'(a) − σ(a)(1 − σ(a))| on a grid of a, where σ' is both neuralab's
    ``Sigmoid`` backward and a centred finite difference (h = 1e-5) of its forward."""
    from neuralab.nn import Sigmoid

    a = np.linspace(low, high, points)[None, :]
    act = Sigmoid()
    s = act.forward(a)
    formula = s * (1 - s)
    backward = act.backward(np.ones_like(s))
    h = 1e-5
    numeric = (act.forward(a + h) - act.forward(a - h)) / (2 * h)
    worst = float(max(np.abs(backward - formula).max(), np.abs(numeric - formula).max()))
    return worst, points, f"a in [{low:g}, {high:g}], backward and finite differences"


__all__ = ["CHECKS", "check", "run_check"]
