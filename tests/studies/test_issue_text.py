"""Issue #8 read as a user would: what the issue's commands and snippet showed, and the
leftovers found then (one home for the compared keys, one read of a study file, a short
notebook display of ``res.compare``, one connection to a scheduler and its ETA)."""

from __future__ import annotations

import json
import re
import time

import numpy as np
import pandas as pd
import pytest
from study_helpers import base_config, check_trains_again

import neuralab
import neuralab.studies.runner as runner
from neuralab.studies import stats
from neuralab.studies.runner import Study, resume_study

BASE = base_config(epochs=20)


# -- statistics: censored epochs ---------------------------------------------------------------
def test_every_seed_converged_by_the_last_step_bounds_the_median():
    """Ten seeds, all converged, the three slowest at epoch 80 (eval_every = 10): the median
    is 70 and its interval ends at 80. The band's exact bound on the last step counted only
    the 3 seeds still at risk there, its "fraction converged" fell from 0.42 to 0.29, and
    the median's upper end read "not reached" although every seed converged."""
    epochs = [50, 80, 80, 60, 80, 70, 50, 50, 70, 70]
    c = stats.convergence_curve(epochs, [True] * 10, 1500)
    assert (c.median.estimate, c.median.low, c.median.high) == (70.0, 50.0, 80.0)
    assert np.all(np.diff(c.low) >= 0) and np.all(np.diff(c.high) >= 0)
    # the exact bound for 0 of 10 not converged: the curve's lower edge at epoch 80
    exact = 1 - 0.025 ** (1 / 10)
    assert c.low[-1] == pytest.approx(1 - exact)
    runs = pd.DataFrame({"cell": 0, "converged": True, "epoch_converged": epochs,
                         "epochs_budget": 1500, "final_test_acc": 0.99})
    table = stats.cell_table(runs, grid=["cell"], metrics=["final_test_acc"])
    assert table["epochs_median_high"].iloc[0] == 80.0


# -- one home for the keys a study compares ------------------------------------------------------
@pytest.mark.parametrize("zip_group", [
    # the partners move along (batch size with its learning rate)
    {"optim.lr": [0.1, 0.5], "train.epochs": [10, 20]},
    # the first key repeats a value: each key that varies alone (seed 000's study)
    {"model.activation": ["relu", "leaky_relu", "leaky_relu"],
     "model.negative_slope": [0.01, 0.01, 0.05]},
    # the first key repeats, the second does not: the report compared nothing, while the
    # study wrote compare-model.negative_slope.csv
    {"model.activation": ["relu", "leaky_relu", "leaky_relu"],
     "model.negative_slope": [0.01, 0.05, 0.1]},
])
def test_the_report_compares_the_keys_the_study_compares(tmp_path, zip_group):
    from neuralab.report.study import _statistics_tables
    from neuralab.viz.studies import read_study_folder

    study = Study(BASE, grid={"model.hidden": [[4], [6]]}, seeds=2, zip=[zip_group],
                  target={"train_acc": 0.9})
    res = study.run(out=tmp_path, plots=False)
    folder = read_study_folder(res.folder)
    _, compares, _ = _statistics_tables(folder, ["final_test_acc"], ["mean"])
    keys = study.spec.compared_keys()
    assert list(compares) == keys and "model.hidden" in keys
    assert sorted(p.name for p in res.folder.glob("compare-*.csv")) == sorted(
        f"compare-{k}.csv" for k in keys)


# -- a study file is read once -----------------------------------------------------------------
def test_a_study_file_is_read_and_parsed_once(tmp_path, monkeypatch):
    path = tmp_path / "lrs.study.toml"
    path.write_text('[data]\nname = "moons"\n[model]\nkind = "mlp"\nhidden = [4]\n'
                    '[study]\nseeds = 3\n[study.grid]\n"optim.lr" = [0.1, 1.0]\n')
    reads: list[str] = []
    real = runner.read_toml

    def counting(p, *args, **kwargs):
        reads.append(str(p))
        return real(p, *args, **kwargs)

    monkeypatch.setattr(runner, "read_toml", counting)
    study = Study.from_file(path)
    assert reads == [str(path)]
    assert study.name == "lrs" and study.n_runs() == 6
    assert study.to_toml() == Study(path).to_toml()
    reads.clear()
    with pytest.raises(ValueError, match=r"has no \[study\] table"):
        bare = tmp_path / "bare.toml"
        bare.write_text('[model]\nkind = "mlp"\n')
        Study.from_file(bare)
    assert len(reads) == 1
    assert Study.from_file(bare, seeds=2).n_runs() == 2  # a plain config with seeds


