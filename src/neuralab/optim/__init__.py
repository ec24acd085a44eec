"""Optimizers (own their state, walk a network's params/grads) and learning-rate schedules.

>>> opt = SGD(net, lr=0.1, momentum=0.9)      # doctest: +SKIP
>>> net.backward(loss_fn.backward()); opt.step(); opt.zero_grad()   # doctest: +SKIP

Optimizers see parameters and gradients only; the fused backward + SGD step that the
estimators take for plain SGD is :func:`neuralab.optim.fused.fused_backward_step`.
"""

from neuralab.optim.adaptive import Adam, RMSProp
from neuralab.optim.fused import fused_backward_step, fused_step_applies
from neuralab.optim.optimizer import Optimizer, per_member
from neuralab.optim.schedules import (
    SCHEDULES,
    CosineAnnealingLR,
    ExponentialLR,
    LRScheduler,
    StepLR,
)
from neuralab.optim.sgd import SGD

OPTIMIZERS: dict[str, type[Optimizer]] = {"sgd": SGD, "adam": Adam, "rmsprop": RMSProp}

__all__ = [
    "OPTIMIZERS", "SCHEDULES", "SGD", "Adam", "CosineAnnealingLR", "ExponentialLR",
    "LRScheduler", "Optimizer", "RMSProp", "StepLR", "fused_backward_step",
    "fused_step_applies", "per_member",
]
