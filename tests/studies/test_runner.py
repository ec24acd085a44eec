"""Studies end to end: grid × seeds, the same numbers as `neuralab train`, the same results
on every backend, bad input refused before anything is written."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from study_helpers import (
    base_config,
    check_trains_again,
    cli,
    env,
    refused,
    runs_rows,
    study_toml,
)

from neuralab.studies.runner import Study, fit_members
from neuralab.studies.spec import Cell, StudySpec, run_seed

BASE = base_config(epochs=30)



# -- seeds --------------------------------------------------------------------------------------
def test_run_seeds_do_not_move_when_the_grid_or_the_seed_count_grows():
    small = StudySpec(grid={"optim.lr": [0.1, 1.0]}, seeds=3)
    big = StudySpec(grid={"optim.lr": [0.01, 0.1, 1.0]}, seeds=5)
    for cell in small.cells():
        twin = next(c for c in big.cells() if c.values == cell.values)
        assert small.run_seeds(cell) == big.run_seeds(twin)[:3]
    seeds = [s for c in big.cells() for s in big.run_seeds(c)]
    assert len(set(seeds)) == len(seeds)


def test_run_seed_depends_on_the_study_seed_the_cell_and_the_index():
    cell = Cell(0, {"optim.lr": 0.1})
    other = Cell(0, {"optim.lr": 0.2})
    assert run_seed(0, cell, 0) != run_seed(1, cell, 0)
    assert run_seed(0, cell, 0) != run_seed(0, other, 0)
    assert run_seed(0, cell, 0) != run_seed(0, cell, 1)
    assert run_seed(0, cell, 0) == run_seed(0, Cell(7, {"optim.lr": 0.1}), 0)


def test_cells_of_per_member_settings_share_one_ensemble():
    study = Study(BASE, grid={"model.activation": ["relu", "tanh"], "optim.lr": [0.1, 1.0]},
                  seeds=4)
    chunks = study.chunks()
    assert len(study.cells) == 4 and len(chunks) == 2  # lr is per member; activation is not
    for chunk in chunks:
        assert sorted(set(chunk.per_member["optim.lr"])) == [0.1, 1.0]
        assert len(chunk.members) == 8


# -- the same numbers as `neuralab train` -------------------------------------------------------
@pytest.mark.parametrize("per_member", [False, True])
def test_member_equals_the_single_model_neuralab_train_builds(per_member):
    """Members that reach the target are dropped from the stacked arrays (several fits, one
    per segment); every member still ends with the weights and the curve of its single twin."""
    from neuralab.experiments import parse_config, prepare_experiment

    base = {**BASE, "train": {**BASE["train"], "dtype": "float64", "target_accuracy": 0.85}}
    study = Study(base, grid={"optim.lr": [0.3, 0.9]} if per_member else None, seeds=6)
    chunk = study.chunks()[0]
    task = chunk.task()
    seeds = [s for _, _, s in task["members"]]
    per = {k: v for k, v in task["per_member"].items() if len(set(v)) > 1}
    segments, _ = fit_members(task["config"], seeds, per)
    assert len(segments) > 1 and not any(seg.diverged for seg in segments)
    assert [len(seg.members) for seg in segments] == sorted(
        (len(seg.members) for seg in segments), reverse=True)  # the stack only shrinks
    last = {int(m): (seg, j) for seg in segments for j, m in enumerate(seg.members)}
    for i, member in enumerate(chunk.members):
        cfg = study.cell_configs[member.cell].to_dict()
        cfg["train"]["seed"] = member.seed
        single = prepare_experiment(parse_config(cfg))
        (X, y), val, sets = single.data.fit_sets()
        single.estimator.fit(X, y, validation=val, eval_sets=sets)
        seg, j = last[i]
        twin = seg.est.member(j)
        for (name, a, _), (_, b, _) in zip(twin.net_.named_parameters(),
                                           single.estimator.net_.named_parameters(),
                                           strict=True):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-9, err_msg=name)
        mine, theirs = twin.history_, single.estimator.history_
        stop = single.estimator.n_epochs_
        np.testing.assert_allclose(np.asarray(mine.train_acc)[:stop], theirs.train_acc,
                                   rtol=0, atol=1e-12)
        assert twin.converged_epoch_ == single.estimator.converged_epoch_


def test_a_study_of_seeds_alone_has_one_cell(tmp_path):
    result = Study(BASE, seeds=3).run(out=tmp_path)
    table = result.table()
    assert len(table) == 1 and int(table["n"].iloc[0]) == 3
    assert (result.folder / "cells.csv").is_file()


@pytest.mark.parametrize("eval_every", [1, 4])
def test_dropping_stopped_members_changes_no_result(eval_every):
    """A chunk's per-member results are the same with and without dropping stopped members
    (also when the curves have unevaluated epochs and the stack shrinks to one member)."""
    from neuralab.studies import runner

    base = {**BASE, "train": {**BASE["train"], "dtype": "float64", "target_accuracy": 0.85,
                              "eval_every": eval_every}}
    task = Study(base, seeds=8).chunks()[0].task()
    seeds = [s for _, _, s in task["members"]]
    segments, _ = fit_members(task["config"], seeds, {})
    assert len(segments) > 1
    compacted = runner._fit(task["config"], seeds, {})
    share = runner.COMPACT_SHARE
    try:
        runner.COMPACT_SHARE = 2.0  # never drop
        whole = runner._fit(task["config"], seeds, {})
    finally:
        runner.COMPACT_SHARE = share
    assert compacted.keys() == whole.keys()
    assert compacted["converged"].sum() >= 2  # members did stop along the way
    for key in whole:
        np.testing.assert_array_equal(compacted[key], whole[key], err_msg=key)


def test_study_rows_equal_neuralab_train_runs(tmp_path):
    study = Study(BASE, grid={"model.activation": ["relu", "tanh"]}, seeds=2,
                  target={"train_acc": 0.95})
    result = study.run(out=tmp_path / "studies")
    runs = result.runs
    assert len(runs) == 4 and list(runs["cell"]) == [0, 0, 1, 1]
    row = runs.iloc[3]
    cfg = tmp_path / "cell.toml"
    cfg.write_text(study.cell_configs[int(row["cell"])].to_toml())
    done = cli("train", str(cfg), "--seed", str(int(row["seed"])), "--out", "runs", "-q",
               "--no-plots", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    run = next((tmp_path / "runs").iterdir())
    metrics = pd.read_csv(run / "metrics.csv")
    last = metrics.dropna(subset=["train_acc"]).iloc[-1]
    assert last["train_acc"] == pytest.approx(row["final_train_acc"], abs=1e-6)
    assert last["test_acc"] == pytest.approx(row["final_test_acc"], abs=1e-6)


# -- outputs and statistics ---------------------------------------------------------------------
def test_study_folder_holds_runs_cells_curves_and_a_manifest(tmp_path):
    result = Study(BASE, grid={"model.activation": ["relu", "tanh"]}, seeds=3,
                   target={"train_acc": 0.95}).run(out=tmp_path)
    folder = result.folder
    for name in ("study.toml", "runs.csv", "cells.csv", "curves.npz", "summary.json",
                 "manifest.json", "compare-model.activation.csv"):
        assert (folder / name).is_file(), name
    table = result.table()
    assert list(table["n"]) == [3, 3]
    assert ((table["success_rate_low"] <= table["success_rate"])
            & (table["success_rate"] <= table["success_rate_high"])).all()
    with np.load(folder / "curves.npz") as z:
        assert z["train_acc"].shape == (6, 30)
    converged = result.runs["converged"].to_numpy()
    epochs = result.runs["epoch_converged"].to_numpy()
    assert np.isnan(epochs[~converged]).all() and (epochs[converged] >= 1).all()
    comparison = result.compare("model.activation")
    assert len(comparison) == 1
    with pytest.raises(ValueError, match="not a grid key"):
        result.compare("optim.lr")


def test_a_failing_chunk_marks_the_study_failed_and_resume_finishes_it(tmp_path,
                                                                       monkeypatch):
    import json

    from neuralab.studies import runner
    from neuralab.studies.runner import resume_study

    real, calls = runner.run_chunk, []

    def second_fails(task):
        calls.append(1)
        if len(calls) == 2:
            raise FloatingPointError("a worker ran out of luck")
        return real(task)

    monkeypatch.setattr(runner, "run_chunk", second_fails)
    study = Study(BASE, grid={"model.activation": ["relu", "tanh"]}, seeds=2)
    with pytest.raises(FloatingPointError):
        study.run(out=tmp_path)
    (folder,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "failed" and summary["runs_done"] == 2
    assert summary["error"] == "FloatingPointError: a worker ran out of luck"
    monkeypatch.setattr(runner, "run_chunk", real)
    assert len(resume_study(folder).runs) == 4
    assert json.loads((folder / "summary.json").read_text())["status"] == "finished"


def test_the_study_file_reads_back_to_the_same_study(tmp_path):
    study = Study(BASE, grid={"optim.lr": [0.1, 0.5]}, seeds=[0, 4], target={"train_acc": 1.0})
    path = tmp_path / "s.study.toml"
    path.write_text(study.to_toml())
    again = Study.from_file(path)
    assert [c.values for c in again.cells] == [c.values for c in study.cells]
    assert [c.name for c in again.chunks()] == [c.name for c in study.chunks()]


@pytest.mark.slow
def test_two_local_workers_give_the_in_process_results(tmp_path):
    (tmp_path / "s.toml").write_text(study_toml(epochs=20, seeds=60))
    one = cli("study", "s.toml", "--out", "a", "-q", cwd=tmp_path)
    two = cli("study", "s.toml", "--out", "b", "--workers", "2", "-q", cwd=tmp_path)
    assert one.returncode == 0 and two.returncode == 0, one.stderr + two.stderr
    a = next((tmp_path / "a").iterdir())
    b = next((tmp_path / "b").iterdir())
    assert runs_rows(a) == runs_rows(b)


# -- bad input ------------------------------------------------------------------------------------
@pytest.mark.parametrize("args,match", [
    (["--grid", "model.activaton=relu,tanh"], "activaton"),
    (["--grid", "model.activation="], "empty value"),
    (["--grid", "optim.lr=fast,slow"], "optim.lr"),
    (["--seeds", "0"], "seeds"),
    (["--seeds", "-3"], "seeds"),
    (["--target", "val_loss=0.1"], "target"),
    (["--scheduler", "tcp://127.0.0.1:9"], "scheduler"),
    (["--workers", "0"], "workers"),
])
def test_bad_input_is_one_line_exit_2_and_nothing_written(tmp_path, args, match):
    (tmp_path / "s.toml").write_text(study_toml(epochs=5, seeds=2))
    done = cli("study", "s.toml", "--out", "studies", *args, cwd=tmp_path)
    refused(done, match, tmp_path / "studies")


@pytest.mark.parametrize("data", [
    'name = "octmnist"\npath = "octmnist.npz"',  # seed 002's studies before the download
    'name = "csv"\npath = "missing.csv"',
    'name = "mnist"\nroot = "no-such-folder"',
])
def test_a_missing_data_file_is_one_line_and_no_study_folder(tmp_path, data):
    """As ``neuralab train``: the data is checked before the folder is made, so a study
    that cannot start leaves nothing to clean up (it used to leave a "failed" folder)."""
    (tmp_path / "s.toml").write_text(
        f"[data]\n{data}\n\n[model]\nkind = \"mlp\"\nhidden = [4]\n\n"
        "[train]\nepochs = 2\n\n[study]\nseeds = 2\n\n[study.grid]\n"
        "\"optim.lr\" = [0.1, 1.0]\n")
    done = cli("study", "s.toml", "--out", "studies", cwd=tmp_path)
    refused(done, "does not exist", tmp_path / "studies")


@pytest.mark.parametrize("kwargs", [
    {"grid": {"model.nope": [1, 2]}},
    {"grid": {"model.activation": []}},
    {"grid": {"optim.lr": ["fast"]}},
    {"seeds": 0},
    {"seeds": []},
    {"seeds": 2.5},  # these four were TypeErrors from list(...)
    {"seeds": "10"},
    {"grid": {"optim.lr": 0.1}},
    {"grid": {"model.activation": "relu"}},  # a string is a value, not a list of letters
    {"grid": [("optim.lr", [0.1, 1.0])]},
])
def test_bad_input_in_python_is_a_value_error(kwargs):
    with pytest.raises(ValueError, match="study"):
        Study(BASE, **{"seeds": 2, **kwargs})


def test_an_empty_grid_is_a_value_error_and_nothing_written(tmp_path):
    """``grid={}`` ran 30 seeds of the base config into a new folder; it is bad input, as
    the issue lists it, with or without seeds. A study of the base config alone is asked
    for with no grid at all."""
    for seeds in (None, 3):
        with pytest.raises(ValueError, match="grid is empty"):
            Study(BASE, grid={}, seeds=seeds).run(out=tmp_path / "studies")
    assert not (tmp_path / "studies").exists()
    assert Study(BASE, seeds=3).n_runs() == 3
    assert len(Study(BASE, grid={}, zip={"optim.lr": [0.1, 1.0]}, seeds=2).cells) == 2


def test_an_empty_grid_table_is_one_line_exit_2_and_nothing_written(tmp_path):
    (tmp_path / "s.toml").write_text(
        "[data]\nname = \"moons\"\n[model]\nkind = \"mlp\"\nhidden = [4]\n[train]\n"
        "epochs = 2\n[study]\nname = \"e\"\n[study.grid]\n")
    done = cli("study", "s.toml", "--out", "studies", cwd=tmp_path)
    refused(done, "grid is empty", tmp_path / "studies")


def test_a_study_file_given_to_study_keeps_its_study_table():
    """``Study("x.study.toml")`` is the file's study, as ``Study.from_file``; arguments
    given win, a grid adds to the file's keys (the [study] table used to be dropped: one
    cell, 30 seeds)."""
    path = Path(__file__).resolve().parents[2] / "examples/cs324/000-momentum.study.toml"
    study = Study(path)
    assert study.spec == Study.from_file(path).spec and study.name == "momentum"
    assert len(study.cells) == 8 and study.spec.target == {"train_acc": 1.0}
    fewer = Study(path, seeds=4, grid={"model.activation": ["relu", "tanh"]})
    assert fewer.n_runs() == 16 * 4 and fewer.spec.zip == study.spec.zip
    assert Study(str(path), name="mine").name == "mine"


def test_tuples_ranges_arrays_and_one_zip_dict_are_taken_as_lists():
    """What a Python user passes for a list of values works like the TOML's list."""
    as_lists = Study(BASE, grid={"optim.lr": [0.1, 1.0]}, seeds=[0, 1, 2],
                     zip=[{"model.hidden": [[4], [8]], "train.epochs": [2, 3]}])
    other = Study(BASE, grid={"optim.lr": np.array([0.1, 1.0])}, seeds=range(3),
                  zip={"model.hidden": ([4], [8]), "train.epochs": (2, 3)})
    assert other.spec == as_lists.spec and len(other.cells) == 4
    assert Study(BASE, seeds=np.int64(3)).n_runs() == 3


EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples" / "cs324").glob(
    "*.study.toml"))


@pytest.mark.slow
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_every_offline_study_example_in_quick_mode(example, tmp_path):
    done = cli("study", str(example), "--quick", "--out", "studies", "-q", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    folder = next((tmp_path / "studies").iterdir())
    runs = pd.read_csv(folder / "runs.csv")
    assert len(runs) == 3 * runs["cell"].nunique() and (folder / "cells.csv").is_file()
    report = cli("report", str(folder), "-o", "r.html", cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    assert "<table" in (tmp_path / "r.html").read_text()


def test_cells_with_different_epoch_budgets_share_the_curves_file(tmp_path):
    """A grid over train.epochs: shorter curves are padded with NaN to the longest."""
    result = Study(BASE, zip=[{"train.batch_size": [16, 64], "train.epochs": [3, 7]}],
                   seeds=2).run(out=tmp_path)
    with np.load(result.folder / "curves.npz") as z:
        loss, epoch = z["train_loss"], z["epoch"]
    assert loss.shape == (4, 7) and list(epoch) == list(range(1, 8))
    short = (result.runs["train.epochs"] == 3).to_numpy()
    assert np.isnan(loss[short, 3:]).all() and np.isfinite(loss[short, :3]).all()
    assert np.isfinite(loss[~short]).all()
    assert list(result.runs["epochs"]) == [3, 3, 7, 7]


def test_a_zipped_pair_is_compared_along_its_first_key(tmp_path):
    """Seed 000's momentum table: batch size 1 (lr 0.01) against 64 (lr 0.4) at each
    momentum. The zipped lr moves with the batch size, so it is not held fixed: the
    comparison has one row per momentum, in compare-train.batch_size.csv and the report
    (which says what moves with what)."""
    result = Study(BASE, grid={"optim.momentum": [0.0, 0.9]},
                   zip=[{"train.batch_size": [16, 64], "optim.lr": [0.1, 0.5]}],
                   seeds=3).run(out=tmp_path, plots=False)
    table = result.compare("train.batch_size")
    assert len(table) == 2 and set(table["optim.momentum"]) == {0.0, 0.9}
    assert list(table["a"]) == [16, 16] and list(table["b"]) == [64, 64]
    assert (table["n_a"] == 3).all() and "optim.lr" not in table.columns
    stored = (result.folder / "compare-train.batch_size.csv").read_text()
    assert stored.splitlines()[0].startswith("optim.momentum,a,b")
    assert not (result.folder / "compare-optim.lr.csv").exists()  # the same comparison
    assert len(result.compare("optim.momentum")) == 2  # within each (batch size, lr) pair
    done = cli("report", str(result.folder), "-o", "r.md", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "r.md").read_text()
    assert "### train.batch_size" in page and "### optim.lr" not in page
    assert "train.batch_size is zipped with optim.lr: 16 with optim.lr=0.1; 64 with " \
           "optim.lr=0.5." in page



def test_a_zipped_key_that_repeats_a_value_compares_single_cells(tmp_path):
    """Seed 000's Leaky ReLU study zips activation [relu, leaky, leaky] with slope [0.01,
    0.01, 0.05]. Comparing the activation with the slope moving along pooled both leaky
    cells into one side (relu 3 runs vs leaky_relu 6); each side is now one cell: the
    slope is held fixed (relu vs leaky_relu at 0.01), and the slopes are compared within
    leaky_relu. Both tables are written and reported."""
    result = Study(BASE, zip=[{"model.activation": ["relu", "leaky_relu", "leaky_relu"],
                               "model.negative_slope": [0.01, 0.01, 0.05]}],
                   seeds=3).run(out=tmp_path, plots=False)
    act = result.compare("model.activation")
    assert list(zip(act["a"], act["b"], act["model.negative_slope"], strict=True)) == [
        ("relu", "leaky_relu", 0.01)]
    slope = result.compare("model.negative_slope")
    assert list(zip(slope["a"], slope["b"], slope["model.activation"], strict=True)) == [
        (0.01, 0.05, "leaky_relu")]
    for table in (act, slope):
        assert (table["n_a"] == 3).all() and (table["n_b"] == 3).all()
        name = "model.activation" if table is act else "model.negative_slope"
        stored = pd.read_csv(result.folder / f"compare-{name}.csv")
        assert list(stored["n_b"]) == list(table["n_b"])
    done = cli("report", str(result.folder), "-o", "r.md", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "r.md").read_text()
    assert "### model.activation" in page and "### model.negative_slope" in page
    assert "is zipped with" not in page and "3 / 6" not in page

def test_one_vs_rest_studies_record_each_classifiers_own_error(tmp_path):
    """Seed 003's per-digit error rates: every one-vs-rest classifier's error on its own
    "k vs rest" task, per run, equal to the single model's ``binary_error_rates``."""
    from neuralab.experiments import parse_config, prepare_experiment

    base = {"data": {"name": "digits", "split": {"test": 0.3, "seed": 0}},
            "model": {"kind": "ovr", "base": "logistic"},
            "optim": {"lr": 0.1},
            "train": {"epochs": 3, "batch_size": 64, "dtype": "float64"},
            "output": {"plots": False}}
    study = Study(base, seeds=2)
    runs = study.run(out=tmp_path, quiet=True).runs
    columns = [f"final_test_binary_error_{k}" for k in range(10)]
    assert set(columns) <= set(runs.columns)
    cfg = study.cell_configs[0].to_dict()
    cfg["train"]["seed"] = int(runs["seed"].iloc[1])
    single = prepare_experiment(parse_config(cfg))
    (X, y), val, sets = single.data.fit_sets()
    single.estimator.fit(X, y, validation=val, eval_sets=sets)
    expected = single.estimator.binary_error_rates(*sets["test"])
    np.testing.assert_allclose(runs[columns].iloc[1].to_numpy(dtype=float), expected,
                               rtol=0, atol=1e-12)
    assert 0 < expected.mean() < 0.5  # they learned something, and not everything
    # the combined model's accuracy (no history of its own: from score)
    assert runs["final_test_acc"].iloc[1] == pytest.approx(
        single.estimator.score(*sets["test"]), abs=1e-12)


KINDS = {
    "perceptron": ({"name": "blobs", "options": {"n": 60}}, {"kind": "perceptron"}),
    "logistic": ({"name": "moons", "options": {"n": 60}}, {"kind": "logistic"}),
    "linear": ({"name": "playground-plane", "options": {"n": 80}},
               {"kind": "linear", "solver": "gd"}),
    "mlp_regressor": ({"name": "playground-plane", "options": {"n": 80}},
                      {"kind": "mlp_regressor", "hidden": [3]}),
    "cnn": ({"name": "digits", "n_train": 200, "n_test": 100},
            {"kind": "cnn", "architecture": "onelayer_cnn"}),
    "ovr": ({"name": "blobs", "options": {"n": 60}}, {"kind": "ovr", "base": "logistic"}),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_model_kind_runs_as_a_study(kind, tmp_path):
    """Each kind a config can name runs as a study of seeds (a CNN has no model axis: its
    members train one by one) and its run for a seed is ``neuralab train``'s for that seed."""
    from neuralab.experiments import parse_config, prepare_experiment

    data, model = KINDS[kind]
    base = {"data": data, "model": model, "train": {"epochs": 2, "dtype": "float64"},
            "output": {"plots": False}}
    study = Study(base, seeds=2)
    runs = study.run(out=tmp_path, quiet=True).runs
    assert len(runs) == 2 and runs["final_test_loss" if "final_test_loss" in runs
                                    else "final_test_acc"].notna().all()
    cfg = study.cell_configs[0].to_dict()
    cfg["train"]["seed"] = int(runs["seed"].iloc[1])
    single = prepare_experiment(parse_config(cfg))
    (X, y), val, sets = single.data.fit_sets()
    est = single.estimator.fit(X, y, validation=val, eval_sets=sets)
    if hasattr(est, "history_"):
        assert runs["final_test_loss"].iloc[1] == pytest.approx(est.history_.test_loss[-1],
                                                                abs=1e-9)
    else:
        assert runs["final_test_acc"].iloc[1] == pytest.approx(est.score(*sets["test"]),
                                                               abs=1e-12)


@pytest.mark.slow
def test_ctrl_c_says_how_many_runs_are_saved_and_how_to_continue(tmp_path):
    """Ctrl-C (SIGINT) mid-study: one line naming the saved runs and the --resume command,
    exit 130, the folder marked "interrupted"; that command then finishes the study with
    the results of an uninterrupted one. (typer ended such a study silently.)"""
    (tmp_path / "s.toml").write_text(study_toml(epochs=300, seeds=40, target=1.0))
    proc = subprocess.Popen([sys.executable, "-m", "neuralab", "study", "s.toml", "--out",
                             "studies", "--no-plots"], cwd=tmp_path, env=env(), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(tmp_path.glob("studies/*/chunks/*.npz")):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    if proc.returncode == 0:
        pytest.skip("the study finished before the signal arrived")
    (folder,) = (tmp_path / "studies").iterdir()
    last = err.strip().splitlines()[-1]
    assert proc.returncode == 130, err
    assert last.startswith("neuralab: interrupted; ") and " of 160 runs are saved" in last
    assert last.endswith(f"continue with: neuralab study --resume studies/{folder.name}")
    assert json.loads((folder / "summary.json").read_text())["status"] == "interrupted"
    done = cli("study", "--resume", f"studies/{folder.name}", "-q", "--no-plots",
               cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    whole = cli("study", "s.toml", "--out", "whole", "-q", "--no-plots", cwd=tmp_path)
    assert whole.returncode == 0, whole.stderr
    assert runs_rows(folder) == runs_rows(next((tmp_path / "whole").iterdir()))


def test_every_run_trains_again_from_its_cell_file_and_seed(tmp_path):
    """``cells/cell-<k>.toml`` is cell k's config: ``neuralab train`` of it with a run's
    seed from runs.csv gives that run's numbers (what docs/studies.md tells a student)."""
    (tmp_path / "s.toml").write_text(study_toml(epochs=15, seeds=2))
    done = cli("study", "s.toml", "--out", "studies", "-q", "--no-plots", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (folder,) = (tmp_path / "studies").iterdir()
    runs = pd.read_csv(folder / "runs.csv")
    assert sorted(p.name for p in (folder / "cells").iterdir()) == [
        f"cell-{k}.toml" for k in range(4)]
    run = runs.iloc[-1]  # the last cell's second seed
    cell = folder / "cells" / f"cell-{int(run['cell'])}.toml"
    assert cell.read_text().startswith(f"# cell {int(run['cell'])} of study 'tiny': ")
    check_trains_again(["train", str(cell), "--seed", str(int(run["seed"]))], run, tmp_path)


def test_a_damaged_chunk_file_runs_again_on_resume(tmp_path):
    """A finished chunk whose file was cut short (copied in part) is not a reason to stop:
    --resume says so in one line, trains that chunk again and ends with the same runs."""
    (tmp_path / "s.toml").write_text(study_toml(epochs=10, seeds=3))
    done = cli("study", "s.toml", "--out", "studies", "-q", "--no-plots", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (folder,) = (tmp_path / "studies").iterdir()
    reference = runs_rows(folder)
    chunk = sorted((folder / "chunks").glob("*.npz"))[0]
    chunk.write_bytes(chunk.read_bytes()[:100])
    again = cli("study", "--resume", str(folder), "--no-plots", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    said = [line for line in again.stderr.splitlines() if "runs again" in line]
    assert len(said) == 1 and chunk.name in said[0] and "truncated or corrupt" in said[0]
    assert "(1 to run)" in again.stderr
    assert runs_rows(folder) == reference


def test_the_eta_is_the_runs_left_at_the_training_time_a_run_took(tmp_path):
    """Progress estimates the time left from the chunks' own training seconds (shared by
    the local workers), not from the wall clock since the start: with workers the latter
    counted Dask's start-up and said 65 s where 6 were left."""
    events = []
    study = Study(BASE, grid={"optim.lr": [0.1, 1.0]}, seeds=3)
    result = study.run(out=tmp_path, plots=False, progress=events.append)
    first = study.chunks()[0].members
    ran = result.runs.set_index(["cell", "seed_index"]).loc[
        [(m.cell, m.seed_index) for m in first], "wall_s"]
    assert events[0].runs == len(first) and events[-1].eta == 0
    assert events[0].eta == pytest.approx((study.n_runs() - len(first)) * ran.sum()
                                          / len(first))


def test_a_study_and_its_result_echo_as_one_line(tmp_path):
    """What a notebook shows for ``study`` and ``res = study.run()``: one line each (the
    result's dataclass repr printed the runs DataFrame and every curve array)."""
    study = Study(BASE, grid={"optim.lr": [0.1, 1.0]}, seeds=2, name="lrs")
    assert repr(study) == "Study(lrs: 2 cells x 2 seeds = 4 runs; optim.lr)"
    result = study.run(out=tmp_path, plots=False)
    assert repr(result) == (f"StudyResult({str(result.folder)!r}: lrs: 2 cells x 2 seeds, "
                            "4 runs; .table(), .compare(key), .runs)")
    assert "\n" not in repr(result)


def test_resume_reads_each_finished_chunk_once(tmp_path, monkeypatch):
    """--resume checks each finished chunk by reading it and assembles the tables from
    those arrays: one read per chunk (it read each twice, ~50 ms a study), and a study run
    from the start reads none back (its chunks are kept as they arrive)."""
    import neuralab.io

    reads: list[str] = []
    real = neuralab.io.read_npz

    def counting(path, *args, **kwargs):
        if kwargs.get("what") == "study chunk":
            reads.append(Path(path).name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(neuralab.io, "read_npz", counting)
    study = Study(BASE, grid={"model.activation": ["relu", "tanh"]}, seeds=2)
    first = study.run(out=tmp_path, plots=False)
    assert reads == []
    names = sorted(f"{c.name}.npz" for c in study.chunks())
    assert len(names) == 2
    from neuralab.studies.runner import resume_study

    again = resume_study(first.folder, plots=False)
    assert sorted(reads) == names
    pd.testing.assert_frame_equal(again.runs.drop(columns="wall_s"),
                                  first.runs.drop(columns="wall_s"))


def test_load_study_gives_the_finished_result_back_and_writes_nothing(tmp_path):
    """A notebook reopens yesterday's study: ``load_study(folder)`` has the same runs,
    curves, table and comparisons as the run that made it, runs nothing and writes
    nothing; an unfinished study says how many runs are done and how to finish it."""
    from neuralab.studies import load_study

    study = Study(BASE, grid={"model.activation": ["relu", "tanh"], "model.hidden": [[4], [6]]},
                  seeds=3, target={"train_acc": 0.9})
    first = study.run(out=tmp_path, plots=False)
    before = {p: p.stat().st_mtime_ns for p in first.folder.rglob("*")}
    again = load_study(str(first.folder))
    assert {p: p.stat().st_mtime_ns for p in first.folder.rglob("*")} == before
    pd.testing.assert_frame_equal(again.runs, first.runs)
    pd.testing.assert_frame_equal(again.table(), first.table())
    for key in ("model.activation", "model.hidden"):
        pd.testing.assert_frame_equal(again.compare(key), first.compare(key))
    assert again.curves.keys() == first.curves.keys()
    for k, v in first.curves.items():
        np.testing.assert_array_equal(again.curves[k], v)

    manifest = first.folder / "manifest.json"
    data = json.loads(manifest.read_text())
    dropped = sorted(data["chunks"])[0]
    n_dropped = len(data["chunks"].pop(dropped)["members"])
    manifest.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=rf"not finished: {12 - n_dropped} of 12 runs .*"
                                         r"neuralab study --resume"):
        load_study(first.folder)
    with pytest.raises(ValueError, match="not a study folder"):
        load_study(tmp_path / "nothing")


def test_the_cell_table_shows_short_in_a_notebook_and_keeps_every_column(tmp_path):
    """``res.table()`` in a notebook was 115 columns with the middle cut out by pandas (the
    accuracy means hidden); it shows the settings that differ and the headline intervals,
    as the terminal does, while code still gets every column."""
    import pandas as pd

    res = Study(BASE, grid={"optim.lr": [0.1, 1.0]}, seeds=3,
                target={"train_acc": 1.0}).run(out=tmp_path / "s", plots=False)
    table = res.table()
    full = pd.DataFrame(table)
    assert isinstance(table, pd.DataFrame) and table.equals(full) and full.shape[1] > 50
    page = table._repr_html_()
    assert page.count("<tr>") == 3  # the header and one row per cell
    for head in ("<th>lr</th>", "reached target [95 % CI]", "median epochs [CI]",
                 "final_test_acc mean [CI]"):
        assert head in page, head
    row = full.iloc[1]
    mean, low = row["final_test_acc_mean"] * 100, row["final_test_acc_mean_low"] * 100
    assert f"{mean:.1f} % [{low:.1f}" in page and "2 cells × 3 seeds" in page
    assert type(table[["n"]]) is pd.DataFrame and type(table.copy()) is pd.DataFrame


def test_a_chunk_runs_with_one_blas_thread_whatever_the_process_has(monkeypatch):
    """In-process, LocalCluster workers (started at one thread) and the workers of a cluster
    started by someone else (any count) must give the same numbers; on OpenBLAS's Haswell
    kernels a float32 product split over 2 threads differs in its last bits from one thread,
    so every chunk is computed at one. A digits MLP: (64, 64) @ (64, 128) is a product
    OpenBLAS splits."""
    from threadpoolctl import threadpool_info, threadpool_limits

    from neuralab.studies import runner

    config = {"data": {"name": "digits", "split": {"test": 0.2, "seed": 0}},
              "model": {"kind": "mlp", "hidden": [128]},
              "optim": {"lr": 0.05}, "train": {"epochs": 3, "batch_size": 64}}
    task = Study(config, seeds=2).chunks()[0].task()
    seen: list[int] = []
    fit = runner._fit

    def spy(*args, **kwargs):
        seen.append(max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"))
        return fit(*args, **kwargs)

    monkeypatch.setattr(runner, "_fit", spy)
    results = []
    for n in (2, 1):
        with threadpool_limits(n, user_api="blas"):
            results.append(runner.run_chunk(dict(task)))
            after = max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")
        assert after == n  # the process's count is given back
    assert seen == [1, 1]
    for key, value in results[1].items():
        if key != "wall_s":
            np.testing.assert_array_equal(results[0][key], value, err_msg=key)
