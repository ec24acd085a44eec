"""Decision boundaries of classifiers on 2-D data, with train/test points and mistakes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from neuralab.viz._figure import color, new_figure, wrap_title


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


def _margins(est: Any, pts: np.ndarray, k: int) -> tuple[np.ndarray | None, str]:
    """Per-class margins ``(n, k)`` (a class's score minus the best other class's: > 0 where
    it wins) from smooth scores, and what the zero line means. None when the model has
    neither ``decision_function`` nor ``predict_proba``."""
    for method, meaning in (("predict_proba", "p = 0.5"), ("decision_function", "score = 0")):
        fn = getattr(est, method, None) if hasattr(type(est), method) else None
        if fn is None:
            continue
        try:
            scores = np.asarray(fn(pts), dtype=float)
        except (AttributeError, NotImplementedError):
            continue  # e.g. a Perceptron's predict_proba says it has none
        if scores.ndim == 1:  # binary decision_function: the positive class's margin
            scores = np.column_stack([-scores, scores]) / 2
        if scores.ndim != 2 or scores.shape[1] != k:
            continue
        margins = np.empty_like(scores)
        for i in range(k):
            margins[:, i] = scores[:, i] - np.delete(scores, i, axis=1).max(axis=1)
        return margins, meaning
    return None, ""


def plot_decision_boundary(est: Any, X: np.ndarray, y: np.ndarray,
                           X_test: np.ndarray | None = None, y_test: np.ndarray | None = None,
                           *, transform: Callable[[np.ndarray], np.ndarray] | None = None,
                           class_names: Sequence[str] | None = None, resolution: int = 200,
                           title: str | None = None, ax: Any = None) -> Any:
    """Regions each class wins, training points (circles), test points (triangles), and
    misclassified points ringed in black. The boundary is drawn as a smooth line: the
    p = 0.5 contour (``predict_proba``), else the score-0 contour (``decision_function``);
    for a linear model on the raw inputs (perceptron, logistic regression) it is the line
    ``w·x + b = 0``. The legend sits outside the axes, long titles wrap.

    ``X`` (n, 2) raw inputs; ``transform`` maps them to the model's inputs (feature map,
    scaling) when the model was trained on something else. Returns the Figure.
    """
    from matplotlib.colors import ListedColormap
    from matplotlib.lines import Line2D

    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"a decision boundary needs 2-D inputs (n, 2); got shape {X.shape}")
    fig = None
    width = 7.4
    if ax is None:
        fig = new_figure((width, 4.8))
        ax = fig.subplots()
    every = X if X_test is None else np.vstack([X, np.asarray(X_test, dtype=float)])
    xx, yy, pts = grid_over(every, resolution)
    f = transform or (lambda a: a)
    classes = np.asarray(est.classes_)
    k = len(classes)
    model_pts = f(pts)
    if np.ndim(est.predict(model_pts[:1])) != 1:
        raise ValueError("this is an ensemble of models: plot one member's boundary, "
                         "est.member(i)")
    margins, meaning = _margins(est, model_pts, k)
    if margins is None:  # no smooth scores: regions of the predicted class (stepped)
        index = np.searchsorted(classes, np.asarray(est.predict(model_pts))).reshape(xx.shape)
        cmap = ListedColormap([color(i) for i in range(k)])
        ax.contourf(xx, yy, index, levels=np.arange(k + 1) - 0.5, cmap=cmap, alpha=0.22)
    else:
        # contourf interpolates between grid points, so regions and lines are smooth
        top = float(np.abs(margins).max()) + 1.0
        for i in range(k):
            m = margins[:, i].reshape(xx.shape)
            if (m > 0).any():
                ax.contourf(xx, yy, m, levels=[0.0, top], colors=[color(i)], alpha=0.22)
    names = list(class_names) if class_names is not None else [str(c) for c in classes]
    handles: list[Any] = []
    for data, marker, part in ((X, "o", "train"), (X_test, "^", "test")):
        labels = y if part == "train" else y_test
        if data is None or labels is None:
            continue
        data, labels = np.asarray(data, dtype=float), np.asarray(labels)
        pred = np.asarray(est.predict(f(data)))
        for i, c in enumerate(classes):
            m = labels == c
            handles.append(ax.scatter(
                data[m, 0], data[m, 1], s=16 if part == "train" else 26, marker=marker,
                color=color(i), edgecolors="white", linewidths=0.4,
                label=f"{names[i] if i < len(names) else c} ({part})"))
        wrong = pred != labels
        if wrong.any():
            handles.append(ax.scatter(
                data[wrong, 0], data[wrong, 1], s=70, facecolors="none", edgecolors="black",
                linewidths=1.0, marker="o", label=f"misclassified ({part}: {int(wrong.sum())})"))
    line = _line(est) if transform is None else None
    if line is not None:
        (w1, w2), b = line
        xs = np.array([xx.min(), xx.max()])
        if abs(w2) > 1e-12:
            handles += ax.plot(xs, -(w1 * xs + b) / w2, "k-", lw=1.5, label="w·x + b = 0")
        elif abs(w1) > 1e-12:
            handles.append(ax.axvline(-b / w1, color="k", lw=1.5, label="w·x + b = 0"))
    elif margins is not None:
        drawn = False
        for i in range(k if k > 2 else 1):  # two classes: one line (margins are ±)
            m = margins[:, i].reshape(xx.shape)
            if m.min() < 0 < m.max():
                ax.contour(xx, yy, m, levels=[0.0], colors="k", linewidths=1.3)
                drawn = True
        if drawn:
            handles.append(Line2D([], [], color="k", lw=1.3, label=(
                f"decision boundary ({meaning})" if k == 2 else "decision boundaries")))
    ax.set_xlim(xx.min(), xx.max())
    ax.set_ylim(yy.min(), yy.max())
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    if fig is not None:  # outside the axes: the legend never hides a point
        fig.legend(handles=handles, loc="outside right upper", fontsize="small",
                   frameon=False)
    else:
        ax.legend(handles=handles, fontsize="x-small", loc="best", framealpha=0.8)
    ax.set_title(wrap_title(title or "decision boundary", width - 2.2, 12))
    return fig if fig is not None else ax.figure


__all__ = ["grid_over", "plot_decision_boundary"]
