"""Pictures of datasets: a scatter for 2-D points, an image grid for images, curves for signals.

Figures are built with ``matplotlib.figure.Figure`` directly (no pyplot, no global backend
switch), so they work headless, in scripts and in Jupyter (a returned Figure displays).
matplotlib is imported only when a plot is made.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from neuralab._atomic import atomic_file
from neuralab._checks import check_choice
from neuralab._jupyter import show_figures_inline
from neuralab.data.dataset import Dataset

FORMATS = (".png", ".svg", ".pdf")


def _figure(figsize: tuple[float, float]):
    from matplotlib.figure import Figure

    show_figures_inline()  # Jupyter: a returned Figure draws as an image
    return Figure(figsize=figsize, layout="constrained")


def _pick(ds: Dataset, count: int, seed: int) -> np.ndarray:
    """Up to ``count`` sample indices, spread over the classes for classification."""
    if ds.task != "classification" or len(ds) <= count:
        return np.arange(min(count, len(ds)))
    rng = np.random.default_rng(seed)
    per_class = [rng.permutation(np.flatnonzero(ds.y == c)) for c in ds.classes]
    rounds = [idx[i] for i in range(max(map(len, per_class))) for idx in per_class if i < len(idx)]
    return np.array(rounds[:count])


def _label(ds: Dataset, i: int) -> str:
    return ds.class_names[ds.classes.index(int(ds.y[i]))] if ds.classes else ""


def _grid(ds: Dataset, count: int, columns: int, seed: int, cell: tuple[float, float]):
    """A figure with one small axes per picked sample: (fig, [(ax, sample index), ...])."""
    idx = _pick(ds, count, seed)
    rows = -(-len(idx) // columns)
    fig = _figure((cell[0] * columns, cell[1] * rows + 0.4))
    return fig, [(fig.add_subplot(rows, columns, k + 1), i) for k, i in enumerate(idx)]


#: more classes than this are drawn as one scatter coloured by label, without a legend
MAX_LEGEND_CLASSES = 20


def plot_points(ds: Dataset, ax=None, *, title: str | None = None):
    """Scatter of 2-D ``X`` (n, 2): one colour per class, or a colour scale for regression."""
    if ds.X.ndim != 2 or ds.X.shape[1] != 2:
        raise ValueError(f"{ds.name}: a scatter needs 2-D points (n, 2); got X {ds.X.shape}")
    fig = ax.figure if ax is not None else _figure((5, 5))
    ax = ax if ax is not None else fig.add_subplot()
    if ds.task == "classification" and len(ds.classes) <= MAX_LEGEND_CLASSES:
        for c, name in zip(ds.classes, ds.class_names, strict=True):
            pts = ds.X[ds.y == c]
            ax.scatter(pts[:, 0], pts[:, 1], s=12, alpha=0.8, label=f"{name}")
        ax.legend(title="class", loc="best", fontsize="small")
    elif ds.task == "classification":  # (a scatter and a legend entry each: minutes at 10⁵)
        ax.scatter(ds.X[:, 0], ds.X[:, 1], c=ds.y, s=12, alpha=0.8, cmap="tab20")
        ax.text(0.02, 0.98, f"{len(ds.classes):,} classes (coloured, no legend)",
                transform=ax.transAxes, va="top", fontsize="small")
    else:
        sc = ax.scatter(ds.X[:, 0], ds.X[:, 1], c=ds.y, s=12, cmap="coolwarm")
        fig.colorbar(sc, ax=ax, label="target")
    ax.set(xlabel="$x_1$", ylabel="$x_2$", title=title or f"{ds.name} (n={len(ds)})",
           aspect="equal")
    return fig


def plot_images(ds: Dataset, *, count: int = 32, columns: int = 8, seed: int = 0,
                title: str | None = None):
    """A grid of up to ``count`` images (several per class), each titled with its class."""
    images = ds.images()
    if images.ndim not in (3, 4):
        raise ValueError(f"{ds.name}: an image grid needs images (n, H, W[, C]); got "
                         f"{images.shape} (set image_shape)")
    fig, cells = _grid(ds, count, columns, seed, (1.3, 1.45))
    lo, hi = float(images.min()), float(images.max())
    for ax, i in cells:
        img = images[i]
        if img.ndim == 3:  # colour: scale to [0, 1] for imshow
            ax.imshow((img - lo) / (hi - lo or 1.0))
        else:
            ax.imshow(img, cmap="gray_r", vmin=lo, vmax=hi)
        ax.set_title(_label(ds, i)[:14], fontsize=7)
        ax.set_axis_off()
    fig.suptitle(title or f"{ds.name}: {len(cells)} of {len(ds)} images")
    return fig


def plot_signals(ds: Dataset, *, count: int = 20, columns: int = 10, seed: int = 0,
                 title: str | None = None):
    """Small line plots of 1-D signals ``X`` (n, length), e.g. MNIST-1D."""
    fig, cells = _grid(ds, count, columns, seed, (1.2, 1.6))
    for ax, i in cells:
        ax.plot(ds.X[i], np.arange(ds.X.shape[1]), "k-", lw=1.2)
        ax.invert_yaxis()
        ax.set_title(_label(ds, i), fontsize=8)
        ax.set_xticks([]), ax.set_yticks([])
    fig.suptitle(title or f"{ds.name}: {len(cells)} of {len(ds)} signals")
    return fig


def plot_dataset(ds: Dataset, *, title: str | None = None, **kw):
    """The natural picture of ``ds``: image grid, 2-D scatter or signal curves. Returns a Figure."""
    if ds.image_shape is not None or ds.X.ndim in (3, 4):
        return plot_images(ds, title=title, **kw)
    if ds.X.ndim == 2 and ds.X.shape[1] == 2:
        return plot_points(ds, title=title)
    if ds.X.ndim == 2 and ds.task == "classification":
        return plot_signals(ds, title=title, **kw)
    raise ValueError(f"{ds.name}: no plot for X of shape {ds.X.shape} and task {ds.task}")


def save_figure(fig, path: str | os.PathLike, dpi: int = 120) -> Path:
    """Save ``fig`` to ``path`` (.png, .svg or .pdf) atomically, creating its folder."""
    path = Path(path)
    suffix = check_choice("output file type", path.suffix.lower(), FORMATS)
    with atomic_file(path) as f:
        fig.savefig(f, format=suffix.lstrip("."), dpi=dpi)
    return path
