"""How a study's tables show: the settings that differ, then each headline number with its
interval, instead of pandas' 115 (or 70) columns cut in the middle.

:class:`CellTable` is the DataFrame ``StudyResult.table()`` returns and
:class:`CompareTable` the one ``StudyResult.compare(key)`` returns: every column is there
for code; only their display is the short table — in a notebook (``_repr_html_``), and at a
Python prompt or in ``print`` (``__repr__``: the table ``neuralab study`` prints, wrapped to
the terminal's width). Cells show the share that reached the target, the median epochs and
the headline mean (:func:`neuralab.viz.studies.summary_cells`); comparisons a − b [CI],
P(a > b) and the adjusted p of the headline metric
(:func:`neuralab.viz.studies.compare_cells`).
"""

from __future__ import annotations

import html
import io
import shutil
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import pandas as pd

from neuralab.studies.spec import counted
from neuralab.viz.studies import (
    compare_cells,
    compare_headers,
    format_value,
    short_keys,
    summary_cells,
    summary_headers,
    varying_keys,
)

PAIR = "a vs b"  # the heading of a comparison's pair column ends so


@dataclass
class Short:
    """A short table: per row the settings (``settings[i]``: ``(name, value)`` pairs), an
    optional count column, the numbers under ``heads``; a title and a caption."""

    setting_names: list[str]
    settings: list[list[str]]
    count_head: str | None
    counts: list[str]
    heads: list[str]
    numbers: list[list[str]]
    title: str
    caption: str

    def html(self) -> str:
        """A plain HTML table (a column per setting), every string escaped."""
        def tr(cells: list[str], tag: str) -> str:
            return "<tr>" + "".join(f"<{tag}>{html.escape(c)}</{tag}>" for c in cells) + "</tr>"

        count = [self.count_head] if self.count_head else []
        header = [*self.setting_names, *count, *self.heads]
        rows = [[*s, *([c] if self.count_head else []), *n]
                for s, c, n in zip(self.settings, self.counts, self.numbers, strict=True)]
        return (f"<table><caption style='caption-side:bottom;text-align:left'>"
                f"{html.escape(self.title)}; {html.escape(self.caption)}</caption><thead>"
                f"{tr(header, 'th')}</thead><tbody>" + "".join(tr(r, "td") for r in rows)
                + "</tbody></table>")

    def rich(self, width: int, title: str | None = None) -> Any:
        """A rich Table for a terminal ``width`` columns wide (80 included): the settings
        one per line in the first column, never cut; the numbers wrap at their spaces."""
        from rich.table import Table

        def line(name: str, value: str) -> str:  # "lr=0.1"; "activation: relu vs tanh"
            return name.replace(PAIR, value) if name.endswith(PAIR) else f"{name}={value}"

        labels = ["\n".join(line(k, v) for k, v in zip(self.setting_names, s, strict=True))
                  or "base" for s in self.settings]
        widest = max((len(line) for text in labels for line in text.splitlines()), default=4)
        # rich shrinks the widest columns first and would cut the settings short: on a
        # narrow terminal the intervals wrap at 14 characters ("100.0 % [83.9,"), or 10
        # below 76 columns, and the settings get the rest of the width (folded, never cut)
        wrap = 24 if width >= 120 else 14 if width >= 76 else 10
        n_width = max((len(c) for c in self.counts), default=0) + 3 if self.count_head else 0
        # a column of short numbers (P(a > b): 0.22) takes only what it and its heading
        # need (rich keeps a heading's first 12 characters or so on one line)
        full = [max([len(row[j]) for row in self.numbers] + [min(len(head), 12)])
                for j, head in enumerate(self.heads)]
        needs = [min(wrap, n) for n in full]
        if max(8, widest) + sum(n + 3 for n in full) + n_width + 4 <= width:
            needs = full  # everything fits on one line a row: nothing to wrap
        rest = width - sum(n + 3 for n in needs) - n_width - 4
        out = Table(title=title or self.title, title_justify="left")
        out.add_column("setting", min_width=max(8, min(widest, rest, 40)), overflow="fold")
        if self.count_head:
            out.add_column(self.count_head, justify="right")
        for head, need in zip(self.heads, needs, strict=True):
            out.add_column(head, max_width=need, overflow="fold")
        for label, count, numbers in zip(labels, self.counts, self.numbers, strict=True):
            out.add_row(label, *([count] if self.count_head else []), *numbers)
        return out

    def text(self) -> str:
        """The rich table as plain text at the terminal's width, the caption below."""
        try:
            from rich.console import Console
        except ImportError:  # rich comes with the command line's extra
            return ""
        width = shutil.get_terminal_size().columns
        buffer = io.StringIO()
        Console(file=buffer, width=width, soft_wrap=False).print(self.rich(width))
        lines = [line.rstrip() for line in buffer.getvalue().splitlines()]
        return "\n".join([*lines, *textwrap.wrap(self.caption, width)])