# -- res.compare in a notebook ---------------------------------------------------------------------
def test_compare_shows_short_in_a_notebook_and_keeps_every_column(tmp_path):
    """``res.compare(key)`` in a notebook was 70 columns cut in the middle by pandas; it
    shows a vs b, the difference of success rates and of the headline metric with their
    intervals, P(a > b) and the adjusted p, while code still gets every column."""
    res = Study(BASE, grid={"model.activation": ["relu", "tanh"], "optim.lr": [0.1, 1.0]},
                seeds=3, target={"train_acc": 0.9}).run(out=tmp_path, plots=False)
    pairs = res.compare("model.activation")
    full = pd.DataFrame(pairs)
    assert isinstance(pairs, pd.DataFrame) and pairs.equals(full) and full.shape[1] > 50
    assert type(pairs[["a"]]) is pd.DataFrame and type(pairs.copy()) is pd.DataFrame
    page = pairs._repr_html_()
    assert page.count("<tr>") == 1 + len(pairs) == 3  # one pair at each lr
    for text in ("<th>lr</th>", "activation: a vs b", "relu vs tanh",
                 "reached target a − b [95 % CI]", "final_test_acc mean a − b [CI]",
                 "P(a &gt; b)", "2 pairs along model.activation"):
        assert text in page, text
    row = full.iloc[0]
    assert f"{row['final_test_acc_poi']:.2f}" in page
    assert f"{row['final_test_acc_mean_diff'] * 100:+.1f} pp" in page
    stored = pd.read_csv(res.folder / "compare-model.activation.csv")
    assert list(stored.columns) == list(full.columns)
    # a study without a target has no success rates to compare
    plain = Study(BASE, grid={"optim.lr": [0.1, 1.0]}, seeds=2).run(out=tmp_path / "p",
                                                                     plots=False)
    page = plain.compare("optim.lr")._repr_html_()
    assert "reached target" not in page and "1 pair along optim.lr" in page
    assert "final_test_acc mean a − b [CI]" in page


# -- wall time of a resumed study ------------------------------------------------------------------
def test_a_resumed_study_keeps_the_wall_time_already_spent(tmp_path):
    """``--resume`` wrote the resumed session's seconds alone: a finished study resumed
    said "0.0 s wall time" in its report."""
    res = Study(BASE, grid={"optim.lr": [0.1, 1.0]}, seeds=2).run(out=tmp_path, plots=False)
    summary = res.folder / "summary.json"
    data = json.loads(summary.read_text())
    data["wall_seconds"] = 123.0
    summary.write_text(json.dumps(data))
    resume_study(res.folder, plots=False)
    assert json.loads(summary.read_text())["wall_seconds"] >= 123.0


# -- a running cluster: one connection, and an ETA without the connecting -------------------------
@pytest.fixture
def scheduler():
    """A Dask scheduler on 127.0.0.1 with one in-process worker thread."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=1, processes=False, threads_per_worker=1,
                                       protocol="tcp", host="127.0.0.1",
                                       dashboard_address=None)
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


def test_a_scheduler_is_checked_and_used_on_one_connection(tmp_path, monkeypatch, scheduler):
    import neuralab.studies.backends as backends

    clients = []
    real = backends._client

    def counting(address):
        clients.append(address)
        return real(address)

    monkeypatch.setattr(backends, "_client", counting)
    study = Study(BASE, grid={"optim.lr": [0.1, 1.0]}, seeds=2)
    res = study.run(out=tmp_path / "a", plots=False, scheduler=scheduler)
    assert clients == [scheduler]
    here = study.run(out=tmp_path / "b", plots=False)
    pd.testing.assert_frame_equal(res.runs.drop(columns="wall_s"),
                                  here.runs.drop(columns="wall_s"))


def test_the_cluster_eta_does_not_count_the_time_spent_connecting(tmp_path, monkeypatch,
                                                                  scheduler):
    """With ``--scheduler`` the ETA was the runs left at the rate since the start, which
    counted connecting and the cluster's start-up: here a 1.5 s start made the first ETA
    at least 3 × 1.5 s for chunks that train in a fraction of that."""
    def slow_start(fn, tasks, on_result, **kwargs):
        time.sleep(1.5)  # connecting, workers starting
        for name, task in tasks:
            on_result(name, fn(task))

    monkeypatch.setattr(runner, "run_tasks", slow_start)
    events: list = []
    study = Study(BASE, grid={"model.activation": ["relu", "tanh", "sigmoid", "identity"]},
                  seeds=2)
    res = study.run(out=tmp_path, plots=False, scheduler=scheduler, progress=events.append)
    first = events[0]
    assert first.runs == 2 and first.seconds >= 1.5 and events[-1].eta == 0
    trained = res.runs["wall_s"].iloc[:2].sum()  # the first chunk's training seconds
    assert first.eta < 1.0
    assert first.eta == pytest.approx((study.n_runs() - 2) * trained / 2, rel=0.5, abs=0.05)


# -- a run again with neuralab train, when the seeds vary the data -------------------------------
def test_a_run_of_a_data_varying_study_trains_again_as_its_cell_file_says(tmp_path):
    """With ``vary = "data"`` a run's seed also draws the data and the split, which the cell
    file's ``--seed`` alone did not set: ``neuralab train cell-0.toml --seed S`` trained on
    the base config's data and gave other numbers. The cell file says the whole command."""
    import shlex


    res = Study(BASE, grid={"model.activation": ["relu", "tanh"]}, seeds=2, vary="data",
                target={"train_acc": 0.95}).run(out=tmp_path / "studies", plots=False)
    run = res.runs.iloc[-1]
    cell = res.folder / "cells" / f"cell-{int(run['cell'])}.toml"
    (line,) = [ln for ln in cell.read_text().splitlines() if "neuralab train" in ln]
    seed = str(int(run["seed"]))
    words = shlex.split(line.split("neuralab ", 1)[1].replace("<this file>", "FILE"))
    args = [str(cell) if w == "FILE" else seed if w == "S" else w.replace("=S", "=" + seed)
            for w in words]
    assert args[:4] == ["train", str(cell), "--seed", seed] and f"data.seed={seed}" in args
    check_trains_again(args, run, tmp_path)


