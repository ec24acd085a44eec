"""The user's own data: a CSV with a header (label column by name) or an NPZ with X and y."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from neuralab._atomic import atomic_file
from neuralab._checks import check_choice, suggest
from neuralab.data.dataset import TASKS, Dataset
from neuralab.exceptions import DataError
from neuralab.io import bounded_lines, open_regular, read_npz, rows_per_chunk


def _existing(path: str | os.PathLike, what: str) -> Path:
    """``path`` (``~`` expanded) if it is a regular file that can be read, else a DataError
    saying exactly what it is (missing, a folder, a FIFO, a symlink loop, unreadable)."""
    path = Path(path).expanduser()
    open_regular(path, DataError, f"{what} file").close()
    return path


# Labels are stored as int64; a float label is exact only up to 2**53.
MAX_LABEL = 2**53


def _targets(values: np.ndarray, task: str | None, path: Path) -> tuple[np.ndarray, str]:
    """Labels as int64 for classification (when integral or asked), floats for regression."""
    if task is not None:
        check_choice("task", task, TASKS)
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        bad = values[~np.isfinite(values)][0]
        raise DataError(f"{path}: the labels hold {bad}; labels must be finite numbers")
    integral = np.issubdtype(values.dtype, np.integer) or values.dtype.kind == "b" or bool(
        np.all(values == np.round(values)))
    task = task or ("classification" if integral else "regression")
    if task == "classification":
        if not integral:
            raise DataError(f"{path}: task='classification' needs integer labels; found "
                            f"non-integer values such as {values[values != np.round(values)][0]}")
        if values.size and values.dtype.kind in "uf" and np.abs(values).max() > MAX_LABEL:
            big = values.flat[np.argmax(np.abs(values))]
            raise DataError(f"{path}: label {big} is too large for a class label; class "
                            f"labels must lie within ±2**53")
        return values.astype(np.int64), task
    return values.astype(np.float32), task


# What one CSV may hold: its values are read in chunks into one float array, but each row's
# label stays text until the end (text labels become classes), so both are bounded.
MAX_CSV_ROWS = 10_000_000
MAX_CSV_VALUES = 100_000_000  # 400 MB as float32 (MNIST as a CSV holds 55 million)
MAX_CSV_LINE = 16 * 2**20  # characters of one line (a header of a million columns fits)
_CHUNK_ROWS = 65_536
# Cells parsed at a time: a row's cells are held as text (about 50 bytes each) until its chunk
# is parsed, so a wide file is read in fewer rows at a time.
_CHUNK_VALUES = 2**20


def chunk_rows(n_columns: int) -> int:
    """How many CSV rows of ``n_columns`` cells to hold before :func:`csv_numbers` parses
    them: 65,536 rows, fewer for wide rows (about a million cells, some 50 MB of text)."""
    return rows_per_chunk(n_columns, _CHUNK_ROWS, _CHUNK_VALUES)


def csv_lines(f: io.TextIOWrapper, path: Path, max_chars: int | None = None) -> Iterator[str]:
    """The lines of CSV file ``f`` at ``path``, each at most :data:`MAX_CSV_LINE`
    characters, at most ``max_chars`` in all (:func:`neuralab.io.bounded_lines`)."""
    return bounded_lines(f, path, DataError, max_line=MAX_CSV_LINE, max_chars=max_chars)


def _label_column(path: Path, header: list[str], label: str | int) -> int:
    """The index of the label column in ``header`` (a DataError when absent or ambiguous)."""
    col = label if isinstance(label, int) else (header.index(label) if label in header else None)
    if col is None or not -len(header) <= col < len(header):
        raise DataError(f"{path} has no label column {label!r}; its columns are "
                        f"{', '.join(header)}" + suggest(str(label), header))
    col %= len(header)
    twins = [i + 1 for i, h in enumerate(header) if h == header[col]]
    if len(twins) > 1 and not isinstance(label, int):  # which is the label? never guess
        raise DataError(f"{path} has {len(twins)} columns named {header[col]!r} (columns "
                        f"{', '.join(map(str, twins))}); rename all but the label column")
    return col


class NotANumber(ValueError):
    """A CSV cell :func:`csv_numbers` cannot read: ``row`` (its index in the rows given),
    ``column`` (its index in the row) and its ``text``; callers word the error."""

    def __init__(self, row: int, column: int, text: str) -> None:
        super().__init__(f"row {row}, column {column}: {text!r:.40} is not a number")
        self.row, self.column, self.text = row, column, text


def csv_numbers(rows: list[list[str]], columns: list[int] | None = None,
                dtype: Any = np.float64) -> np.ndarray:
    """The cells of ``rows`` (those in ``columns``; all when None) as one ``dtype`` array of
    shape (len(rows), n columns), parsed by NumPy in one call (as ``float()`` reads text).

    The one CSV number reader: data files and points files read their rows in chunks
    through it. A number beyond ``dtype`` becomes infinite, for the caller's finite check;
    the first cell that is not a number raises :class:`NotANumber`.
    """
    try:
        with np.errstate(over="ignore"):  # beyond float32: infinite, refused by the caller
            X = np.array(rows if columns is None else [[row[c] for c in columns]
                                                       for row in rows], dtype=dtype)
    except ValueError:
        for i, row in enumerate(rows):
            for c in range(len(row)) if columns is None else columns:
                try:
                    float(row[c])
                except ValueError:
                    raise NotANumber(i, c, row[c]) from None
        raise
    return X.reshape(len(rows), (len(rows[0]) if rows else 0) if columns is None
                     else len(columns))


def _features(path: Path, header: list[str], features: list[int], rows: list[list[str]],
              first_line: int, dtype: Any) -> np.ndarray:
    """The feature values of ``rows`` (data lines ``first_line``...) as a ``dtype`` array;
    a DataError names the line, the column and the text of the first bad value."""
    try:
        X = csv_numbers(rows, features, dtype)
    except NotANumber as bad:
        raise DataError(f"{path}, line {first_line + bad.row}, column {header[bad.column]!r}: "
                        f"{bad.text!r:.40} is not a number") from None
    bad = np.argwhere(~np.isfinite(X))
    if len(bad):
        i, j = bad[0]
        raise DataError(f"{path}, line {i + first_line}, column {header[features[j]]!r}: "
                        f"{rows[i][features[j]]!r:.40} is not a finite "
                        f"{np.dtype(dtype).name} number")
    return X


def load_csv(path: str | os.PathLike, label: str | int = "label", *,
             delimiter: str = ",", task: str | None = None, dtype=np.float32) -> Dataset:
    """A CSV file with a header row: every column but ``label`` is a numeric feature.

    ``label`` names the target column (or gives its index). Text labels become classes
    0..K-1 in sorted order with the texts as ``class_names``; integer labels stay as they
    are; non-integer numbers make a regression set (override with ``task``). Values must be
    finite numbers; a file may hold at most :data:`MAX_CSV_ROWS` rows and
    :data:`MAX_CSV_VALUES` values (a larger data set belongs in an ``.npz``).
    """
    path = _existing(path, "CSV")
    chunks: list[np.ndarray] = []
    raw: list[str] = []
    n_rows = 0
    try:
        with open_regular(path, DataError, "CSV file") as raw_file, io.TextIOWrapper(
                raw_file, encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(csv_lines(f, path), delimiter=delimiter)
            try:
                first = next(reader, None)
                if first is None:
                    raise DataError(f"{path} needs a header row and at least one data row; "
                                    "found 0")
                header = [h.strip() for h in first]
                col = _label_column(path, header, label)
                features = [c for c in range(len(header)) if c != col]
                per_chunk = chunk_rows(len(header))
                pending: list[list[str]] = []
                for line, row in enumerate(reader, start=2):
                    if len(row) != len(header):
                        raise DataError(f"{path}, line {line}: {len(row)} values for "
                                        f"{len(header)} columns")
                    n_rows += 1
                    if n_rows > MAX_CSV_ROWS or n_rows * len(features) > MAX_CSV_VALUES:
                        raise DataError(
                            f"{path} holds more than {MAX_CSV_ROWS:,} rows or "
                            f"{MAX_CSV_VALUES:,} values (line {line}, {len(header):,} "
                            "columns); neuralab reads CSV files up to that size: save a "
                            "larger data set as .npz (neuralab.data.save_npz)")
                    pending.append(row)
                    raw.append(row[col].strip())
                    if len(pending) == per_chunk:
                        chunks.append(_features(path, header, features, pending,
                                               line - len(pending) + 1, dtype))
                        pending = []
            except csv.Error as exc:
                raise DataError(f"{path}, line {reader.line_num}: not a readable CSV row "
                                f"({exc})") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path} is not UTF-8 text (byte {exc.start} of a chunk); save the "
                        "CSV as UTF-8") from None
    if n_rows == 0:
        raise DataError(f"{path} needs a header row and at least one data row; found 1")
    if pending:
        chunks.append(_features(path, header, features, pending, n_rows - len(pending) + 2,
                               dtype))
    X = np.concatenate(chunks) if len(chunks) > 1 else chunks[0]
    del chunks, pending
    try:
        numeric = np.array([float(v) for v in raw])
    except ValueError:
        numeric = None
    class_names = None
    if numeric is not None:
        y, task = _targets(numeric, task, path)
    elif task == "regression":
        raise DataError(f"{path}: task='regression' needs numeric values in column "
                        f"{header[col]!r}")
    else:  # text labels
        class_names = sorted(set(raw))
        y, task = np.searchsorted(class_names, raw).astype(np.int64), "classification"
    classes = tuple(range(len(class_names))) if class_names else None
    return Dataset(X=X, y=y, name=path.stem, task=task, classes=classes,
                   class_names=tuple(class_names) if class_names else None,
                   source=str(path), meta={"features": [header[c] for c in features]})


def load_npz(path: str | os.PathLike, *, x_key: str = "X", y_key: str = "y",
             task: str | None = None) -> Dataset:
    """An ``.npz`` with arrays ``X`` (n, ...) and ``y`` (n,) of finite numbers; read
    without pickles and within ``neuralab.io.LIMITS`` (:func:`neuralab.io.read_npz`)."""
    path = _existing(path, "NPZ")
    arrays = read_npz(path, error=DataError, what="NPZ data file", kinds="biuf")
    missing = [k for k in (x_key, y_key) if k not in arrays]
    if missing:
        raise DataError(f"{path} lacks the array(s) {missing}; it holds "
                        f"{sorted(arrays)} (choose with x_key= / y_key=)")
    X, y = arrays[x_key], arrays[y_key]
    y = y.reshape(-1) if y.ndim == 2 and y.shape[1] == 1 else y
    if X.ndim < 1 or y.ndim != 1 or len(y) != len(X):
        raise DataError(f"{path}: X {X.shape} and y {y.shape} do not match; need X (n, ...) "
                        "and y (n,)")
    if X.size == 0:
        raise DataError(f"{path}: X {X.shape} holds no values; a data set needs samples and "
                        "features")
    if X.dtype.kind == "f" and not np.isfinite(X).all():
        raise DataError(f"{path}: {x_key} holds NaN or infinite values; features must be "
                        "finite numbers")
    y, task = _targets(y, task, path)
    X = X.astype(np.float32) if not np.issubdtype(X.dtype, np.floating) else X
    return Dataset(X=X, y=y, name=path.stem, task=task, source=str(path))


def save_npz(ds: Dataset, path: str | os.PathLike) -> Path:
    """Write ``ds.X`` and ``ds.y`` to ``path`` atomically (readable by :func:`load_npz`);
    like NumPy, adds ``.npz`` to a name without it. Returns the path written."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    with atomic_file(path) as f:
        np.savez_compressed(f, X=ds.X, y=ds.y)
    return path
