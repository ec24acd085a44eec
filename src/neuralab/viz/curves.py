"""Loss and accuracy curves for train / val / test, for one run or several overlaid."""

from __future__ import annotations

import contextlib
import math
import os
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from neuralab._checks import check_choice
from neuralab._metrics_csv import TEXT_COLUMNS, read_metric_columns
from neuralab.viz._figure import (
    accuracy_limits,
    color,
    finite_mean,
    integer_epochs,
    new_figure,
    wrap_title,
)

SETS = ("train", "val", "test")
STYLES = {"train": "-", "val": "--", "test": ":"}


def _columns(source: Any) -> dict[str, np.ndarray]:
    """Columns as float arrays from a History, a metrics.csv path, rows or a dict of lists."""
    if isinstance(source, (str, os.PathLike)):
        _, source = read_metric_columns(source)  # a dict of columns
    if hasattr(source, "keys") and hasattr(source, "__getitem__") and hasattr(source, "evaluated"):
        keep = np.asarray(source["evaluated"], dtype=bool)  # a History: evaluated epochs only
        if keep.ndim > 1:  # an ensemble's flag: one column per model, the same in each
            keep = keep.any(axis=tuple(range(1, keep.ndim)))
        # an ensemble's metrics are (epochs, E): kept whole, drawn as a mean and a band
        return {k: np.asarray(source[k], dtype=float)[keep] for k in source.keys()
                if k != "evaluated" and np.asarray(source[k]).ndim in (1, 2)}
    if isinstance(source, Sequence) and not isinstance(source, str):
        keys = list(source[0]) if source else []
        cols = {}
        for k in keys:
            values = [r.get(k, math.nan) for r in source]
            cols[k] = np.array(values, dtype=object)  # class labels ("0", not 0.0), text
            if k not in TEXT_COLUMNS:
                with contextlib.suppress(TypeError, ValueError):
                    cols[k] = np.array([float(v) for v in values])
        return cols
    if isinstance(source, Mapping):
        return {k: np.asarray(v) for k, v in source.items()}
    raise TypeError(f"cannot read curves from {type(source).__name__}; give a History, a "
                    "metrics.csv path, a list of rows or a dict of columns")


def _spread(y: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """An ensemble's (epochs, E) column as its mean over the models that have a value and
    the lowest and highest of them (None, None for a plain column). No NumPy warning for an
    epoch where every model is NaN (diverged ones, or not evaluated): it is NaN."""
    y = np.asarray(y, dtype=float)
    if y.ndim < 2:
        return y, None, None
    mean, count = finite_mean(y, axis=1)
    finite, some = np.isfinite(y), count > 0
    low = np.where(some, np.where(finite, y, np.inf).min(axis=1), np.nan)
    high = np.where(some, np.where(finite, y, -np.inf).max(axis=1), np.nan)
    return mean, low, high


def _n_models(cols: dict[str, np.ndarray]) -> int:
    """E for an ensemble's columns (a 2-D one, (epochs, E)), else 0."""
    return max((v.shape[1] for v in cols.values() if np.ndim(v) == 2), default=0)


def _groups(cols: dict[str, np.ndarray]) -> list[tuple[str, dict[str, np.ndarray]]]:
    """One-vs-rest metrics hold one block of rows per binary classifier."""
    if "classifier" not in cols:
        return [("", cols)]
    labels = cols["classifier"]
    out = []
    for lab in dict.fromkeys(labels.tolist()):
        mask = labels == lab
        out.append((str(lab), {k: v[mask] for k, v in cols.items() if k != "classifier"}))
    return out


def _legend_below(fig: Any, handles: list[Any], labels: list[str]) -> None:
    """One legend for the whole figure, under the axes: it never covers a curve."""
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncol=min(len(handles), 6),
                   fontsize="small", frameon=False)


