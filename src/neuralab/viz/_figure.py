"""Figure creation and saving shared by every plot (matplotlib imported only when used).

Figures are ``matplotlib.figure.Figure`` objects built without pyplot, so they work headless,
in scripts and in Jupyter (a returned Figure displays itself) without switching backends.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from neuralab._atomic import atomic_file
from neuralab._jupyter import show_figures_inline

FORMATS = ("png", "svg", "pdf")
# A colour-blind-safe palette (Okabe & Ito) for classes and runs.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442",
           "#000000", "#999999", "#882255")


def new_figure(figsize: tuple[float, float] = (6.0, 4.0)) -> Any:
    from matplotlib.figure import Figure

    show_figures_inline()  # in Jupyter a returned Figure then draws as an image
    return Figure(figsize=figsize, layout="constrained")


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def wrap_title(text: str, width_in: float, fontsize: float = 12.0) -> str:
    """``text`` broken into lines that fit ``width_in`` inches at ``fontsize`` points
    (long run names are wrapped, at hyphens too, never cut off)."""
    # an average character of a run name is ~0.62 em wide in the default sans-serif font
    # (measured on names like "moons-mlp-lr0.01"); keep 0.2 in of margin
    chars = max(12, int((width_in - 0.2) * 72 / (0.62 * fontsize)))
    return "\n".join(textwrap.wrap(text, chars, break_on_hyphens=True)) or text


def accuracy_limits(ax: Any, values: Any) -> None:
    """Accuracy axes run from 0 (or 0.5, chance for two balanced classes, when every value
    is at least 0.5) to 1: a fixed scale, so 0.994 → 1.000 looks as small as it is."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    low = 0.5 if v.size and v.min() >= 0.5 else 0.0
    ax.set_ylim(low - 0.02 * (1 - low), 1 + 0.02 * (1 - low))  # room for a line at 1.0


def integer_epochs(ax: Any) -> None:
    """Whole-number ticks on an epoch axis (no 1.5 epochs)."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 2.5, 5, 10],
                                               min_n_ticks=1))  # one epoch: no 4.8, 4.9


def finite_mean(values: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """The mean along ``axis`` of the finite entries of ``values``, and how many there are:
    NaN, with no NumPy warning, where none is finite (diverged or unevaluated runs)."""
    ok = np.isfinite(values)
    count = ok.sum(axis=axis)
    mean = np.divide(np.where(ok, values, 0.0).sum(axis=axis), count,
                     out=np.full(count.shape, np.nan), where=count > 0)
    return mean, count


def legend_overlaps(fig: Any) -> list[tuple[str, str]]:
    """(legend, axes) titles of every legend whose box overlaps an axes' plotting area.

    Draws the figure on an Agg canvas first (the layout is final only then), at the dpi
    :func:`save_figure` uses. Empty when no legend covers data.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes)]
    found = []
    for leg in legends:
        if leg is None:
            continue
        box = leg.get_window_extent(renderer)
        for ax in fig.axes:
            inner = ax.get_window_extent(renderer)  # the axes' plotting area, not its labels
            if (box.x0 < inner.x1 - 0.5 and inner.x0 < box.x1 - 0.5
                    and box.y0 < inner.y1 - 0.5 and inner.y0 < box.y1 - 0.5):
                found.append((leg.get_title().get_text() or "legend", ax.get_title() or "axes"))
    return found


def save_figure(fig: Any, stem: str | os.PathLike, formats: Sequence[str] = ("png", "svg"),
                dpi: int = 110) -> list[Path]:
    """Write ``fig`` as ``stem.png``, ``stem.svg`` (...) atomically; returns the paths."""
    stem = Path(stem)
    paths = []
    for fmt in formats:
        if fmt not in FORMATS:
            raise ValueError(f"format {fmt!r} is not allowed; choose from {', '.join(FORMATS)}")
        kwargs: dict[str, Any] = {"format": fmt, "dpi": dpi}
        if fmt == "svg":
            kwargs["metadata"] = {"Date": None}  # reproducible files
        elif fmt == "pdf":
            kwargs["metadata"] = {"CreationDate": None}
        path = stem.with_name(f"{stem.name}.{fmt}")
        with atomic_file(path) as f:
            fig.savefig(f, **kwargs)
        paths.append(path)
    return paths


__all__ = ["FORMATS", "PALETTE", "accuracy_limits", "color", "finite_mean", "integer_epochs",
           "legend_overlaps", "new_figure", "save_figure", "wrap_title"]
