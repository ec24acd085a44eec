"""Max and average pooling over windows, 1-D and 2-D, as PyTorch (``ceil_mode=False``).

``MaxPool2d(k)``: ``x (B, C, H, W) -> (B, C, Ho, Wo)`` with
``Ho = (H + 2·padding − k) // stride + 1`` (stride defaults to k); 1-D: ``(B, C, L)``.
Both loop over the k·k window offsets (taps), each a strided slice of the input of the
output's shape, so a pass costs k·k array operations whatever the batch size:

- max: a running maximum and the tap that holds it; ties go to the FIRST maximum in
  row-major window order (a later equal value does not replace it), as PyTorch, so the whole
  gradient of a window goes to that one element. Padding is −inf (never the maximum).
  When windows do not overlap (stride = kernel, no padding: the usual ``MaxPool2d(2)``),
  each tap's share of the gradient is written straight into its slice (no col2im sums).
- average: the sum of the taps / (kH·kW), zero padding counted (PyTorch's default
  ``count_include_pad=True``); each tap gets ``grad / (kH·kW)`` back.

Parameter-free: a float input keeps its dtype, integers become float64. Ensembles (a leading
model axis) are not supported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial

import numpy as np

from neuralab.nn import _threads
from neuralab.nn.conv import IntOrPair, Windows, as_tuple, refuse_input
from neuralab.nn.module import Module, as_float

#: from this many output elements on, max pooling splits its passes over the channels
#: between threads (each NumPy call takes the GIL back, so short passes lose): on the
#: 2-core host a MaxPool2d(2) with 10⁶ outputs (64 × 64 channels of 32×32) ran 1.75× faster
#: on two threads, LeNet's first pool at batch 256 (3·10⁵) no faster
PARALLEL_SIZE = 1 << 20


class _PoolNd(Module):
    """Shared code: everything runs as 2-D (a 1-D window has height 1)."""

    _nd = 2

    def __init__(self, kernel_size: IntOrPair, stride: IntOrPair | None = None,
                 padding: IntOrPair = 0) -> None:
        super().__init__()
        name, nd = type(self).__name__, self._nd
        self.kernel_size = as_tuple(name, "kernel_size", kernel_size, nd, 1)
        self.stride = (self.kernel_size if stride is None
                       else as_tuple(name, "stride", stride, nd, 1))
        self.padding = as_tuple(name, "padding", padding, nd, 0)
        if any(2 * p > k for p, k in zip(self.padding, self.kernel_size, strict=True)):
            raise ValueError(f"{name}: padding={padding!r} is not allowed with kernel_size="
                             f"{kernel_size!r}; padding must be at most half the kernel size")
        pad1 = (lambda t, v: t) if nd == 2 else (lambda t, v: (v, *t))
        self._k2, self._s2 = pad1(self.kernel_size, 1), pad1(self.stride, 1)
        self._p2 = pad1(self.padding, 0)
        self._win: Windows | None = None

    def _prepare(self, x: np.ndarray) -> tuple[np.ndarray, Windows]:
        """Check ``x`` and return it padded as 2-D ``(B, C, Hp, Wp)``, with its windows."""
        if type(x) is not np.ndarray or x.dtype.kind != "f":
            x = as_float(x, self)
        if x.ndim != self._nd + 2:
            raise refuse_input(self, x.shape, self._nd, None)
        x4 = x if self._nd == 2 else x[:, :, None, :]
        size = x4.shape[2:]
        win = self._win
        if win is None or win.key != size:
            win = self._win = Windows(self, self._nd, size, self._k2, self._s2, self._p2)
        self._x_shape = x.shape
        if any(self._p2):
            xp = np.full((*x4.shape[:2], *win.padded), self._pad_value, x.dtype)
            xp[:, :, win.inner[0], win.inner[1]] = x4
        else:
            xp = x4
        # backward's gradient takes the memory order of the input (a convolution's output is
        # channels-major, see conv.py), so the layers before it need no transposing copy
        self._xp = xp
        return xp, win

    def _scatter(self, parts: Iterable[np.ndarray]) -> np.ndarray:
        """col2im: add each tap's gradient ``(B, C, Ho, Wo)`` into its slice; crop padding."""
        win = self._win
        dxp = np.zeros_like(self._xp)
        for (rows, cols), part in zip(win.slices, parts, strict=True):
            dxp[:, :, rows, cols] += part
        dx = dxp[:, :, win.inner[0], win.inner[1]]
        return dx if self._nd == 2 else dx[:, :, 0, :]

    def _out(self, out: np.ndarray) -> np.ndarray:
        return out if self._nd == 2 else out[:, :, 0, :]

    def extra_repr(self) -> str:
        one = (lambda t: t[0]) if self._nd == 1 else (lambda t: t if t[0] != t[1] else t[0])
        s = f"kernel_size={one(self.kernel_size)}"
        if self.stride != self.kernel_size:
            s += f", stride={one(self.stride)}"
        return s + (f", padding={one(self.padding)}" if any(self.padding) else "")


