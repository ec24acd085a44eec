"""The metrics.csv format: one row per evaluation, written by a run, read by plots and reports.

It sits below both its writer (``neuralab.experiments.run``) and its readers
(``neuralab.viz``, ``neuralab.report``), so no package imports upward to use it. Cells are
``repr`` of floats (exact round trip), empty for a missing value or NaN; the ``classifier``
column of one-vs-rest runs holds class labels, kept as text.

>>> text = csv_text(["epoch", "train_loss"], [{"epoch": 1, "train_loss": 0.5}, {"epoch": 2}])
>>> print(text, end="")
epoch,train_loss
1,0.5
2,
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from neuralab.io import bounded_lines, rows_per_chunk

TEXT_COLUMNS = ("classifier",)  # columns read back as text, not numbers


def format_cell(value: Any) -> str:
    """One cell: ``repr`` of a float, ``str`` otherwise, empty for None and NaN."""
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return str(value)


def csv_line(columns: Sequence[str], row: dict[str, Any]) -> str:
    """``row``'s cells in ``columns`` order as one CSV line (no line end)."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow([format_cell(row.get(c)) for c in columns])
    return buf.getvalue()


def csv_text(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> str:
    """The whole file: the header, then one line per row."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([format_cell(row.get(c)) for c in columns])
    return buf.getvalue()


MAX_COLUMNS = 1_000  # a run writes about 12 (metric_columns in neuralab.experiments.run)
MAX_LINE = 2**20  # characters of one line
_CHUNK_ROWS = 8_192  # rows parsed at a time (a few MB of text)...
_CHUNK_VALUES = 2**18  # ...or fewer, for wide rows


def _column(cells: tuple[str, ...], text: bool) -> np.ndarray:
    """One column of a chunk of rows: float64 (empty cells NaN), or objects where a cell is
    not a number (that cell kept as its text) and for a text column."""
    if text:
        return np.array(cells, dtype=object)
    try:
        return np.array([v or "nan" for v in cells], dtype=np.float64)
    except ValueError:
        out = np.empty(len(cells), dtype=object)
        for i, v in enumerate(cells):
            try:
                out[i] = float(v) if v != "" else math.nan
            except ValueError:
                out[i] = v
        return out


def read_metric_columns(path: str | os.PathLike) -> tuple[list[str], dict[str, np.ndarray]]:
    """``(columns, {column: values})`` of a metrics.csv: each numeric column one float64
    array of shape (rows,) (empty cells NaN; an object array where a cell is not a number,
    that cell kept as text), :data:`TEXT_COLUMNS` as text. Read a chunk of rows at a time
    into one (rows, columns) block: memory holds 8 bytes a number, never a dict a row; a
    torn last line is skipped. A repeated column name keeps its last column."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(bounded_lines(f, None, ValueError, max_line=MAX_LINE,
                                          what="a row of a metrics file"))
        try:
            columns = next(reader)
        except StopIteration:
            return [], {}
        if len(columns) > MAX_COLUMNS:
            raise ValueError(f"its header has {len(columns):,} columns; a metrics file has at "
                             f"most {MAX_COLUMNS:,}")
        numeric = [j for j, c in enumerate(columns) if c not in TEXT_COLUMNS]
        per_chunk = rows_per_chunk(len(columns), _CHUNK_ROWS, _CHUNK_VALUES)
        # each chunk: its numbers as one block, or None and its columns one by one
        chunks: list[tuple[np.ndarray | None, dict[int, np.ndarray]]] = []

        def parse(rows: list[list[str]]) -> None:
            block, cols = None, {}
            try:
                block = np.array([[r[j] or "nan" for j in numeric] for r in rows],
                                 dtype=np.float64).reshape(len(rows), len(numeric))
            except ValueError:  # a cell that is not a number: that chunk column by column
                cells = list(zip(*rows, strict=True))
                cols = {j: _column(cells[j], False) for j in numeric}
            if len(numeric) < len(columns):
                cells = list(zip(*rows, strict=True))
                cols.update({j: _column(cells[j], True) for j in range(len(columns))
                             if columns[j] in TEXT_COLUMNS})
            chunks.append((block, cols))

        rows: list[list[str]] = []
        for values in reader:
            if len(values) != len(columns):
                continue  # a torn last line (only possible mid-append)
            rows.append(values)
            if len(rows) == per_chunk:
                parse(rows)
                rows = []
        if rows:
            parse(rows)
    at = {j: k for k, j in enumerate(numeric)}
    last = {c: j for j, c in enumerate(columns)}  # a repeated name: its last column
    data = {}
    for c in dict.fromkeys(columns):
        j = last[c]
        parts = [cols[j] if block is None or j not in at else block[:, at[j]]
                 for block, cols in chunks]
        data[c] = np.concatenate(parts) if len(parts) > 1 else parts[0] if parts else \
            np.empty(0, dtype=object if c in TEXT_COLUMNS else np.float64)
    return columns, data


__all__ = ["csv_line", "csv_text", "format_cell", "read_metric_columns"]
