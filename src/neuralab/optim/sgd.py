"""Stochastic gradient descent with PyTorch's heavy-ball momentum, Nesterov and weight decay.

    g ← ∇ + λ θ                      (weight_decay λ)
    v ← μ v + (1 − τ) g   (v₀ = g)   (momentum μ, dampening τ)
    g ← g + μ v  if nesterov else v
    θ ← θ − η g

The optimizer sees parameters and gradients only. The fused step for plain SGD, which folds
this update into the backward pass, lives in :mod:`neuralab.optim.fused`.
"""

from __future__ import annotations

import numpy as np

from neuralab.nn.module import Module
from neuralab.optim.optimizer import Hyper, Optimizer, check_hyper, is_zero, per_member


class SGD(Optimizer):
    """``SGD(net, lr=0.01, momentum=0, dampening=0, nesterov=False, weight_decay=0)``, as
    ``torch.optim.SGD``; each hyper-parameter may be an ``(E,)`` array for an ensemble."""

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

    def __repr__(self) -> str:
        return (f"SGD(lr={self.lr}, momentum={self.momentum}, nesterov={self.nesterov}, "
                f"weight_decay={self.weight_decay})")
