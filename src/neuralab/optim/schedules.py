"""Learning-rate schedules: the rate as a pure function of the epoch.

    lr_at(epoch) = base_lr · factor(epoch)     (base_lr: the optimizer's lr when built)

The values equal PyTorch's schedulers of the same name (tests/optim). One writer of
``optimizer.lr`` at a time:

- **Under a** :class:`~neuralab.train.Trainer` (every estimator), the Trainer is the only
  writer: before each epoch it sets ``optimizer.lr = sched.lr_at(epochs done)``, masked to 0
  for frozen ensemble members. It never calls ``step()``; the epoch count is the Trainer's,
  so the schedule holds no state there.
- **In a loop you write yourself**, ``sched.step()`` once per epoch (PyTorch's habit) advances
  ``last_epoch`` and sets ``optimizer.lr``; it is the schedule's only write.
"""

from __future__ import annotations

import math

import numpy as np

from neuralab._checks import check_positive
from neuralab.optim.optimizer import Hyper, Optimizer


class LRScheduler:
    """Base class: a subclass defines ``factor(epoch)`` (or ``lr_at(epoch)``)."""

    def __init__(self, optimizer: Optimizer) -> None:
        self.optimizer = optimizer
        self.base_lr: Hyper = optimizer.lr
        self.last_epoch = 0

    def factor(self, epoch: int) -> float:
        """The multiple of ``base_lr`` after ``epoch`` completed epochs (1 at epoch 0)."""
        raise NotImplementedError

    def lr_at(self, epoch: int) -> Hyper:
        """The learning rate after ``epoch`` completed epochs (a float, or ``(E,)``)."""
        return self.base_lr * self.factor(epoch)

    def step(self) -> Hyper:
        """For loops you write yourself: one epoch done; sets and returns ``optimizer.lr``."""
        self.last_epoch += 1
        self.optimizer.lr = self.lr_at(self.last_epoch)
        return self.optimizer.lr

    def state_dict(self) -> dict[str, np.ndarray]:
        # base_lr too (as PyTorch's base_lrs): the optimizer's lr is already decayed on resume.
        return {"last_epoch": np.asarray(self.last_epoch),
                "base_lr": np.asarray(self.base_lr, dtype=float)}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        # the optimizer's own state_dict restores its lr: only step() writes it
        self.last_epoch = int(state["last_epoch"])
        if "base_lr" in state:
            base = np.asarray(state["base_lr"], dtype=float)
            self.base_lr = float(base) if base.ndim == 0 else base


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
        if epoch == 0:  # the optimizer's own rate, where PyTorch starts too: the formula
            return self.base_lr  # below may round η_min + (base − η_min) to base's neighbour
        e = min(epoch, self.T_max)
        cosine = (1 + math.cos(math.pi * e / self.T_max)) / 2
        return self.eta_min + (self.base_lr - self.eta_min) * cosine


SCHEDULES: dict[str, type[LRScheduler]] = {
    "step": StepLR,
    "exponential": ExponentialLR,
    "cosine": CosineAnnealingLR,
}
