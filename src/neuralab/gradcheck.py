"""Finite-difference gradient checks (CS231n style): centred differences in float64.

``rel_error(a, b) = max |a − b| / max(|a| + |b|, tiny)`` element-wise. Smooth functions should
reach ≤ 1e-6; crossing a ReLU kink within ``h`` of a sample can cost a few orders (≤ 1e-4).
Elements where *both* gradients are below ``atol`` (1e-8, above the ~1e-9 round-off of a
centred difference with h = 1e-6 on an O(1) objective) count as exact: a gradient that is
truly zero — a bias feeding batch norm — is not reported as a 100 % error of noise against
noise, while any non-zero gradient is still judged relatively.

Round-off floor: the objective carries round-off of about eps·|f|, so a centred difference
cannot resolve an element better than eps·|f|/h ≈ 2e-10·|f|. A correct gradient element of
1e-5 (deep in a net, behind LeakyReLU's 0.01 slope, a tiny softmax probability) would show a
"relative error" of 1e-5 that is pure noise. ``check_module`` and ``check_loss`` therefore
count elements whose absolute difference is below ``roundoff_floor`` (ten times that bound)
as exact; a gradient that is wrong by more than round-off is still caught.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from neuralab.nn.containers import Sequential
from neuralab.nn.losses import Loss
from neuralab.nn.module import Module


def rel_error(
    a: np.ndarray, b: np.ndarray, tiny: float = 1e-12, atol: float = 1e-8, floor: float = 0.0
) -> float:
    """Largest element-wise relative error between two gradients (see module docstring).

    Elements with ``|a − b| <= floor`` count as exact (see :func:`roundoff_floor`).
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"gradients to compare have shapes {a.shape} and {b.shape}")
    diff = np.abs(a - b)
    err = diff / np.maximum(np.abs(a) + np.abs(b), tiny)
    exact = ((np.abs(a) < atol) & (np.abs(b) < atol)) | (diff <= floor)
    return float(np.max(np.where(exact, 0.0, err), initial=0.0))


def roundoff_floor(scale: float, h: float = 1e-6) -> float:
    """Smallest gradient difference a centred difference resolves on an objective of size
    ``scale``: ``10 · eps · max(1, scale) / h`` (about 2e-9 for h = 1e-6, |f| ≤ 1)."""
    return 10 * float(np.finfo(np.float64).eps) * max(1.0, abs(scale)) / h


def numerical_gradient(f: Callable[[], float], x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """``∂f/∂x`` by centred differences, perturbing ``x`` in place (restored afterwards)."""
    grad = np.zeros_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        fp = float(np.sum(f()))
        x[i] = old - h
        fm = float(np.sum(f()))
        x[i] = old
        grad[i] = (fp - fm) / (2 * h)
    return grad


@dataclass
class GradCheckResult:
    """Relative errors by name (``"input"``, ``"0.weight"``, ...) and the worst of them."""

    errors: dict[str, float] = field(default_factory=dict)

    @property
    def max_error(self) -> float:
        return max(self.errors.values(), default=0.0)

    def __str__(self) -> str:
        rows = ", ".join(f"{k}: {v:.2e}" for k, v in self.errors.items())
        return f"GradCheckResult(max={self.max_error:.2e}; {rows})"


def check_module(
    module: Module,
    x: np.ndarray,
    loss: Loss | None = None,
    target: np.ndarray | None = None,
    *,
    h: float = 1e-6,
    seed: int = 0,
) -> GradCheckResult:
    """Compare ``module.backward`` with finite differences for the input and every parameter.

    Without a ``loss`` the scalar checked is ``Σ (forward(x) ⊙ R)`` for a fixed random ``R``,
    which exercises every output. Dropout must be in eval mode or have a fixed mask.
    A ``Sequential`` is asked for its input gradient (``backward(g, input_grad=True)``), which
    it skips by default; a ``Linear(input_grad=False)`` has none to check.
    """
    low = sorted({str(p.dtype) for _, p, _ in module.named_parameters() if p.dtype != np.float64})
    if low:  # a float32 layer's round-off (~1e-7) swamps an h = 1e-6 difference
        raise ValueError(
            f"check_module: {type(module).__name__} has {', '.join(low)} parameters; finite "
            "differences need float64: build it with dtype=np.float64 or call "
            "module.astype(np.float64)")
    x = np.array(x, dtype=np.float64)
    out = module.forward(x)
    R = np.random.default_rng(seed).normal(size=np.shape(out))

    def objective() -> float:
        y = module.forward(x)
        return float(np.sum(loss.forward(y, target))) if loss is not None else float(np.sum(y * R))

    f0 = objective()
    scale = abs(f0) if loss is not None else float(np.sum(np.abs(module.forward(x) * R)))
    floor = roundoff_floor(scale, h)
    upstream = loss.backward() if loss is not None else R
    grad_in = (module.backward(upstream, input_grad=True) if isinstance(module, Sequential)
               else module.backward(upstream))
    analytic = {name: g.copy() for name, _, g in module.named_parameters()}
    result = GradCheckResult()
    if grad_in is not None:
        result.errors["input"] = rel_error(
            grad_in, numerical_gradient(objective, x, h), floor=floor
        )
    for name, p, _ in module.named_parameters():
        result.errors[name] = rel_error(
            analytic[name], numerical_gradient(objective, p, h), floor=floor
        )
    return result


def check_loss(
    loss: Loss, pred: np.ndarray, target: np.ndarray, *, h: float = 1e-6
) -> GradCheckResult:
    """Compare ``loss.backward()`` with finite differences of ``loss.forward`` w.r.t. ``pred``."""
    pred = np.array(pred, dtype=np.float64)
    floor = roundoff_floor(float(np.sum(np.abs(loss.forward(pred, target)))), h)
    analytic = loss.backward().copy()
    numeric = numerical_gradient(lambda: loss.forward(pred, target), pred, h)
    return GradCheckResult({"pred": rel_error(analytic, numeric, floor=floor)})
