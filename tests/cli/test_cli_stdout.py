"""A closed stdout (``>&-``) and a reader that leaves (``| head -1``), for every kind of
command: never a traceback. A command whose output is stdout fails with one line (exit 1);
one whose results are files writes them; a broken pipe ends quietly (exit 1)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from neuralab.experiments.config import parse_config
from neuralab.experiments.run import run_experiment

LEAKY = Path(__file__).resolve().parents[2] / "examples/cs324/000-leaky-relu.study.toml"
ENV = {**os.environ, "NEURALAB_OFFLINE": "1", "MPLBACKEND": "Agg", "COLUMNS": "80"}


def closed_stdout(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """``neuralab ARGS >&-``."""
    return subprocess.run([sys.executable, "-m", "neuralab", *args], cwd=cwd, env=ENV,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          preexec_fn=lambda: os.close(1), timeout=300)


def reader_gone(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """``neuralab ARGS | head -0``: the pipe's reader has left before anything is written."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run([sys.executable, "-m", "neuralab", *args], cwd=cwd, env=ENV,
                              stdout=write, stderr=subprocess.PIPE, text=True, timeout=300)
    finally:
        os.close(write)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs")
    cfg = parse_config({"data": {"name": "moons", "options": {"n": 200}},
                        "model": {"kind": "mlp", "hidden": [4]}, "train": {"epochs": 3},
                        "output": {"dir": str(out), "name": "r", "plots": False}})
    return run_experiment(cfg, quiet=True).run_dir


STDOUT_ONLY = [[], ["--help"], ["train", "--help"], ["study", "--help"], ["data"],
               ["data", "list"], ["config", "show"]]


@pytest.mark.parametrize("args", STDOUT_ONLY, ids=" ".join)
def test_output_to_a_closed_stdout_is_one_line_and_exit_1(tmp_path, args) -> None:
    proc = closed_stdout(*args, cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("neuralab: error: standard output is closed (>&-)")


def test_commands_whose_results_are_files_write_them_with_stdout_closed(tmp_path,
                                                                       finished_run) -> None:
    points = tmp_path / "points.csv"
    points.write_text("a,b\n0.5,1\n-1,2\n", encoding="utf-8")
    runs = [
        ["predict", str(finished_run), str(points), "-o", "pred.csv"],
        ["report", str(finished_run), "-o", "report.html"],
        ["eval", str(finished_run)],
        ["data", "show", "moons", "-o", "moons.png"],
        ["train", "--data", "moons", "--hidden", "4", "--epochs", "2", "--out", "runs",
         "--no-plots", "-q"],
        ["study", str(LEAKY), "--quick", "--out", "studies", "--no-plots", "-q"],
    ]
    for args in runs:
        proc = closed_stdout(*args, cwd=tmp_path)
        assert proc.returncode == 0 and proc.stderr == "", (args, proc.stderr)
    assert (tmp_path / "pred.csv").read_text(encoding="utf-8").count("\n") == 3
    assert (tmp_path / "report.html").stat().st_size > 0
    assert (tmp_path / "moons.png").read_bytes().startswith(b"\x89PNG")
    (run,) = (tmp_path / "runs").iterdir()
    # the run's files are whole: none of them became fd 1 and took a stray write
    metrics = (run / "metrics.csv").read_text(encoding="utf-8").splitlines()
    assert metrics[0].startswith("step,epoch") and len(metrics) == 3
    assert np.load(run / "model.npz", allow_pickle=False).files
    (study,) = (tmp_path / "studies").iterdir()  # its table went nowhere; the folder is whole
    assert (study / "runs.csv").is_file() and (study / "summary.json").is_file()


@pytest.mark.parametrize("args", [["data", "list"], ["--help"], ["config", "show"],
                                  ["train", "--resume", "RUN"]], ids=" ".join)
def test_a_reader_that_leaves_ends_the_command_quietly(tmp_path, finished_run, args) -> None:
    args = [str(finished_run) if a == "RUN" else a for a in args]
    proc = reader_gone(*args, cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr == ""  # no "Exception ignored ... BrokenPipeError" at exit
