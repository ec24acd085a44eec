"""Everything a user's input or environment can cause ends as one line: exit code 2 for the
input, 1 for the machine (or a bug), never a traceback; and checks come before any file is
written."""

from __future__ import annotations

import errno
import json
import shutil
from pathlib import Path

import pytest
from fault_helpers import write_config

from cli_helpers import one_error_line
from neuralab.cli import main
from neuralab.cli._app import _classify

_error = one_error_line


def _no_runs(folder: Path) -> None:
    assert not folder.exists() or not any(folder.iterdir()), list(folder.iterdir())


@pytest.mark.parametrize(("argv", "expected"), [
    (["--out", "a" * 300], "output.dir 'aaaa"),
    (["--set", "model.hidden=" + "[" * 20_000 + "]" * 20_000],
     "--set model.hidden: the value nests lists or tables more than 32 deep"),
    (["--set", "optim.schedule='step'", "--set", "optim.schedule_params={step_size = 0}"],
     "optim.schedule_params.step_size=0 is not allowed; it must be an integer > 0"),
    (["--set", "optim.schedule='cosine'", "--set", "optim.schedule_params={T_max = 0}"],
     "optim.schedule_params.T_max=0 is not allowed"),
    (["--set", "optim.schedule='exponential'", "--set", "optim.schedule_params={gamma = nan}"],
     "optim.schedule_params.gamma=nan is not allowed"),
    (["--set", "data.options.n=1000000000000"], "data.options.n=1000000000000: "),
    (["--set", 'output.name="abc\\n"'], "output.name='abc\\n' is not allowed"),
])
def test_bad_settings_are_one_line_before_any_folder(argv, expected, here, capsys):
    line = _error(capsys, main(["train", "--quiet", *argv]))
    assert expected in line, line
    _no_runs(here / "runs")


def test_a_network_too_large_for_memory_is_refused_before_the_folder(here, capsys,
                                                                     monkeypatch):
    import neuralab.experiments.prepare as prepare

    monkeypatch.setattr(prepare, "available_memory", lambda: 16 * 2**30)
    line = _error(capsys, main(["train", "--hidden", "100000,100000", "--quiet"]))
    assert "model.hidden=[100000, 100000]" in line and "74.5 GiB" in line, line
    assert "16.0 GiB" in line
    _no_runs(here / "runs")
    # what does fit is not refused
    assert main(["train", "--hidden", "20", "--epochs", "2", "--quiet"]) == 0


def test_a_deeply_nested_config_file_is_one_line(here, capsys):
    (here / "deep.toml").write_text("[model]\nhidden = " + "[" * 5000 + "]" * 5000 + "\n")
    assert "nests lists or tables" in _error(capsys, main(["train", "deep.toml"]))
    (here / "big.toml").write_text("# " + "x" * 2**21 + "\n")
    assert "is over 1,048,576 bytes" in _error(capsys, main(["config", "show", "big.toml"]))


def test_data_show_of_a_huge_sample_count_is_one_line(here, capsys):
    rc = main(["data", "show", "moons", "--set", "n=1000000000000"])
    _error(capsys, rc)


def test_output_files_are_checked(here, capsys):
    cfg = write_config(here / "f.toml", here / "runs", epochs=3)
    assert main(["train", str(cfg), "--quiet"]) == 0
    run = next((here / "runs").iterdir())
    capsys.readouterr()
    line = _error(capsys, main(["report", str(run), "-o", "/etc/passwd/x.html"]))
    assert "/etc/passwd is not a folder" in line
    (here / "points.csv").write_text("x1,x2\n0.1,0.2\n")
    line = _error(capsys, main(["predict", str(run), "points.csv", "-o",
                                str(here / "nonexistent_dir" / "x.csv")]))
    assert "nonexistent_dir does not exist" in line
    assert not (here / "nonexistent_dir").exists()
    # a CSV field over the csv module's 128 KB limit: the file and line are named
    (here / "huge.csv").write_text('x1,x2\n"' + "1" * 200_000 + '",2\n')
    line = _error(capsys, main(["predict", str(run), "huge.csv", "-o", "p.csv"]))
    assert "huge.csv line" in line and "field larger than field limit" in line


@pytest.mark.parametrize("summary", ["[]", '{"final": "x"}', '{"best": {"val_acc": 3}}',
                                     "{not json", "[" * 100_000 + "]" * 100_000, b"\xff{}"])
def test_a_malformed_summary_is_one_line_in_report(summary, here, capsys):
    cfg = write_config(here / "f.toml", here / "runs", epochs=3)
    assert main(["train", str(cfg), "--quiet"]) == 0
    run = next((here / "runs").iterdir())
    data = summary if isinstance(summary, bytes) else summary.encode()
    (run / "summary.json").write_bytes(data)
    capsys.readouterr()
    assert "summary.json" in _error(capsys, main(["report", str(run), "-o", "r.html"]))


