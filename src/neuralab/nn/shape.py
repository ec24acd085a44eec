"""Layers that only change an array's shape: ``Flatten``."""

from __future__ import annotations

import numpy as np

from neuralab.nn.module import Module, as_float, describe


class Flatten(Module):
    """``(B, C, H, W) -> (B, C·H·W)`` (any ``(B, …)`` input), as PyTorch's ``Flatten()``.

    The bridge from convolutions to ``Linear``: the features of one sample are laid out
    channel by channel, row by row (C order), as PyTorch does, so weights move between the
    two. Parameter-free: a float input keeps its dtype, integers become float64.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        if type(x) is not np.ndarray or x.dtype.kind != "f":
            x = as_float(x, self)
        if x.ndim < 2:
            raise ValueError(f"{describe(self)} got input of shape {x.shape}; it needs "
                             "(B, …) with at least 2 axes")
        self._x = x
        if not len(x):  # an empty batch: -1 cannot be inferred from 0 elements
            return x.reshape(0, int(np.prod(x.shape[1:])))
        return x.reshape(x.shape[0], -1)  # a copy only when x is not C-ordered

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """The gradient in the input's shape and memory order.

        After a convolution the input is channels-major in memory (see conv.py); handing the
        gradient back in that order keeps the pool's and the convolution's backward on
        contiguous runs (a C-ordered gradient there makes every element-wise pass strided).
        """
        x = self._x
        g = np.reshape(grad_out, x.shape)
        if x.flags.c_contiguous or g.dtype != x.dtype:
            return g
        dx = np.empty_like(x)  # the input's memory order ("K")
        dx[...] = g
        return dx
