"""Loss and accuracy curves for train / val / test, for one run or several overlaid."""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from neuralab._metrics_csv import TEXT_COLUMNS, read_metrics
from neuralab.viz._figure import color, new_figure

SETS = ("train", "val", "test")
STYLES = {"train": "-", "val": "--", "test": ":"}


def _columns(source: Any) -> dict[str, np.ndarray]:
    """Columns as float arrays from a History, a metrics.csv path, rows or a dict of lists."""
    if isinstance(source, (str, os.PathLike)):
        _, source = read_metrics(source)
    if hasattr(source, "keys") and hasattr(source, "__getitem__") and hasattr(source, "evaluated"):
        keep = np.asarray(source["evaluated"], dtype=bool)  # a History: evaluated epochs only
        return {k: np.asarray(source[k], dtype=float)[keep] for k in source.keys()
                if k != "evaluated" and np.asarray(source[k]).ndim == 1}
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


def plot_curves(source: Any, *, title: str | None = None, log_loss: bool = False) -> Any:
    """Loss (left) and accuracy (right, classifiers) against epoch for each evaluated set.

    ``source``: a ``History`` (``est.history_``), a metrics.csv path, its rows, or a dict of
    columns. Returns a matplotlib Figure.
    """
    cols = _columns(source)
    has_acc = any(f"{s}_acc" in cols and np.isfinite(cols[f"{s}_acc"].astype(float)).any()
                  for s in SETS)
    fig = new_figure((10.0, 3.8) if has_acc else (6.0, 3.8))
    axes = fig.subplots(1, 2 if has_acc else 1, squeeze=False)[0]
    groups = _groups(cols)
    for g, (label, block) in enumerate(groups):
        x = block.get("epoch", np.arange(1, len(next(iter(block.values()))) + 1))
        for s in SETS:
            for ax, metric in zip(axes, ("loss", "acc"), strict=False):
                key = f"{s}_{metric}"
                if key not in block:
                    continue
                y = block[key].astype(float)
                if not np.isfinite(y).any():
                    continue
                name = f"{label} {s}".strip() if len(groups) > 1 else s
                c = color(g if len(groups) > 1 else SETS.index(s))
                ax.plot(x, y, STYLES[s], color=c, lw=1.4 if len(groups) == 1 else 1.0,
                        label=name if (len(groups) == 1 or s == "train" or len(groups) <= 3)
                        else None)
    axes[0].set_ylabel("loss")
    if log_loss:
        axes[0].set_yscale("log")
    if has_acc:
        axes[1].set_ylabel("accuracy")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        handles, _ = ax.get_legend_handles_labels()
        if handles:
            ax.legend(fontsize="small", ncol=2 if len(handles) > 6 else 1)
    if title:
        fig.suptitle(title)
    return fig


def plot_compare(runs: Mapping[str, Any], *, metric: str = "acc",
                 sets: Sequence[str] = SETS, title: str | None = None) -> Any:
    """Several runs' curves overlaid: one colour per run, line style per set.

    ``runs`` maps a label to anything :func:`plot_curves` reads. ``metric``: "acc" or "loss".
    """
    fig = new_figure((7.5, 4.2))
    ax = fig.subplots()
    drawn = False
    for i, (label, source) in enumerate(runs.items()):
        cols = _columns(source)
        x = cols.get("epoch")
        for s in sets:
            key = f"{s}_{metric}"
            if key not in cols or x is None or "classifier" in cols:
                continue
            y = cols[key].astype(float)
            if not np.isfinite(y).any():
                continue
            ax.plot(x, y, STYLES[s], color=color(i), lw=1.3, label=f"{label} ({s})")
            drawn = True
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy" if metric == "acc" else "loss")
    ax.grid(alpha=0.3)
    if drawn:
        ax.legend(fontsize="small")
    else:
        ax.text(0.5, 0.5, f"no {metric} curves to compare", ha="center", va="center",
                transform=ax.transAxes)
    ax.set_title(title or f"{'accuracy' if metric == 'acc' else 'loss'} of {len(runs)} runs")
    return fig


__all__ = ["plot_compare", "plot_curves"]
