"""Inverted dropout: zero each unit with probability p while training, scale the rest by 1/(1−p)."""

from __future__ import annotations

import numpy as np

from neuralab._checks import check_in_range
from neuralab.nn.conv import refuse_input
from neuralab.nn.linear import RngLike, as_member_generators
from neuralab.nn.module import Module, as_float
from neuralab.rng import as_generator


class Dropout(Module):
    """``x (…, B, F) -> x ⊙ mask / (1 − p)`` in training, identity in eval.

    ``rng`` is a Generator, or a list of E Generators for an ensemble (member i draws its
    ``(B, F)`` mask from ``rng[i]``, the same draw a single model with that generator makes).
    The last mask used is kept in ``self.mask`` (0/1 floats) for inspection and tests.
    """

    mode_dependent = True

    def __init__(self, p: float = 0.5, *, rng: RngLike = None) -> None:
        super().__init__()
        # "Dropout2d: p=1.5 is not allowed; ..."
        check_in_range(f"{type(self).__name__}: p", p, 0.0, 1.0, closed="left")
        self.p = float(p)
        self._gens = as_member_generators(rng)
        self._rng = None if self._gens is not None else as_generator(rng)
        self.mask: np.ndarray | None = None

    def _draw(self, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        if self._gens is None:
            return self._rng.random(shape, dtype=dtype)
        member_shape = shape[1:] if len(shape) == 3 else shape
        return np.stack([g.random(member_shape, dtype=dtype) for g in self._gens])

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = as_float(x, self)  # a float input keeps its dtype; integers become float64
        if not self.training or self.p == 0.0:
            self._scale = None
            return x
        # Generator.random draws float32 or float64 only (float16 draws in float64)
        draw = x.dtype if x.dtype in (np.float32, np.float64) else np.dtype(np.float64)
        self._x_ndim = x.ndim
        self.mask = (self._draw(x.shape, draw) >= self.p).astype(x.dtype)
        self._scale = self.mask / x.dtype.type(1.0 - self.p)
        return x * self._scale

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        if self._scale is None:
            return grad_out
        grad_in = grad_out * self._scale
        # An ensemble's masks (E, B, F) on a shared batch (B, F): sum the members' gradients.
        return grad_in if grad_in.ndim == self._x_ndim else grad_in.sum(axis=0)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Dropout2d(Dropout):
    """Channel dropout: ``x (B, C, H, W)``, each whole channel of each sample zeroed with
    probability p while training (the rest scaled by 1/(1−p)), as PyTorch's ``Dropout2d``.

    ``self.mask`` is ``(B, C, 1, 1)``. One Generator only (ensembles are not supported).
    """

    def __init__(self, p: float = 0.5, *, rng: RngLike = None) -> None:
        if as_member_generators(rng) is not None:
            raise ValueError("Dropout2d: rng as a list of generators (an ensemble) is not "
                             "supported by the CNN layers; pass one Generator, an int or None")
        super().__init__(p, rng=rng)

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = as_float(x, self)
        if x.ndim != 4:
            raise refuse_input(self, x.shape, 2, None)
        if not self.training or self.p == 0.0:
            self._scale = None
            return x
        draw = x.dtype if x.dtype in (np.float32, np.float64) else np.dtype(np.float64)
        self._x_ndim = x.ndim
        shape = (*x.shape[:2], 1, 1)
        self.mask = (self._rng.random(shape, dtype=draw) >= self.p).astype(x.dtype)
        self._scale = self.mask / x.dtype.type(1.0 - self.p)
        return x * self._scale
