"""Stochastic gradient descent with PyTorch's heavy-ball momentum, Nesterov and weight decay.

    g ← ∇ + λ θ                      (weight_decay λ)
    v ← μ v + (1 − τ) g   (v₀ = g)   (momentum μ, dampening τ)
    g ← g + μ v  if nesterov else v
    θ ← θ − η g
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neuralab.nn.containers import Sequential
from neuralab.nn.linear import Linear
from neuralab.nn.module import Module
from neuralab.optim.optimizer import (
    Hyper,
    Optimizer,
    blas_kernel,
    blas_single_threaded,
    check_hyper,
    is_zero,
    per_member,
)


def _blas_ready(a: np.ndarray) -> bool:
    """BLAS can update ``a`` in place (SciPy copies anything else)."""
    f = a.flags
    return f.c_contiguous and f.aligned and f.writeable


#: dtype -> SciPy's (gemm, gemv, ger, axpy) for it, or None without SciPy: looked up once,
#: so a step pays one dict lookup instead of four (``blas_kernel`` builds a key each call).
_KERNELS: dict[np.dtype, tuple[Any, Any, Any, Any] | None] = {}


def _kernels(dtype: np.dtype) -> tuple[Any, Any, Any, Any] | None:
    if dtype not in _KERNELS:
        k = tuple(blas_kernel(name, dtype) for name in ("gemm", "gemv", "ger", "axpy"))
        _KERNELS[dtype] = None if None in k else k
    return _KERNELS[dtype]


#: Above this many rows the products are compute-bound and the fused ``gemm`` (SciPy's
#: OpenBLAS 0.3.30) is 3-5 % slower than NumPy's (0.3.31) ``np.dot`` + update, while the saved
#: memory passes no longer matter: such batches take the ordinary backward + update
#: (measured on the benchmark machine: 185 vs 205 µs at 128 rows, 361 vs 366 at 256,
#: 730 vs 702 at 512, 1476 vs 1404 at 1024; docs/performance.md).
FUSED_MAX_ROWS = 384


def _fused_linear_step(layer: Linear, g: np.ndarray, lr: float) -> tuple[bool, np.ndarray | None]:
    """Backward of ``layer`` fused with ``W ← W − lr·xᵀg`` and ``b ← b − lr·gᵀ1``:
    ``(True, input gradient)``, or ``(False, None)`` with nothing done when it does not apply.
    """
    # At batch 1 this function runs twice a step next to ~25 µs of BLAS work, so every
    # attribute and dict lookup counts: each is done once, into a local.
    x, params = layer._x, layer.params
    W, b = params["weight"], params.get("bias")
    dtype = W.dtype
    kernels = _KERNELS.get(dtype) or _kernels(dtype)
    if (kernels is None or x is None or W.ndim != 2 or x.ndim != 2 or g.ndim != 2
            or len(x) > FUSED_MAX_ROWS or x.dtype != dtype or g.dtype != dtype
            or not _blas_ready(W) or (b is not None and not _blas_ready(b))):
        return False, None
    gemm, gemv, ger, axpy = kernels
    grad_in = np.dot(g, W.T) if layer.input_grad else None  # with the old W
    # BLAS is column-major: Wᵀ, gᵀ and xᵀ are Fortran-ordered views of C-ordered arrays, so
    # nothing is copied and BLAS writes into W and b in place (β = 1 keeps the old values):
    #   Wᵀ ← Wᵀ − lr·gᵀ·(xᵀ)ᵀ      b ← b − lr·gᵀ·1
    Wt = W.T
    if len(g) == 1:
        # batch 1: the rank-1 update ger is ~10 % faster than gemm, and the bias update is
        # an axpy b ← b − lr·g (0.25 µs, where gemv with a ones vector takes 0.65 µs)
        g0 = g[0]
        done = ger(-lr, g0, x[0], a=Wt, overwrite_a=1)
        done_b = b if b is None else axpy(g0, b, a=-lr)
    else:
        done = gemm(-lr, g.T, x.T, beta=1.0, c=Wt, trans_b=1, overwrite_c=1)
        done_b = b if b is None else gemv(-lr, g.T, layer._ones(len(g), dtype), beta=1.0, y=b,
                                          overwrite_y=1)
    if done is not Wt or done_b is not b:
        raise RuntimeError("BLAS did not update the parameters in place")  # cannot happen
    return True, grad_in


class SGD(Optimizer):
    def __init__(
        self,
        net: Module,
        lr: Hyper = 0.01,
        *,
        momentum: Hyper = 0.0,
        dampening: float = 0.0,
        nesterov: bool = False,
        weight_decay: Hyper = 0.0,
    ) -> None:
        super().__init__(net, lr)
        self.momentum = check_hyper("momentum", momentum, strict=False, upper=1.0)
        self.dampening = float(check_hyper("dampening", dampening, strict=False, upper=1.0001))
        self.weight_decay = check_hyper("weight_decay", weight_decay, strict=False)
        if nesterov and (np.any(np.asarray(momentum) <= 0) or dampening != 0):
            raise ValueError(
                f"nesterov=True needs momentum > 0 and dampening = 0; got momentum={momentum!r}, "
                f"dampening={dampening!r}"
            )
        self.nesterov = nesterov

    def update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray]) -> None:
        if not is_zero(self.weight_decay):
            grad = grad + per_member(self.weight_decay, param) * param
        if not is_zero(self.momentum):
            mu = per_member(self.momentum, param)
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = grad.copy()
            else:
                buf *= mu
                buf += grad if self.dampening == 0 else (1 - self.dampening) * grad
            grad = grad + mu * buf if self.nesterov else buf
        # NumPy, not a BLAS axpy: the same rounding for a single model and an ensemble member
        # (member i must equal its single twin), see docs/performance.md
        param -= per_member(self.lr, param) * grad

    # -- the fused path --------------------------------------------------------------------
    def backward_step(self, grad_out: np.ndarray) -> np.ndarray | None:
        """``net.backward(grad_out); self.step()`` in one pass over the layers (a speed-up).

        For plain SGD (scalar ``lr``, no momentum, no weight decay) a ``Linear`` layer with
        2-D weights skips the weight gradient: after computing its input gradient with the
        old weights, it applies ``W ← W − lr·xᵀg`` as one BLAS call (``gemm`` with β = 1) that
        reads and writes ``W`` once, instead of writing ``dW``, reading it back and rewriting
        ``W``. At batch 1 that is most of a step (``docs/performance.md``). Updates equal
        those of the two-call form up to float rounding. Every other layer, and every layer
        with momentum, weight decay, a per-member ``lr``, without SciPy, or with more than one
        BLAS thread (NumPy's and SciPy's BLAS pools would fight over the cores, see
        :func:`~neuralab.optim.optimizer.blas_single_threaded`), or with a batch of more
        than :data:`FUSED_MAX_ROWS` rows (where the fused form no longer pays), takes the
        ordinary ``backward`` + update.

        A fused ``Linear`` layer leaves its ``grads`` untouched (stale): use the two-call
        form when you need the gradients themselves (clipping, logging norms).
        Returns the gradient with respect to the network's input (None if not computed).
        """
        self.steps += 1
        lr = self.lr
        fused = (isinstance(lr, (int, float)) and is_zero(self.momentum)
                 and is_zero(self.weight_decay) and blas_single_threaded())
        return self._backward_step(self.net, grad_out, "", float(lr) if fused else None)

    def _backward_step(self, module: Module, g: np.ndarray | None, prefix: str,
                       lr: float | None) -> np.ndarray | None:
        """Backward + update of ``module``; ``lr`` is None where the fused step is off."""
        if lr is not None and type(module) is Linear:  # the common case first
            done, g_in = _fused_linear_step(module, g, lr)
            if done:
                return g_in
        if isinstance(module, Sequential):
            layers = module.layers
            for i in range(len(layers) - 1, -1, -1):
                g = self._backward_step(layers[i], g, f"{prefix}{i}.", lr)
                if g is None and i > 0:
                    raise ValueError(
                        f"layer {prefix}{i} computes no input gradient (input_grad=False), so "
                        "the layers before it cannot learn; only the first layer may skip it"
                    )
            return g
        g_in = module.backward(g)
        if module.params or module.children():
            for name, param, grad in module.named_parameters(prefix):
                self.update(param, grad, self.state.setdefault(name, {}))
        return g_in

    def __repr__(self) -> str:
        return (f"SGD(lr={self.lr}, momentum={self.momentum}, nesterov={self.nesterov}, "
                f"weight_decay={self.weight_decay})")
