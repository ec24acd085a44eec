"""Jupyter awareness without importing IPython: is this a notebook kernel, and do bare
matplotlib Figures display there.

neuralab draws on ``matplotlib.figure.Figure`` objects (no pyplot), which Jupyter shows as
``<Figure size ...>`` text until pyplot has been imported: IPython only registers its image
formatter for Figures when matplotlib's inline backend loads. :func:`show_figures_inline`
registers it when nothing else has, so a returned Figure draws inline as an image.
"""

from __future__ import annotations

import sys
from typing import Any

_registered = False


def notebook_shell() -> Any | None:
    """The running Jupyter kernel's IPython shell, else None (a terminal IPython, a script).

    IPython is never imported here: a kernel has always imported it already.
    """
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return None
    try:
        shell = ipython.get_ipython()
    except Exception:  # a half-initialised IPython: treat as no notebook
        return None
    # Kernels (Jupyter, VS Code, Colab) have a ``kernel``; terminal IPython does not.
    return shell if shell is not None and getattr(shell, "kernel", None) is not None else None


def in_notebook() -> bool:
    """True inside a Jupyter kernel."""
    return notebook_shell() is not None


def show_figures_inline() -> None:
    """In a notebook, make bare matplotlib Figures display as PNG (once; a format the user
    chose, e.g. ``%config InlineBackend.figure_formats = ['svg']``, is kept)."""
    global _registered
    if _registered:
        return
    shell = notebook_shell()
    if shell is None:
        return
    from matplotlib.figure import Figure

    formatters = shell.display_formatter.formatters
    for mime in ("image/png", "image/svg+xml", "image/jpeg", "application/pdf"):
        try:
            formatters[mime].lookup_by_type(Figure)
        except KeyError:
            continue
        _registered = True  # someone (pyplot's inline backend) already shows Figures
        return
    from IPython.core.pylabtools import select_figure_formats

    select_figure_formats(shell, {"png"}, bbox_inches="tight")
    _registered = True


__all__ = ["in_notebook", "notebook_shell", "show_figures_inline"]
