"""Batch normalisation over the batch axis (−2), with running statistics for eval mode."""

from __future__ import annotations

import numpy as np

from neuralab._checks import check_in_range, check_positive
from neuralab.nn.module import Module, as_dtype, check_float_dtype, member_shape


class BatchNorm1d(Module):
    """``y = γ (x − μ_B) / sqrt(σ²_B + eps) + β`` on ``(B, F)`` or ``(E, B, F)``.

    Running statistics follow PyTorch: ``running = (1 − momentum) running + momentum batch``,
    with the *unbiased* batch variance in the running estimate and the biased one to normalise.
    The layer computes in ``dtype`` (that of its parameters and buffers) and casts its input.
    """

    mode_dependent = True

    def __init__(
        self,
        num_features: int,
        *,
        momentum: float = 0.1,
        eps: float = 1e-5,
        affine: bool = True,
        n_models: int | None = None,
        dtype: type | np.dtype = np.float32,
    ) -> None:
        super().__init__()
        check_positive("num_features", num_features, integer=True)
        check_in_range("momentum", momentum, 0.0, 1.0, closed="both")
        check_positive("eps", eps)
        dtype = check_float_dtype(dtype)
        self.num_features, self.momentum, self.eps = int(num_features), momentum, eps
        self.affine, self.n_models = affine, n_models
        shape = member_shape(n_models, num_features)
        if affine:
            self.params.update(weight=np.ones(shape, dtype), bias=np.zeros(shape, dtype))
            self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.buffers.update(running_mean=np.zeros(shape, dtype), running_var=np.ones(shape, dtype))
        # replacing an entry keeps its shape and dtype (ParamDict)
        self.params.sealed = self.buffers.sealed = True

    def _expand(self, a: np.ndarray) -> np.ndarray:
        return a if a.ndim == 1 else a[:, None, :]

    def forward(self, x: np.ndarray) -> np.ndarray:
        dtype = self._buffers["running_mean"].dtype
        if type(x) is not np.ndarray or x.dtype is not dtype:
            x = as_dtype(x, dtype, self)
        if self.training:
            n = x.shape[-2]
            if n < 2:
                raise ValueError(
                    f"BatchNorm1d needs at least 2 samples per batch in training; got batch "
                    f"size {n} (use a larger batch_size or eval mode)"
                )
            mean = x.mean(axis=-2)
            var = x.var(axis=-2)
            m = self.momentum
            rm, rv = self.buffers["running_mean"], self.buffers["running_var"]
            rm *= 1 - m
            rm += m * mean
            rv *= 1 - m
            rv += m * var * (n / (n - 1))
        else:
            mean, var = self.buffers["running_mean"], self.buffers["running_var"]
        self._inv_std = 1.0 / np.sqrt(var + self.eps)
        self._xhat = (x - self._expand(mean)) * self._expand(self._inv_std)
        if not self.affine:
            return self._xhat
        return self._xhat * self._expand(self.params["weight"]) + self._expand(self.params["bias"])

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        xhat = self._xhat
        if type(grad_out) is not np.ndarray or grad_out.dtype is not xhat.dtype:
            grad_out = as_dtype(grad_out, xhat.dtype, self)
        if self.affine:
            (grad_out * xhat).sum(axis=-2, out=self.grads["weight"])
            grad_out.sum(axis=-2, out=self.grads["bias"])
            g = grad_out * self._expand(self.params["weight"])
        else:
            g = grad_out
        inv_std = self._expand(self._inv_std)
        if not self.training:  # running statistics are constants
            return g * inv_std
        mean_g = g.mean(axis=-2, keepdims=True)
        mean_gx = (g * xhat).mean(axis=-2, keepdims=True)
        return (g - mean_g - xhat * mean_gx) * inv_std

    def extra_repr(self) -> str:
        return f"{self.num_features}, momentum={self.momentum}, eps={self.eps}"
