"""Decision boundaries of classifiers on 2-D data, with train/test points and mistakes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from neuralab.viz._figure import color, new_figure


def grid_over(X: np.ndarray, resolution: int = 200, margin: float = 0.1
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(xx, yy, points)``: a ``resolution``² grid covering ``X`` (n, 2) plus a margin."""
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = np.maximum((hi - lo) * margin, 1e-3)
    xs = np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution)
    ys = np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution)
    xx, yy = np.meshgrid(xs, ys)
    return xx, yy, np.column_stack([xx.ravel(), yy.ravel()])


def _line(est: Any) -> tuple[np.ndarray, float] | None:
    """(w, b) of a binary linear model on the raw 2-D inputs, else None."""
    coef = getattr(est, "coef_", None)
    if coef is None:
        return None
    coef = np.asarray(coef, dtype=float)
    if coef.size != 2:
        return None
    return coef.reshape(2), float(np.asarray(est.intercept_, dtype=float).reshape(-1)[0])


def plot_decision_boundary(est: Any, X: np.ndarray, y: np.ndarray,
                           X_test: np.ndarray | None = None, y_test: np.ndarray | None = None,
                           *, transform: Callable[[np.ndarray], np.ndarray] | None = None,
                           class_names: Sequence[str] | None = None, resolution: int = 200,
                           title: str | None = None, ax: Any = None) -> Any:
    """Regions each class wins, training points (circles), test points (triangles), and
    misclassified points ringed in black. For a linear model on the raw inputs (perceptron,
    logistic regression) the boundary line ``w·x + b = 0`` is drawn too.

    ``X`` (n, 2) raw inputs; ``transform`` maps them to the model's inputs (feature map,
    scaling) when the model was trained on something else. Returns the Figure.
    """
    from matplotlib.colors import ListedColormap

    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"a decision boundary needs 2-D inputs (n, 2); got shape {X.shape}")
    fig = None
    if ax is None:
        fig = new_figure((5.6, 4.8))
        ax = fig.subplots()
    every = X if X_test is None else np.vstack([X, np.asarray(X_test, dtype=float)])
    xx, yy, pts = grid_over(every, resolution)
    f = transform or (lambda a: a)
    classes = np.asarray(est.classes_)
    grid_pred = np.asarray(est.predict(f(pts)))
    index = np.searchsorted(classes, grid_pred).reshape(xx.shape)
    k = len(classes)
    cmap = ListedColormap([color(i) for i in range(k)])
    ax.contourf(xx, yy, index, levels=np.arange(k + 1) - 0.5, cmap=cmap, alpha=0.22)
    names = list(class_names) if class_names is not None else [str(c) for c in classes]
    for data, marker, part in ((X, "o", "train"), (X_test, "^", "test")):
        labels = y if part == "train" else y_test
        if data is None or labels is None:
            continue
        data, labels = np.asarray(data, dtype=float), np.asarray(labels)
        pred = np.asarray(est.predict(f(data)))
        for i, c in enumerate(classes):
            m = labels == c
            ax.scatter(data[m, 0], data[m, 1], s=16 if part == "train" else 26, marker=marker,
                       color=color(i), edgecolors="white", linewidths=0.4,
                       label=f"{names[i] if i < len(names) else c} ({part})")
        wrong = pred != labels
        if wrong.any():
            ax.scatter(data[wrong, 0], data[wrong, 1], s=70, facecolors="none",
                       edgecolors="black", linewidths=1.0, marker="o",
                       label=f"misclassified ({part}: {int(wrong.sum())})")
    line = _line(est) if transform is None else None
    if line is not None:
        (w1, w2), b = line
        xs = np.array([xx.min(), xx.max()])
        if abs(w2) > 1e-12:
            ax.plot(xs, -(w1 * xs + b) / w2, "k-", lw=1.5, label="w·x + b = 0")
        elif abs(w1) > 1e-12:
            ax.axvline(-b / w1, color="k", lw=1.5, label="w·x + b = 0")
        ax.set_ylim(yy.min(), yy.max())
    ax.set_xlim(xx.min(), xx.max())
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.legend(fontsize="x-small", loc="best", framealpha=0.8)
    ax.set_title(title or "decision boundary")
    return fig if fig is not None else ax.figure


__all__ = ["grid_over", "plot_decision_boundary"]
