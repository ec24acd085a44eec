"""Regression figures: predicted against true with the residuals, and the fitted line or
plane over 1-D or 2-D inputs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from neuralab.viz._figure import color, new_figure, wrap_title

MARKERS = {"train": "o", "test": "^"}


def _pairs(est: Any, X: np.ndarray, y: np.ndarray, X_test: Any, y_test: Any
           ) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(set, true, predicted) for train and, when given, test; outputs pooled (flattened)."""
    out = []
    for part, Xs, ys in (("train", X, y), ("test", X_test, y_test)):
        if Xs is None or ys is None:
            continue
        pred = np.asarray(est.predict(Xs), dtype=float)
        true = np.asarray(ys, dtype=float)
        if pred.shape != true.shape:
            raise ValueError(f"the model predicts shape {pred.shape} for {part} but y has "
                             f"shape {true.shape}; an ensemble: plot one member, est.member(i)")
        out.append((part, true.ravel(), pred.ravel()))
    return out


def _r2(true: np.ndarray, pred: np.ndarray) -> float:
    ss = float(((true - true.mean()) ** 2).sum())
    return 1.0 - float(((true - pred) ** 2).sum()) / ss if ss > 0 else float("nan")


def plot_predicted_vs_true(est: Any, X: np.ndarray, y: np.ndarray,
                           X_test: np.ndarray | None = None, y_test: np.ndarray | None = None,
                           *, title: str | None = None) -> Any:
    """Left: predicted against true values with the line ŷ = y (a perfect model's points lie
    on it). Right: residuals y − ŷ against predicted, with 0 (a pattern there is what the
    model missed). Train as circles, test as triangles; MSE and R² of each set in the
    legend. ``X`` are the model's inputs. Returns the Figure."""
    pairs = _pairs(est, X, y, X_test, y_test)
    fig = new_figure((10.0, 4.2))
    left, right = fig.subplots(1, 2)
    lo = min(min(t.min(), p.min()) for _, t, p in pairs)
    hi = max(max(t.max(), p.max()) for _, t, p in pairs)
    pad = 0.03 * (hi - lo or 1.0)
    left.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="0.3", lw=1, ls="--",
              label="ŷ = y", zorder=1)
    for i, (part, true, pred) in enumerate(pairs):
        mse = float(np.mean((true - pred) ** 2))
        label = f"{part}: MSE {mse:.4g}, R² {_r2(true, pred):.4f}"
        kw = {"s": 14 if part == "train" else 22, "marker": MARKERS[part], "color": color(i),
              "alpha": 0.7, "edgecolors": "none", "zorder": 2}
        left.scatter(true, pred, label=label, **kw)
        right.scatter(pred, true - pred, **kw)
    right.axhline(0.0, color="0.3", lw=1, ls="--", zorder=1)
    left.set(xlabel="true y", ylabel="predicted ŷ", xlim=(lo - pad, hi + pad),
             ylim=(lo - pad, hi + pad), title="predicted vs true")
    left.set_aspect("equal", adjustable="box")
    right.set(xlabel="predicted ŷ", ylabel="residual y − ŷ", title="residuals")
    for ax in (left, right):
        ax.grid(alpha=0.3)
    handles, labels = left.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(handles), fontsize="small",
               frameon=False)
    if title:
        fig.suptitle(wrap_title(title, 10.0, 13))
    return fig


def _equation(est: Any, n: int) -> str | None:
    """ "ŷ = a·x1 + b" for a linear model on the raw inputs, else None."""
    coef = getattr(est, "coef_", None)
    if coef is None or np.asarray(coef).size != n:
        return None
    w = np.asarray(coef, dtype=float).ravel()
    b = float(np.asarray(getattr(est, "intercept_", 0.0), dtype=float).ravel()[0])
    terms = " + ".join(f"{v:.3g}·x{i + 1}" for i, v in enumerate(w)).replace("+ -", "− ")
    return f"ŷ = {terms} {'−' if b < 0 else '+'} {abs(b):.3g}"


