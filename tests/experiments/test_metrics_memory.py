"""A run's metrics.csv is read a column at a time into float arrays: ``neuralab report`` of a
run with millions of rows holds 8 bytes a number, not a dict a row; what is read is the same."""

from __future__ import annotations

import csv
import math
import shutil
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from run_helpers import small_config

from neuralab import _metrics_csv
from neuralab._metrics_csv import read_metric_columns
from neuralab.experiments.config import parse_config
from neuralab.experiments.run import run_experiment
from neuralab.report import load_run


def reference(path: Path) -> tuple[list[str], list[dict[str, Any]]]:
    """metrics.csv as it was read before: one dict per row."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        columns = next(reader)
        rows = []
        for values in reader:
            if len(values) != len(columns):
                continue
            row: dict[str, Any] = {}
            for c, v in zip(columns, values, strict=True):
                if c in _metrics_csv.TEXT_COLUMNS:
                    row[c] = v
                    continue
                try:
                    row[c] = float(v) if v != "" else math.nan
                except ValueError:
                    row[c] = v
            rows.append(row)
    return columns, rows


def metric_rows(columns: list[str], data: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """The columns read back as one dict per row, to compare with :func:`reference`."""
    names = list(dict.fromkeys(columns))
    return [dict(zip(names, row, strict=True))
            for row in zip(*(data[c].tolist() for c in names), strict=True)]


def same(a: Any, b: Any) -> bool:
    """Equal, NaN equal to NaN, a float never equal to a text."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return type(a) is type(b) and a == b


def same_rows(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> bool:
    return len(a) == len(b) and all(
        list(x) == list(y) and all(same(x[k], y[k]) for k in x) for x, y in zip(a, b, strict=True))


@pytest.fixture
def odd_metrics(tmp_path) -> Path:
    path = tmp_path / "metrics.csv"
    path.write_text(
        "epoch,classifier,train_loss,val_acc,note,train_loss\n"
        "1,0,0.5,,x,0.25\n"
        "2,1,nan,0.75,,1e999\n"
        "3,a b,0.1, 0.5 ,3,-0\n"
        '4,"c,d",0.2,0.9,"q""uote",2\n'
        "5,0,0.3", encoding="utf-8")  # a torn last line
    return path


@pytest.mark.parametrize("chunk", [1, 2, 65_536])
def test_columns_hold_what_the_rows_held(odd_metrics, monkeypatch, chunk) -> None:
    monkeypatch.setattr(_metrics_csv, "_CHUNK_ROWS", chunk)
    columns, data = read_metric_columns(odd_metrics)
    assert columns == ["epoch", "classifier", "train_loss", "val_acc", "note", "train_loss"]
    assert list(data) == ["epoch", "classifier", "train_loss", "val_acc", "note"]
    assert data["epoch"].dtype == np.float64 and data["epoch"].tolist() == [1, 2, 3, 4]
    assert data["classifier"].tolist() == ["0", "1", "a b", "c,d"]  # labels stay text
    assert data["train_loss"].tolist()[:2] == [0.25, math.inf]  # the last of twin columns
    assert data["note"].tolist()[0] == "x" and math.isnan(data["note"][1])
    assert same_rows(metric_rows(columns, data), reference(odd_metrics)[1])


def test_a_run_reads_back_as_float_columns(tmp_path) -> None:
    result = run_experiment(parse_config(small_config(tmp_path, output={"plots": False})),
                            quiet=True)
    run = load_run(result.run_dir)
    columns, rows = reference(result.run_dir / "metrics.csv")
    assert run.columns == columns and len(rows) == 20
    assert all(run.metrics[c].dtype == np.float64 and len(run.metrics[c]) == 20
               for c in columns)
    assert same_rows(metric_rows(run.columns, run.metrics), rows)


def test_a_large_metrics_file_takes_little_memory(tmp_path) -> None:
    result = run_experiment(parse_config(small_config(tmp_path, output={"plots": False},
                                                      train={"epochs": 3})), quiet=True)
    big = tmp_path / "big"
    shutil.copytree(result.run_dir, big)
    n = 100_000
    rng = np.random.default_rng(0)
    with open(big / "metrics.csv", "w", encoding="utf-8") as f:
        f.write("step,epoch,lr,train_loss,train_acc,test_loss,test_acc,seconds\n")
        for i, r in enumerate(rng.random((n, 4)).tolist()):
            f.write(f"{i * 3},{i + 1},0.1,{r[0]!r},{r[1]!r},{r[2]!r},{r[3]!r},0.5\n")
    tracemalloc.start()
    try:
        run = load_run(big)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(run.metrics["test_acc"]) == n
    # 8 columns x 100,000 float64 = 6.4 MB; one dict a row held about 90 MB
    assert peak < 25 * 2**20, f"{peak / 2**20:.0f} MiB"


@pytest.mark.parametrize("text, error", [
    (",".join(f"c{i}" for i in range(2000)) + "\n" + ",".join(["1"] * 2000) + "\n",
     "header has 2,000 columns; a metrics file has at most 1,000"),
    ("step,epoch\n1," + "2" * (2**20 + 10) + "\n", "line 2 is longer than 1,048,576"),
])
def test_a_metrics_file_of_absurd_width_is_refused_before_it_is_split(tmp_path, text,
                                                                      error) -> None:
    path = tmp_path / "metrics.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=error):
        read_metric_columns(path)
