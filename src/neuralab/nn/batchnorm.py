"""Batch normalisation over the batch axis (−2), with running statistics for eval mode."""

from __future__ import annotations

import numpy as np

from neuralab._checks import check_in_range, check_positive
from neuralab.nn.conv import refuse_input
from neuralab.nn.module import Module, as_dtype, check_float_dtype, member_shape


class BatchNorm1d(Module):
    """``y = γ (x − μ_B) / sqrt(σ²_B + eps) + β`` on ``(B, F)`` or ``(E, B, F)``.

    Running statistics follow PyTorch: ``running = (1 − momentum) running + momentum batch``,
    with the *unbiased* batch variance in the running estimate and the biased one to normalise.
    The layer computes in ``dtype`` (that of its parameters and buffers) and casts its input.
    """

    mode_dependent = True
    _axes: int | tuple[int, ...] = -2  # the axes the statistics are taken over
    _batch_axis = -2

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
        name = type(self).__name__  # errors name the layer: "BatchNorm2d: eps=0 is not ..."
        check_positive(f"{name}: num_features", num_features, integer=True)
        check_in_range(f"{name}: momentum", momentum, 0.0, 1.0, closed="both")
        check_positive(f"{name}: eps", eps)
        dtype = check_float_dtype(dtype, f"{name}: dtype")
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

    def _count(self, x: np.ndarray) -> int:
        """How many values each statistic is taken over."""
        return x.shape[-2]

    def forward(self, x: np.ndarray) -> np.ndarray:
        dtype = self._buffers["running_mean"].dtype
        if type(x) is not np.ndarray or x.dtype is not dtype:
            x = as_dtype(x, dtype, self)
        if self.training:
            n = self._count(x)
            if n < 2:
                raise ValueError(
                    f"{type(self).__name__} needs at least 2 values per feature in training; "
                    f"got batch size {x.shape[self._batch_axis]} in an input of shape "
                    f"{x.shape} (use a larger batch_size or eval mode)"
                )
            mean = x.mean(axis=self._axes)
            var = x.var(axis=self._axes)
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
            (grad_out * xhat).sum(axis=self._axes, out=self.grads["weight"])
            grad_out.sum(axis=self._axes, out=self.grads["bias"])
            g = grad_out * self._expand(self.params["weight"])
        else:
            g = grad_out
        inv_std = self._expand(self._inv_std)
        if not self.training:  # running statistics are constants
            return g * inv_std
        mean_g = g.mean(axis=self._axes, keepdims=True)
        mean_gx = (g * xhat).mean(axis=self._axes, keepdims=True)
        return (g - mean_g - xhat * mean_gx) * inv_std

    def extra_repr(self) -> str:
        return f"{self.num_features}, momentum={self.momentum}, eps={self.eps}"


class BatchNorm2d(BatchNorm1d):
    """Batch norm of images ``(B, C, H, W)``: one mean and variance per channel, taken over
    the batch and both spatial axes (``B·H·W`` values), as PyTorch's ``BatchNorm2d``.

    ``weight``/``bias`` and the running statistics are ``(C,)``. Ensembles are not supported.
    """

    _axes = (0, 2, 3)
    _batch_axis = 0

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, *,
                 affine: bool = True, dtype: type | np.dtype = np.float32) -> None:
        super().__init__(num_features, momentum=momentum, eps=eps, affine=affine, dtype=dtype)

    def _expand(self, a: np.ndarray) -> np.ndarray:
        return a[:, None, None]

    def _count(self, x: np.ndarray) -> int:
        return x.size // x.shape[1]

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``x (B, C, H, W) -> (B, C, H, W)``."""
        shape = np.shape(x)
        if len(shape) != 4 or shape[1] != self.num_features:
            raise refuse_input(self, shape, 2, self.num_features)
        return super().forward(x)
