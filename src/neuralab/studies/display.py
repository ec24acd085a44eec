"""How a study's tables show in a notebook: the settings that differ, then each headline
number with its interval, instead of pandas' 115 (or 70) columns cut in the middle.

:class:`CellTable` is the DataFrame ``StudyResult.table()`` returns and
:class:`CompareTable` the one ``StudyResult.compare(key)`` returns: every column is there
for code; only their notebook display (``_repr_html_``) is the short table — the one the
terminal shows for cells (:func:`neuralab.viz.studies.summary_cells`), and a − b [CI],
P(a > b) and the adjusted p of the headline metric for comparisons
(:func:`neuralab.viz.studies.compare_cells`).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import ClassVar

import pandas as pd

from neuralab.viz.studies import (
    compare_cells,
    compare_headers,
    format_value,
    short_keys,
    summary_cells,
    summary_headers,
    varying_keys,
)


def _html_table(header: list[str], rows: list[list[str]], caption: str) -> str:
    """A plain HTML table, every string escaped, the caption below it."""
    def tr(cells: list[str], tag: str) -> str:
        return "<tr>" + "".join(f"<{tag}>{html.escape(c)}</{tag}>" for c in cells) + "</tr>"

    return (f"<table><caption style='caption-side:bottom;text-align:left'>"
            f"{html.escape(caption)}</caption><thead>{tr(header, 'th')}</thead><tbody>"
            + "".join(tr(r, "td") for r in rows) + "</tbody></table>")


class _ShortTable(pd.DataFrame):
    """A DataFrame that displays short in a notebook; anything derived from it (a selection,
    a copy) is a plain DataFrame."""

    @property
    def _constructor(self) -> type[pd.DataFrame]:
        return pd.DataFrame

    def _settings(self, keys: Sequence[str]) -> tuple[list[str], dict[str, str]]:
        """The columns of ``keys`` that differ between the rows, and their short names."""
        keys = [k for k in keys if k in self.columns]
        shown = varying_keys(self, keys) if keys and len(self) else []
        return shown, short_keys(shown)


class CellTable(_ShortTable):
    """A cell table (``stats.cell_table``) that displays short in a notebook."""

    _metadata: ClassVar[list[str]] = ["grid_keys", "targeted"]  # pandas keeps these

    @classmethod
    def of(cls, cells: pd.DataFrame, grid_keys: Sequence[str], targeted: bool) -> CellTable:
        table = cls(cells)
        table.grid_keys, table.targeted = list(grid_keys), bool(targeted)
        return table

    def _repr_html_(self) -> str:
        targeted = bool(getattr(self, "targeted", False))
        shown, names = self._settings(getattr(self, "grid_keys", None) or [])
        heads, main = summary_headers(self.columns, targeted)
        counts = sorted({int(n) for n in self["n"]}) if "n" in self.columns else []
        same_n = len(counts) == 1
        header = [names[k] for k in shown] + ([] if same_n else ["n"]) + heads
        rows = [[format_value(row[k]) for k in shown]
                + ([] if same_n else [str(int(row["n"]))])
                + summary_cells(row, targeted, main) for _, row in self.iterrows()]
        seeds = (f" × {counts[0]} seed{'' if counts[0] == 1 else 's'}" if same_n else "")
        caption = (f"{len(self)} cells{seeds}; 95 % intervals; every column "
                   f"({len(self.columns)}): pd.DataFrame(res.table())")
        return _html_table(header, rows, caption)


class CompareTable(_ShortTable):
    """A comparison table (``stats.compare``) that displays short in a notebook: the
    settings held fixed that differ between rows, a vs b, then the headline numbers."""

    _metadata: ClassVar[list[str]] = ["key", "fixed_keys", "targeted"]  # pandas keeps these

    @classmethod
    def of(cls, pairs: pd.DataFrame, key: str, fixed_keys: Sequence[str],
           targeted: bool) -> CompareTable:
        """``pairs`` compared along ``key``; ``fixed_keys``: the grid columns held fixed;
        ``targeted``: the study has a target (its success rates are compared)."""
        table = cls(pairs)
        table.key, table.fixed_keys, table.targeted = key, list(fixed_keys), bool(targeted)
        return table

    def _repr_html_(self) -> str:
        key = str(getattr(self, "key", "") or "")
        shown, names = self._settings(getattr(self, "fixed_keys", None) or [])
        targeted = bool(getattr(self, "targeted", True))
        heads, main, stat = compare_headers(self.columns, targeted)
        counts = {(int(a), int(b)) for a, b in zip(self["n_a"], self["n_b"], strict=True)} \
            if {"n_a", "n_b"} <= set(self.columns) else set()
        same_n = len({n for pair in counts for n in pair}) <= 1
        short = short_keys([key]).get(key, key) if key else "a vs b"
        header = ([names[k] for k in shown] + [f"{short}: a vs b" if key else short]
                  + ([] if same_n else ["runs a / b"]) + heads)
        rows: list[list[str]] = []
        for _, row in self.iterrows():
            pair = f"{format_value(row['a'])} vs {format_value(row['b'])}" \
                if {"a", "b"} <= set(self.columns) else "–"
            rows.append([format_value(row[k]) for k in shown] + [pair]
                        + ([] if same_n else [f"{int(row['n_a'])} / {int(row['n_b'])}"])
                        + compare_cells(row, main, stat, targeted))
        dagger = any("†" in cell for row in rows for cell in row)
        pairs = "1 pair" if len(self) == 1 else f"{len(self)} pairs"
        caption = (f"{pairs}{' along ' + key if key else ''}; 95 % bootstrap "
                   "intervals; p adjusted for multiple tests (Benjamini–Hochberg)"
                   + ("; † percentile interval (every resample gave nearly the same "
                      "difference)" if dagger else "")
                   + f"; every column ({len(self.columns)}): pd.DataFrame(res.compare(...))")
        return _html_table(header, rows, caption)


__all__ = ["CellTable", "CompareTable"]
