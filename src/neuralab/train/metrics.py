"""Metrics for classifiers and regressors, and chunked evaluation of a network.

Everything works on the last axis, so ensemble predictions ``(E, n)`` give ``(E,)`` scores.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from neuralab.nn.losses import Loss
from neuralab.nn.module import Module

CHUNK = 4096  # rows per forward pass when evaluating: memory stays bounded on big sets


def _out(value: np.ndarray) -> float | np.ndarray:
    return float(value) if np.ndim(value) == 0 else value


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float | np.ndarray:
    """Fraction of equal labels; ``y_pred`` (n,) or (E, n)."""
    return _out(np.mean(np.asarray(y_pred) == np.asarray(y_true), axis=-1))


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int | None = None
                     ) -> np.ndarray:
    """``C[i, j]`` = number of samples of class ``i`` predicted as ``j`` (class indices)."""
    y_true, y_pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    k = n_classes or int(max(y_true.max(initial=0), y_pred.max(initial=0)) + 1)
    return np.bincount(y_true * k + y_pred, minlength=k * k).reshape(k, k)


def per_class_error(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int | None = None
                    ) -> np.ndarray:
    """Misclassification rate within each true class, ``(K,)`` (NaN for an absent class)."""
    cm = confusion_matrix(y_true, y_pred, n_classes)
    total = cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 1.0 - np.diag(cm) / total


def r2_score(y_true: np.ndarray, y_pred: np.ndarray) -> float | np.ndarray:
    """Coefficient of determination, averaged over outputs; ``y_pred`` (n,[m]) or (E, n,[m])."""
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_true.ndim == 1:
        y_true = y_true[:, None]
    if y_pred.ndim == y_true.ndim - 1 or (y_pred.shape[-1] != y_true.shape[-1]):
        y_pred = y_pred[..., None]
    ss_res = ((y_true - y_pred) ** 2).sum(axis=-2)
    ss_tot = ((y_true - y_true.mean(axis=0)) ** 2).sum(axis=-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        r2 = np.where(ss_tot > 0, 1 - ss_res / np.where(ss_tot > 0, ss_tot, 1),
                      np.where(ss_res == 0, 1.0, 0.0))
    return _out(r2.mean(axis=-1))


def predict_chunks(net: Module, X: np.ndarray, chunk: int = CHUNK) -> np.ndarray:
    """Network outputs in eval mode, ``chunk`` rows at a time; ``(n, K)`` or ``(E, n, K)``."""
    was_training = net.training
    net.eval()
    try:
        parts = [net.forward(X[i:i + chunk]) for i in range(0, len(X), chunk)]
    finally:
        net.train(was_training)
    if len(parts) == 1:
        return parts[0].copy()
    return np.concatenate(parts, axis=-2)


def evaluate(net: Module, loss: Loss, X: np.ndarray, target: np.ndarray,
             score: Callable[[np.ndarray], float | np.ndarray] | None = None,
             chunk: int = CHUNK) -> tuple[float | np.ndarray, float | np.ndarray | None]:
    """Mean loss over the whole set (eval mode, chunked) and ``score(outputs)`` if given."""
    was_training = net.training
    net.eval()
    total, outs = 0.0, []
    try:
        for i in range(0, len(X), chunk):
            out = net.forward(X[i:i + chunk])
            rows = out.shape[-2]
            total = total + np.asarray(loss.forward(out, target[i:i + chunk]),
                                       dtype=np.float64) * rows
            if score is not None:
                outs.append(out.copy() if len(X) > chunk else out)
    finally:
        net.train(was_training)
    value = _out(total / len(X))
    if score is None:
        return value, None
    return value, score(outs[0] if len(outs) == 1 else np.concatenate(outs, axis=-2))