def _heading(heading: str, equation: str | None, width_in: float) -> str:
    """``heading: equation`` wrapped to ``width_in`` inches at 12 pt, the equation never
    broken: when the whole does not fit on one line, the equation gets a line of its own."""
    if not equation:
        return wrap_title(heading, width_in, 12)
    whole = wrap_title(f"{heading}: {equation}", width_in, 12)
    if "\n" not in whole:
        return whole
    return wrap_title(f"{heading}:", width_in, 12) + "\n" + equation


def plot_regression_fit(est: Any, X: np.ndarray, y: np.ndarray,
                        X_test: np.ndarray | None = None, y_test: np.ndarray | None = None,
                        *, transform: Callable[[np.ndarray], np.ndarray] | None = None,
                        resolution: int = 200, title: str | None = None) -> Any:
    """The fitted function over the data: a curve for 1-D inputs, a surface (a plane for a
    linear model) in 3-D for 2-D inputs, with the train (circles) and test (triangles)
    points. ``X`` (n, 1) or (n, 2) raw inputs; ``transform`` maps them to the model's
    inputs (feature map, scaling). A linear model on the raw inputs shows its equation."""
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2 or X.shape[1] not in (1, 2):
        raise ValueError(f"a fitted line or plane needs 1-D or 2-D inputs (n, 1) or (n, 2); "
                         f"got shape {X.shape}")
    if np.ndim(y) != 1:
        raise ValueError(f"a fitted line or plane needs one output, y of shape (n,); got "
                         f"{np.shape(y)}")
    f = transform or (lambda a: a)
    sets = [("train", X, np.asarray(y, dtype=float))]
    if X_test is not None and y_test is not None:
        sets.append(("test", np.asarray(X_test, dtype=float).reshape(len(y_test), -1),
                     np.asarray(y_test, dtype=float)))
    every = np.vstack([s[1] for s in sets])
    lo, hi = every.min(axis=0), every.max(axis=0)
    pad = 0.05 * np.maximum(hi - lo, 1e-3)
    equation = _equation(est, X.shape[1]) if transform is None else None
    heading = title or ("fitted line" if X.shape[1] == 1 else "fitted surface")
    if X.shape[1] == 1:
        fig = new_figure((6.4, 4.4))
        ax = fig.subplots()
        xs = np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution)[:, None]
        for i, (part, Xs, ys) in enumerate(sets):
            ax.scatter(Xs[:, 0], ys, s=14 if part == "train" else 22, marker=MARKERS[part],
                       color=color(i), alpha=0.7, edgecolors="none", label=part)
        ax.plot(xs[:, 0], np.asarray(est.predict(f(xs)), dtype=float).ravel(), color="k",
                lw=1.8, label="fitted")
        ax.set(xlabel="x1", ylabel="y")
        ax.grid(alpha=0.3)
        fig.legend(loc="outside right upper", fontsize="small", frameon=False)
        ax.set_title(_heading(heading, equation, 5.0))
        return fig
    fig = new_figure((7.0, 5.6))
    ax = fig.add_subplot(projection="3d")
    n = max(10, resolution // 8)  # a surface of 25² facets reads as well as 200² and is fast
    g1 = np.linspace(lo[0] - pad[0], hi[0] + pad[0], n)
    g2 = np.linspace(lo[1] - pad[1], hi[1] + pad[1], n)
    xx, yy = np.meshgrid(g1, g2)
    zz = np.asarray(est.predict(f(np.column_stack([xx.ravel(), yy.ravel()]))),
                    dtype=float).reshape(xx.shape)
    ax.plot_surface(xx, yy, zz, color="0.55", alpha=0.35, linewidth=0.3, edgecolor="0.4")
    for i, (part, Xs, ys) in enumerate(sets):
        ax.scatter(Xs[:, 0], Xs[:, 1], ys, s=10 if part == "train" else 18,
                   marker=MARKERS[part], color=color(i), depthshade=False, label=part)
    from matplotlib.patches import Patch

    handles, labels = ax.get_legend_handles_labels()
    handles.append(Patch(color="0.55", alpha=0.5))
    labels.append("fitted")
    ax.set(xlabel="x1", ylabel="x2", zlabel="y")
    fig.legend(handles, labels, loc="outside lower center", ncol=3, fontsize="small",
               frameon=False)
    fig.suptitle(_heading(heading, equation, 7.0))
    return fig


__all__ = ["plot_predicted_vs_true", "plot_regression_fit"]
