"""Containers: ``Sequential`` chains layers; its layers are reachable by index."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from neuralab.nn import _threads
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

    Threads: a network of convolutions and small dense layers (LeNet-5) runs each forward
    and backward call with a one-thread BLAS when the process has more threads
    (:meth:`_one_blas`); long convolution blocks use the other cores on their own thread
    pool (``nn/_threads.py``).
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
        # what _one_blas needs to know of the layers, kept with the layers it was found for
        self._blas_plan: tuple[tuple[Module, ...], tuple[Module, ...], int] | None = None

    def children(self) -> list[Module]:
        return self.layers

    def _one_blas(self, x: Any) -> bool:
        """Run this call (forward or backward of the batch ``x``) with a one-thread BLAS?

        Yes when the process has 2+ threads, the network has convolutions, every dense
        product (batch × a 2-D weight) stays under ``_threads.BLAS_WORK``, and some product
        is one OpenBLAS would split over its threads (``_threads.OPENBLAS_SPLIT``: 2¹⁸
        multiply-adds or more). Why: split, such small products wait for each other (a
        LeNet-5 step at batch 256 took 48 ms with a two-thread BLAS against 30 ms with one),
        and on some CPUs (OpenBLAS's Haswell kernels) a split product differs in its last
        bits from the same product on one thread, so a call must not be split on one call and
        whole on the next. A convolution's products are known once it has seen an input;
        until then (the first call) they count as split. Decided once per call, not per layer
        (entering and leaving costs ~6 µs); the convolutions' own blocks use the other cores
        where they are long enough (``_threads.PARALLEL_WORK``). LeNet-5 at batch 1, whose
        products are all under 2¹⁸ once known, is left alone.
        """
        layers = tuple(self.layers)
        plan = getattr(self, "_blas_plan", None)  # (absent in a Sequential pickled before it)
        if plan is None or plan[0] != layers:  # once per list of layers (~10 µs to walk)
            convs = tuple(m for m in self.modules() if hasattr(m, "sample_work"))
            dense = max((m._params["weight"].size for m in self.modules()
                         if getattr(m._params.get("weight"), "ndim", 0) == 2), default=0)
            plan = self._blas_plan = (layers, convs, dense)
        _, convs, dense = plan
        if not convs:
            return False
        shape = np.shape(x)  # (a list too)
        batch = shape[0] if shape else 1
        work = max(batch * dense, *(batch * c.sample_work if c.sample_work else
                                    _threads.OPENBLAS_SPLIT for c in convs))
        return (work >= _threads.OPENBLAS_SPLIT and batch * dense < _threads.BLAS_WORK
                and _threads.threads() >= 2)

    def forward(self, x: np.ndarray) -> np.ndarray:
        if self._one_blas(x):
            with _threads.single_blas():
                return self._forward(x)
        return self._forward(x)

    def _forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, grad_out: np.ndarray, *, input_grad: bool | None = None
                 ) -> np.ndarray | None:
        """Backward through every layer, last to first; writes all parameter gradients.

        Returns ``d loss / d input`` when ``input_grad`` is True (default: the flag given to
        the constructor, False), else None without computing it.
        """
        if self._one_blas(grad_out):
            with _threads.single_blas():
                return self._backward(grad_out, input_grad)
        return self._backward(grad_out, input_grad)

    def _backward(self, grad_out: np.ndarray, input_grad: bool | None) -> np.ndarray | None:
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