def test_the_tables_print_short_at_a_prompt_within_80_columns(tmp_path, monkeypatch):
    """At a Python prompt (or ``print``) ``res.table()`` and ``res.compare(key)`` were
    pandas' text, 115 and 71 columns cut to a few: the success rate was not on screen. They
    print the short table, the one ``neuralab study`` prints, within the terminal's width."""
    monkeypatch.setenv("COLUMNS", "80")
    res = Study(BASE, grid={"model.activation": ["relu", "tanh"], "optim.lr": [0.1, 1.0]},
                seeds=3, target={"train_acc": 0.9}).run(out=tmp_path, plots=False)
    table, pairs = res.table(), res.compare("model.activation")
    for text, wanted in ((repr(table), ("reached", "activation=tanh", "lr=1.0",
                                        "4 cells × 3 seeds", "pd.DataFrame(res.table())")),
                         (str(pairs), ("P(a > b)", "activation:", "relu vs", "lr=0.1",
                                       "2 pairs along model.activation"))):
        assert max(map(len, text.splitlines())) <= 80, text
        for piece in wanted:
            assert piece in text, (piece, text)
    rate = table.iloc[0]["success_rate"] * 100
    assert f"{rate:.1f} %" in repr(table)
    # a selection is a plain DataFrame with pandas' own text
    assert "success_rate" in repr(table[["success_rate"]])


def test_workers_of_other_versions_are_refused_naming_them():
    """A cluster whose workers run another neuralab or NumPy could give other numbers than
    the in-process study; the check names the worker, both versions and the fix."""
    import numpy

    from neuralab.studies import backends

    class Client:  # what _check_workers asks of a Dask client
        def __init__(self, answers):
            self.answers = answers

        def nthreads(self):
            return {w: 1 for w in self.answers}

        def run(self, fn, on_error):
            return self.answers

    ours = {"neuralab": neuralab.__version__, "numpy": numpy.__version__}
    backends._check_workers(Client({"tcp://w1": ours, "tcp://w2": dict(ours)}), "tcp://s:1")
    old = {**ours, "numpy": "1.26.4"}
    with pytest.raises(ValueError, match=r"1 of 2 Dask workers at tcp://s:1 run other "
                                         r"versions \(tcp://w2: neuralab .*, numpy 1\.26\.4; "
                                         r"here: .*start `dask worker tcp://s:1`"):
        backends._check_workers(Client({"tcp://w1": ours, "tcp://w2": old}), "tcp://s:1")
    with pytest.raises(ValueError, match=r"cannot import neuralab \(tcp://w1: ModuleNotFound"):
        backends._check_workers(Client({"tcp://w1": "ModuleNotFoundError: no neuralab"}),
                                "tcp://s:1")
    assert backends._probe()() == ours  # the probe, run here, answers what a worker would


def test_a_table_that_fits_keeps_each_row_on_one_line(tmp_path, monkeypatch):
    """One cell and one number column at 80 columns: the interval wrapped at 14 characters
    ("94.3 % [90.8,") with 50 columns to spare. It stays whole where everything fits; the
    titles count "1 cell", not "1 cells"."""
    monkeypatch.setenv("COLUMNS", "80")
    study = Study(BASE, seeds=3)
    assert study.describe().endswith(": 1 cell x 3 seeds")
    text = repr(study.run(out=tmp_path, plots=False).table())
    assert text.startswith("1 cell × 3 seeds\n"), text
    (row,) = [ln for ln in text.splitlines() if "base" in ln]
    assert re.search(r"\d % \[[\d.]+, [\d.]+\]", row), text  # the interval on one line
