"""Using a finished run: evaluate its model on a data split, predict points from a CSV."""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from neuralab._atomic import atomic_file, confined, output_file, read_confined
from neuralab.data.files import NotANumber, chunk_rows, csv_lines, csv_numbers
from neuralab.exceptions import DataError
from neuralab.experiments.config import MAX_CONFIG_BYTES, ConfigError
from neuralab.experiments.prepare import (
    apply_preprocess,
    check_data_memory,
    image_view,
    load_splits,
)
from neuralab.experiments.run import atomic_write_json, check_run_folder, load_run_config
from neuralab.io import open_regular

MAX_PREPROCESS_BYTES = 2**20
MAX_POINTS_BYTES = 256 * 2**20  # a CSV of points to predict: millions of rows


def load_model(path: str | Path) -> Any:
    """The model of a run folder (its model.npz, never through a link out of the folder) or
    of a model file."""
    from neuralab.models import load

    path = Path(path)
    if path.is_dir():
        found = confined(path, "model.npz")
        path = found if found is not None else path / "model.npz"
    if not path.is_file() and not path.is_symlink() and not path.exists():
        raise ConfigError(f"model file {path} does not exist (a run writes model.npz when it "
                          "finishes; resume an unfinished run first)")
    return load(path)  # names a FIFO, a folder or a symlink loop as what it is


def _preprocess_for(model_path: Path) -> dict[str, Any]:
    """preprocess.json beside ``model_path`` ({} when there is none); read only inside that
    folder."""
    folder = model_path.parent
    raw = read_confined(folder, "preprocess.json", MAX_PREPROCESS_BYTES)
    if raw is None:
        return {}
    try:
        pre = json.loads(raw)
    except (ValueError, RecursionError):
        raise ConfigError(f"{folder / 'preprocess.json'} is not valid JSON") from None
    from neuralab.data.prepare import check_preprocess  # keys, kinds and sizes from a file

    return check_preprocess(pre, str(folder / "preprocess.json"))


def eval_run(run_dir: str | Path, *, data: str | None = None, path: str | None = None,
             root: str | None = None, split: str = "test", offline: bool = False,
             write: bool = True) -> dict[str, Any]:
    """Metrics of ``run_dir``'s model on ``split`` of its data (or of ``data``); writes
    ``eval-<split>.json`` in the run folder."""
    from neuralab.train.metrics import confusion_matrix

    run_dir = Path(run_dir)
    check_run_folder(run_dir)
    config = confined(run_dir, "config.toml", MAX_CONFIG_BYTES)
    if config is None:
        raise ConfigError(f"{run_dir} is not a run folder (it has no config.toml)")
    cfg = load_run_config(config)
    est = load_model(run_dir)
    dcfg = cfg.data
    if data is not None and data != dcfg.name:
        dcfg = dcfg.model_copy(update={"name": data, "options": {}, "path": None, "root": None})
        dcfg = type(dcfg).model_validate(dcfg.model_dump())
    updates = {k: v for k, v in (("path", path), ("root", root)) if v is not None}
    if updates:
        dcfg = type(dcfg).model_validate({**dcfg.model_dump(), **updates})
    check_data_memory(dcfg)  # a run folder from someone may ask for 10**12 samples
    parts = load_splits(dcfg, offline=offline)
    if split not in parts or parts[split] is None:
        have = [k for k, v in parts.items() if v is not None]
        raise ConfigError(f"--split {split}: this data has no {split!r} split; it has "
                          f"{', '.join(have)}")
    ds = parts[split]
    X = apply_preprocess(_preprocess_for(run_dir / "model.npz"), ds.X)
    if cfg.model.kind == "cnn":  # as training showed it: channels first, colour transposed
        X = image_view(cfg, ds.image_shape, int(X.shape[1]), dcfg.name)(X)
    elif X.shape[1] != est.n_features_in_:
        raise ConfigError(f"the model takes {est.n_features_in_} features; {dcfg.name} "
                          f"{split} gives {X.shape[1]} after preprocessing")
    result: dict[str, Any] = {"run": str(run_dir), "data": dcfg.name, "split": split,
                              "n": len(ds), "when": time.strftime("%Y-%m-%dT%H:%M:%S")}
    if hasattr(est, "classes_"):
        pred = np.asarray(est.predict(X))
        result["accuracy"] = float(np.mean(pred == ds.y))
        classes = np.asarray(est.classes_)
        index = {v: i for i, v in enumerate(classes.tolist())}
        if all(v in index for v in np.unique(ds.y).tolist()):
            t = np.array([index[v] for v in ds.y.tolist()])
            p = np.array([index[v] for v in pred.tolist()])
            result["confusion"] = confusion_matrix(t, p, len(classes)).tolist()
    else:
        pred = np.asarray(est.predict(X), dtype=float)
        result["mse"] = float(np.mean((pred - ds.y) ** 2))
        result["r2"] = float(est.score(X, ds.y))
    if write:
        atomic_write_json(run_dir / f"eval-{split}.json", result)
    return result


