"""Run folders: contents, atomic files, resume equality, Ctrl-C, eval and predict, examples."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tomllib
from run_helpers import small_config

from neuralab.experiments import parse_config, resume_run, run_experiment
from neuralab.experiments.config import quick
from neuralab.io import load_arrays

ROOT = Path(__file__).resolve().parents[2]
OFFLINE = sorted(p for p in [*(ROOT / "examples" / "cs324").glob("*.toml"),
                             *(ROOT / "examples" / "tsinghua").glob("*.toml"),
                             *(ROOT / "examples" / "cnn").glob("*.toml")]
                 if not p.name.endswith(".study.toml")  # studies: tests/studies
                 and p.name != "lenet5-mnist.toml"  # MNIST is a download
                 and not p.is_symlink())  # another name of a file in the list
RUN_FILES = ("config.toml", "metrics.csv", "summary.json", "model.npz", "preprocess.json",
             "log.txt")


def check_folder(run_dir: Path, plots: bool = True) -> dict:
    for name in RUN_FILES:
        assert (run_dir / name).is_file(), name
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "finished"
    if summary["epochs_trained"] != 0:  # the closed-form linear model has no epochs
        assert (run_dir / "checkpoints" / "last.npz").is_file()
    assert summary["versions"]["neuralab"]
    with open(run_dir / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert rows, "metrics.csv has no rows"
    epochs = [(r.get("classifier", ""), int(r["epoch"])) for r in rows]
    assert len(epochs) == len(set(epochs)), "duplicated metrics rows"
    if plots:
        pngs = sorted(p.stem for p in (run_dir / "plots").glob("*.png"))
        svgs = sorted(p.stem for p in (run_dir / "plots").glob("*.svg"))
        formats = tomllib.loads((run_dir / "config.toml").read_text())["output"]["formats"]
        assert pngs and pngs == sorted(summary["plots"])
        assert svgs == (pngs if "svg" in formats else [])
    assert not list(run_dir.rglob("*.tmp")), "a temporary file was left behind"
    return summary


def test_run_folder_is_complete(finished_run):
    summary = check_folder(finished_run.run_dir)
    assert finished_run.run_dir.name.startswith("small-")
    assert set(summary["plots"]) >= {"curves", "decision_boundary", "confusion",
                                     "class_errors", "hidden_activations"}
    assert summary["final"]["test_acc"] > 0.8
    with open(finished_run.run_dir / "metrics.csv") as f:
        header = next(csv.reader(f))
    assert header == ["step", "epoch", "lr", "batch_loss", "train_loss", "train_acc",
                      "test_loss", "test_acc", "seconds"]


def test_run_names_never_collide(tmp_path):
    cfg = parse_config(small_config(tmp_path, train={"epochs": 2}, output={"plots": False}))
    a = run_experiment(cfg, quiet=True).run_dir
    b = run_experiment(cfg, quiet=True).run_dir
    assert a != b and a.parent == b.parent


def _arrays(run_dir: Path) -> dict:
    return load_arrays(run_dir / "model.npz")[1]


def _metrics(run_dir: Path) -> list[list[str]]:
    with open(run_dir / "metrics.csv") as f:
        return [row[:-1] for row in csv.reader(f)]  # all but the wall-clock seconds


def assert_same_run(a: Path, b: Path) -> None:
    x, y = _arrays(a), _arrays(b)
    assert set(x) == set(y)
    for k in x:
        if k == "meta/params":
            continue
        assert np.array_equal(x[k], y[k], equal_nan=x[k].dtype.kind == "f"), k
    assert _metrics(a) == _metrics(b)


def test_resume_to_more_epochs_equals_one_long_run(tmp_path):
    long = run_experiment(parse_config(small_config(tmp_path / "a", output={"plots": False})),
                          quiet=True)
    short = run_experiment(parse_config(small_config(
        tmp_path / "b", train={"epochs": 30}, output={"plots": False})), quiet=True)
    resumed = resume_run(short.run_dir, quiet=True, epochs=60)
    assert_same_run(long.run_dir, resumed.run_dir)


def test_resume_without_checkpoint_starts_over(tmp_path):
    ref = run_experiment(parse_config(small_config(tmp_path / "a", output={"plots": False})),
                         quiet=True)
    run = run_experiment(parse_config(small_config(tmp_path / "b", output={"plots": False})),
                         quiet=True).run_dir
    for name in ("model.npz", "summary.json", "checkpoints/last.npz"):
        (run / name).unlink()
    (run / "metrics.csv").write_text("garbage,\n1,2\n")
    resume_run(run, quiet=True)
    assert_same_run(ref.run_dir, run)


def test_resume_a_finished_run_does_nothing(finished_run, capsys):
    before = (finished_run.run_dir / "model.npz").stat().st_mtime_ns
    resume_run(finished_run.run_dir)
    assert "already finished" in capsys.readouterr().out
    assert (finished_run.run_dir / "model.npz").stat().st_mtime_ns == before


def test_ovr_run_resumes_part_by_part(tmp_path):
    sections = {"data": {"name": "blobs", "options": {"n": 150, "centers": 3}},
                "model": {"kind": "ovr", "base": "logistic"},
                "optim": {"momentum": 0.0},
                "train": {"epochs": 12, "eval_every": 2, "checkpoint_every": 5},
                "output": {"plots": False}}
    ref = run_experiment(parse_config(small_config(tmp_path / "a", **sections)), quiet=True)
    run = run_experiment(parse_config(small_config(tmp_path / "b", **sections)),
                         quiet=True).run_dir
    # pretend it died during the second binary model: drop its part file and what followed
    (run / "checkpoints" / "part-2.npz").unlink()
    (run / "checkpoints" / "part-1.npz").unlink()
    (run / "summary.json").unlink()
    resume_run(run, quiet=True)
    with open(run / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["classifier"] for r in rows] == ["0"] * 6 + ["1"] * 6 + ["2"] * 6
    assert _metrics(ref.run_dir) == _metrics(run)
    summary = check_folder(run, plots=False)
    assert set(summary["binary_error_rates"]) == {"0", "1", "2"}


def test_ctrl_c_checkpoints_and_resumes(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(f"""
[data]
name = "moons"
options = {{n = 300, noise = 0.2}}
[model]
hidden = [16, 16]
[optim]
lr = 0.1
[train]
epochs = 4000
batch_size = 8
eval_every = 50
checkpoint_every = 1000
[output]
dir = "{tmp_path / 'runs'}"
plots = false
""")
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.Popen([sys.executable, "-m", "neuralab", "train", str(cfg)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.time() + 60
    run_dir = None
    while time.time() < deadline:  # wait until training has started
        found = list((tmp_path / "runs").glob("c-*/metrics.csv"))
        if found and len(found[0].read_text().splitlines()) > 2:
            run_dir = found[0].parent
            break
        time.sleep(0.05)
    assert run_dir is not None
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == (
        f"neuralab: interrupted; resume with: neuralab train --resume {run_dir}")
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["checkpoint_epoch"] > 0
    state = load_arrays(run_dir / "checkpoints" / "last.npz")[1]
    assert int(state["trainer/epoch"]) == summary["checkpoint_epoch"]


def test_eval_and_predict(finished_run, tmp_path):
    from neuralab.experiments.evaluate import eval_run, predict_file

    result = eval_run(finished_run.run_dir, split="test")
    assert result["accuracy"] == pytest.approx(finished_run.summary["final"]["test_acc"])
    assert (finished_run.run_dir / "eval-test.json").is_file()
    points = tmp_path / "points.csv"
    points.write_text("x1,x2\n0.0,1.0\n1.0,-0.5\n2.0,0.5\n")
    out = tmp_path / "pred.csv"
    assert predict_file(finished_run.run_dir / "model.npz", points, out) == 3
    with open(out) as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["x1", "x2", "prediction", "p_0", "p_1"]
    assert {r["prediction"] for r in rows} <= {"0", "1"}
    assert abs(float(rows[0]["p_0"]) + float(rows[0]["p_1"]) - 1) < 1e-5


@pytest.mark.parametrize("example", [
    "cs324/001-perceptron-case1-separable.toml", "cs324/000-momentum-bs64-m0.9.toml",
    "tsinghua/q2-linear-regression.toml"])
def test_some_examples_in_quick_mode(example, tmp_path):
    from neuralab.experiments import load_config

    cfg = quick(load_config(ROOT / "examples" / example, [f"output.dir='{tmp_path}'"]))
    check_folder(run_experiment(cfg, quiet=True).run_dir)


@pytest.mark.slow
@pytest.mark.parametrize("example", OFFLINE, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_offline_example_in_quick_mode(example, tmp_path):
    from neuralab.experiments import load_config

    cfg = quick(load_config(example, [f"output.dir='{tmp_path}'"]))
    summary = check_folder(run_experiment(cfg, quiet=True).run_dir)
    assert summary["epochs_trained"] != 0 or cfg.model.kind == "linear"


def test_prepare_experiment_is_what_a_run_trains(tmp_path):
    from neuralab.experiments import prepare_experiment

    cfg = parse_config(small_config(tmp_path / "runs", output={"plots": False}))
    exp = prepare_experiment(cfg)
    assert not (tmp_path / "runs").exists()  # no run folder, no files
    assert not hasattr(exp.estimator, "coef_")  # unfitted
    (X, y), validation, eval_sets = exp.data.fit_sets()
    est = exp.estimator.fit(X, y, validation=validation, eval_sets=eval_sets)
    run = run_experiment(cfg, quiet=True)
    assert set(run.summary["data_sizes"]) == set(exp.data.sets)
    assert np.array_equal(est.predict_proba(X), run.estimator.predict_proba(X))
    assert np.array_equal(est.history_.train_loss, run.estimator.history_.train_loss,
                          equal_nan=True)
    assert run.summary["final"]["test_acc"] == est.score(*exp.data.sets["test"])


def test_curves_of_a_one_vs_rest_run_name_each_class(tmp_path):
    from neuralab import viz

    sections = {"data": {"name": "blobs", "options": {"n": 90, "centers": 3}},
                "model": {"kind": "ovr", "base": "logistic"}, "optim": {"momentum": 0.0},
                "train": {"epochs": 4, "eval_every": 2}, "output": {"plots": False}}
    run = run_experiment(parse_config(small_config(tmp_path, **sections)), quiet=True)
    fig = viz.plot_curves(run.run_dir / "metrics.csv")
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert labels == ["0 train", "0 test", "1 train", "1 test", "2 train", "2 test"]
