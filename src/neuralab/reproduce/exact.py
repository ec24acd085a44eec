"""Exact checks: arithmetic a report states that neuralab computes without any study.

Each check in :data:`CHECKS` takes the claim's ``args`` and returns ``(value, cases,
detail)``: the value to compare with the report's ``expected``, how many cases were
checked (an exhaustive check counts each), and a short note. Convolution arithmetic runs
through ``neuralab.nn`` (``Conv2d`` forward and ``nn.summary``); seed 002 Q3's constructed
networks are evaluated on every point of their domain with ``neuralab.nn.Linear`` layers;
seed 004 Q4.2-4.3's hand-derived gradients are compared with centred differences
(``neuralab.gradcheck``) on the graph their formulas imply.
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


# -- seed 004 Q4.2 / Q4.3: hand-derived gradients of the assignment's small graph ----------------
# The graph is the assignment's figure, not in the report; this is the graph the report's
# formulas imply (each factor of a chain-rule product names one edge):
#   a1 = w11 x1 + w21 x2,  z1 = ReLU(a1)          (Q4.3: dJ/dw11 = 0 when a1 < 0, else dJ/dz1 x1)
#   z2 = w12 x1 + w22 x2^2 + b2                  (Q4.3: dJ/dw22 = dJ/dz2 x2^2, dJ/db2 = dJ/dz2)
#   yhat1 = sigmoid(m11 z1^3 + c1)               (Q4.2: yhat1 (1 - yhat1) 3 m11 z1^2, z1^3, 1)
#   yhat2 = m12 sin(z1) + m22 cos(z2) + c2       (Q4.2: m12 cos z1, -m22 sin z2, sin z1)
#   J = L(y1, yhat1) + L(y2, yhat2)
# with L the squared error (y - yhat)^2 or ln (y - yhat)^2: the only J whose derivative is the
# report's -2 / (y - yhat) (integrate it: 2 ln|y - yhat| + const).
GRAPH_LOSSES = ("squared", "log_squared")
_NODES = ("z1", "z2", "yhat1", "yhat2")  # differentiated as nodes: the others fixed


def _graph_loss(loss: str, y: float, yhat: float) -> float:
    return (y - yhat) ** 2 if loss == "squared" else float(np.log((y - yhat) ** 2))


def _graph(v: dict[str, float], loss: str, fixed: dict[str, float] | None = None
           ) -> dict[str, float]:
    """Every node of the reconstructed graph at ``v``; a node in ``fixed`` takes that value
    instead of its computed one (to differentiate J with respect to the node)."""
    fixed = fixed or {}
    n = {"a1": v["w11"] * v["x1"] + v["w21"] * v["x2"]}
    n["z1"] = fixed.get("z1", max(n["a1"], 0.0))
    n["z2"] = fixed.get("z2", v["w12"] * v["x1"] + v["w22"] * v["x2"] ** 2 + v["b2"])
    n["yhat1"] = fixed.get("yhat1", 1 / (1 + np.exp(-(v["m11"] * n["z1"] ** 3 + v["c1"]))))
    n["yhat2"] = fixed.get("yhat2", v["m12"] * np.sin(n["z1"]) + v["m22"] * np.cos(n["z2"])
                           + v["c2"])
    n["J"] = (_graph_loss(loss, v["y1"], n["yhat1"]) + _graph_loss(loss, v["y2"], n["yhat2"]))
    return n


def _graph_fd(v: dict[str, float], loss: str, name: str) -> float:
    """dJ/d``name`` (a parameter or a node) by a centred difference (neuralab.gradcheck)."""
    from neuralab.gradcheck import numerical_gradient

    x = np.array([_graph(v, loss)[name] if name in _NODES else v[name]], dtype=np.float64)
    if name in _NODES:
        def f() -> float:
            return _graph(v, loss, {name: float(x[0])})["J"]
    else:
        def f() -> float:
            return _graph({**v, name: float(x[0])}, loss)["J"]
    return float(numerical_gradient(f, x)[0])


Formula = Callable[[dict[str, float]], float]

#: the report's Q4.2 answers, in its own terms (``g`` holds the point's inputs, parameters,
#: targets and nodes)
REPORT_Q42: dict[str, tuple[str, Formula]] = {
    "yhat1": ("-2/(y1-yhat1)", lambda g: -2 / (g["y1"] - g["yhat1"])),
    "yhat2": ("-2/(y2-yhat2)", lambda g: -2 / (g["y2"] - g["yhat2"])),
    "z1": ("-2 yhat1(1-yhat1) 3 m11 z1^2/(y1-yhat1) - 2 m12 cos z1/(y2-yhat2)",
           lambda g: (-2 * g["yhat1"] * (1 - g["yhat1"]) * 3 * g["m11"] * g["z1"] ** 2
                      / (g["y1"] - g["yhat1"]) - 2 * g["m12"] * np.cos(g["z1"])
                      / (g["y2"] - g["yhat2"]))),
    "z2": ("2 m22 sin z2/(y2-yhat2)",
           lambda g: 2 * g["m22"] * np.sin(g["z2"]) / (g["y2"] - g["yhat2"])),
    "m11": ("-2 yhat1(1-yhat1) z1^3/(y1-yhat1)",
            lambda g: -2 * g["yhat1"] * (1 - g["yhat1"]) * g["z1"] ** 3 / (g["y1"] - g["yhat1"])),
    "m12": ("-2 sin z1/(y2-yhat2)", lambda g: -2 * np.sin(g["z1"]) / (g["y2"] - g["yhat2"])),
    "c1": ("-2 yhat1(1-yhat1)/(y1-yhat1)",
           lambda g: -2 * g["yhat1"] * (1 - g["yhat1"]) / (g["y1"] - g["yhat1"])),
}

#: the report's Q4.3 answers: one chain-rule step down from dJ/dz (``g["dJ/dz1"]``, ``g["dJ/dz2"]``
#: are the true node gradients, by finite differences, so only the step itself is checked)
REPORT_Q43: dict[str, tuple[str, Formula]] = {
    "w22": ("dJ/dz2 x2^2", lambda g: g["dJ/dz2"] * g["x2"] ** 2),
    "b2": ("dJ/dz2", lambda g: g["dJ/dz2"]),
    "w11": ("0 if w11 x1 + w21 x2 < 0, else dJ/dz1 x1",
            lambda g: 0.0 if g["w11"] * g["x1"] + g["w21"] * g["x2"] < 0
            else g["dJ/dz1"] * g["x1"]),
}


def _graph_points(trials: int, seed: int, loss: str, active: bool) -> list[dict[str, float]]:
    """``trials`` random points: inputs U(-2, 2), parameters N(0, 1), targets N(0, 1) kept at
    least 0.1 from the prediction (ln (y - yhat)^2 is singular at y = yhat) and yhat1 in
    [0.01, 0.99] (a saturated sigmoid makes both sides ~0: nothing would be checked). With
    ``active``, only points where the ReLU is on (a1 > 0.05): where z1 = 0, the Q4.2 formulas
    for m11 and m12 are 0 whatever their factor, so they would agree for free."""
    rng = np.random.default_rng(seed)
    names = ("x1", "x2", "w11", "w21", "w12", "w22", "b2", "m11", "c1", "m12", "m22", "c2")
    points: list[dict[str, float]] = []
    while len(points) < trials:
        v = {k: float(rng.uniform(-2, 2) if k.startswith("x") else rng.normal()) for k in names}
        v["y1"], v["y2"] = (float(t) for t in rng.normal(size=2))
        n = _graph(v, loss)
        if (min(abs(v["y1"] - n["yhat1"]), abs(v["y2"] - n["yhat2"])) >= 0.1
                and 0.01 <= n["yhat1"] <= 0.99 and (n["a1"] > 0.05 or not active)):
            points.append(v)
    return points


def compare_gradients(formulas: dict[str, tuple[str, Formula]], loss: str = "squared",
                      trials: int = 50, seed: int = 0, rtol: float = 1e-5,
                      active: bool = False) -> tuple[int, int, dict[str, int]]:
    """How often each formula (variable -> (text, function of the point)) equals dJ/dvariable
    by centred differences (h = 1e-6, float64) at ``trials`` random points of the graph with
    ``loss``: (agreeing cases, cases, agreeing cases per variable). Agreeing: relative error
    (``neuralab.gradcheck.rel_error``) at most ``rtol``; ``active``: only points where the
    ReLU is on (see ``_graph_points``)."""
    from neuralab.gradcheck import rel_error, roundoff_floor

    if loss not in GRAPH_LOSSES:
        raise ValueError(f"loss={loss!r} is not allowed; use one of {', '.join(GRAPH_LOSSES)}")
    per = dict.fromkeys(formulas, 0)
    for v in _graph_points(trials, seed, loss, active):
        g = {**v, **_graph(v, loss), "dJ/dz1": _graph_fd(v, loss, "z1"),
             "dJ/dz2": _graph_fd(v, loss, "z2")}
        floor = roundoff_floor(g["J"])
        for name, (_, formula) in formulas.items():
            ours = _graph_fd(v, loss, name)
            per[name] += rel_error(np.array(formula(g)), np.array(ours), floor=floor) <= rtol
    return sum(per.values()), trials * len(formulas), per


@check("graph_gradients")
def graph_gradients(question: str = "q4.2", loss: str = "squared", trials: int = 50,
                    seed: int = 0) -> tuple[Any, int, str]:
    """In how many cases (random points x formulas) the report's Q4.2 or Q4.3 gradients equal
    centred differences of J on the reconstructed graph (above), J = sum (y - yhat)^2
    (``loss="squared"``) or sum ln (y - yhat)^2 (``"log_squared"``)."""
    table = {"q4.2": REPORT_Q42, "q4.3": REPORT_Q43}
    if question not in table:
        raise ValueError(f"question={question!r} is not allowed; use 'q4.2' or 'q4.3'")
    # Q4.2 at points where the ReLU is on; Q4.3 at any point (its w11 answer has two branches)
    agree, cases, per = compare_gradients(table[question], loss, trials, seed,
                                          active=question == "q4.2")
    detail = ", ".join(f"dJ/d{k} {n}/{trials}" for k, n in per.items())
    return agree, cases, f"J = {'sum (y-yhat)^2' if loss == 'squared' else 'sum ln (y-yhat)^2'}" \
        f"; agreeing points per formula: {detail}"


__all__ = ["CHECKS", "GRAPH_LOSSES", "REPORT_Q42", "REPORT_Q43", "check", "compare_gradients",
           "run_check"]
