"""The user's own data: a CSV with a header (label column by name) or an NPZ with X and y."""

from __future__ import annotations

import csv
import os
import zipfile
from pathlib import Path

import numpy as np

from neuralab._atomic import atomic_file
from neuralab._checks import check_choice, suggest
from neuralab.data.dataset import TASKS, Dataset
from neuralab.exceptions import DataError


def _existing(path: str | os.PathLike, what: str) -> Path:
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"{what}: {path} does not exist")
    return path


def _targets(values: np.ndarray, task: str | None, path: Path) -> tuple[np.ndarray, str]:
    """Labels as int64 for classification (when integral or asked), floats for regression."""
    if task is not None:
        check_choice("task", task, TASKS)
    integral = np.issubdtype(values.dtype, np.integer) or bool(
        np.all(np.isfinite(values)) and np.all(values == np.round(values)))
    task = task or ("classification" if integral else "regression")
    if task == "classification":
        if not integral:
            raise DataError(f"{path}: task='classification' needs integer labels; found "
                            f"non-integer values such as {values[values != np.round(values)][0]}")
        return values.astype(np.int64), task
    return values.astype(np.float32), task


def load_csv(path: str | os.PathLike, label: str | int = "label", *,
             delimiter: str = ",", task: str | None = None, dtype=np.float32) -> Dataset:
    """A CSV file with a header row: every column but ``label`` is a numeric feature.

    ``label`` names the target column (or gives its index). Text labels become classes
    0..K-1 in sorted order with the texts as ``class_names``; integer labels stay as they
    are; non-integer numbers make a regression set (override with ``task``).
    """
    path = _existing(path, "csv")
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f, delimiter=delimiter))
    if len(rows) < 2:
        raise DataError(f"{path} needs a header row and at least one data row; found {len(rows)}")
    header, body = [h.strip() for h in rows[0]], rows[1:]
    col = label if isinstance(label, int) else (header.index(label) if label in header else None)
    if col is None or not -len(header) <= col < len(header):
        raise DataError(f"{path} has no label column {label!r}; its columns are "
                        f"{', '.join(header)}" + suggest(str(label), header))
    col %= len(header)
    for line, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise DataError(f"{path}, line {line}: {len(row)} values for {len(header)} columns")
    features = [c for c in range(len(header)) if c != col]
    X = np.empty((len(body), len(features)), dtype=dtype)
    for line, row in enumerate(body, start=2):
        for j, c in enumerate(features):
            try:
                X[line - 2, j] = float(row[c])
            except ValueError:
                raise DataError(f"{path}, line {line}, column {header[c]!r}: {row[c]!r} is "
                                "not a number") from None
    raw = [row[col].strip() for row in body]
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
    """An ``.npz`` with arrays ``X`` (n, ...) and ``y`` (n,), read with ``allow_pickle=False``."""
    path = _existing(path, "npz")
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in (x_key, y_key) if k not in npz.files]
            if missing:
                raise DataError(f"{path} lacks the array(s) {missing}; it holds "
                                f"{sorted(npz.files)} (choose with x_key= / y_key=)")
            X, y = npz[x_key], npz[y_key]
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise DataError(f"{path} is truncated or not a valid .npz file ({exc})") from None
    except ValueError as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"{path} holds object arrays, which are never loaded ({exc})") from None
    y = y.reshape(-1) if y.ndim == 2 and y.shape[1] == 1 else y
    if y.ndim != 1 or len(y) != len(X):
        raise DataError(f"{path}: X {X.shape} and y {y.shape} do not match; need X (n, ...) "
                        "and y (n,)")
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
