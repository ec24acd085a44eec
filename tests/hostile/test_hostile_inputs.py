"""A second round of hostile input (after issue #10): what an error line echoes to a
terminal, CSV files too large to hold, ambiguous columns, splits whose classes the training
split lacks, and paths that are something other than what a command expects."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from cli_helpers import one_error_line
from neuralab.cli import main
from neuralab.cli._app import _one_line
from neuralab.data import files
from neuralab.data.files import load_csv
from neuralab.exceptions import DataError

_error = one_error_line


# -- the terminal ---------------------------------------------------------------------------
def test_an_error_line_never_sends_escape_codes_to_the_terminal(here, capsys):
    # a key in someone else's config that would turn the terminal red, ring it and erase
    (here / "evil.toml").write_text('[train]\n"\\u001b[31mevil\\u0007\\u0008" = 1\n')
    line = _error(capsys, main(["train", "evil.toml"]))
    assert not any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in line), repr(line)
    assert "train.\\x1b[31mevil\\x07\\x08" in line


def test_one_line_escapes_control_and_direction_characters_but_keeps_text():
    assert _one_line("a\x1b[2J\x9b\x00b") == "a\\x1b[2J\\x9b\\x00b"
    assert _one_line("file \u202egnp.exe") == "file \\u202egnp.exe"  # reads as "exe.png"
    assert _one_line("données 日本\n\tnext") == "données 日本 next"


# -- CSV files --------------------------------------------------------------------------------
def _write_csv(path: Path, n: int, bad_line: int | None = None) -> Path:
    rows = [f"{i * 0.5},{-i},{'ab'[i % 2]}" for i in range(n)]
    if bad_line is not None:
        rows[bad_line - 2] = "1,oops,a"
    path.write_text("x1,x2,label\n" + "\n".join(rows) + "\n")
    return path


def test_csv_read_in_chunks_is_the_same_and_names_the_right_line(tmp_path, monkeypatch):
    path = _write_csv(tmp_path / "d.csv", 50)
    whole = load_csv(path)
    monkeypatch.setattr(files, "_CHUNK_ROWS", 7)
    chunked = load_csv(path)
    np.testing.assert_array_equal(whole.X, chunked.X)
    np.testing.assert_array_equal(whole.y, chunked.y)
    assert chunked.class_names == ("a", "b") and chunked.X.shape == (50, 2)
    with pytest.raises(DataError, match=r"line 40, column 'x2': 'oops' is not a number"):
        load_csv(_write_csv(tmp_path / "bad.csv", 50, bad_line=40))
    (tmp_path / "inf.csv").write_text("x1,label\n" + "1,0\n" * 20 + "1e39,1\n")
    with pytest.raises(DataError, match=r"line 22, column 'x1': '1e39' is not a finite float32"):
        load_csv(tmp_path / "inf.csv")


def test_a_csv_too_large_to_hold_is_refused_while_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "MAX_CSV_ROWS", 100)
    with pytest.raises(DataError, match=r"more than 100 rows .*line 102.*save a larger data "
                                        r"set as \.npz"):
        load_csv(_write_csv(tmp_path / "rows.csv", 150))
    load_csv(_write_csv(tmp_path / "ok.csv", 100))  # the limit itself is allowed
    monkeypatch.setattr(files, "MAX_CSV_VALUES", 50)
    with pytest.raises(DataError, match=r"50 values \(line 27, 3 columns\)"):
        load_csv(_write_csv(tmp_path / "values.csv", 30))


def test_a_line_of_megabytes_is_refused_before_it_is_split(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "MAX_CSV_LINE", 1000)
    (tmp_path / "long.csv").write_text("x1,label\n" + "1," * 600 + "1\n")
    with pytest.raises(DataError, match=r"long\.csv, line 2 is longer than 1,000 characters"):
        load_csv(tmp_path / "long.csv")


def test_a_label_column_named_twice_is_refused(tmp_path):
    (tmp_path / "twice.csv").write_text("label,x,label\n1,2,0\n3,4,1\n")
    with pytest.raises(DataError, match=r"2 columns named 'label' \(columns 1, 3\)"):
        load_csv(tmp_path / "twice.csv")
    assert load_csv(tmp_path / "twice.csv", label=2).y.tolist() == [0, 1]  # by index: clear


def test_header_only_and_empty_csvs_still_say_what_is_missing(tmp_path):
    (tmp_path / "h.csv").write_text("x1,label\n")
    (tmp_path / "e.csv").write_text("")
    with pytest.raises(DataError, match="at least one data row; found 1"):
        load_csv(tmp_path / "h.csv")
    with pytest.raises(DataError, match="at least one data row; found 0"):
        load_csv(tmp_path / "e.csv")


# -- splits -----------------------------------------------------------------------------------
def test_a_class_the_training_split_lacks_is_refused_before_a_run_folder(here, capsys):
    # five training digits cannot hold ten classes: the test split has classes never trained
    rc = main(["train", "--data", "digits", "--set", "data.n_train=5", "--quick",
               "--out", "runs"])
    line = _error(capsys, rc)
    assert "the test split of 'digits' holds" in line and "that the training split lacks" in line
    assert not (here / "runs").exists()


# -- paths that are something else ----------------------------------------------------------
def test_a_path_is_named_as_what_it_is(here, capsys):
    (here / "points.csv").write_text("x1,label\n1,0\n")
    os.mkfifo(here / "fifo")
    assert "fifo is a FIFO (named pipe), not a run folder" in _error(
        capsys, main(["report", "fifo", "-o", "r.html"]))
    assert "points.csv is a file, not a run folder" in _error(
        capsys, main(["report", "points.csv", "-o", "r.html"]))
    assert "data folder points.csv is a file, not a folder" in _error(
        capsys, main(["train", "--data", "mnist", "--root", "points.csv", "--offline"]))
    assert "data file fifo is a FIFO (named pipe)" in _error(
        capsys, main(["train", "--data", "csv", "--path", "fifo"]))
    assert "data file runs does not exist" in _error(
        capsys, main(["train", "--data", "csv", "--path", "runs"]))
    assert not (here / "runs").exists()



# -- predict ----------------------------------------------------------------------------------
def test_predict_reads_and_writes_points_in_chunks(here, capsys, monkeypatch):
    from neuralab.experiments import evaluate

    assert main(["train", "--quick", "--no-plots", "--out", "runs", "--quiet"]) == 0
    run = str(next((here / "runs").iterdir()))
    (here / "p.csv").write_text("x1,x2\n" + "".join(f"{i / 10},{-i / 7}\n" for i in range(40)))
    assert main(["predict", run, "p.csv", "-o", "whole.csv"]) == 0
    monkeypatch.setattr(evaluate, "_CHUNK_ROWS", 6)
    assert main(["predict", run, "p.csv", "-o", "chunked.csv"]) == 0
    whole = (here / "whole.csv").read_text()
    assert (here / "chunked.csv").read_text() == whole and len(whole.splitlines()) == 41
    # a bad value is named by its line in the file (a blank line counts), not its row
    (here / "bad.csv").write_text("x1,x2\n\n" + "1,2\n" * 20 + "1,two\n")
    capsys.readouterr()
    line = _error(capsys, main(["predict", run, "bad.csv", "-o", "b.csv"]))
    assert "bad.csv line 23 holds a value that is not a number: 'two'" in line
    assert not (here / "b.csv").exists()


def test_a_path_of_bytes_that_are_not_utf8_is_refused_before_any_folder(here, capsys):
    # a folder name in Latin-1 reaches Python as a lone surrogate; config.toml cannot hold it
    line = _error(capsys, main(["train", "--quick", "--out", "r\udcffuns"]))
    assert "output.dir='r\\udcffuns' is not allowed: it holds bytes that are not UTF-8" in line
    assert os.listdir(here) == []


def test_a_dotted_key_of_thousands_of_parts_is_refused_at_once(here, capsys):
    """tomllib takes quadratic time on ``[a.a.a. …]``: 64 KiB took 1.8 s and 1 MiB minutes
    before the depth check could run; it is now refused before parsing."""
    import time

    (here / "deep.toml").write_text("[" + ".".join(["a"] * 100_000) + "]\n")
    t0 = time.perf_counter()
    err = _error(capsys, main(["config", "show", "deep.toml"]))
    assert time.perf_counter() - t0 < 1.0 and "more than 32 deep" in err
    legit = '[data]\nname = "moons"\n[model]\nkind = "mlp"\n[output]\nname = "v1.2.3.a.b"\n'
    (here / "ok.toml").write_text(legit)
    assert main(["config", "show", "ok.toml"]) == 0


def test_a_config_saved_with_a_byte_order_mark_reads(here, capsys):
    """Windows Notepad starts UTF-8 with a BOM; it was 'not valid TOML (line 1, column 1)'."""
    (here / "bom.toml").write_bytes(b'\xef\xbb\xbf[model]\nkind = "mlp"\nhidden = [7]\n')
    assert main(["config", "show", "bom.toml"]) == 0
    assert "hidden = [7]" in capsys.readouterr().out


def test_a_hundred_thousand_hidden_layers_are_refused_not_built(here, capsys):
    (here / "layers.toml").write_text("[model]\nkind = \"mlp\"\nhidden = ["
                                      + ", ".join(["5"] * 100_000) + "]\n")
    err = _error(capsys, main(["train", "layers.toml"]))
    assert "at most 1,000 integers" in err and not (here / "runs").exists()
    from neuralab.models import MLPClassifier

    with pytest.raises(ValueError, match="at most 1,000"):
        MLPClassifier(hidden=[5] * 1001).fit(np.zeros((4, 2)), [0, 1, 0, 1])


def test_a_split_of_a_hundred_thousand_classes_and_their_scatter_are_quick():
    """An ID column taken as the label: the stratified split grouped classes with one pass
    per class (10⁵: 4.9 s), the scatter drew a series per class (minutes)."""
    import time

    from neuralab.data import Dataset
    from neuralab.data.plot import plot_points
    from neuralab.data.prepare import split_indices

    y = np.arange(30_000)
    t0 = time.perf_counter()
    rest, test = split_indices(y, len(y), (6_000,), seed=0)
    assert len(test) == 6_000 and len(np.intersect1d(rest, test)) == 0
    X = np.random.default_rng(0).normal(size=(len(y), 2))
    fig = plot_points(Dataset(X, y, name="ids", task="classification"))
    assert time.perf_counter() - t0 < 10 and fig.axes[0].get_legend() is None
