"""Element-wise activations and softmax. Each caches what its derivative needs.

They have no parameters, so they keep a float input's dtype (float32 stays float32); integer
or bool input becomes float64 (:func:`~neuralab.nn.module.as_float`).
"""

from __future__ import annotations

import numpy as np

from neuralab._checks import check_in_range
from neuralab.nn.module import Module, as_float


class Identity(Module):
    """``f(x) = x`` (TF Playground's "linear")."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        return as_float(x, self)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out


_FILLED: dict[tuple, np.ndarray] = {}


def _filled(shape: tuple[int, ...], dtype: np.dtype, value: float = 0.0) -> np.ndarray:
    """A shared read-only array of ``value`` (cached by shape, dtype and value, at most a few
    kept). NumPy's binary ufuncs against a scalar take a slow strided loop (~3×); against an
    array of the trailing (B, F) shape they take the contiguous SIMD loop."""
    key = (shape, np.dtype(dtype), value)
    z = _FILLED.get(key)
    if z is None:
        if len(_FILLED) >= 8:
            _FILLED.clear()
        z = _FILLED[key] = np.full(shape, value, dtype)
        z.flags.writeable = False
    return z


def step_mask(x: np.ndarray, dtype: np.dtype | None = None) -> np.ndarray:
    """``[x > 0]`` as 0/1 in ``dtype`` (default ``x``'s). The bool array's bytes are 0/1, so
    converting them as uint8 gives the same values; NumPy's bool -> float cast is ~5× slower."""
    return (x > 0).view(np.uint8).astype(x.dtype if dtype is None else dtype)


class ReLU(Module):
    """``max(0, x)``; derivative 1 where x > 0, else 0 (0 at the kink, as PyTorch)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        if type(x) is not np.ndarray or x.dtype.kind != "f":
            x = as_float(x, self)
        self._out = np.maximum(x, _filled(x.shape[-2:], x.dtype))
        return self._out

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        # (a float × bool product takes NumPy's slow casting loop: a float mask is faster)
        mask = step_mask(self._out, grad_out.dtype)
        return np.multiply(mask, grad_out, out=mask)


class LeakyReLU(Module):
    """``x`` if x > 0 else ``negative_slope * x``."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        check_in_range("negative_slope", negative_slope, 0.0, 1.0, closed="both")
        self.negative_slope = float(negative_slope)

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = as_float(x, self)  # (an int input would round the slope to 0)
        alpha = _filled(x.shape[-2:], x.dtype, self.negative_slope)
        # The derivative, 1 where x > 0 and α elsewhere, is max([x > 0], α) exactly (0 ≤ α ≤
        # 1), and x · derivative is the output (x · 1 = x): three array passes, and the
        # backward is one multiply (a masked copy there was 10× slower on study arrays).
        slope = step_mask(x)
        np.maximum(slope, alpha, out=slope)
        self._slope = slope
        return x * slope

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out * self._slope

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Numerically stable logistic function ``1 / (1 + exp(-x))``."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


class Sigmoid(Module):
    """``σ(x)``; ``σ' = σ (1 − σ)``."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._out = sigmoid(as_float(x, self))
        return self._out

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        s = self._out
        return grad_out * s * (1 - s)


class Tanh(Module):
    """``tanh(x)``; ``tanh' = 1 − tanh²``."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._out = np.tanh(as_float(x, self))
        return self._out

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        t = self._out
        return grad_out * (1 - t * t)


def log_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """``z − logsumexp(z)`` along ``axis``, shifted by the max for stability."""
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """Probabilities along ``axis`` (rows sum to 1)."""
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


class Softmax(Module):
    """Softmax over the last axis; backward is the Jacobian-vector product
    ``s ⊙ (g − Σ g s)``. For training prefer the fused :class:`SoftmaxCrossEntropy`."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._out = softmax(as_float(x, self), axis=-1)
        return self._out

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        s = self._out
        return s * (grad_out - (grad_out * s).sum(axis=-1, keepdims=True))


ACTIVATIONS: dict[str, type[Module]] = {
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "identity": Identity,
    "linear": Identity,
}
