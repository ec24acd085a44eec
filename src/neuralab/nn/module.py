"""The layer contract: ``forward`` caches what ``backward`` needs; parameters live in dicts.

Every layer keeps ``params`` and ``grads`` dicts keyed ``"weight"``/``"bias"`` (same shapes),
and ``buffers`` for non-trained state (batch-norm running statistics). ``backward`` *writes*
the gradients of the last ``forward`` into ``grads`` (it does not accumulate) and returns the
gradient with respect to the layer's input. Optimizers read ``grads`` and update ``params``
in place; layers never update themselves (PyTorch's split of Module and Optimizer).

Shapes follow the last axes: a single model sees ``(B, features)``; an *ensemble* of E models
stacks its parameters on a leading axis and sees ``(E, B, features)`` through the same code.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


class Module:
    """Base class of every layer and container."""

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}
        self.training = True

    # -- the contract -------------------------------------------------------------------
    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    # -- tree walking -------------------------------------------------------------------
    def children(self) -> list[Module]:
        """Direct sub-modules (containers override)."""
        return []

    def modules(self) -> Iterator[Module]:
        """This module and all its descendants, depth first."""
        yield self
        for child in self.children():
            yield from child.modules()

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
        """``(name, param, grad)`` for every trainable array, e.g. ``("0.weight", W, dW)``."""
        for key, value in self.params.items():
            yield f"{prefix}{key}", value, self.grads[key]
        for i, child in enumerate(self.children()):
            yield from child.named_parameters(f"{prefix}{i}.")

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray]]:
        for key, value in self.buffers.items():
            yield f"{prefix}{key}", value
        for i, child in enumerate(self.children()):
            yield from child.named_buffers(f"{prefix}{i}.")

    # -- modes and bookkeeping ----------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Training mode: dropout drops, batch norm uses batch statistics."""
        for m in self.modules():
            m.training = mode
        return self

    def eval(self) -> Module:
        """Evaluation mode: dropout is the identity, batch norm uses running statistics."""
        return self.train(False)

    def zero_grad(self) -> None:
        for _, _, grad in self.named_parameters():
            grad.fill(0)

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of all parameters and buffers, keyed by dotted name."""
        state = {name: p.copy() for name, p, _ in self.named_parameters()}
        state.update({name: b.copy() for name, b in self.named_buffers()})
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy arrays into this module's parameters and buffers in place (shapes must match)."""
        targets = {name: p for name, p, _ in self.named_parameters()}
        targets.update(dict(self.named_buffers()))
        missing = sorted(set(targets) - set(state))
        unexpected = sorted(set(state) - set(targets))
        if missing or unexpected:
            raise ValueError(
                f"state does not fit this network: missing {missing}, unexpected {unexpected}"
            )
        for name, target in targets.items():
            value = np.asarray(state[name])
            if value.shape != target.shape:
                raise ValueError(
                    f"state[{name!r}] has shape {value.shape}; this network needs {target.shape}"
                )
            target[...] = value

    def n_parameters(self) -> int:
        return int(sum(p.size for _, p, _ in self.named_parameters()))

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        kids = self.children()
        if not kids:
            return f"{type(self).__name__}({self.extra_repr()})"
        body = "\n".join(f"  ({i}): " + repr(k).replace("\n", "\n  ") for i, k in enumerate(kids))
        return f"{type(self).__name__}(\n{body}\n)"


def member_shape(n_models: int | None, *shape: int) -> tuple[int, ...]:
    """``shape`` for one model, or ``(E, *shape)`` for an ensemble of ``E`` models."""
    return shape if n_models is None else (n_models, *shape)
