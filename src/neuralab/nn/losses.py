"""Losses. ``forward(pred, target)`` returns the mean loss of each model and caches what
``backward()`` needs; ``backward()`` returns ``d loss / d pred`` (same shape as ``pred``).

Shapes: a single model gives a float; an ensemble ``pred (E, B, K)`` gives an array ``(E,)``
of per-member losses, and ``backward`` is the gradient of their sum, so each member gets
exactly the gradient it would get alone.

dtypes: predictions of any float dtype are used as they are (integers become float64);
targets may be integers, bools or floats; ``backward`` returns the gradient in the
predictions' dtype, so a float32 network gets float32 gradients from float64 targets.
A target ``(…, B)`` for predictions ``(…, B, 1)`` gains the output axis (a regression
``y (B,)`` against a network's ``(B, 1)`` output).
"""

from __future__ import annotations

import math

import numpy as np

from neuralab.nn.activations import sigmoid
from neuralab.nn.module import as_float
from neuralab.nn.rows import by_row, row_max, row_sum


def _reduce(per_sample: np.ndarray, axes: tuple[int, ...], count: int) -> float | np.ndarray:
    """The mean over ``axes`` (``count`` entries): the sum, then one division, as
    ``ndarray.mean`` computes it (bit for bit) without its ~5 µs of bookkeeping, which a
    batch of 10 rows notices."""
    out = np.add.reduce(per_sample, axis=axes) / count
    return float(out) if np.ndim(out) == 0 else out


