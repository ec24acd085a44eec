"""Containers: ``Sequential`` chains layers; its layers are reachable by index."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from neuralab.nn.module import Module


def _has_params(module: Module) -> bool:
    return bool(module._params) or any(_has_params(c) for c in module.children())


class Sequential(Module):
    """``Sequential(l0, l1, ...)``: forward left to right, backward right to left.

    ``backward(grad_out)`` writes every layer's parameter gradients but, like PyTorch for
    data that does not require grad, does not compute the gradient with respect to the
    network's *input*: it returns None, and the first layer with parameters computes its
    parameter gradients only (one GEMM less per step for a first ``Linear``; layers before it
    have nothing to learn and are skipped). Ask for the input gradient per call with
    ``net.backward(g, input_grad=True)``, or for every call with
    ``Sequential(..., input_grad=True)`` (saliency maps, adversarial examples, a network
    nested after another layer: a nested Sequential that is not first always gets it).
    """

    def __init__(self, *layers: Module, input_grad: bool = False) -> None:
        super().__init__()
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise ValueError(
                    f"Sequential layer {i} is {type(layer).__name__}; every layer must be a "
                    "neuralab.nn.Module"
                )
        self.layers: list[Module] = list(layers)
        self.input_grad = bool(input_grad)

    def children(self) -> list[Module]:
        return self.layers

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, grad_out: np.ndarray, *, input_grad: bool | None = None
                 ) -> np.ndarray | None:
        """Backward through every layer, last to first; writes all parameter gradients.

        Returns ``d loss / d input`` when ``input_grad`` is True (default: the flag given to
        the constructor, False), else None without computing it.
        """
        want = self.input_grad if input_grad is None else input_grad
        layers = self.layers
        n = len(layers)
        if n == 0:
            return grad_out if want else None
        stop = 0  # layers[:stop] need no backward at all
        if not want:  # the first layer with parameters needs its parameter gradients only
            while stop < n and not _has_params(layers[stop]):
                stop += 1
        g: np.ndarray | None = grad_out
        for i in range(n - 1, stop, -1):
            layer = layers[i]
            # a nested Sequential in the middle must hand back its input gradient
            g = (layer.backward(g, input_grad=True) if isinstance(layer, Sequential)
                 else layer.backward(g))
            if g is None:
                raise ValueError(
                    f"layer {i} ({type(layer).__name__}) computes no input gradient (it was "
                    "built with input_grad=False), so the layers before it get no gradient; "
                    "only the first layer may skip it"
                )
        if stop == n:  # nothing to learn and no input gradient wanted
            return None
        if not want:
            layers[stop].backward_params(g)
            return None
        return layers[0].backward(g, input_grad=True) if isinstance(
            layers[0], Sequential) else layers[0].backward(g)

    def backward_params(self, grad_out: np.ndarray) -> None:
        """Parameter gradients only (a Sequential nested first in another one)."""
        if type(self).backward is not Sequential.backward:
            self.backward(grad_out)
            return
        self.backward(grad_out, input_grad=False)

    def __getitem__(self, i: int) -> Module:
        return self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)

    def append(self, layer: Module) -> Sequential:
        self.layers.append(layer)
        return self