def plot_curves(source: Any, *, title: str | None = None, log_loss: bool = False) -> Any:
    """Loss (left) and accuracy (right, classifiers) against epoch for each evaluated set.

    ``source``: a ``History`` (``est.history_``), a metrics.csv path, its rows, or a dict of
    columns. Accuracy runs on a fixed 0–1 (or 0.5–1) scale; the legend sits under the axes.
    Returns a matplotlib Figure (in Jupyter, ``viz.plot_curves(clf.history_)`` draws inline).
    """
    cols = _columns(source)
    if not cols or not len(next(iter(cols.values()))):
        raise ValueError("no metrics to plot: the source has no rows")
    has_acc = any(f"{s}_acc" in cols and np.isfinite(cols[f"{s}_acc"].astype(float)).any()
                  for s in SETS)
    width = 10.0 if has_acc else 6.0
    fig = new_figure((width, 4.2))
    axes = fig.subplots(1, 2 if has_acc else 1, squeeze=False)[0]
    groups = _groups(cols)
    n_models = _n_models(cols)
    accs: list[np.ndarray] = []
    legend: dict[str, Any] = {}
    drawn = False
    for g, (label, block) in enumerate(groups):
        x = block.get("epoch", np.arange(1, len(next(iter(block.values()))) + 1))
        for s in SETS:
            for ax, metric in zip(axes, ("loss", "acc"), strict=False):
                key = f"{s}_{metric}"
                if key not in block:
                    continue
                y, low, high = _spread(block[key])
                if not np.isfinite(y).any():
                    continue
                if metric == "acc":
                    accs.append(y if low is None else np.concatenate([low, high]))
                name = f"{label} {s}".strip() if len(groups) > 1 else s
                if n_models > 1:
                    name += f" (mean of {n_models})"
                c = color(g if len(groups) > 1 else SETS.index(s))
                few = np.isfinite(y).sum() <= 3  # a lone point would be invisible as a line
                named = len(groups) == 1 or s == "train" or len(groups) <= 3
                if low is not None:  # an ensemble: the spread of its models behind the mean
                    ax.fill_between(x, low, high, color=c, alpha=0.18, lw=0)
                drawn = True
                (line,) = ax.plot(x, y, STYLES[s], color=c, marker="o" if few else None,
                                  lw=1.4 if len(groups) == 1 else 1.0,
                                  label=name if named else None)
                if named:
                    legend.setdefault(name, line)
    axes[0].set_ylabel("loss")
    if log_loss:
        axes[0].set_yscale("log")
    if has_acc:
        axes[1].set_ylabel("accuracy")
        accuracy_limits(axes[1], np.concatenate(accs) if accs else [])
    if not drawn:
        raise ValueError("no metrics to plot: every loss and accuracy column is empty (NaN); "
                         f"the source has {', '.join(cols)}")
    if n_models > 1:
        from matplotlib.patches import Patch

        legend[f"band: lowest to highest of the {n_models} models"] = Patch(color="0.5",
                                                                            alpha=0.3)
    for ax in axes:
        ax.set_xlabel("epoch")
        integer_epochs(ax)
        ax.grid(alpha=0.3)
    _legend_below(fig, list(legend.values()), list(legend))
    if title:
        fig.suptitle(wrap_title(title, width, 13))
    return fig


def _run_curves(source: Any, metric: str, sets: Sequence[str]
                ) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(set, epochs, values) of one run's ``metric`` curves that have a finite value."""
    cols = _columns(source)
    x = cols.get("epoch")
    if x is None or "classifier" in cols:
        return []
    out = []
    for s in sets:
        key = f"{s}_{metric}"
        if key in cols:
            y = _spread(cols[key])[0]  # an ensemble: the mean of its models
            if np.isfinite(y).any():
                out.append((s, x.astype(float), y))
    return out


OVERLAY_MAX_RUNS = 6  # above this, one small panel per run (12 colours cannot be told apart)


