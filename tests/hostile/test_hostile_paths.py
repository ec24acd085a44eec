"""Paths a user may hand a command that are not plain files: a FIFO, a device, a link, a
folder, a file that grows while it is read, a points file of millions of columns."""

from __future__ import annotations

import os
import stat
import sys
import time

import numpy as np
import pytest

from neuralab._atomic import output_file
from neuralab.cli import main
from neuralab.exceptions import DataError
from neuralab.experiments import evaluate
from neuralab.experiments.config import ConfigError, parse_config
from neuralab.experiments.run import resume_run, run_experiment
from neuralab.models import MLPClassifier


@pytest.fixture
def model(tmp_path):
    X = np.random.default_rng(0).normal(size=(60, 2))
    est = MLPClassifier(hidden=(3,), epochs=1, random_state=0).fit(X, (X[:, 0] > 0).astype(int))
    est.save(tmp_path / "model.npz")
    (tmp_path / "points.csv").write_text("a,b\n0.5,1\n", encoding="utf-8")
    return tmp_path / "model.npz"


def error_line(capsys, rc: int) -> str:
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
def test_an_output_that_is_a_fifo_is_refused_not_replaced(tmp_path, model, capsys,
                                                          monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    os.mkfifo(tmp_path / "out.csv")
    line = error_line(capsys, main(["predict", str(model), "points.csv", "-o", "out.csv"]))
    assert "-o out.csv is a FIFO (named pipe), not a file" in line
    assert (tmp_path / "out.csv").is_fifo()  # still the user's FIFO
    os.mkfifo(tmp_path / "pic.png")
    line = error_line(capsys, main(["data", "show", "moons", "-o", "pic.png"]))
    assert "is a FIFO (named pipe), not a file" in line and (tmp_path / "pic.png").is_fifo()


def device(tmp_path):
    """A null device in ``tmp_path`` (never /dev/null itself: were the check gone, a test
    writing there as root would replace the machine's /dev/null with a plain file)."""
    node = tmp_path / "null"
    try:
        os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except (PermissionError, AttributeError, OSError):
        pytest.skip("making a device node needs root")
    return node


def test_an_output_that_is_a_device_is_refused(tmp_path) -> None:
    # -o /dev/null as root: replaced by a plain file, it would break every program
    null = device(tmp_path)
    with pytest.raises(ValueError, match=r"-o .*null is a device, not a file"):
        output_file(null)
    (tmp_path / "null.html").symlink_to(null)
    with pytest.raises(ValueError, match=r"null is a device, not a file"):
        output_file(tmp_path / "null.html", create=True)
    assert null.is_char_device()


def test_an_output_link_is_kept_and_its_file_written(tmp_path, model, monkeypatch,
                                                     capsys) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "keep").mkdir()
    (tmp_path / "keep" / "pred.csv").write_text("old\n", encoding="utf-8")
    (tmp_path / "link.csv").symlink_to(tmp_path / "keep" / "pred.csv")
    assert main(["predict", str(model), "points.csv", "-o", "link.csv"]) == 0
    assert (tmp_path / "link.csv").is_symlink()
    assert (tmp_path / "keep" / "pred.csv").read_text(encoding="utf-8").startswith(
        "a,b,prediction")


def test_a_points_file_of_millions_of_columns_is_refused_at_its_first_row(tmp_path,
                                                                          model) -> None:
    wide = tmp_path / "wide.csv"
    wide.write_text(",".join(["1"] * 2_000_000) + "\n" + ",".join(["1"] * 2_000_000) + "\n",
                    encoding="utf-8")
    start = time.perf_counter()
    with pytest.raises(ConfigError) as info:
        evaluate.predict_file(model, wide, tmp_path / "out.csv")
    assert str(info.value) == (f"{wide} has 2000000 columns (x1, x2, x3, x4, x5, x6, x7, x8, "
                               "x9, x10, ...); the model takes 2 inputs")
    assert time.perf_counter() - start < 15  # it was 25 s and 1.3 GB for 7 million
    (tmp_path / "named.csv").write_text("a,b,c\n1,2,3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"has 3 columns \(a, b, c\); the model takes 2"):
        evaluate.predict_file(model, tmp_path / "named.csv", tmp_path / "out.csv")


def test_a_points_file_that_grows_while_read_stops_at_the_size_limit(tmp_path,
                                                                     monkeypatch) -> None:
    points = tmp_path / "growing.csv"
    points.write_text("a,b\n1,2\n", encoding="utf-8")
    monkeypatch.setattr(evaluate, "MAX_POINTS_BYTES", 1000)
    opened = evaluate.open_regular

    def open_then_grow(*args, **kwargs):
        f = opened(*args, **kwargs)  # checked at 8 bytes; then someone appends
        with open(points, "a", encoding="utf-8") as g:
            g.write("1,2\n" * 5000)
        return f

    monkeypatch.setattr(evaluate, "open_regular", open_then_grow)
    with pytest.raises(DataError, match=r"growing\.csv grew past 1,000 bytes while it was "
                                        r"read \(line 251\)"):
        evaluate.read_points(points)


@pytest.mark.skipif(not hasattr(os, "mkfifo") or sys.platform == "win32", reason="no FIFOs")
def test_resume_of_something_that_is_not_a_folder_says_what_it_is(tmp_path) -> None:
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"fifo is a FIFO \(named pipe\), not a run folder"):
        resume_run(tmp_path / "fifo")
    with pytest.raises(ConfigError, match=r"file is a file, not a run folder"):
        resume_run(tmp_path / "file")
    with pytest.raises(ConfigError, match=r"run folder .*nothing does not exist"):
        resume_run(tmp_path / "nothing")


