"""Convolutions the textbook way: im2col, one matrix product, and col2im for the backward.

``Conv2d``: ``x (B, C, H, W) -> (B, O, Ho, Wo)``, weight ``(O, C, kH, kW)``, bias ``(O,)``;
``Conv1d``: ``x (B, C, L) -> (B, O, Lo)``, weight ``(O, C, k)`` — PyTorch's layouts, so weights
move between the two. Output size per spatial axis (PyTorch's formula)::

    Ho = (H + 2·padding − dilation·(kernel − 1) − 1) // stride + 1

Forward (one model, K = C·kH·kW, N = B·Ho·Wo):

1. pad the input into ``xp (C, H + 2p, W + 2p, B)``: the batch axis last, so the copy of
   step 2 moves runs of B (or Wo·B) contiguous numbers instead of rows of Wo;
2. im2col: ``cols (C, kH, kW, Ho, Wo, B)``, where ``cols[c, i, j]`` is the input seen by
   kernel tap ``(i, j)`` at every output position. ``sliding_window_view`` shows ``xp`` in
   exactly that shape without copying (tap ``(i, j)`` is the strided slice
   ``xp[c, i·d : i·d + s·(Ho − 1) + 1 : s, j·d : … : s, :]``); one copy lays it out;
3. ``out (O, N) = W (O, K) @ cols (K, N) + b``: ONE matrix product;
4. ``out`` viewed as ``(B, O, Ho, Wo)`` (a transposed view of ``(O, Ho, Wo, B)``, no copy).

Backward: ``dW = g (O, N) @ colsᵀ`` (computed as its transpose ``cols @ gᵀ``, the
orientation OpenBLAS runs faster), ``db = Σ_N g``, ``dcols = Wᵀ @ g (K, N)``, and col2im
adds each tap's ``dcols[:, i, j]`` back into the slice of ``dxp`` it was read from (kH·kW
slice additions: overlapping windows add up; for a small batch one ``np.bincount`` does
all of them).

Speed (docs/performance.md, "Convolutional networks"): at a large batch ``cols`` is tens
of MB (LeNet's first layer at batch 256: 20 MB), which would travel to memory and back.
So steps 2-3 run per block of output rows whose cols fit in a core's L2 cache
(:data:`BLOCK_BYTES`): fill the block, multiply, next block; backward refills each block
(cheap: ``xp`` is small) for its share of ``dW`` and ``dcols``. A batch small enough for
one block keeps its cols from forward to backward.

Threads (``nn/_threads.py``): when the process has 2+ BLAS threads, a large layer call
(long blocks: ``_threads.PARALLEL_WORK``) runs its blocks side by side on a small thread
pool, each with a one-thread BLAS: forward, im2col and product; backward, a block per
thread at a time, its refill, share of ``dWᵀ`` and ``dcols``, then on the calling thread, in
block order, the sum of the shares and col2im (neighbouring blocks add into the same rows of
``dx``). The blocks are the same whatever the thread count, so the numbers are too.
LeNet-5's blocks are too short for this; a ``Sequential`` holds its BLAS at one thread
instead (containers.py).

A 1-D convolution is the 2-D one with a kernel of height 1 (one output row: one block).
Ensembles (a leading model axis) are not supported: the layers refuse a 5-D (2-D conv) or
4-D (1-D conv) input.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from neuralab.nn import _threads
from neuralab.nn.init import init_conv
from neuralab.nn.module import Module, as_dtype, check_float_dtype, describe
from neuralab.rng import as_generator

IntOrPair = int | tuple[int, ...]

#: bytes of im2col buffer per block of output rows: about one core's L2 cache, so each block
#: is filled and multiplied while it is still in cache (the whole batch's cols — 20 MB for
#: LeNet's first layer at batch 256 — would go out to memory and back, twice per step)
BLOCK_BYTES = 1 << 20
#: up to this many cols elements, col2im is one np.bincount rather than a loop over taps
#: (LeNet's second layer at batch 1: 15,000, 5× faster; from batch 16 the loop wins)
SMALL_COL2IM = 1 << 15


def as_tuple(layer: str, name: str, value: Any, nd: int, minimum: int) -> tuple[int, ...]:
    """``value`` (an int or ``nd`` ints) as ``nd`` ints ``>= minimum``, else a ValueError."""
    vals = tuple(value) if isinstance(value, (tuple, list)) else (value,) * nd
    ok = len(vals) == nd and all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= minimum
        for v in vals)
    if not ok:
        what = "an int" if nd == 1 else f"an int or a tuple of {nd} ints"
        raise ValueError(f"{layer}: {name}={value!r} is not allowed; it must be {what} "
                         f">= {minimum}")
    return tuple(int(v) for v in vals)


def refuse_input(layer: Module, shape: tuple[int, ...], nd: int, channels: int | None,
                 ) -> ValueError:
    """The error for an input of the wrong rank or channel count."""
    axes = "(B, C, L)" if nd == 1 else "(B, C, H, W)"
    need = f"{axes} with C = {channels}" if channels is not None else axes
    msg = f"{describe(layer)} got input of shape {shape}; it needs {need}"
    hints = []
    if len(shape) == nd + 2 and shape[0] == 0:
        hints.append("an empty batch: it needs at least one sample")
    elif len(shape) == nd + 2 and channels is not None and shape[-1] == channels:
        order = "0, 3, 1, 2" if nd == 2 else "0, 2, 1"
        hints.append(f"channels last? move them first: x.transpose({order})")
    elif len(shape) == nd + 3:
        hints.append("ensembles, a leading model axis, are not supported by the CNN layers")
    elif len(shape) == 2 and nd == 2:
        hints.append("flattened images? reshape them to (B, C, H, W)")
    elif len(shape) == nd + 1:
        if channels is None or shape[0] == channels:
            hints.append("one sample? add the batch axis: x[None]")
        if channels in (None, 1):
            hints.append("no channel axis? add it: x[:, None]")
    return ValueError(msg + (f" ({'; '.join(hints)})" if hints else ""))


class Windows:
    """Where the kernel taps read the padded input, for one input size (cached by layers).

    ``slices[t]`` is the ``(rows, cols)`` slice pair of tap ``t = i·kW + j`` in the padded
    input: ``xp[..., rows, cols]`` has shape ``(…, Ho, Wo)``.
    """

    def __init__(self, layer: Module, nd: int, size: tuple[int, int], kernel: tuple[int, int],
                 stride: tuple[int, int], padding: tuple[int, int],
                 dilation: tuple[int, int] = (1, 1)) -> None:
        self.key = size
        self.padded = tuple(n + 2 * p for n, p in zip(size, padding, strict=True))
        extent = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True))
        if any(e > n for e, n in zip(extent, self.padded, strict=True)):
            last = slice(2 - nd, 2)  # a 1-D layer's height of 1 is not shown
            dims = "×".join(map(str, size[last]))
            # the formula only where a dilation makes the extent differ from the kernel
            how = " (dilation·(kernel − 1) + 1)" if any(d != 1 for d in dilation) else ""
            raise ValueError(
                f"{describe(layer)}: input of size {dims} padded to "
                f"{'×'.join(map(str, self.padded[last]))} is smaller than the kernel's extent "
                f"{'×'.join(map(str, extent[last]))}{how}; the padded input must be at least "
                "as large as the kernel's extent")
        self.out = tuple((n - e) // s + 1
                         for n, e, s in zip(self.padded, extent, stride, strict=True))
        (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel, stride, dilation, self.out
        self.slices = [(slice(i * dh, i * dh + sh * (ho - 1) + 1, sh),
                        slice(j * dw, j * dw + sw * (wo - 1) + 1, sw))
                       for i in range(kh) for j in range(kw)]
        self.inner = tuple(slice(p, p + n) for p, n in zip(padding, size, strict=True))


class _ConvNd(Module):
    """Shared code of Conv1d and Conv2d; everything runs as 2-D (a 1-D kernel has height 1)."""

    _nd = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOrPair,
                 stride: IntOrPair = 1, padding: IntOrPair = 0, dilation: IntOrPair = 1,
                 bias: bool = True, *, init: str = "auto", std: float = 1e-4,
                 rng: np.random.Generator | int | None = None,
                 dtype: type | np.dtype = np.float32) -> None:
        super().__init__()
        name, nd = type(self).__name__, self._nd
        self.in_channels = as_tuple(name, "in_channels", in_channels, 1, 1)[0]
        self.out_channels = as_tuple(name, "out_channels", out_channels, 1, 1)[0]
        # PyTorch's tuples (kernel_size=(5,), (3, 3)), kept for repr and summary
        self.kernel_size = as_tuple(name, "kernel_size", kernel_size, nd, 1)
        self.stride = as_tuple(name, "stride", stride, nd, 1)
        self.padding = as_tuple(name, "padding", padding, nd, 0)
        self.dilation = as_tuple(name, "dilation", dilation, nd, 1)
        if isinstance(rng, Sequence) and not isinstance(rng, (str, bytes)):
            raise ValueError(f"{name}: rng as a list of generators (an ensemble) is not "
                             "supported by the CNN layers; pass one Generator, an int or None")
        if not isinstance(bias, (bool, np.bool_)):
            raise TypeError(f"{name}: bias={bias!r} is not allowed; it must be True or False")
        dtype = check_float_dtype(dtype, f"{name}: dtype")
        self.init, self.use_bias = init, bool(bias)
        try:
            w, b = init_conv(init, as_generator(rng), self.out_channels, self.in_channels,
                             self.kernel_size, std)
        except ValueError as exc:  # a bad init or std: say which layer
            raise ValueError(f"{name}: {exc}") from None
        self.params["weight"] = np.ascontiguousarray(w, dtype=dtype)
        if bias:
            self.params["bias"] = np.ascontiguousarray(b, dtype=dtype)
        self.params.sealed = True  # a replaced weight keeps its shape and dtype (ParamDict)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        # the 2-D geometry: a 1-D layer is a 2-D one of height 1
        pad1 = (lambda t, v: t) if nd == 2 else (lambda t, v: (v, *t))
        self._k2 = pad1(self.kernel_size, 1)
        self._s2, self._p2 = pad1(self.stride, 1), pad1(self.padding, 0)
        self._d2 = pad1(self.dilation, 1)
        self._win: Windows | None = None
        self._xp: np.ndarray | None = None  # padded input buffer, reused between calls
        self._cols: np.ndarray | None = None  # im2col buffer of one block, per thread
        self._dcols: np.ndarray | None = None  # the same for its gradient (col2im)
        self._cols_kept = False
        #: multiply-adds of one sample's forward product (O·K·Ho·Wo), known after a forward:
        #: a Sequential decides from it whether OpenBLAS would split its products (containers.py)
        self.sample_work = 0

    #: scratch buffers, rebuilt on the next forward: never pickled or copied (a copy would
    #: share or freeze them; an unpickled read-only buffer cannot be written)
    _SCRATCH = ("_xp", "_xwin", "_cols", "_dcols", "_scatter_to")

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        for key in self._SCRATCH:
            if key in state:
                state[key] = None
        state["_cols_kept"] = False
        return state

    def _windows(self, size: tuple[int, int]) -> Windows:
        win = self._win
        if win is None or win.key != size:
            win = self._win = Windows(self, self._nd, size, self._k2, self._s2, self._p2,
                                      self._d2)
        return win

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``x (B, C, H, W) -> (B, O, Ho, Wo)`` (Conv1d: ``(B, C, L) -> (B, O, Lo)``)."""
        W = self._params["weight"]
        if type(x) is not np.ndarray or x.dtype is not W.dtype:
            x = as_dtype(x, W.dtype, self)  # float64 data into a float32 layer, ints, lists
        if x.ndim != self._nd + 2 or x.shape[1] != self.in_channels or not len(x):
            raise refuse_input(self, x.shape, self._nd, self.in_channels)
        x4 = x if self._nd == 2 else x[:, :, None, :]
        B, C, H, Wd = x4.shape
        win = self._windows((H, Wd))
        (ho, wo), (hp, wp) = win.out, win.padded
        self.sample_work = W.size * ho * wo
        # 1. the padded input (C, Hp, Wp, B); the border stays zero between calls
        xp = self._xp
        if xp is None or xp.shape != (C, hp, wp, B) or xp.dtype != W.dtype:
            xp = self._xp = np.zeros((C, hp, wp, B), W.dtype)
            self._xwin = self._window_view(xp)  # kept with its buffer (~15 µs to make)
            self._scatter_to: np.ndarray | None = None  # see _col2im_small
        xp[:, win.inner[0], win.inner[1], :] = x4.transpose(1, 2, 3, 0)
        self._x_shape = x.shape
        # 2-3. im2col and one matrix product (O, K) @ (K, n) per block of output rows; the
        # blocks are independent, so with 2+ threads they run side by side (nn/_threads.py)
        O = self.out_channels
        Wm = W.reshape(O, -1)
        bias = self._params["bias"][:, None] if self.use_bias else None
        out = np.empty((O, ho * wo * B), W.dtype)
        blocks, n_slots = self._blocks(xp, ho, wo)

        def block(k: int, slot: int) -> None:
            r0, r1 = blocks[k]
            o = out[:, r0 * wo * B:r1 * wo * B]  # a view: these rows of every channel
            np.matmul(Wm, self._im2col(xp, r0, r1, slot), out=o)
            if bias is not None:
                o += bias  # while the block is in cache

        _threads.run(block, len(blocks), n_slots)
        # one block: backward finds its cols still in the buffer (no second im2col)
        self._cols_kept = len(blocks) == 1
        # 4. (O, Ho, Wo, B) seen as (B, O, Ho, Wo): a view; element-wise layers and pools
        # after it keep this memory order, so the next convolution's step 1 copies runs of B
        out = out.reshape(O, ho, wo, B).transpose(3, 0, 1, 2)
        return out if self._nd == 2 else out[:, :, 0, :]

    def _blocks(self, xp: np.ndarray, ho: int, wo: int, *, dcols: bool = False
                ) -> tuple[list[tuple[int, int]], int]:
        """Output rows ``[(r0, r1), …]`` whose cols fit in :data:`BLOCK_BYTES` (the same
        blocks whatever the thread count: results never depend on it), and how to run them
        (``_threads.slots``). Sizes the scratch buffers, one per thread: cols, and with
        ``dcols`` (backward) col2im's."""
        C, B = xp.shape[0], xp.shape[-1]
        K = C * self._k2[0] * self._k2[1]
        row = K * wo * B  # cols of one output row
        rows = max(1, min(ho, BLOCK_BYTES // (row * xp.dtype.itemsize)))
        blocks = [(r0, min(ho, r0 + rows)) for r0 in range(0, ho, rows)]
        n_slots = _threads.slots(len(blocks), self.out_channels * row * ho)
        size, n_bufs = row * rows, max(1, n_slots)
        for name in ("_cols", "_dcols") if dcols else ("_cols",):
            buf = getattr(self, name)
            if (buf is None or buf.shape[0] < n_bufs or buf.shape[1] < size
                    or buf.dtype != xp.dtype):
                setattr(self, name, np.empty((n_bufs, size), xp.dtype))
                if name == "_cols":
                    self._cols_kept = False  # (new buffer: the kept cols are gone)
        return blocks, n_slots

    def _window_view(self, xp: np.ndarray) -> np.ndarray:
        """``xp (C, Hp, Wp, B)`` seen as ``(C, kH, kW, Ho, Wo, B)``: element ``[c, i, j]``
        is what kernel tap ``(i, j)`` reads at every output position. A strided view of
        ``xp`` (no copy): writing through one tap ``[:, i, j]`` writes into ``xp``."""
        (kh, kw), (sh, sw), (dh, dw) = self._k2, self._s2, self._d2
        extent = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
        v = sliding_window_view(xp, extent, axis=(1, 2), writeable=True)
        # v: (C, Hp − eh + 1, Wp − ew + 1, B, eh, ew); stride and dilation pick from it
        return v[:, ::sh, ::sw, :, ::dh, ::dw].transpose(0, 4, 5, 1, 2, 3)

    def _im2col(self, xp: np.ndarray, r0: int, r1: int, slot: int = 0) -> np.ndarray:
        """``cols (K, n)`` of output rows ``r0:r1`` (``n = (r1 − r0)·Wo·B``) in the buffer
        of thread ``slot``: ONE copy of the window view (the numbers of all kH·kW taps)."""
        C, B = xp.shape[0], xp.shape[-1]
        kh, kw = self._k2
        wo = self._win.out[1]
        n = (r1 - r0) * wo * B
        cols = self._cols[slot, :C * kh * kw * n].reshape(C, kh, kw, r1 - r0, wo, B)
        np.copyto(cols, self._xwin[:, :, :, r0:r1])
        return cols.reshape(C * kh * kw, n)

    def _backward(self, grad_out: np.ndarray, input_grad: bool) -> np.ndarray | None:
        """Write ``dW = g @ colsᵀ`` and ``db = Σ g``; with ``input_grad``, return ``dx``
        from ``dcols = Wᵀ @ g`` and col2im. Block by block, as forward."""
        xp = self._xp
        if xp is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        W = self._params["weight"]
        if type(grad_out) is not np.ndarray or grad_out.dtype is not W.dtype:
            grad_out = as_dtype(grad_out, W.dtype, f"{describe(self)}.backward")
        O = self.out_channels
        g4 = grad_out if self._nd == 2 else grad_out[:, :, None, :]
        # (B, O, Ho, Wo) -> (O, Ho·Wo·B); free when g has the memory order forward produced
        g = g4.transpose(1, 2, 3, 0).reshape(O, -1)
        if self.use_bias:
            g.sum(axis=1, out=self.grads["bias"])
        (ho, wo), B = self._win.out, xp.shape[-1]
        Wm = W.reshape(O, -1)
        K, kh, kw = Wm.shape[1], *self._k2
        blocks, n_slots = self._blocks(xp, ho, wo, dcols=input_grad)
        kept = self._cols_kept
        dWT = np.empty((K, O), W.dtype)
        small = input_grad and len(blocks) == 1 and K * g.shape[1] <= SMALL_COL2IM
        dxp = np.zeros_like(xp) if input_grad and not small else None
        dwin = None if dxp is None else self._window_view(dxp)

        def products(k: int, buf: int, slot: int, dWT_k: np.ndarray) -> np.ndarray | None:
            """Block k's share of dWᵀ (into ``dWT_k``) and, for col2im, its dcols (into
            buffer ``buf``); ``slot``: the thread's cols buffer."""
            r0, r1 = blocks[k]
            nb = (r1 - r0) * wo * B
            cols = (self._cols[0, :K * nb].reshape(K, nb) if kept
                    else self._im2col(xp, r0, r1, slot))
            gb = g[:, r0 * wo * B:r1 * wo * B]
            # dWᵀ = cols @ gᵀ: OpenBLAS runs this orientation ~1.7× faster than g @ colsᵀ
            # (a long sum over N into a small K × O result)
            np.matmul(cols, gb.T, out=dWT_k)
            if dwin is None:
                return None
            return np.matmul(Wm.T, gb, out=self._dcols[buf, :K * nb].reshape(K, nb))

        def col2im(k: int, dcols: np.ndarray) -> None:
            """Each tap's gradient added back where the tap read; one tap at a time, since
            windows overlap (np.add.at would do it all at once, slowly)."""
            r0, r1 = blocks[k]
            dcols = dcols.reshape(xp.shape[0], kh, kw, r1 - r0, wo, B)
            for i in range(kh):
                for j in range(kw):
                    dwin[:, i, j, r0:r1] += dcols[:, i, j]

        n = len(blocks)
        if n_slots > 1:
            # n_slots blocks at a time: their products side by side (each block its own share
            # of dWᵀ and dcols buffer), then on this thread, in block order, what adds across
            # blocks: the sum of dWᵀ and col2im (neighbouring blocks add into the same rows of
            # dx). Every number is what the loop below gives; scratch for n_slots blocks only.
            parts = np.empty((n_slots, K, O), W.dtype)
            dcols_of: list[np.ndarray | None] = [None] * n_slots
            for k0 in range(0, n, n_slots):
                m = min(n_slots, n - k0)

                def block(i: int, slot: int, k0: int = k0) -> None:
                    dcols_of[i] = products(k0 + i, i, slot, parts[i])

                _threads.run(block, m, min(m, n_slots))  # (a last lone block: here)
                for i in range(m):
                    if k0 + i == 0:
                        dWT[...] = parts[0]
                    else:
                        np.add(dWT, parts[i], out=dWT)
                    if dwin is not None:
                        col2im(k0 + i, dcols_of[i])
        else:  # one block at a time, its cols and dcols still in cache for its products
            part = np.empty_like(dWT) if n > 1 else None
            for k in range(n):
                dcols = products(k, 0, 0, dWT if k == 0 else part)
                if k:
                    np.add(dWT, part, out=dWT)
                if dwin is not None:
                    col2im(k, dcols)
        self.grads["weight"].reshape(O, K)[...] = dWT.T
        if not input_grad:
            return None
        if small:  # one block: g is its gradient
            dxp = self._col2im_small(Wm.T @ g)
        win = self._win
        dx = dxp[:, win.inner[0], win.inner[1], :].transpose(3, 0, 1, 2)
        return dx if self._nd == 2 else dx[:, :, 0, :]

    def _col2im_small(self, dcols: np.ndarray) -> np.ndarray:
        """col2im in ONE call for a small batch (the tap-by-tap loop costs ~5 µs a tap in
        Python and NumPy overhead): the position in ``xp`` that each ``cols`` element was
        read from is computed once, and ``np.bincount`` adds up the ``dcols`` values that
        land on the same position (in float64, then cast back to the layer's dtype)."""
        xp = self._xp
        if self._scatter_to is None:
            where = np.arange(xp.size).reshape(xp.shape)
            self._scatter_to = np.ascontiguousarray(self._window_view(where)).ravel()
        sums = np.bincount(self._scatter_to, weights=dcols.ravel(), minlength=xp.size)
        return sums.astype(xp.dtype, copy=False).reshape(xp.shape)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """Write ``grads``; return ``d loss / d x``, shaped as the input, in the layer's dtype."""
        return self._backward(grad_out, input_grad=True)

    def backward_params(self, grad_out: np.ndarray) -> None:
        """Write ``grads`` only (a first layer: no input gradient, no col2im)."""
        if type(self).backward is not _ConvNd.backward:
            self.backward(grad_out)  # a subclass's own backward decides
            return
        self._backward(grad_out, input_grad=False)

    def extra_repr(self) -> str:
        one = (lambda t: t[0]) if self._nd == 1 else (lambda t: t if t[0] != t[1] else t[0])
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={one(self.kernel_size)}"
        for name, default in (("stride", 1), ("padding", 0), ("dilation", 1)):
            v = one(getattr(self, name))
            if v != default:
                s += f", {name}={v}"
        return s + ("" if self.use_bias else ", bias=False")


class Conv2d(_ConvNd):
    """2-D convolution (cross-correlation, as PyTorch): ``(B, C, H, W) -> (B, O, Ho, Wo)``.

    Parameters
    ----------
    in_channels, out_channels : C and O.
    kernel_size, stride, padding, dilation : an int or a pair ``(rows, cols)``; zero padding.
    bias : learn a bias ``(O,)``.
    init : "auto" (He, fan_in = C·kH·kW), "torch" (PyTorch's default), or any Linear scheme
        (:mod:`neuralab.nn.init`).
    rng : a Generator, an int seed or None (one model; ensembles are not supported).
    dtype : float32 (default) or float64; the input is cast to it.
    """

    _nd = 2


class Conv1d(_ConvNd):
    """1-D convolution: ``(B, C, L) -> (B, O, Lo)``, weight ``(O, C, k)``; see :class:`Conv2d`."""

    _nd = 1
