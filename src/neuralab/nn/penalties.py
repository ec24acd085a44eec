"""Weight penalties added to the loss: L1 ``λ Σ|W|`` and L2 ``(λ/2) Σ W²``.

They act on the ``weight`` of every :class:`Linear` (biases and batch-norm scales are not
penalised, the usual convention). ``value`` is per model; ``add_grad`` adds ``∂/∂W``
to the grads already written by ``backward``.
"""

from __future__ import annotations

import numpy as np

from neuralab._checks import check_positive
from neuralab.nn.linear import Linear
from neuralab.nn.module import Module


def _weights(net: Module) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(m.params["weight"], m.grads["weight"]) for m in net.modules() if isinstance(m, Linear)]


class Penalty:
    def __init__(self, strength: float) -> None:
        check_positive(f"{type(self).__name__} strength", strength, strict=False)
        self.strength = float(strength)

    def value(self, net: Module) -> float | np.ndarray:
        total = sum(self._value(W).sum(axis=(-2, -1)) for W, _ in _weights(net))
        return float(total) if np.ndim(total) == 0 else total

    def add_grad(self, net: Module) -> None:
        for W, dW in _weights(net):
            dW += self._grad(W)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.strength})"


class L1(Penalty):
    def _value(self, W):
        return self.strength * np.abs(W)

    def _grad(self, W):
        return W.dtype.type(self.strength) * np.sign(W)


class L2(Penalty):
    def _value(self, W):
        return 0.5 * self.strength * W * W

    def _grad(self, W):
        return W.dtype.type(self.strength) * W
