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


def read_metrics(path: str | os.PathLike) -> tuple[list[str], list[dict[str, Any]]]:
    """``(columns, rows)`` of a metrics.csv, numbers as floats (empty cells as NaN)."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        try:
            columns = next(reader)
        except StopIteration:
            return [], []
        rows = []
        for values in reader:
            if len(values) != len(columns):
                continue  # a torn last line (only possible mid-append)
            row: dict[str, Any] = {}
            for c, v in zip(columns, values, strict=True):
                if c in TEXT_COLUMNS:
                    row[c] = v
                    continue
                try:
                    row[c] = float(v) if v != "" else math.nan
                except ValueError:
                    row[c] = v
            rows.append(row)
    return columns, rows


__all__ = ["csv_line", "csv_text", "format_cell", "read_metrics"]