def test_a_run_still_trains_and_predicts_into_plain_files(tmp_path) -> None:
    cfg = parse_config({"data": {"name": "moons", "options": {"n": 100}},
                        "model": {"kind": "mlp", "hidden": [3]}, "train": {"epochs": 1},
                        "output": {"dir": str(tmp_path), "name": "r", "plots": False}})
    run_dir = run_experiment(cfg, quiet=True).run_dir
    (tmp_path / "p.csv").write_text("x1,x2\n0.1,0.2\n", encoding="utf-8")
    assert evaluate.predict_file(run_dir, tmp_path / "p.csv", tmp_path / "o.csv") == 1


def test_an_unwritable_output_folder_names_the_file_not_a_temporary(tmp_path, model,
                                                                    monkeypatch,
                                                                    capsys) -> None:
    import errno
    import tempfile

    def denied(*args, **kwargs):  # what mkstemp raises in a read-only folder (not as root)
        raise PermissionError(errno.EACCES, "Permission denied",
                              str(tmp_path / ".out.csv.abcd1234.tmp"))

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    monkeypatch.chdir(tmp_path)
    line = error_line(capsys, main(["predict", str(model), "points.csv", "-o", "out.csv"]))
    assert line == "neuralab: error: out.csv: Permission denied\n"


def test_a_points_file_saved_with_a_byte_order_mark_keeps_its_first_point(tmp_path,
                                                                          model) -> None:
    # Excel's "CSV UTF-8" starts with a BOM: "\ufeff0.5" is not a number, so the first
    # point was taken for a header of names and silently dropped
    points = tmp_path / "bom.csv"
    points.write_bytes(b"\xef\xbb\xbf0.5,1\n-1,2\n")
    header, X = evaluate.read_points(points)
    assert header == ["x1", "x2"] and X.tolist() == [[0.5, 1.0], [-1.0, 2.0]]
    points.write_bytes(b"\xef\xbb\xbfa,b\n0.5,1\n")
    assert evaluate.read_points(points)[0] == ["a", "b"]


class Overflowing:
    """A regressor whose arithmetic overflows for large inputs, as a network's does."""

    n_features_in_ = 2

    def predict(self, X: np.ndarray) -> np.ndarray:
        return X[:, 0] * 1e308 - X[:, 1] * 1e308  # inf - inf = nan, with NumPy warnings


def test_points_that_overflow_the_model_are_one_error_not_warnings_and_nan(
        tmp_path, monkeypatch, capsys) -> None:
    import warnings

    monkeypatch.setattr(evaluate, "load_model", lambda path: Overflowing())
    points = tmp_path / "points.csv"
    points.write_text("a,b\n0.5,0.25\n1e10,1e10\n", encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning would be two lines on stderr
        with pytest.raises(ConfigError, match=r"points\.csv: point 2 \(1e\+10, 1e\+10\) "
                                              r"overflows the model"):
            evaluate.predict_file(tmp_path / "model.npz", points, tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()  # no file of NaN predictions
    assert list(tmp_path.iterdir()) == [points]  # nor a temporary one


def test_no_atomic_write_replaces_a_fifo_or_a_device(tmp_path) -> None:
    from neuralab._atomic import atomic_file
    from neuralab.data import Dataset
    from neuralab.data.files import save_npz

    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "data.npz")
        ds = Dataset(X=np.zeros((2, 2)), y=np.zeros(2, dtype=np.int64), name="d",
                     task="classification")
        with pytest.raises(ValueError, match=r"data\.npz is a FIFO \(named pipe\), not a file"):
            save_npz(ds, tmp_path / "data.npz")
        assert (tmp_path / "data.npz").is_fifo() and len(list(tmp_path.iterdir())) == 1
    null = device(tmp_path)
    with pytest.raises(ValueError, match=r"null is a device, not a file"):
        with atomic_file(null):  # refused before anything is created
            pass
    assert null.is_char_device()