_CHUNK_ROWS = 65_536  # points predicted and written at a time


def _floats(path: Path, rows: list[list[str]], lines: list[int]) -> np.ndarray:
    """``rows`` (from file lines ``lines``) as float64 (:func:`csv_numbers`)."""
    try:
        return csv_numbers(rows)
    except NotANumber as bad:
        raise ConfigError(f"{path} line {lines[bad.row]} holds a value that is not a "
                          f"number: {bad.text!r:.40}") from None


def _wrong_columns(path: str | Path, first: list[str], numeric: bool,
                   n_columns: int) -> ConfigError:
    """The error for a points file whose first row has the wrong number of columns."""
    names = [f"x{i + 1}" for i in range(min(len(first), 10))] if numeric else first[:10]
    more = ", ..." if len(first) > 10 else ""
    return ConfigError(f"{path} has {len(first)} columns ({', '.join(names)}{more}); the "
                       f"model takes {n_columns} inputs")


def read_points(path: str | Path, n_columns: int | None = None
                ) -> tuple[list[str], np.ndarray]:
    """Header and numbers of a CSV of input points (one row per point), read in chunks
    straight into one array (the file's text and its rows are never held whole).
    ``n_columns``: the number of columns the points must have, checked at the first row."""
    path = Path(path)
    if not path.is_file():
        what = "does not exist" if not path.exists() else "is not a regular file"
        raise ConfigError(f"points file {path} {what}")
    header: list[str] | None = None
    chunks: list[np.ndarray] = []
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        with open_regular(path, DataError, "points file", max_bytes=MAX_POINTS_BYTES) as raw, \
                io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as f:  # Excel's BOM
            reader = csv.reader(csv_lines(f, path, MAX_POINTS_BYTES))
            try:
                for row in reader:
                    if not row:
                        continue
                    if header is None:
                        try:
                            [float(v) for v in row]
                            numeric = True  # a first point: columns named x1, x2, ...
                        except ValueError:
                            numeric = False  # a header of names
                        if n_columns is not None and len(row) != n_columns:  # before parsing
                            raise _wrong_columns(path, row, numeric, n_columns)
                        if not numeric:
                            header = row
                            continue
                        header = [f"x{i + 1}" for i in range(len(row))]
                    if len(row) != len(header):
                        raise ConfigError(f"{path} line {reader.line_num} has {len(row)} "
                                          f"values; the header has {len(header)}")
                    rows.append(row)
                    lines.append(reader.line_num)
                    if len(rows) == chunk_rows(len(header)):
                        chunks.append(_floats(path, rows, lines))
                        rows, lines = [], []
            except csv.Error as exc:  # e.g. a field over the csv module's 128 KB limit
                raise ConfigError(f"{path} line {reader.line_num}: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"points file {path} cannot be read as UTF-8 text") from None
    if header is None:
        raise ConfigError(f"points file {path} is empty; it needs a header row and one row per "
                          "point")
    if rows:
        chunks.append(_floats(path, rows, lines))
    if not chunks:
        raise ConfigError(f"points file {path} has a header but no points")
    X = np.concatenate(chunks) if len(chunks) > 1 else chunks[0]
    if not np.isfinite(X).all():
        raise ConfigError(f"{path} contains NaN or infinite values")
    return header, X


_TEXT_ROWS = 16_384  # output rows formatted at a time (a few MB of text)


def _label_cells(labels: list[Any]) -> list[str]:
    """Each prediction as the csv module writes it in a row: numbers as ``str`` (``repr``
    for a float), text quoted where it holds a comma, a quote or a line break."""
    if all(type(v) in (int, float) for v in labels):
        return list(map(str, labels))
    memo: dict[tuple[type, Any], str] = {}
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")  # as in the file: a "\n" in a label is quoted
    for v in labels:
        key = (type(v), v)
        if key not in memo:
            buf.seek(0)
            buf.truncate()
            w.writerow([v, ""])  # never alone on its row: "" stays empty, as in the file
            memo[key] = buf.getvalue()[:-2]  # less the "" cell and the line end
    return [memo[(type(v), v)] for v in labels]


def _output_text(X: np.ndarray, pred: np.ndarray, proba: np.ndarray | None) -> str:
    """The CSV lines of a block of points, built a column at a time: the points ``X``
    (n, d) as ``repr`` of their floats (exact), the predictions ``pred`` (n,) as the csv
    module writes them, the class probabilities ``proba`` (n, k) to 6 significant digits."""
    if pred.ndim == 1 or pred.size == len(X):  # one value per point
        labels = pred.reshape(len(X)).tolist()
    else:  # not one value per point: .item() says so (a ValueError)
        labels = [p.item() for p in pred]
    columns = [list(map(repr, c)) for c in X.T.tolist()]
    columns.append(_label_cells(labels))
    if proba is not None:
        columns += [list(map("{:.6g}".format, c)) for c in proba.T.tolist()]
    return "".join(line + "\n" for line in map(",".join, zip(*columns, strict=True)))


def _check_finite(points: str | Path, start: int, X: np.ndarray, pred: np.ndarray,
                  proba: np.ndarray | None) -> None:
    """A ConfigError naming the first point of ``X`` (points ``start + 1``...) whose
    prediction or probabilities are not finite: values so large the model overflows."""
    bad = np.zeros(len(X), dtype=bool)
    if pred.dtype.kind in "fc" and pred.size:
        bad |= ~np.isfinite(pred.reshape(len(X), -1)).all(axis=1)
    if proba is not None and proba.dtype.kind in "fc":
        bad |= ~np.isfinite(proba).all(axis=1)
    if bad.any():
        i = int(np.argmax(bad))
        values = ", ".join(f"{v:g}" for v in X[i, :5]) + (", ..." if X.shape[1] > 5 else "")
        raise ConfigError(f"{points}: point {start + i + 1} ({values}) overflows the model: "
                          "its prediction is not a finite number; give values of the size "
                          "the model was trained on")


def predict_file(model: str | Path, points: str | Path, output: str | Path) -> int:
    """Write predictions (and class probabilities where the model has them) for each point
    of the CSV ``points`` to ``output``; returns the number of points. Points are predicted
    and written a chunk at a time, so memory holds the points and one chunk's outputs."""
    output = output_file(output)  # before any work: a missing folder is not created
    model = Path(model)
    est = load_model(model)
    pre = _preprocess_for(model if model.is_file() else model / "model.npz")
    header, X = read_points(points, n_columns=pre.get("n_inputs", est.n_features_in_))
    out_cols = [*header, "prediction"]
    has_proba = hasattr(est, "classes_") and hasattr(est, "predict_proba")
    if has_proba:
        out_cols += [f"p_{c}" for c in np.asarray(est.classes_).tolist()]
    with atomic_file(output) as f:
        head = io.StringIO()
        csv.writer(head, lineterminator="\n").writerow(out_cols)
        f.write(head.getvalue().encode("utf-8"))
        for start in range(0, len(X), _CHUNK_ROWS):
            Xc = X[start:start + _CHUNK_ROWS]
            with np.errstate(over="ignore", invalid="ignore"):  # said below, in one line
                Xm = apply_preprocess(pre, Xc) if pre else Xc
                pred = np.asarray(est.predict(Xm))
                proba = np.asarray(est.predict_proba(Xm)) if has_proba else None
            _check_finite(points, start, Xc, pred, proba)
            for i in range(0, len(Xc), _TEXT_ROWS):
                block = slice(i, i + _TEXT_ROWS)
                f.write(_output_text(Xc[block], pred[block],
                                     None if proba is None else proba[block]).encode("utf-8"))
        # (atomic_file syncs and closes the file)
    return len(X)


__all__ = ["eval_run", "load_model", "predict_file", "read_points"]
