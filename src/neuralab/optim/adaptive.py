"""Adaptive optimizers: Adam and RMSProp, in PyTorch's formulation (same defaults)."""

from __future__ import annotations

import numpy as np

from neuralab._checks import check_positive
from neuralab.nn.module import Module
from neuralab.optim.optimizer import Hyper, Optimizer, check_hyper, per_member


class Adam(Optimizer):
    """``m ← β₁m + (1−β₁)g``; ``v ← β₂v + (1−β₂)g²``; ``θ ← θ − η m̂ / (sqrt(v̂) + ε)``."""

    def __init__(
        self,
        net: Module,
        lr: Hyper = 1e-3,
        *,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: Hyper = 0.0,
    ) -> None:
        super().__init__(net, lr)
        for i, b in enumerate(betas):
            check_hyper(f"betas[{i}]", b, strict=False, upper=1.0)
        self.betas, self.eps = (float(betas[0]), float(betas[1])), check_positive("eps", eps)
        self.weight_decay = check_hyper("weight_decay", weight_decay, strict=False)

    def update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray]) -> None:
        b1, b2 = self.betas
        if np.any(self.weight_decay):
            grad = grad + per_member(self.weight_decay, param) * param
        if "exp_avg" not in state:
            state["exp_avg"] = np.zeros_like(param)
            state["exp_avg_sq"] = np.zeros_like(param)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= b1
        m += (1 - b1) * grad
        v *= b2
        v += (1 - b2) * grad * grad
        t = self.steps
        bc1, bc2 = 1 - b1**t, 1 - b2**t
        denom = np.sqrt(v) / param.dtype.type(np.sqrt(bc2)) + param.dtype.type(self.eps)
        param -= (per_member(self.lr, param) / param.dtype.type(bc1)) * m / denom


class RMSProp(Optimizer):
    """``v ← αv + (1−α)g²``; ``θ ← θ − η g / (sqrt(v) + ε)`` (optional momentum, centering)."""

    def __init__(
        self,
        net: Module,
        lr: Hyper = 1e-2,
        *,
        alpha: float = 0.99,
        eps: float = 1e-8,
        momentum: Hyper = 0.0,
        centered: bool = False,
        weight_decay: Hyper = 0.0,
    ) -> None:
        super().__init__(net, lr)
        self.alpha = float(check_hyper("alpha", alpha, strict=False, upper=1.0))
        self.eps = check_positive("eps", eps)
        self.momentum = check_hyper("momentum", momentum, strict=False, upper=1.0)
        self.weight_decay = check_hyper("weight_decay", weight_decay, strict=False)
        self.centered = centered

    def update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray]) -> None:
        a = self.alpha
        if np.any(self.weight_decay):
            grad = grad + per_member(self.weight_decay, param) * param
        if "square_avg" not in state:
            state["square_avg"] = np.zeros_like(param)
        sq = state["square_avg"]
        sq *= a
        sq += (1 - a) * grad * grad
        if self.centered:
            gavg = state.setdefault("grad_avg", np.zeros_like(param))
            gavg *= a
            gavg += (1 - a) * grad
            avg = np.sqrt(sq - gavg * gavg) + param.dtype.type(self.eps)
        else:
            avg = np.sqrt(sq) + param.dtype.type(self.eps)
        lr = per_member(self.lr, param)
        if np.any(self.momentum):
            buf = state.setdefault("momentum_buffer", np.zeros_like(param))
            buf *= per_member(self.momentum, param)
            buf += grad / avg
            param -= lr * buf
        else:
            param -= lr * grad / avg
