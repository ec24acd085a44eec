"""``neuralab data list / show / get``: pictures, offline use, one-line errors with exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from neuralab.cli import main

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NEURALAB_DATA", str(tmp_path / "cache"))
    monkeypatch.delenv("NEURALAB_MIRROR", raising=False)
    monkeypatch.setenv("NEURALAB_OFFLINE", "1")  # these tests never reach the network


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "NEURALAB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "neuralab", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_list_shows_every_dataset_and_offline_state(capsys):
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    for name in ("moons", "playground-spiral", "digits", "mnist", "octmnist", "mnist1d"):
        assert name in out
    mnist_row = next(line for line in out.splitlines() if " mnist " in line)
    assert "60,000" in mnist_row and mnist_row.rstrip().endswith(" no")
    assert "offline no: `neuralab data get NAME` downloads it" in out
    digits_row = next(line for line in out.splitlines() if " digits " in line)
    assert "yes" in digits_row and "1,797" in digits_row


def test_show_digits_and_moons_write_pngs(tmp_path, capsys):
    assert main(["data", "show", "digits", "-o", str(tmp_path / "d.png")]) == 0
    assert (tmp_path / "d.png").read_bytes()[:8] == PNG
    assert main(["data", "show", "moons", "--noise", "0.2", "-o", str(tmp_path / "m.png")]) == 0
    assert (tmp_path / "m.png").read_bytes()[:8] == PNG
    assert main(["data", "show", "gaussians", "--set", "means=[[0,0],[2,2],[4,0]]",
                 "--set", "covs=0.3", "--seed", "1", "-o", str(tmp_path / "g.svg")]) == 0
    assert b"<svg" in (tmp_path / "g.svg").read_bytes()[:500]
    assert "wrote" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["data", "show", "mons"], "did you mean 'moons'?"),
    (["data", "show", "moons", "--n", "-5"], "n=-5 is not allowed"),
    (["data", "show", "moons", "--noise", "-0.1"], "noise=-0.1 is not allowed"),
    (["data", "show", "gaussians", "--set", "covs=[[1,2],[2,1]]"], "not positive semi-definite"),
    (["data", "show", "digits", "--noise", "0.1"], "digits does not take option 'noise'"),
    (["data", "show", "moons", "--set", "noize=1"], "did you mean 'noise'?"),
    (["data", "show", "moons", "--set", "oops"], "is not key=value"),
    (["data", "show", "moons", "-o", "m.jpg"], "must be a .png, .svg, .pdf file"),
    (["data", "show", "mnist", "--offline"], "is not in"),
    (["data", "get", "mnist", "--offline"], "train-images-idx3-ubyte.gz is not in"),
    (["data", "get", "moons"], "nothing to download"),
    (["data", "get", "octmnst"], "did you mean 'octmnist'?"),
    (["data", "show", "moons", "--split", "test"], "moons has no splits"),
    (["data", "show", "mnist1d", "--split", "val"], "mnist1d has train, test"),
    (["data", "show", "circles", "--set", "factor=1.5"], "factor=1.5 is not allowed"),
    (["data", "show", "moons", "--seed", "true"], "--seed 'true' is not an integer"),
])
def test_bad_input_one_line_exit_2(args, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("neuralab: error: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.slow
def test_subprocess_fresh_process_list_and_show(tmp_path):
    listed = run_cli("data", "list", cwd=tmp_path)
    assert listed.returncode == 0 and "digits" in listed.stdout
    shown = run_cli("data", "show", "digits", "-o", "d.png", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert (tmp_path / "d.png").read_bytes()[:8] == PNG


def test_subprocess_error_is_one_line(tmp_path):
    bad = run_cli("data", "show", "moons", "--n", "-5", cwd=tmp_path)
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "Traceback" not in bad.stderr
    assert bad.stderr.startswith("neuralab: error: n=-5")


def test_show_moons_is_the_data_train_uses(tmp_path, monkeypatch, capsys):
    """`data show moons` and `train --data moons` mean the same 1,000 points (issue 9)."""
    import numpy as np

    from neuralab.data import plot
    from neuralab.experiments.config import load_config
    from neuralab.experiments.prepare import load_splits

    shown = []
    draw = plot.plot_dataset
    monkeypatch.setattr(plot, "plot_dataset", lambda ds, **kw: shown.append(ds) or draw(ds))
    assert main(["data", "show", "moons", "-o", str(tmp_path / "m.png")]) == 0
    assert "(moons, 1000 samples)" in capsys.readouterr().out
    parts = load_splits(load_config(None, [], {"data.name": "moons"}).data)
    trained = np.concatenate([parts["train"].X, parts["test"].X])
    (ds,) = shown
    np.testing.assert_array_equal(np.unique(ds.X, axis=0), np.unique(trained, axis=0))


def test_a_group_alone_prints_its_help(capsys):
    assert main(["data"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Usage: neuralab data [OPTIONS] COMMAND") and "show" in out