def plot_compare(runs: Mapping[str, Any], *, metric: str = "acc",
                 sets: Sequence[str] = SETS, title: str | None = None,
                 layout: str = "auto") -> Any:
    """Several runs' curves: one colour per run, line style per set.

    ``runs`` maps a label to anything :func:`plot_curves` reads. ``metric``: "acc" or "loss".
    ``layout``: "overlay" (one axes, the legend outside on the right), "grid" (small
    multiples: one panel per run over the other runs in grey, shared axes), or "auto"
    (overlay up to 6 runs, grid above). Legends never sit on the axes.
    """
    check_choice("metric", metric, ("acc", "loss"))
    check_choice("layout", layout, ("auto", "overlay", "grid"))
    curves = {label: _run_curves(src, metric, sets) for label, src in runs.items()}
    drawn = {k: v for k, v in curves.items() if v}
    grid = layout == "grid" or (layout == "auto" and len(drawn) > OVERLAY_MAX_RUNS)
    name = "accuracy" if metric == "acc" else "loss"
    every = [y for v in drawn.values() for _, _, y in v]
    from matplotlib.lines import Line2D

    used = [s for s in sets if any(s == c[0] for v in drawn.values() for c in v)]
    styles = [Line2D([], [], color="0.3" if not grid else color(0), ls=STYLES[s], label=s)
              for s in used]
    if not grid:
        fig = new_figure((9.0, 4.4))
        ax = fig.subplots()
        handles = []
        for i, (label, cs) in enumerate(drawn.items()):
            for s, x, y in cs:
                ax.plot(x, y, STYLES[s], color=color(i), lw=1.3)
            handles.append(Line2D([], [], color=color(i), lw=2,
                                  label="\n".join(textwrap.wrap(label, 28)) or label))
        if drawn:
            fig.legend(handles=[*handles, *styles], loc="outside right upper",
                       fontsize="small", frameon=False)
        else:
            ax.text(0.5, 0.5, f"no {metric} curves to compare", ha="center", va="center",
                    transform=ax.transAxes)
        axes = [ax]
        ax.set_title(wrap_title(title or f"{name} of {len(runs)} runs", 6.5, 12))
    else:
        n = len(drawn)
        ncols = 4 if n > 9 else 3
        nrows = math.ceil(n / ncols)
        fig = new_figure((10.0, 2.3 * nrows + 1.0))
        axes = list(fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False).ravel())
        for i, (label, cs) in enumerate(drawn.items()):
            ax = axes[i]
            for other, ocs in drawn.items():  # context: every other run, faint
                if other != label:
                    for s, x, y in ocs:
                        ax.plot(x, y, STYLES[s], color="0.8", lw=0.7, zorder=1)
            for s, x, y in cs:  # one strong colour: each panel highlights one run
                ax.plot(x, y, STYLES[s], color=color(0), lw=1.4, zorder=2)
            ax.set_title(wrap_title(label, 10.0 / ncols, 9), fontsize=9)
            ax.grid(alpha=0.3)
        for ax in axes[n:]:
            ax.set_visible(False)
        for ax in axes[(nrows - 1) * ncols:]:
            ax.set_xlabel("epoch")
        for ax in axes[::ncols]:
            ax.set_ylabel(name)
        axes[0].set_ylabel(name)
        fig.legend(handles=[*styles, Line2D([], [], color="0.8", lw=1, label="other runs")],
                   loc="outside lower center", ncol=len(styles) + 1, fontsize="small",
                   frameon=False)
        fig.suptitle(wrap_title(title or f"{name} of {len(runs)} runs, one panel each", 10.0,
                                12))
    for ax in axes:
        if ax.get_visible():
            integer_epochs(ax)
            if metric == "acc" and every:
                accuracy_limits(ax, np.concatenate(every))
    if not grid:
        axes[0].set_xlabel("epoch")
        axes[0].set_ylabel(name)
        axes[0].grid(alpha=0.3)
    return fig


__all__ = ["plot_compare", "plot_curves"]
