"""Per-class views: the confusion matrix and per-class error bars (seed 003's figures)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from neuralab.viz._figure import color, new_figure


def plot_confusion(y_true: np.ndarray, y_pred: np.ndarray,
                   class_names: Sequence[str] | None = None, *, classes: Sequence[Any] | None
                   = None, normalize: bool = False, title: str | None = None) -> Any:
    """Counts (or row fractions with ``normalize``) of true class (rows) vs predicted (columns)."""
    from neuralab.train.metrics import confusion_matrix

    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    labels = np.asarray(classes) if classes is not None else np.union1d(y_true, y_pred)
    index = {v: i for i, v in enumerate(labels.tolist())}
    t = np.array([index[v] for v in y_true.tolist()], dtype=np.int64)
    p = np.array([index.get(v, 0) for v in y_pred.tolist()], dtype=np.int64)
    cm = confusion_matrix(t, p, len(labels)).astype(float)
    shown = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm
    k = len(labels)
    size = min(3.0 + 0.45 * k, 9.0)
    fig = new_figure((size + 0.8, size))
    ax = fig.subplots()
    im = ax.imshow(shown, cmap="Blues")
    names = list(class_names) if class_names is not None else [str(v) for v in labels]
    _class_ticks(ax, names[:k])
    ax.set_yticks(range(k), names[:k])
    if k <= 15:
        top = shown.max() if shown.size else 1
        texts = [[f"{shown[i, j]:.2f}" if normalize else f"{int(cm[i, j])}" for j in range(k)]
                 for i in range(k)]
        longest = max(len(t) for row in texts for t in row)
        # as large as a cell allows: a cell is ~(size - 1.6) / k inches wide
        cell_pt = (size - 1.6) / k * 72
        fontsize = float(np.clip(cell_pt / (0.62 * max(longest, 2) + 0.8), 7, 13))
        for i in range(k):
            for j in range(k):
                ax.text(j, i, texts[i][j], ha="center", va="center", fontsize=fontsize,
                        color="white" if shown[i, j] > 0.6 * top else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    acc = np.trace(cm) / max(cm.sum(), 1)
    ax.set_title(title or f"confusion matrix (accuracy {acc:.3f})")
    fig.colorbar(im, ax=ax, shrink=0.8)
    return fig


def _class_ticks(ax: Any, names: Sequence[str]) -> None:
    """Class names under the x axis, upright unless long names would collide."""
    tilt = len(names) > 6 and max((len(n) for n in names), default=0) > 3
    ax.set_xticks(range(len(names)), names, rotation=45 if tilt else 0,
                  ha="right" if tilt else "center")


def plot_class_errors(rates: Sequence[float], class_names: Sequence[str] | None = None, *,
                      title: str | None = None, ylabel: str = "misclassification rate (%)",
                      xlabel: str = "class") -> Any:
    """Bars of per-class error rates (fractions in [0, 1], shown in %)."""
    rates = np.asarray(rates, dtype=float)
    names = list(class_names) if class_names is not None else [str(i) for i in range(len(rates))]
    fig = new_figure((max(4.0, 0.55 * len(rates) + 2.0), 3.6))
    ax = fig.subplots()
    pos = np.arange(len(rates))
    bars = ax.bar(pos, 100 * np.nan_to_num(rates), color=[color(0)] * len(rates))
    for b, r in zip(bars, rates, strict=True):
        if np.isfinite(r):
            ax.annotate(f"{100 * r:.1f}", (b.get_x() + b.get_width() / 2, b.get_height()),
                        ha="center", va="bottom", fontsize="small")
    _class_ticks(ax, names[:len(rates)])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.margins(y=0.12)  # room for the value above the tallest bar
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(title or "per-class error")
    return fig


__all__ = ["plot_class_errors", "plot_confusion"]
