"""The run folder ``runs/<name>-<YYYYMMDD-HHMMSS>/`` and its files.

::

    config.toml        the resolved config (every default filled in)
    metrics.csv        one row per evaluation
    summary.json       status, final and best metrics, converged epoch, wall time, versions
    model.npz          the trained model (neuralab.models.load)
    preprocess.json    feature map and fitted scaler, for eval / predict
    checkpoints/       last.npz: everything needed to continue exactly
    plots/             PNG + SVG figures
    log.txt            what happened, one line per event

Whole files are written to a temporary file in the same folder, flushed, fsync'ed and moved
into place with ``os.replace``: a reader (or a crash) sees the old file or the new one,
never half of one. ``log.txt`` and the rows added to ``metrics.csv`` between checkpoints
are appended with one ``write`` per line; at each checkpoint and at the end
``metrics.csv`` is rewritten whole (atomically) from the checkpoint's history, which is
also how a resumed run drops rows written after the checkpoint it continues from.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from neuralab._atomic import atomic_file

FILES = ("config.toml", "metrics.csv", "summary.json", "model.npz", "preprocess.json",
         "log.txt")
CHECKPOINT = "checkpoints/last.npz"


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file + fsync + os.replace)."""
    with atomic_file(path) as f:
        f.write(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, default=_json_default) + "\n")


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def append_line(path: str | os.PathLike, line: str) -> None:
    """Append one line with a single ``write`` call (O_APPEND)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line.rstrip("\n") + "\n").encode("utf-8"))
    finally:
        os.close(fd)


def new_run_dir(parent: str | os.PathLike, name: str, now: float | None = None) -> Path:
    """Create ``parent/<name>-<YYYYMMDD-HHMMSS>`` (``-2``, ``-3``, ... if taken)."""
    parent = Path(parent)
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise ValueError(f"output.dir {parent} is a file, not a folder") from None
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    base = f"{name}-{stamp}"
    for i in range(1, 1000):
        path = parent / (base if i == 1 else f"{base}-{i}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        (path / "checkpoints").mkdir()
        (path / "plots").mkdir()
        return path
    raise ValueError(f"could not create a run folder for {name!r} in {parent}")


# -- metrics.csv -----------------------------------------------------------------------------
def metric_columns(sets: Iterable[str], classifier: bool, part: bool = False) -> list[str]:
    """The columns of metrics.csv for a run evaluating ``sets`` (train, val, test)."""
    cols = ["classifier"] if part else []
    cols += ["step", "epoch", "lr", "batch_loss"]
    for s in sets:
        cols.append(f"{s}_loss")
        if classifier:
            cols.append(f"{s}_acc")
    return [*cols, "seconds"]


def format_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return str(value)


def csv_text(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([format_cell(row.get(c)) for c in columns])
    return buf.getvalue()


def csv_line(columns: Sequence[str], row: dict[str, Any]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow([format_cell(row.get(c)) for c in columns])
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
                if c == "classifier":
                    row[c] = v
                    continue
                try:
                    row[c] = float(v) if v != "" else math.nan
                except ValueError:
                    row[c] = v
            rows.append(row)
    return columns, rows


def versions() -> dict[str, str]:
    """Versions of Python, neuralab and the main libraries (for summary.json)."""
    import platform

    import numpy as np

    from neuralab import __version__

    out = {"neuralab": __version__, "numpy": np.__version__,
           "python": platform.python_version(), "platform": platform.platform()}
    for mod in ("sklearn", "matplotlib"):
        try:
            out[mod] = __import__(mod).__version__
        except ImportError:  # pragma: no cover - optional
            pass
    return out


__all__ = ["CHECKPOINT", "FILES", "append_line", "atomic_write_bytes", "atomic_write_json",
           "atomic_write_text", "csv_line", "csv_text", "metric_columns", "new_run_dir",
           "read_metrics", "versions"]
