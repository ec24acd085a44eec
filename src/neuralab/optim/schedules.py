"""Learning-rate schedules, stepped once per epoch: ``sched.step()`` sets ``optimizer.lr``."""

from __future__ import annotations

import math

import numpy as np

from neuralab._checks import check_positive
from neuralab.optim.optimizer import Hyper, Optimizer


class LRScheduler:
    def __init__(self, optimizer: Optimizer) -> None:
        self.optimizer = optimizer
        self.base_lr: Hyper = optimizer.lr
        self.last_epoch = 0

    def factor(self, epoch: int) -> float:
        raise NotImplementedError

    def lr_at(self, epoch: int) -> Hyper:
        return self.base_lr * self.factor(epoch)

    def step(self) -> Hyper:
        self.last_epoch += 1
        self.optimizer.lr = self.lr_at(self.last_epoch)
        return self.optimizer.lr

    def state_dict(self) -> dict[str, np.ndarray]:
        # base_lr too (as PyTorch's base_lrs): the optimizer's lr is already decayed on resume.
        return {"last_epoch": np.asarray(self.last_epoch),
                "base_lr": np.asarray(self.base_lr, dtype=float)}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self.last_epoch = int(state["last_epoch"])
        if "base_lr" in state:
            base = np.asarray(state["base_lr"], dtype=float)
            self.base_lr = float(base) if base.ndim == 0 else base
        self.optimizer.lr = self.lr_at(self.last_epoch)


class StepLR(LRScheduler):
    """``lr = base · gamma^(epoch // step_size)``."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        super().__init__(optimizer)
        self.step_size = check_positive("step_size", step_size, integer=True)
        self.gamma = check_positive("gamma", gamma)

    def factor(self, epoch: int) -> float:
        return self.gamma ** (epoch // self.step_size)


class ExponentialLR(LRScheduler):
    """``lr = base · gamma^epoch``."""

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        super().__init__(optimizer)
        self.gamma = check_positive("gamma", gamma)

    def factor(self, epoch: int) -> float:
        return self.gamma**epoch


class CosineAnnealingLR(LRScheduler):
    """``lr = η_min + (base − η_min)(1 + cos(π · epoch / T_max)) / 2``, flat after T_max."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:
        super().__init__(optimizer)
        self.T_max = check_positive("T_max", T_max, integer=True)
        self.eta_min = check_positive("eta_min", eta_min, strict=False)

    def lr_at(self, epoch: int) -> Hyper:
        e = min(epoch, self.T_max)
        cosine = (1 + math.cos(math.pi * e / self.T_max)) / 2
        return self.eta_min + (self.base_lr - self.eta_min) * cosine


SCHEDULES: dict[str, type[LRScheduler]] = {
    "step": StepLR,
    "exponential": ExponentialLR,
    "cosine": CosineAnnealingLR,
}