class _MaxPoolNd(_PoolNd):
    _pad_value = -np.inf

    def forward(self, x: np.ndarray) -> np.ndarray:
        xp, win = self._prepare(x)
        rows, cols = win.slices[0]
        out = xp[:, :, rows, cols].copy(order="K")  # "K": keep the input's memory order
        # which tap holds each maximum (uint8 while the window has at most 256 taps)
        self._arg = arg = np.zeros_like(out, np.min_scalar_type(len(win.slices) - 1))
        _over_channels(partial(_max_taps, win.slices), out.size, xp, out, arg)
        return self._out(out)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """The gradient of each window goes to its (first) maximum."""
        g = grad_out if self._nd == 2 else grad_out[:, :, None, :]
        arg, win = self._arg, self._win
        if self.stride != self.kernel_size or any(self.padding):
            return self._scatter(np.where(arg == t, g, 0) for t in range(len(win.slices)))
        # windows that do not overlap (the usual MaxPool2d(2)): every input element is in at
        # most one window, so each tap's slice of dx is WRITTEN, not added (no col2im sums);
        # only the rows/columns no window covers (H not a multiple of k) need zeros
        dx = np.empty_like(self._xp)
        if any(n % k for n, k in zip(dx.shape[2:], self._k2, strict=True)):
            dx.fill(0)
        _over_channels(partial(_max_grads, win.slices), arg.size, g, arg, dx)
        return self._out(dx)


def _over_channels(fn: Callable[..., None], size: int, *arrays: np.ndarray) -> None:
    """``fn(*arrays)``; from :data:`PARALLEL_SIZE` elements on, with 2+ threads, once per
    thread on its share of the channels (axis 1): element-wise passes, the same numbers."""
    if size < PARALLEL_SIZE:
        fn(*arrays)
        return
    parts = _threads.split(arrays[0].shape[1], size, PARALLEL_SIZE)
    _threads.run(lambda k, slot: fn(*(a[:, parts[k]] for a in arrays)), len(parts),
                 len(parts))


def _max_taps(slices: list[tuple[slice, slice]], xp: np.ndarray, out: np.ndarray,
              arg: np.ndarray) -> None:
    """The running maximum over taps 1… (``out`` holds tap 0) and the tap that holds it."""
    better, hit = np.empty_like(out, bool), np.empty_like(arg)
    # no copyto(..., where=better): a data-dependent mask makes it ~10× slower (branch
    # misses); arithmetic does the same work without branches
    for t, (rows, cols) in enumerate(slices[1:], 1):
        tap = xp[:, :, rows, cols]
        np.greater(tap, out, out=better)  # strict: a tie keeps the first maximum
        np.maximum(out, tap, out=out)
        # arg = t where better: every arg so far is < t, so max(arg, better·t) does it
        np.maximum(arg, np.multiply(better, arg.dtype.type(t), out=hit), out=arg)


def _max_grads(slices: list[tuple[slice, slice]], g: np.ndarray, arg: np.ndarray,
               dx: np.ndarray) -> None:
    """Non-overlapping windows: write each tap's share ``g · [arg == t]`` into its slice."""
    for t, (rows, cols) in enumerate(slices):
        # g·mask rather than where=/np.where (branchy, ~10× slower); unlike them it turns an
        # inf in g into nan at the non-maxima, where training has diverged anyway
        np.multiply(g, arg == t, out=dx[:, :, rows, cols])


class _AvgPoolNd(_PoolNd):
    _pad_value = 0.0

    def forward(self, x: np.ndarray) -> np.ndarray:
        xp, win = self._prepare(x)
        rows, cols = win.slices[0]
        out = xp[:, :, rows, cols].copy(order="K")
        for rows, cols in win.slices[1:]:
            out += xp[:, :, rows, cols]
        out *= out.dtype.type(1.0 / len(win.slices))
        return self._out(out)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """Each tap gets ``grad / (kH·kW)``."""
        g = grad_out if self._nd == 2 else grad_out[:, :, None, :]
        share = np.multiply(g, 1.0 / len(self._win.slices), dtype=self._xp.dtype)
        return self._scatter(share for _ in self._win.slices)


class MaxPool2d(_MaxPoolNd):
    """Max over ``kernel_size`` windows: ``(B, C, H, W) -> (B, C, Ho, Wo)``; stride defaults
    to the kernel size; padding (−inf) at most half the kernel. Ties: the first maximum."""

    _nd = 2


class MaxPool1d(_MaxPoolNd):
    """Max over windows of a sequence: ``(B, C, L) -> (B, C, Lo)``; see :class:`MaxPool2d`."""

    _nd = 1


class AvgPool2d(_AvgPoolNd):
    """Mean over ``kernel_size`` windows: ``(B, C, H, W) -> (B, C, Ho, Wo)``; zero padding
    counts in the mean (PyTorch's ``count_include_pad=True``)."""

    _nd = 2


class AvgPool1d(_AvgPoolNd):
    """Mean over windows of a sequence: ``(B, C, L) -> (B, C, Lo)``; see :class:`AvgPool2d`."""

    _nd = 1

