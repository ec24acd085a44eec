"""Figure creation and saving shared by every plot (matplotlib imported only when used).

Figures are ``matplotlib.figure.Figure`` objects built without pyplot, so they work headless,
in scripts and in Jupyter (a returned Figure displays itself) without switching backends.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from neuralab._atomic import atomic_file

FORMATS = ("png", "svg", "pdf")
# A colour-blind-safe palette (Okabe & Ito) for classes and runs.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442",
           "#000000", "#999999", "#882255")


def new_figure(figsize: tuple[float, float] = (6.0, 4.0)) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained")


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


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


__all__ = ["FORMATS", "PALETTE", "color", "new_figure", "save_figure"]
