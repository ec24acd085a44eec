"""Losses. ``forward(pred, target)`` returns the mean loss of each model and caches what
``backward()`` needs; ``backward()`` returns ``d loss / d pred`` (same shape as ``pred``).

Shapes: a single model gives a float; an ensemble ``pred (E, B, K)`` gives an array ``(E,)``
of per-member losses, and ``backward`` is the gradient of their sum, so each member gets
exactly the gradient it would get alone.
"""

from __future__ import annotations

import numpy as np

from neuralab.nn.activations import log_softmax, sigmoid


def _reduce(per_sample: np.ndarray, axes: tuple[int, ...]) -> float | np.ndarray:
    out = per_sample.mean(axis=axes)
    return float(out) if np.ndim(out) == 0 else out


def _sample_axes(pred: np.ndarray) -> tuple[int, ...]:
    """Axes averaged for one model: (B,) -> (-1,), (B, K) and (E, B, K) -> (-2, -1)."""
    return (-1,) if pred.ndim == 1 else (-2, -1)


class Loss:
    """Base class: ``loss = fn.forward(pred, target)``, then ``grad = fn.backward()``."""

    def __call__(self, pred: np.ndarray, target: np.ndarray) -> float | np.ndarray:
        return self.forward(pred, target)

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float | np.ndarray:
        raise NotImplementedError

    def backward(self) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class SoftmaxCrossEntropy(Loss):
    """Fused softmax + cross-entropy on logits ``(…, B, C)``, mean over the batch.

    ``target`` is int labels ``(B,)`` / ``(E, B)`` or one-hot (or probabilities) ``(…, B, C)``.
    The gradient is the stable ``(softmax(z) − y) / B``.
    """

    def forward(self, logits: np.ndarray, target: np.ndarray) -> float | np.ndarray:
        target = np.asarray(target)
        logp = log_softmax(logits, axis=-1)
        self._logp, self._n = logp, logits.shape[-2] if logits.ndim >= 2 else 1
        if np.issubdtype(target.dtype, np.integer):
            if target.shape[-1] != logits.shape[-2]:
                raise ValueError(
                    f"target has {target.shape[-1]} labels but logits have "
                    f"{logits.shape[-2]} rows (shape {logits.shape})"
                )
            idx = np.broadcast_to(target, logits.shape[:-1])[..., None]
            self._idx, self._onehot = idx, None
            nll = -np.take_along_axis(logp, idx, axis=-1)[..., 0]
        else:
            if target.shape[-2:] != logits.shape[-2:]:
                raise ValueError(
                    f"one-hot target has shape {target.shape}; logits have {logits.shape}"
                )
            self._idx, self._onehot = None, target.astype(logits.dtype, copy=False)
            nll = -(self._onehot * logp).sum(axis=-1)
        return _reduce(nll, (-1,))

    def backward(self) -> np.ndarray:
        grad = np.exp(self._logp)
        if self._idx is not None:
            np.put_along_axis(grad, self._idx, np.take_along_axis(grad, self._idx, -1) - 1, -1)
        else:
            grad -= self._onehot
        grad /= self._n
        return grad


class BCEWithLogits(Loss):
    """Binary cross-entropy on logits: ``softplus(z) − t z``, mean over samples (and outputs)."""

    def forward(self, logits: np.ndarray, target: np.ndarray) -> float | np.ndarray:
        t = np.broadcast_to(np.asarray(target, dtype=logits.dtype), logits.shape)
        self._z, self._t = logits, t
        per = np.maximum(logits, 0) - logits * t + np.log1p(np.exp(-np.abs(logits)))
        axes = _sample_axes(logits)
        self._count = int(np.prod([logits.shape[a] for a in axes]))
        return _reduce(per, axes)

    def backward(self) -> np.ndarray:
        return (sigmoid(self._z) - self._t) / self._count


class MSE(Loss):
    """Mean squared error over samples and outputs (PyTorch's ``MSELoss()``)."""

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float | np.ndarray:
        self._diff = pred - np.broadcast_to(np.asarray(target, dtype=pred.dtype), pred.shape)
        axes = _sample_axes(pred)
        self._count = int(np.prod([pred.shape[a] for a in axes]))
        return _reduce(self._diff**2, axes)

    def backward(self) -> np.ndarray:
        return (2.0 / self._count) * self._diff


class _MarginLoss(Loss):
    """``mean(max(0, margin − y s))`` for scores ``s`` and labels ``y ∈ {−1, +1}``."""

    margin = 0.0

    def forward(self, scores: np.ndarray, target: np.ndarray) -> float | np.ndarray:
        y = np.broadcast_to(np.asarray(target, dtype=scores.dtype).reshape(
            np.shape(target) + (1,) * (scores.ndim - np.ndim(target))), scores.shape)
        bad = set(np.unique(y).tolist()) - {-1.0, 1.0}
        if bad:
            raise ValueError(f"{type(self).__name__} needs labels in {{-1, +1}}; got {sorted(bad)}")
        ys = y * scores
        # A point exactly on the boundary counts as a mistake (so training from w = 0 starts).
        self._active = (ys <= self.margin) if self.margin == 0 else (ys < self.margin)
        self._y = y
        axes = _sample_axes(scores)
        self._count = int(np.prod([scores.shape[a] for a in axes]))
        return _reduce(np.maximum(0, self.margin - ys), axes)

    def backward(self) -> np.ndarray:
        return -(self._y * self._active) / self._count


class PerceptronCriterion(_MarginLoss):
    """Rosenblatt's criterion ``mean(max(0, −y s))``: only misclassified points pull."""

    margin = 0.0


class Hinge(_MarginLoss):
    """SVM hinge loss ``mean(max(0, 1 − y s))``."""

    margin = 1.0


class Flooding(Loss):
    """Flooding (Ishida et al. 2020, seed 004): ``|L − b| + b``.

    Above the flood level ``b`` it descends on ``L``; below it, it *ascends*, keeping the
    training loss floating around ``b``. Wraps any loss.
    """

    def __init__(self, loss: Loss, b: float) -> None:
        if not np.isfinite(b) or b < 0:
            raise ValueError(f"flooding level b={b!r} is not allowed; it must be a number >= 0")
        self.loss, self.b = loss, float(b)

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float | np.ndarray:
        raw = self.loss.forward(pred, target)
        self.raw = raw  # the un-flooded loss, for logging
        self._sign = np.sign(np.asarray(raw) - self.b)
        self._sign = np.where(self._sign == 0, 1.0, self._sign)
        flooded = np.abs(np.asarray(raw) - self.b) + self.b
        return float(flooded) if np.ndim(flooded) == 0 else flooded

    def backward(self) -> np.ndarray:
        g = self.loss.backward()
        sign = self._sign.reshape(self._sign.shape + (1,) * (g.ndim - self._sign.ndim))
        return g * sign.astype(g.dtype)

    def __repr__(self) -> str:
        return f"Flooding({self.loss!r}, b={self.b})"


LOSSES: dict[str, type[Loss]] = {
    "cross_entropy": SoftmaxCrossEntropy,
    "bce": BCEWithLogits,
    "mse": MSE,
    "perceptron": PerceptronCriterion,
    "hinge": Hinge,
}