class _ShortTable(pd.DataFrame):
    """A DataFrame that displays short (:meth:`short`); anything derived from it (a
    selection, a copy) is a plain DataFrame."""

    @property
    def _constructor(self) -> type[pd.DataFrame]:
        return pd.DataFrame

    def _settings(self, keys: Sequence[str]) -> tuple[list[str], dict[str, str]]:
        """The columns of ``keys`` that differ between the rows, and their short names."""
        keys = [k for k in keys if k in self.columns]
        shown = varying_keys(self, keys) if keys and len(self) else []
        return shown, short_keys(shown)

    def short(self) -> Short:
        raise NotImplementedError

    def _repr_html_(self) -> str:
        return self.short().html()

    def __repr__(self) -> str:
        return self.short().text() or super().__repr__()


class CellTable(_ShortTable):
    """A cell table (``stats.cell_table``) that displays short."""

    _metadata: ClassVar[list[str]] = ["grid_keys", "targeted"]  # pandas keeps these

    @classmethod
    def of(cls, cells: pd.DataFrame, grid_keys: Sequence[str], targeted: bool) -> CellTable:
        table = cls(cells)
        table.grid_keys, table.targeted = list(grid_keys), bool(targeted)
        return table

    def short(self) -> Short:
        targeted = bool(getattr(self, "targeted", False))
        shown, names = self._settings(getattr(self, "grid_keys", None) or [])
        heads, main = summary_headers(self.columns, targeted)
        counts = [str(int(n)) for n in self["n"]] if "n" in self.columns else []
        same_n = len(set(counts)) <= 1
        rows = list(self.iterrows())
        seeds = f" × {counted(int(counts[0]), 'seed')}" if same_n and counts else ""
        return Short(setting_names=[names[k] for k in shown],
                     settings=[[format_value(row[k]) for k in shown] for _, row in rows],
                     count_head=None if same_n else "n", counts=counts or [""] * len(rows),
                     heads=heads,
                     numbers=[summary_cells(row, targeted, main) for _, row in rows],
                     title=f"{counted(len(self), 'cell')}{seeds}",
                     caption=f"95 % intervals; every column ({len(self.columns)}): "
                             "pd.DataFrame(res.table())")


class CompareTable(_ShortTable):
    """A comparison table (``stats.compare``) that displays short: the settings held fixed
    that differ between rows, a vs b, then the headline numbers."""

    _metadata: ClassVar[list[str]] = ["key", "fixed_keys", "targeted"]  # pandas keeps these

    @classmethod
    def of(cls, pairs: pd.DataFrame, key: str, fixed_keys: Sequence[str],
           targeted: bool) -> CompareTable:
        """``pairs`` compared along ``key``; ``fixed_keys``: the grid columns held fixed;
        ``targeted``: the study has a target (its success rates are compared)."""
        table = cls(pairs)
        table.key, table.fixed_keys, table.targeted = key, list(fixed_keys), bool(targeted)
        return table

    def short(self) -> Short:
        key = str(getattr(self, "key", "") or "")
        shown, names = self._settings(getattr(self, "fixed_keys", None) or [])
        targeted = bool(getattr(self, "targeted", True))
        heads, main, stat = compare_headers(self.columns, targeted)
        has_n = {"n_a", "n_b"} <= set(self.columns)
        counts = [f"{int(a)} / {int(b)}" for a, b in zip(self["n_a"], self["n_b"],
                                                          strict=True)] if has_n else []
        same_n = len({n for c in counts for n in c.split(" / ")}) <= 1
        short = f"{short_keys([key]).get(key, key)}: {PAIR}" if key else PAIR
        rows = list(self.iterrows())

        def pair(row: Any) -> str:
            return (f"{format_value(row['a'])} vs {format_value(row['b'])}"
                    if {"a", "b"} <= set(self.columns) else "–")

        numbers = [compare_cells(row, main, stat, targeted) for _, row in rows]
        dagger = any("†" in cell for row in numbers for cell in row)
        pairs = "1 pair" if len(self) == 1 else f"{len(self)} pairs"
        return Short(setting_names=[*(names[k] for k in shown), short],
                     settings=[[*(format_value(row[k]) for k in shown), pair(row)]
                               for _, row in rows],
                     count_head=None if same_n else "runs a / b",
                     counts=counts or [""] * len(rows), heads=heads, numbers=numbers,
                     title=f"{pairs}{' along ' + key if key else ''}",
                     caption="95 % bootstrap intervals; p adjusted for multiple tests "
                             "(Benjamini–Hochberg)"
                             + ("; † percentile interval (every resample gave nearly the "
                                "same difference)" if dagger else "")
                             + f"; every column ({len(self.columns)}): "
                               "pd.DataFrame(res.compare(...))")


__all__ = ["CellTable", "CompareTable", "Short"]
