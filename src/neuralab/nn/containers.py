"""Containers: ``Sequential`` chains layers; its layers are reachable by index."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from neuralab.nn.module import Module


class Sequential(Module):
    """``Sequential(l0, l1, ...)``: forward left to right, backward right to left."""

    def __init__(self, *layers: Module) -> None:
        super().__init__()
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise ValueError(
                    f"Sequential layer {i} is {type(layer).__name__}; every layer must be a "
                    "neuralab.nn.Module"
                )
        self.layers: list[Module] = list(layers)

    def children(self) -> list[Module]:
        return self.layers

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        for layer in reversed(self.layers):
            grad_out = layer.backward(grad_out)
            if grad_out is None:  # the first Linear may skip its input gradient
                return None
        return grad_out

    def __getitem__(self, i: int) -> Module:
        return self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)

    def append(self, layer: Module) -> Sequential:
        self.layers.append(layer)
        return self
