"""How a study's cell table shows in a notebook: the settings that differ, then each
headline number with its interval, instead of pandas' 115 columns cut in the middle.

:class:`CellTable` is the DataFrame ``StudyResult.table()`` returns: every column is there
for code; only its notebook display (``_repr_html_``) is the short table, the one the
terminal shows (:func:`neuralab.viz.studies.summary_cells`).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import ClassVar

import pandas as pd

from neuralab.viz.studies import (
    format_value,
    short_keys,
    summary_cells,
    summary_headers,
    varying_keys,
)


class CellTable(pd.DataFrame):
    """A cell table (``stats.cell_table``) that displays short in a notebook; anything
    derived from it (a selection, a copy) is a plain DataFrame."""

    _metadata: ClassVar[list[str]] = ["grid_keys", "targeted"]  # pandas keeps these

    @property
    def _constructor(self) -> type[pd.DataFrame]:
        return pd.DataFrame

    @classmethod
    def of(cls, cells: pd.DataFrame, grid_keys: Sequence[str], targeted: bool) -> CellTable:
        table = cls(cells)
        table.grid_keys, table.targeted = list(grid_keys), bool(targeted)
        return table

    def _repr_html_(self) -> str:
        keys = getattr(self, "grid_keys", None) or []
        targeted = bool(getattr(self, "targeted", False))
        shown = varying_keys(self, keys) if keys else []
        names = short_keys(shown)
        heads, main = summary_headers(self.columns, targeted)
        counts = sorted({int(n) for n in self["n"]}) if "n" in self.columns else []
        same_n = len(counts) == 1
        header = [names[k] for k in shown] + ([] if same_n else ["n"]) + heads
        rows = [[format_value(row[k]) for k in shown]
                + ([] if same_n else [str(int(row["n"]))])
                + summary_cells(row, targeted, main) for _, row in self.iterrows()]
        seeds = f" × {counts[0]} seeds" if same_n else ""
        caption = (f"{len(self)} cells{seeds}; 95 % intervals; every column "
                   f"({len(self.columns)}): pd.DataFrame(res.table())")

        def tr(cells: list[str], tag: str) -> str:
            return "<tr>" + "".join(f"<{tag}>{html.escape(c)}</{tag}>" for c in cells) + "</tr>"

        return (f"<table><caption style='caption-side:bottom;text-align:left'>"
                f"{html.escape(caption)}</caption><thead>{tr(header, 'th')}</thead><tbody>"
                + "".join(tr(r, "td") for r in rows) + "</tbody></table>")


__all__ = ["CellTable"]
