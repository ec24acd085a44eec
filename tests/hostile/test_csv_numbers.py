"""One CSV number reader (neuralab.data.files.csv_numbers) for data files and points files,
with each file kind's own error wording and limits."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from neuralab.data import files
from neuralab.data.files import NotANumber, csv_numbers, load_csv
from neuralab.exceptions import DataError
from neuralab.experiments import evaluate
from neuralab.experiments.config import ConfigError


def test_csv_numbers_reads_like_float_and_names_the_first_bad_cell() -> None:
    rows = [["1", " 2 ", "1_000"], ["-0", "inf", "1e999"]]
    X = csv_numbers(rows)
    assert X.dtype == np.float64 and X.shape == (2, 3)
    assert X.tolist() == [[1.0, 2.0, 1000.0], [-0.0, np.inf, np.inf]]
    assert csv_numbers(rows, [2, 0], np.float32).tolist() == [[1000.0, 1.0], [np.inf, -0.0]]
    with pytest.raises(NotANumber) as info:
        csv_numbers([["1", "2"], ["3", "x,y"]])
    assert (info.value.row, info.value.column, info.value.text) == (1, 1, "x,y")
    assert csv_numbers([]).shape == (0, 0)


def test_points_files_and_data_files_share_the_one_reader(tmp_path, monkeypatch) -> None:
    calls = []

    def spy(rows, columns=None, dtype=np.float64):
        calls.append(len(rows))
        return csv_numbers(rows, columns, dtype)

    monkeypatch.setattr(files, "csv_numbers", spy)
    monkeypatch.setattr(evaluate, "csv_numbers", spy)
    points = tmp_path / "points.csv"
    points.write_text("a,b\n1,2\n3,4\n", encoding="utf-8")
    data = tmp_path / "data.csv"
    data.write_text("x1,x2,label\n1,2,a\n3,4,b\n5,6,a\n", encoding="utf-8")
    header, X = evaluate.read_points(points)
    ds = load_csv(data)
    assert header == ["a", "b"] and X.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert ds.X.tolist() == [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
    assert calls == [2, 3]  # each file through the shared reader, once per chunk


def test_each_file_kind_keeps_its_error_wording(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(files, "_CHUNK_ROWS", 4)  # the bad value in a later chunk
    good = "".join(f"{i},{i}\n" for i in range(9))
    points = tmp_path / "points.csv"
    points.write_text("a,b\n" + good + '1,"two,2"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"points\.csv line 11 holds a value that is not a "
                                          r"number: 'two,2'$"):
        evaluate.read_points(points)
    points.write_text("a,b\n" + good + "1,nan\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"points\.csv contains NaN or infinite values"):
        evaluate.read_points(points)
    data = tmp_path / "data.csv"
    labelled = "".join(f"{i},{i},0\n" for i in range(9))
    data.write_text("x1,x2,label\n" + labelled + "1,oops,1\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"data\.csv, line 11, column 'x2': 'oops' is not a "
                                        r"number$"):
        load_csv(data)
    data.write_text("x1,x2,label\n" + labelled + "1e39,1,1\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"line 11, column 'x1': '1e39' is not a finite "
                                        r"float32 number"):
        load_csv(data)


@pytest.mark.parametrize("kind", ["data", "points"])
def test_a_wide_file_is_parsed_in_fewer_rows_at_a_time(tmp_path, monkeypatch, kind) -> None:
    """Rows wait as text (some 50 bytes a cell) until their chunk is parsed: a chunk is a
    number of cells, not only of rows, so 1,000 columns do not hold 65 million cells."""
    monkeypatch.setattr(files, "_CHUNK_VALUES", 20_000)  # 100 rows of 200 cells
    path = tmp_path / f"{kind}.csv"
    cells = ",".join(["0.25"] * 200)
    with open(path, "w", encoding="utf-8") as f:
        f.write(",".join(f"c{i}" for i in range(200)) + (",label\n" if kind == "data" else "\n"))
        f.writelines(cells + (f",{i % 2}\n" if kind == "data" else "\n") for i in range(3000))
    tracemalloc.start()
    try:
        X = load_csv(path).X if kind == "data" else evaluate.read_points(path)[1]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert X.shape == (3000, 200) and (X == 0.25).all()
    # the values are 2.4 MB (float32) or 4.8 MB; 3,000 rows of text held at once are ~35 MB
    assert peak < 12 * 2**20, f"{peak / 2**20:.0f} MiB"