def test_output_dir_tilde_is_expanded(here, capsys, monkeypatch):
    monkeypatch.setenv("HOME", str(here / "home"))
    cfg = write_config(here / "f.toml", Path("~/runs"), epochs=2)
    assert main(["train", str(cfg), "--quiet"]) == 0
    assert len(list((here / "home" / "runs").iterdir())) == 1
    assert not (here / "~").exists()


def test_resume_cleans_stale_temporary_files(here):
    cfg = write_config(here / "f.toml", here / "runs", epochs=6)
    assert main(["train", str(cfg), "--quiet"]) == 0
    run = next((here / "runs").iterdir())
    (run / "model.npz").unlink()
    stale = [run / ".model.npz.k2j4h5g6.tmp", run / "checkpoints" / ".last.npz.abcdefgh.tmp"]
    for p in stale:
        p.write_bytes(b"half a file")
    assert main(["train", "--resume", str(run), "--quiet"]) == 0
    assert not any(p.exists() for p in stale)


def test_resume_longer_under_a_defaulted_cosine_schedule_is_refused(here, capsys):
    cfg = write_config(here / "f.toml", here / "runs", epochs=6,
                       optim='schedule = "cosine"')
    assert main(["train", str(cfg), "--quiet"]) == 0
    run = next((here / "runs").iterdir())
    before = (run / "config.toml").read_text()
    capsys.readouterr()
    line = _error(capsys, main(["train", "--resume", str(run), "--epochs", "12"]))
    assert "--epochs 12" in line and "T_max is not set" in line
    assert (run / "config.toml").read_text() == before
    # with T_max given, training longer is what a fresh 12-epoch run with that T_max does
    explicit = here / "runs2"
    cfg = write_config(here / "g.toml", explicit, epochs=6,
                       optim='schedule = "cosine"\nschedule_params = {T_max = 12}')
    assert main(["train", str(cfg), "--quiet"]) == 0
    run = next(explicit.iterdir())
    assert main(["train", "--resume", str(run), "--epochs", "12", "--quiet"]) == 0
    assert json.loads((run / "summary.json").read_text())["epochs_trained"] == 12


def test_a_bug_is_one_line_exit_1_and_debug_shows_the_traceback(here, capsys, monkeypatch):
    import neuralab.experiments.evaluate as evaluate

    def broken(*args, **kwargs):
        raise TypeError("boom")

    monkeypatch.setattr(evaluate, "predict_file", broken)
    line = _error(capsys, main(["predict", "m.npz", "p.csv"]), code=1)
    assert "internal error (TypeError: boom)" in line and "NEURALAB_DEBUG=1" in line
    monkeypatch.setenv("NEURALAB_DEBUG", "1")
    assert main(["predict", "m.npz", "p.csv"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and err.strip().splitlines()[-1].startswith("neuralab: error: ")


@pytest.mark.parametrize(("exc", "code", "text"), [
    (OSError(errno.ENOSPC, "No space left on device", "runs/x/model.npz"), 1,
     "runs/x/model.npz: No space left on device (free some space"),
    (OSError(errno.EDQUOT, "Disk quota exceeded", "a.csv"), 1, "a.csv: Disk quota exceeded"),
    (OSError(errno.EIO, "Input/output error"), 1, "Input/output error"),
    (FileNotFoundError(errno.ENOENT, "No such file or directory", "x.toml"), 2,
     "x.toml: No such file or directory"),
    (OSError(errno.ENAMETOOLONG, "File name too long", "a" * 10), 2, "File name too long"),
    (RecursionError("maximum recursion depth exceeded"), 2, "nested too deeply"),
    (MemoryError("Unable to allocate 7.28 TiB"), 2, "out of memory (Unable to allocate"),
    (OverflowError("int too large"), 2, "a number is too large"),
    (ValueError("bad value"), 2, "bad value"),
    (ModuleNotFoundError("No module named 'pandas'", name="pandas"), 1,
     "needs pandas, which is not installed: pip install 'neuralab[studies]'"),
    (ModuleNotFoundError("No module named 'fastapi'", name="fastapi"), 1,
     "pip install 'neuralab[playground]'"),
])
def test_errors_map_to_one_line_and_an_exit_code(exc, code, text):
    message, got = _classify(exc)
    assert got == code and text in message


def test_study_folder_is_locked(tmp_path):
    """A study being run holds its folder: a resume of it at the same time is refused."""
    from neuralab._lock import FolderBusy, lock_folder
    from neuralab.studies.runner import resume_study

    folder = tmp_path / "study"
    folder.mkdir()
    shutil.copy(Path(__file__), folder / "study.toml")  # never read: the lock comes first
    with lock_folder(folder, what="study folder"), pytest.raises(FolderBusy, match="study"):
        resume_study(folder)