def _target_like(loss: Loss, target: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """``target`` as an array of ``pred``'s dtype and shape (broadcast, no copy).

    Labels ``(…, B)`` for predictions ``(…, B, 1)`` gain the output axis, so ``y (B,)`` fits
    an output ``(B, 1)`` (NumPy would broadcast it to ``(B, B)``, or fail).
    """
    t = np.asarray(target, dtype=pred.dtype)
    if pred.ndim >= 2 and pred.shape[-1] == 1 and t.ndim >= 1 and t.shape[-1] != 1 \
            and t.shape[-1] == pred.shape[-2]:
        t = t[..., None]
    if t.shape == pred.shape:  # (the common case: ~5 µs less a step than broadcast_to)
        return t
    try:
        return np.broadcast_to(t, pred.shape)
    except ValueError:
        raise ValueError(
            f"{type(loss).__name__} target of shape {np.shape(target)} does not fit "
            f"predictions of shape {pred.shape}"
        ) from None


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

    ``target`` is class labels ``(B,)`` / ``(E, B)`` (integers, or floats holding whole
    numbers) or one-hot (or probabilities) ``(…, B, C)`` of any real dtype.
    The gradient is the stable ``(softmax(z) − y) / B``, in the logits' dtype.
    """

    def __init__(self) -> None:
        self._rows = np.arange(0)  # cached 0..N-1, the row index of the label lookups
        self._one: int | None = None  # the label, after a one-sample forward

    def forward(self, logits: np.ndarray, target: np.ndarray) -> float | np.ndarray:
        target = np.asarray(target)
        z = as_float(logits, "SoftmaxCrossEntropy")
        self._one = None
        if z.ndim == 2 and len(z) == 1 and target.shape == (1,) and target.dtype.kind in "iu":
            return self._forward_one(z, target)
        self._n = z.shape[-2] if z.ndim >= 2 else 1
        if target.ndim >= 2 and target.shape[-1] == 1 and z.shape[-1] > 1 \
                and target.shape[:-1] in (z.shape[:-1], z.shape[-2:-1]):
            target = target[..., 0]  # a column of labels (B, 1)
        is_labels = self._is_labels(target, z)
        if is_labels:
            target = self._as_labels(target)
        # shifted logits: the largest of each row is 0, exp cannot overflow
        s = by_row(np.subtract, z, row_max(z))
        if is_labels:
            if target.shape[-1] != z.shape[-2]:
                raise ValueError(
                    f"target has {target.shape[-1]} labels but logits have "
                    f"{z.shape[-2]} rows (shape {z.shape})"
                )
            picked = self._pick(s, target)
        else:
            if target.shape[-2:] != z.shape[-2:]:
                raise ValueError(
                    f"one-hot target has shape {target.shape}; logits have {z.shape}"
                )
            self._labels, self._onehot = None, target.astype(z.dtype, copy=False)
            # −Σ t log p = Σ t · log Σ exp(s) − Σ t s (targets need not sum to 1)
            picked = row_sum(self._onehot * s)
            t_sum = row_sum(self._onehot)
        e = np.exp(s, out=s)  # s is ours: reuse its memory
        se = row_sum(e)  # (…, B)
        nll = np.log(se) - picked if is_labels else np.log(se) * t_sum - picked
        self._e, self._se = e, se
        total = np.add.reduce(nll, axis=-1)
        return float(total) / self._n if total.ndim == 0 else total / total.dtype.type(self._n)

    def _pick(self, s: np.ndarray, target: np.ndarray) -> np.ndarray:
        """``s[…, i, target[…, i]]`` ``(…, B)``, checking the labels; sets what backward needs.

        Labels ``(B,)`` shared by every member (one model, or an ensemble on one batch) are one
        flat index per row and a one-hot ``(B, C)`` for ``backward`` (a row/label pair per
        (member, row) costs ~4× more); labels per member take the general lookup.
        """
        C = s.shape[-1]
        if target.size and (target.min() < 0 or target.max() >= C):
            raise ValueError(f"target labels must be in [0, {C}) for {C} classes; "
                             f"got labels from {target.min()} to {target.max()}")
        if target.ndim == 1:
            B = len(target)
            flat = np.arange(0, B * C, C) + target
            onehot = np.zeros(B * C, s.dtype)
            onehot[flat] = 1
            self._labels, self._onehot = None, onehot.reshape(B, C)
            return s.reshape(*s.shape[:-2], B * C).take(flat, axis=-1)
        n_rows = s.size // C
        if len(self._rows) != n_rows:
            self._rows = np.arange(n_rows)
        labels = np.broadcast_to(target, s.shape[:-1]).reshape(-1)
        self._labels, self._onehot = labels, None
        return s.reshape(n_rows, C)[self._rows, labels].reshape(s.shape[:-1])

    @staticmethod
    def _is_labels(target: np.ndarray, z: np.ndarray) -> bool:
        """Class labels ``(B,)`` / ``(E, B)``, rather than one-hot rows ``(…, B, C)``."""
        labels = target.ndim == 1 or target.shape == z.shape[:-1]
        if labels and target.ndim >= 2 and target.shape[-2:] == z.shape[-2:]:
            return target.dtype.kind in "iub"  # fits both readings: the dtype decides
        return labels

    @staticmethod
    def _as_labels(target: np.ndarray) -> np.ndarray:
        """Integer labels from int, bool or whole-number float labels."""
        kind = target.dtype.kind
        if kind in "iu":
            return target
        if kind in "bf":
            with np.errstate(invalid="ignore"):  # NaN or inf: refused just below
                labels = target.astype(np.intp)
            if kind == "b" or np.array_equal(labels, target):
                return labels
            bad = float(target[labels != target].flat[0])
            raise ValueError(f"SoftmaxCrossEntropy target of shape {target.shape} holds class "
                             f"labels, which must be whole numbers; got {bad!r}")
        raise ValueError(f"SoftmaxCrossEntropy target has dtype {target.dtype}; class labels "
                         "must be integers (or one-hot rows of numbers)")

    def _forward_one(self, z: np.ndarray, target: np.ndarray) -> float:
        """``forward`` for one sample ``(1, C)`` with an integer label (batch-1 SGD).

        The general code costs ~9 µs a step on a (1, 10) array, mostly NumPy's fixed cost
        per call (row index arrays, reshapes, reductions); this one does the same float
        operations (so the same results, bit for bit) in a third of the time.
        """
        label = int(target[0])
        row = z[0]
        # the max of a few Python floats costs 0.3 µs, a NumPy reduction 0.8 µs (not so
        # for many classes: the list then costs more)
        s = z - (max(row.tolist()) if len(row) <= 64 else row.max())
        try:
            picked = s[0, label]
        except IndexError:
            raise ValueError(f"target labels must be in [0, {s.shape[1]}) for {s.shape[1]} "
                             f"classes; got label {label}") from None
        e = np.exp(s, out=s)
        se = np.add.reduce(e, axis=-1)  # (1,): the same summation as the general code
        self._e, self._se, self._one, self._n = e, se, label, 1
        return float(np.log(se[0]) - picked)

    def backward(self) -> np.ndarray:
        if self._one is not None:  # one sample: softmax − one-hot; the mean over 1 is a no-op
            grad = self._e / self._se
            grad[0, self._one] -= 1
            return grad
        grad = by_row(np.divide, self._e, self._se)  # softmax
        if self._labels is not None:  # labels per row, one per member
            grad.reshape(len(self._rows), -1)[self._rows, self._labels] -= 1
        else:  # one-hot rows, or labels shared by the members (subtracting 0 changes nothing)
            grad -= self._onehot
        grad /= grad.dtype.type(self._n)
        return grad


class BCEWithLogits(Loss):
    """Binary cross-entropy on logits: ``softplus(z) − t z``, mean over samples (and outputs)."""

    def forward(self, logits: np.ndarray, target: np.ndarray) -> float | np.ndarray:
        logits = as_float(logits, "BCEWithLogits")
        t = _target_like(self, target, logits)
        self._z, self._t = logits, t
        per = np.maximum(logits, 0) - logits * t + np.log1p(np.exp(-np.abs(logits)))
        axes = _sample_axes(logits)
        self._count = math.prod(logits.shape[a] for a in axes)
        return _reduce(per, axes, self._count)

    def backward(self) -> np.ndarray:
        return (sigmoid(self._z) - self._t) / self._count


class MSE(Loss):
    """Mean squared error over samples and outputs (PyTorch's ``MSELoss()``)."""

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float | np.ndarray:
        pred = as_float(pred, "MSE")
        self._diff = pred - _target_like(self, target, pred)
        axes = _sample_axes(pred)
        self._count = math.prod(pred.shape[a] for a in axes)
        return _reduce(self._diff**2, axes, self._count)

    def backward(self) -> np.ndarray:
        return self._diff.dtype.type(2.0 / self._count) * self._diff


class TanhSquared(Loss):
    """TensorFlow Playground's loss: a tanh output ``o = tanh(z)`` against targets ``t``
    (±1 for two classes), ``½ (o − t)²`` averaged over samples and outputs.

    ``z (…, B, K)`` are the network's raw outputs (the tanh is part of the loss, as softmax
    is of cross-entropy); the gradient is ``(o − t)(1 − o²) / (B·K)``.
    """

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float | np.ndarray:
        pred = as_float(pred, "TanhSquared")
        self._o = np.tanh(pred)
        self._diff = self._o - _target_like(self, target, pred)
        axes = _sample_axes(pred)
        self._count = math.prod(pred.shape[a] for a in axes)
        return _reduce(pred.dtype.type(0.5) * self._diff**2, axes, self._count)

    def backward(self) -> np.ndarray:
        o = self._o
        return self._diff * (1 - o * o) / o.dtype.type(self._count)


class _MarginLoss(Loss):
    """``mean(max(0, margin − y s))`` for scores ``s`` and labels ``y ∈ {−1, +1}``."""

    margin = 0.0

    def forward(self, scores: np.ndarray, target: np.ndarray) -> float | np.ndarray:
        scores = as_float(scores, type(self).__name__)
        y = np.asarray(target, dtype=scores.dtype)
        # Labels (B,) or (E, B) gain the output axis; (B, 1) or (B, K) already match (…, B, K).
        if y.ndim < scores.ndim and not (y.ndim >= 2 and y.shape == scores.shape[-y.ndim:]):
            y = y[..., None]
        y = np.broadcast_to(y, scores.shape)
        bad = set(np.unique(y).tolist()) - {-1.0, 1.0}
        if bad:
            raise ValueError(f"{type(self).__name__} needs labels in {{-1, +1}}; got {sorted(bad)}")
        ys = y * scores
        # A point exactly on the boundary counts as a mistake (so training from w = 0 starts).
        self._active = (ys <= self.margin) if self.margin == 0 else (ys < self.margin)
        self._y = y
        axes = _sample_axes(scores)
        self._count = math.prod(scores.shape[a] for a in axes)
        return _reduce(np.maximum(0, self.margin - ys), axes, self._count)

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
    "tanh_squared": TanhSquared,
    "perceptron": PerceptronCriterion,
    "hinge": Hinge,
}
