"""The fused SGD step: a network's backward pass with the plain SGD update folded in.

    fused_backward_step(net, optimizer, grad_out)   # = net.backward(grad_out); optimizer.step()

Where :func:`fused_step_applies` (exactly ``SGD``, a scalar ``lr``, no momentum, no weight
decay) and every BLAS library runs one thread, the step walks the layers backwards, and each
2-D ``Linear`` layer computes its input gradient with the old weights and then applies
``W ← W − lr·xᵀg`` and ``b ← b − lr·gᵀ1`` as one BLAS call each: ``W`` is read and written
once, and the weight gradient is never written (at batch 1 that is most of a step,
docs/performance.md). Every other layer runs its ``backward`` and the optimizer's ``update``.
Anywhere else the call is exactly ``net.backward(grad_out); optimizer.step()``.

As in ``Sequential.backward``, the gradient with respect to the network's input (the data)
is not computed unless the network asks for it (``Sequential(..., input_grad=True)``): the
first trainable layer computes its update only. A fused ``Linear`` leaves its ``grads``
untouched (stale): use the two-call form when you need the gradients themselves (clipping,
logging norms).

This is a module of its own because it belongs to neither side: the optimizer sees only
parameters and gradients (PyTorch's split), and the fused update needs a layer's cached input.
The training loop asks :func:`fused_step_applies` once per epoch (``NEURALAB_FUSED=0`` in the
environment says no) and then calls :func:`fused_backward_step` for every batch.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from neuralab.nn._threads import blas_libs
from neuralab.nn.containers import Sequential
from neuralab.nn.linear import Linear
from neuralab.nn.module import Module
from neuralab.optim.optimizer import Optimizer, is_zero
from neuralab.optim.sgd import SGD

#: Above this many rows the products are compute-bound and the fused ``gemm`` (SciPy's
#: OpenBLAS 0.3.30) is 3-5 % slower than NumPy's (0.3.31) ``np.dot`` + update, while the saved
#: memory passes no longer matter: such batches take the ordinary backward + update
#: (measured on the benchmark machine: 185 vs 205 µs at 128 rows, 361 vs 366 at 256,
#: 730 vs 702 at 512, 1476 vs 1404 at 1024; docs/performance.md).
FUSED_MAX_ROWS = 384


# -- when it applies ------------------------------------------------------------------------
def _plain_sgd(optimizer: Optimizer) -> bool:
    """Exactly ``SGD`` (a subclass may change ``update``) with nothing but ``lr`` to apply."""
    return (type(optimizer) is SGD and isinstance(optimizer.lr, (int, float))
            and is_zero(optimizer.momentum) and is_zero(optimizer.weight_decay))


def fused_step_applies(optimizer: Optimizer) -> bool:
    """Whether :func:`fused_backward_step` fuses the update of ``optimizer``: plain SGD (exactly
    ``SGD``, a scalar ``lr``, no momentum, no weight decay), unless ``NEURALAB_FUSED=0``.

    The caller adds its own conditions: nothing may add to or read the gradients between
    ``backward`` and ``step`` (penalties, gradient clipping, callbacks that log them), and an
    ensemble keeps the two-call form so that member ``i`` keeps equalling its single twin.
    The BLAS thread count is checked by each call (:func:`blas_single_threaded`), or once an
    epoch by the training loop, which passes what it read.
    """
    return os.environ.get("NEURALAB_FUSED", "1") != "0" and _plain_sgd(optimizer)


# -- the entry point ------------------------------------------------------------------------
def fused_backward_step(net: Module, optimizer: Optimizer, grad_out: np.ndarray, *,
                        single_threaded: bool | None = None) -> np.ndarray | None:
    """``net.backward(grad_out); optimizer.step()`` in one walk over the layers.

    ``grad_out`` is the gradient of the loss with respect to the network's output, ``(B, K)``.
    Returns what ``net.backward(grad_out)`` returns: None for a ``Sequential`` (unless built
    with ``input_grad=True``), whose first trainable layer computes its parameter update only.
    Updates equal those of the two-call form up to float rounding (≤ 1e-12 in float64).
    ``single_threaded``: :func:`blas_single_threaded` as the caller read it (a training loop
    reads it once an epoch; ~6 µs a step at a batch of 10); None reads it now.
    """
    if single_threaded is None:
        single_threaded = blas_single_threaded()
    if not (_plain_sgd(optimizer) and single_threaded):
        g_in = net.backward(grad_out)
        optimizer.step()
        return g_in
    optimizer.steps += 1
    want = net.input_grad if isinstance(net, Sequential) else True
    return _walk(net, grad_out, "", float(optimizer.lr), optimizer, want)


def _walk(module: Module, g: np.ndarray, prefix: str, lr: float, optimizer: Optimizer,
          need_in: bool) -> np.ndarray | None:
    """Backward + update of ``module``; returns its input gradient if ``need_in`` (else None,
    without computing it). Mirrors ``Sequential.backward``."""
    if type(module) is Linear:  # the common case first
        done, g_in = _fused_linear_step(module, g, lr, need_in)
        if done:
            return g_in
    if isinstance(module, Sequential):
        layers = module.layers
        stop = 0  # without an input gradient, the layers before the first trainable one
        if not need_in:  # have nothing to do
            while stop < len(layers) and not _has_params(layers[stop]):
                stop += 1
        for i in range(len(layers) - 1, stop - 1, -1):
            g = _walk(layers[i], g, f"{prefix}{i}.", lr, optimizer, need_in or i > stop)
            if g is None and i > stop:
                raise ValueError(
                    f"layer {prefix}{i} computes no input gradient (input_grad=False), so "
                    "the layers before it cannot learn; only the first layer may skip it"
                )
        return g if need_in else None
    if need_in:
        g_in = module.backward(g)
    else:
        module.backward_params(g)
        g_in = None
    if module.params or module.children():
        for name, param, grad in module.named_parameters(prefix):
            optimizer.update(param, grad, optimizer.state.setdefault(name, {}))
    return g_in


def _has_params(module: Module) -> bool:
    return bool(module.params) or any(_has_params(c) for c in module.children())


def _fused_linear_step(layer: Linear, g: np.ndarray, lr: float, need_in: bool
                       ) -> tuple[bool, np.ndarray | None]:
    """Backward of ``layer`` fused with ``W ← W − lr·xᵀg`` and ``b ← b − lr·gᵀ1``:
    ``(True, input gradient or None)``, or ``(False, None)`` with nothing done when it does
    not apply (ensemble weights, a large batch, another dtype, no SciPy).
    """
    # At batch 1 this function runs twice a step next to ~25 µs of BLAS work, so every
    # attribute and dict lookup counts: each is done once, into a local.
    x, params = layer._x, layer.params
    W, b = params["weight"], params.get("bias")
    dtype = W.dtype
    kernels = _KERNELS.get(dtype) or _kernels(dtype)
    if (kernels is None or x is None or W.ndim != 2 or x.ndim != 2 or g.ndim != 2
            or len(x) > FUSED_MAX_ROWS or x.dtype != dtype or g.dtype != dtype
            or not _blas_ready(W) or (b is not None and not _blas_ready(b))):
        return False, None
    gemm, gemv, ger, axpy = kernels
    grad_in = np.dot(g, W.T) if need_in and layer.input_grad else None  # with the old W
    # BLAS is column-major: Wᵀ, gᵀ and xᵀ are Fortran-ordered views of C-ordered arrays, so
    # nothing is copied and BLAS writes into W and b in place (β = 1 keeps the old values):
    #   Wᵀ ← Wᵀ − lr·gᵀ·(xᵀ)ᵀ      b ← b − lr·gᵀ·1
    Wt = W.T
    if len(g) == 1:
        # batch 1: the rank-1 update ger is ~10 % faster than gemm, and the bias update is
        # an axpy b ← b − lr·g (0.25 µs, where gemv with a ones vector takes 0.65 µs)
        g0 = g[0]
        done = ger(-lr, g0, x[0], a=Wt, overwrite_a=1)
        done_b = b if b is None else axpy(g0, b, a=-lr)
    else:
        done = gemm(-lr, g.T, x.T, beta=1.0, c=Wt, trans_b=1, overwrite_c=1)
        done_b = b if b is None else gemv(-lr, g.T, layer._ones(len(g), dtype), beta=1.0, y=b,
                                          overwrite_y=1)
    if done is not Wt or done_b is not b:
        raise RuntimeError("BLAS did not update the parameters in place")  # cannot happen
    return True, grad_in


def _blas_ready(a: np.ndarray) -> bool:
    """BLAS can update ``a`` in place (SciPy copies anything else)."""
    f = a.flags
    return f.c_contiguous and f.aligned and f.writeable


# -- SciPy's BLAS, and when it may be used ----------------------------------------------------
_BLAS_KERNELS: dict[tuple[str, np.dtype], Any] = {}


def blas_kernel(name: str, dtype: np.dtype) -> Any:
    """SciPy's BLAS routine ``name`` ("gemm", "ger", ...) for float32/float64, or None.

    SciPy is optional (the step falls back to NumPy without it) and imported on first use:
    ``scipy.linalg`` takes ~0.2 s to import.
    """
    key = (name, dtype)
    if key not in _BLAS_KERNELS:
        prefix = {np.dtype(np.float32): "s", np.dtype(np.float64): "d"}.get(np.dtype(dtype))
        try:
            from scipy.linalg import blas
        except ImportError:
            blas = None
        _BLAS_KERNELS[key] = getattr(blas, f"{prefix}{name}", None) if prefix else None
    return _BLAS_KERNELS[key]


#: dtype -> SciPy's (gemm, gemv, ger, axpy) for it, or None without SciPy: looked up once,
#: so a step pays one dict lookup instead of four (``blas_kernel`` builds a key each call).
_KERNELS: dict[np.dtype, tuple[Any, Any, Any, Any] | None] = {}


def _kernels(dtype: np.dtype) -> tuple[Any, Any, Any, Any] | None:
    if dtype not in _KERNELS:
        k = tuple(blas_kernel(name, dtype) for name in ("gemm", "gemv", "ger", "axpy"))
        _KERNELS[dtype] = None if None in k else k
    return _KERNELS[dtype]


def blas_single_threaded() -> bool:
    """True when every BLAS library loaded in this process runs a single thread.

    NumPy and SciPy wheels each bundle their *own* OpenBLAS. A loop that calls both with
    several threads makes the idle threads of one pool spin against the working threads of
    the other: a training step became 50-100× slower in ``benchmarks/mlp_throughput.py`` at
    2 threads. So SciPy's BLAS is used only while both run one thread. With threadpoolctl
    installed the live thread counts are read (~1 µs); without it, the environment
    (``OPENBLAS_NUM_THREADS`` / ``OMP_NUM_THREADS`` = 1) or a one-core machine decide.
    """
    libs = blas_libs()
    if libs is None:
        env = os.environ
        return (os.cpu_count() == 1 or env.get("OPENBLAS_NUM_THREADS") == "1"
                or (env.get("OMP_NUM_THREADS") == "1" and "OPENBLAS_NUM_THREADS" not in env))
    return all(lib.num_threads == 1 for lib in libs)
