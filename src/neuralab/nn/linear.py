"""Fully connected layer ``y = x @ W + b`` (the CS324 convention: W is ``(in, out)``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from neuralab._checks import check_positive
from neuralab.nn.init import init_linear
from neuralab.nn.module import Module, as_dtype, check_float_dtype, describe
from neuralab.nn.rows import add_to_rows
from neuralab.rng import as_generator

RngLike = np.random.Generator | Sequence[np.random.Generator] | int | None


def as_member_generators(rng: RngLike) -> list[np.random.Generator] | None:
    """A list of per-member Generators for an ensemble, or None for a single model."""
    if isinstance(rng, Sequence) and not isinstance(rng, (str, bytes)):
        gens = [as_generator(g) for g in rng]
        if not gens:
            raise ValueError("rng=[] is not allowed; give one Generator per ensemble member")
        return gens
    return None


class Linear(Module):
    """Affine map. ``x (B, in) -> (B, out)``; ensemble ``(E, B, in) -> (E, B, out)``.

    Parameters
    ----------
    in_features, out_features : sizes of the input and output.
    init : weight scheme, see :mod:`neuralab.nn.init` ("he", "xavier", "normal", ...).
    std : standard deviation for ``init="normal"``.
    rng : a Generator (one model) or a list of E Generators (an ensemble of E models;
        member i draws its weights from ``rng[i]`` exactly as a single model would).
    dtype : float32 (default, fast) or float64 (gradient checks). The layer computes in this
        dtype: an input of another dtype (float64 data, integers) is cast to it, and the
        gradients it returns are in it.
    input_grad : False makes ``backward`` skip the gradient w.r.t. the input and return None
        (a first layer; ``Sequential`` already skips it for its first layer by default).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        bias: bool = True,
        init: str = "he",
        std: float = 1e-4,
        rng: RngLike = None,
        dtype: type | np.dtype = np.float32,
        input_grad: bool = True,
    ) -> None:
        super().__init__()
        check_positive("in_features", in_features, integer=True)
        check_positive("out_features", out_features, integer=True)
        dtype = check_float_dtype(dtype)
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.init, self.use_bias, self.input_grad = init, bias, input_grad
        gens = as_member_generators(rng)
        draws = [init_linear(init, g, in_features, out_features, std)
                 for g in (gens if gens is not None else [as_generator(rng)])]
        self.n_models = None if gens is None else len(gens)
        stack = (lambda a: a[0]) if gens is None else np.stack
        self.params["weight"] = np.ascontiguousarray(stack([w for w, _ in draws]), dtype=dtype)
        if bias:
            self.params["bias"] = np.ascontiguousarray(stack([b for _, b in draws]), dtype=dtype)
        self.params.sealed = True  # a replaced weight keeps its shape and dtype (ParamDict)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self._x: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        W = self._params["weight"]
        if type(x) is not np.ndarray or x.dtype is not W.dtype:
            x = as_dtype(x, W.dtype, self)  # float64 data into a float32 layer, ints, lists
        self._x = x
        try:
            out = np.dot(x, W) if W.ndim == 2 else np.matmul(x, W)
        except ValueError:  # NumPy's "shapes not aligned": say which layer and what it needs
            self._x = None
            raise ValueError(self._shape_error(x)) from None
        if self.use_bias:
            add_to_rows(out, self._params["bias"])
        return out

    def _shape_error(self, x: np.ndarray) -> str:
        W = self._params["weight"]
        n_in = W.shape[-2]
        need = f"(B, {n_in})" + (f" or ({W.shape[0]}, B, {n_in})" if W.ndim == 3 else "")
        hint = ""
        if x.ndim > 2 and W.ndim == 2:
            hint = f"; flatten each sample first (x.reshape({x.shape[0]}, -1), nn.Flatten())"
        return (f"{describe(self)} got input of shape {x.shape}; it needs {need}: "
                f"{n_in} features per row{hint}")

    def backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        """Write ``grads`` and return ``d loss / d x`` ``(B, in)`` (None if ``input_grad``
        is False), in the layer's dtype."""
        grad_out, W = self._param_grads(grad_out)
        if not self.input_grad:
            return None
        if W.ndim == 2:
            return np.dot(grad_out, W.T)
        grad_in = np.matmul(grad_out, W.swapaxes(-1, -2))
        # A batch (B, in) shared by all members: its gradient is the sum over members.
        return grad_in if self._x.ndim == grad_in.ndim else grad_in.sum(axis=0)

    def backward_params(self, grad_out: np.ndarray) -> None:
        """Write ``grads`` only: no input gradient (one GEMM less)."""
        if type(self).backward is not Linear.backward:  # a subclass's own backward decides
            self.backward(grad_out)
            return
        self._param_grads(grad_out)

    def _param_grads(self, grad_out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Write ``dW = xᵀ g`` and ``db = Σ_B g``; return ``(g, W)`` for the input gradient."""
        x, W = self._x, self._params["weight"]
        if x is None:
            raise RuntimeError("Linear.backward called before forward")
        if type(grad_out) is not np.ndarray or grad_out.dtype is not W.dtype:
            grad_out = as_dtype(grad_out, W.dtype, f"{describe(self)}.backward")
        dW = self.grads["weight"]
        one_row = grad_out.shape[-2] == 1
        if W.ndim == 2 and x.ndim == 2:
            np.dot(x.T, grad_out, out=dW)  # np.dot keeps BLAS for the (in,1)x(1,out) case
        elif one_row and x.ndim == 3:
            # An ensemble at batch 1: E outer products are one broadcast multiply, where
            # matmul makes E tiny GEMM calls (3x slower at E=120). Each entry is one rounded
            # product either way, so member i still equals its single twin bit for bit.
            np.multiply(x.swapaxes(-1, -2), grad_out, out=dW)
        else:
            np.matmul(x.swapaxes(-1, -2), grad_out, out=dW)
        if self.use_bias:
            db = self.grads["bias"]
            if one_row and grad_out.ndim == 3:
                db[...] = grad_out[:, 0, :]
                return grad_out, W
            # Σ over the batch axis as a product with a ones vector: one BLAS call, where
            # NumPy's sum over axis -2 is 3-10× slower (docs/performance.md).
            ones = self._ones(grad_out.shape[-2], db.dtype)
            (np.dot if grad_out.ndim == 2 else np.matmul)(ones, grad_out, out=db)
        return grad_out, W

    def _ones(self, n: int, dtype: np.dtype) -> np.ndarray:
        """A cached ones vector of length ``n`` (private: never handed out)."""
        ones = getattr(self, "_ones_cache", None)
        if ones is None or len(ones) != n or ones.dtype != dtype:
            ones = self._ones_cache = np.ones(n, dtype)
        return ones

    def extra_repr(self) -> str:
        e = "" if self.n_models is None else f", n_models={self.n_models}"
        return f"{self.in_features}, {self.out_features}, init={self.init!r}{e}"
