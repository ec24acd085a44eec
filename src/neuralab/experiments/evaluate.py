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
from neuralab.data.files import csv_lines
from neuralab.exceptions import DataError
from neuralab.experiments.config import MAX_CONFIG_BYTES, ConfigError, load_config
from neuralab.experiments.prepare import (
    apply_preprocess,
    check_data_memory,
    image_view,
    load_splits,
)
from neuralab.experiments.run import atomic_write_json
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
    config = confined(run_dir, "config.toml", MAX_CONFIG_BYTES) if run_dir.is_dir() else None
    if config is None:
        raise ConfigError(f"{run_dir} is not a run folder (it has no config.toml)")
    cfg = load_config(config)
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


_CHUNK_ROWS = 65_536  # points parsed, predicted and written at a time


def _floats(path: Path, rows: list[list[str]], lines: list[int]) -> np.ndarray:
    try:
        return np.array(rows, dtype=np.float64).reshape(len(rows), -1)
    except ValueError:
        for line, row in zip(lines, rows, strict=True):
            for v in row:
                try:
                    float(v)
                except ValueError:
                    raise ConfigError(f"{path} line {line} holds a value that is not a "
                                      f"number: {v!r:.40}") from None
        raise


def read_points(path: str | Path) -> tuple[list[str], np.ndarray]:
    """Header and numbers of a CSV of input points (one row per point), read in chunks
    straight into one array (the file's text and its rows are never held whole)."""
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
                io.TextIOWrapper(raw, encoding="utf-8", newline="") as f:
            reader = csv.reader(csv_lines(f, path))
            try:
                for row in reader:
                    if not row:
                        continue
                    if header is None:
                        header = row
                        try:
                            [float(v) for v in row]
                        except ValueError:
                            continue  # a header of names
                        header = [f"x{i + 1}" for i in range(len(row))]  # a first point
                    if len(row) != len(header):
                        raise ConfigError(f"{path} line {reader.line_num} has {len(row)} "
                                          f"values; the header has {len(header)}")
                    rows.append(row)
                    lines.append(reader.line_num)
                    if len(rows) == _CHUNK_ROWS:
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


def predict_file(model: str | Path, points: str | Path, output: str | Path) -> int:
    """Write predictions (and class probabilities where the model has them) for each point
    of the CSV ``points`` to ``output``; returns the number of points. Points are predicted
    and written a chunk at a time, so memory holds the points and one chunk's outputs."""
    output = output_file(output)  # before any work: a missing folder is not created
    model = Path(model)
    est = load_model(model)
    pre = _preprocess_for(model if model.is_file() else model / "model.npz")
    header, X = read_points(points)
    n_in = pre.get("n_inputs", est.n_features_in_)
    if X.shape[1] != n_in:
        raise ConfigError(f"{points} has {X.shape[1]} columns ({', '.join(header)}); the model "
                          f"takes {n_in} inputs")
    out_cols = [*header, "prediction"]
    has_proba = hasattr(est, "classes_") and hasattr(est, "predict_proba")
    if has_proba:
        out_cols += [f"p_{c}" for c in np.asarray(est.classes_).tolist()]
    with atomic_file(output) as f:
        text = io.TextIOWrapper(f, encoding="utf-8", newline="")  # writes through as it fills
        w = csv.writer(text, lineterminator="\n")
        w.writerow(out_cols)
        for start in range(0, len(X), _CHUNK_ROWS):
            Xc = X[start:start + _CHUNK_ROWS]
            Xm = apply_preprocess(pre, Xc) if pre else Xc
            pred = np.asarray(est.predict(Xm))
            proba = np.asarray(est.predict_proba(Xm)) if has_proba else None
            for i in range(len(Xc)):
                row = [repr(float(v)) for v in Xc[i]] + [
                    pred[i].item() if hasattr(pred[i], "item") else pred[i]]
                if proba is not None:
                    row += [f"{p:.6g}" for p in proba[i]]
                w.writerow(row)
        text.flush()
        text.detach()  # (atomic_file syncs and closes the file itself)
    return len(X)


__all__ = ["eval_run", "load_model", "predict_file", "read_points"]
