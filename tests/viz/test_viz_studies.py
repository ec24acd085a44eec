"""Study figures: drawn from a synthetic study folder, honest axes, legends outside the axes,
and a folder reader that refuses malformed files and links out of the folder."""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("matplotlib")
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PathCollection
from scipy import stats

from neuralab.studies import stats as S
from neuralab.viz import studies as V

GRID = ("model.activation", "model.negative_slope")
CELLS = (("relu", 0.01), ("relu", 0.1), ("leaky_relu", 0.01), ("leaky_relu", 0.1))
RATES = (0.2, 0.5, 0.8, 0.95)


def make_study(folder: Path, *, cells=CELLS, keys=GRID, rates=RATES, seeds: int = 50,
               epochs: int = 60, seed: int = 0) -> Path:
    """A study folder as the runner writes it: cell c reaches the target with rate rates[c];
    a run that reaches it stops (NaN curves afterwards)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    ep = np.arange(1, epochs + 1)
    rows, curves = [], {m: [] for m in ("train_loss", "train_acc", "test_loss", "test_acc")}
    for c, values in enumerate(cells):
        for i in range(seeds):
            conv = bool(rng.random() < rates[c % len(rates)])
            stop = int(rng.integers(3, epochs + 1)) if conv else epochs
            acc = np.minimum(1 - 0.5 * np.exp(-ep / (stop / 4)), 0.99)
            acc[stop - 1] = 1.0 if conv else acc[stop - 1]
            loss = 0.7 * np.exp(-ep / (stop / 3))
            for m, v in (("train_loss", loss), ("train_acc", acc), ("test_loss", loss + 0.1),
                         ("test_acc", acc - 0.05)):
                v = v.astype(np.float32)
                v[stop:] = np.nan
                curves[m].append(v)
            rows.append({"cell": c, **dict(zip(keys, values, strict=True)), "seed_index": i,
                         "seed": int(rng.integers(2**32)), "converged": conv,
                         "epoch_converged": float(stop) if conv else np.nan,
                         "epochs_budget": epochs, "diverged": False, "epochs": stop,
                         "final_train_loss": float(loss[stop - 1]),
                         "final_train_acc": float(acc[stop - 1]),
                         "final_test_loss": float(loss[stop - 1] + 0.1),
                         "final_test_acc": float(acc[stop - 1] - 0.05), "wall_s": 0.01})
    pd.DataFrame(rows).to_csv(folder / "runs.csv", index=False)
    np.savez_compressed(folder / "curves.npz", epoch=ep,
                        **{k: np.stack(v) for k, v in curves.items()})
    (folder / "summary.json").write_text(json.dumps({
        "name": "synthetic", "status": "finished", "n_cells": len(cells), "n_runs": len(rows),
        "runs_done": len(rows), "target": {"train_acc": 1.0}, "seeds": seeds,
        "wall_seconds": 1.0, "backend": "in-process"}))
    grid = {k: list(dict.fromkeys(v[j] for v in cells)) for j, k in enumerate(keys)}
    (folder / "study.toml").write_text(
        f'[train]\nepochs = {epochs}\n\n[study]\nname = "synthetic"\nseeds = {seeds}\n'
        'target = { train_acc = 1.0 }\n\n[study.grid]\n'
        + "".join(f'"{k}" = {json.dumps(v)}\n' for k, v in grid.items()))
    return folder


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> V.StudyFolder:
    return V.read_study_folder(make_study(tmp_path_factory.mktemp("study") / "s"))


def drawn(fig):
    FigureCanvasAgg(fig)  # figures are made without pyplot: give them a renderer
    fig.canvas.draw()
    return fig


@pytest.mark.slow  # six figures: 1.5-4 s depending on the machine's load
def test_study_plots_writes_every_figure(tmp_path):
    folder = make_study(tmp_path / "s", seeds=20, epochs=30)
    st = V.read_study_folder(folder)
    tables = {"cells": S.cell_table(st.runs, metrics=[]),  # as the runner hands them over
              "convergence_table": S.convergence_curves(st.runs)}
    paths = V.study_plots(folder, formats=("png",), **tables)  # SVG too: the slow test below
    names = {p.stem for p in paths}
    assert names == {"success_rates", "convergence", "distribution_final_test_acc",
                     "distribution_final_train_acc", "curve_train", "curve_test"}
    # Without the statistics tables the two figures that draw them are left out.
    assert {name for name, _ in V.study_figures(st)} == names - {"success_rates",
                                                                 "convergence"}
    for p in paths:
        assert p.parent == folder / "plots" and p.stat().st_size > 1000
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths if p.suffix == ".png")


def test_a_study_without_target_gets_no_success_plots(tmp_path):
    folder = make_study(tmp_path / "s", seeds=5, epochs=10)
    runs = pd.read_csv(folder / "runs.csv").drop(columns=["converged", "epoch_converged"])
    runs.to_csv(folder / "runs.csv", index=False)
    st = V.read_study_folder(folder)
    names = [name for name, _ in V.study_figures(st, cells=S.cell_table(st.runs, metrics=[]),
                                                  convergence_table=pd.DataFrame())]
    assert "success_rates" not in names and "convergence" not in names
    assert "curve_train" in names


def test_success_rates_are_wilson_intervals_on_a_0_to_100_axis(study):
    cells = S.cell_table(study.runs, metrics=[])
    fig = drawn(V.success_rates(cells))
    ax = fig.axes[0]
    assert ax.get_xlim() == (0.0, 100.0)
    for i, row in cells.iterrows():
        k, n = int(row["n_converged"]), int(row["n"])
        ci = stats.binomtest(k, n).proportion_ci(method="wilson")
        bars = ax.containers[i]  # one ErrorbarContainer per cell, drawn in cell order
        x = bars.lines[0].get_xdata()[0]
        seg = bars.lines[2][0].get_segments()[0]
        assert x == pytest.approx(100 * k / n)
        assert sorted(seg[:, 0]) == pytest.approx([100 * ci.low, 100 * ci.high])
    right = [t.get_text() for t in fig.axes[1].get_yticklabels()]
    assert right == [f"{int(k)}/{int(n)}" for k, n in zip(cells["n_converged"], cells["n"],
                                                            strict=True)]


def test_success_rates_needs_a_target():
    cells = pd.DataFrame({"model.lr": [0.1, 0.2], "n": [5, 5]})
    with pytest.raises(ValueError, match="success_rate"):
        V.success_rates(cells)


def test_distributions_show_every_finite_seed_on_the_full_accuracy_range(study):
    runs = study.runs.copy()
    runs.loc[[0, 1], "final_test_acc"] = np.nan  # e.g. two runs that were not evaluated
    fig = drawn(V.metric_distributions(runs, "final_test_acc"))
    ax = fig.axes[0]
    lo, hi = ax.get_xlim()
    assert lo <= 0 and hi >= 1
    points = sum(len(c.get_offsets()) for c in ax.collections if isinstance(c, PathCollection))
    assert points == int(np.isfinite(runs["final_test_acc"]).sum())
    counts = [t.get_text() for t in fig.axes[1].get_yticklabels()]
    assert counts[0] == "n=48 (2 not finite)" and counts[1] == "n=50"
    again = drawn(V.metric_distributions(runs, "final_test_acc"))  # seeded jitter
    assert np.array_equal(ax.collections[-1].get_offsets(),
                          again.axes[0].collections[-1].get_offsets())
    with pytest.raises(ValueError, match="final_val_acc"):
        V.metric_distributions(runs, "final_val_acc")


def test_mean_curves_band_is_the_t_interval_and_stopped_runs_are_carried(study):
    epochs = np.arange(1, 6)
    runs = pd.DataFrame({"cell": [0, 0, 0, 1], "model.lr": [0.1, 0.1, 0.1, 0.2],
                         "diverged": [False, False, True, False]})
    acc = np.array([[0.5, 1.0, np.nan, np.nan, np.nan],   # reached the target at epoch 2
                    [0.4, 0.5, 0.6, 0.7, 0.8],
                    [0.3, np.inf, np.nan, np.nan, np.nan],  # diverged: never carried
                    [0.2, 0.3, 0.4, 0.5, 0.6]])
    curves = {"epoch": epochs, "train_acc": acc}
    ax = drawn(V.mean_curves(curves, runs, "train_acc")).axes[0]
    mean = ax.lines[0].get_ydata()
    assert mean == pytest.approx([0.4, 0.75, 0.8, 0.85, 0.9])  # 1.0 carried from epoch 2
    flat = drawn(V.mean_curves(curves, runs, "train_acc", carry_forward=False)).axes[0]
    assert flat.lines[0].get_ydata() == pytest.approx([0.4, 0.75, 0.6, 0.7, 0.8])
    # The band at epoch 1 is scipy's t-interval of the three values there.
    band = ax.collections[0].get_paths()[0].vertices
    at1 = band[np.isclose(band[:, 0], 1.0), 1]
    ci = stats.t.interval(0.95, 2, loc=0.4, scale=stats.sem([0.5, 0.4, 0.3]))
    assert [at1.min(), at1.max()] == pytest.approx(list(ci))
    assert ax.get_ylim() == pytest.approx((-0.01, 1.01))


def test_mean_curves_tick_whole_epochs_only(study):
    """A 5-epoch study's curves were ticked at epoch 1.5, 2.5, ...: no such epoch exists."""
    runs = pd.DataFrame({"cell": [0, 1], "model.lr": [0.1, 0.2]})
    curves = {"epoch": np.arange(1, 6), "train_acc": np.full((2, 5), 0.5)}
    ax = drawn(V.mean_curves(curves, runs, "train_acc")).axes[0]
    ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    assert len(ticks) >= 2 and all(float(t).is_integer() for t in ticks)

def test_mean_curves_are_subsampled_and_check_shapes(study):
    curves = {"epoch": np.arange(1, 1001),
              "train_loss": np.random.default_rng(0).random((4, 1000))}
    runs = pd.DataFrame({"cell": [0, 0, 1, 1], "model.lr": [0.1, 0.1, 0.2, 0.2]})
    ax = V.mean_curves(curves, runs, "train_loss", max_points=300).axes[0]
    assert len(ax.lines[0].get_xdata()) == 300
    assert ax.lines[0].get_xdata()[-1] == 1000  # the last epoch is always drawn
    with pytest.raises(ValueError, match=r"shape \(4, 1000\).*\(3, 1000\)"):
        V.mean_curves(curves, runs.iloc[:3], "train_loss")
    with pytest.raises(ValueError, match="val_acc"):
        V.mean_curves(curves, runs, "val_acc")


def test_convergence_curves_end_at_the_success_rate_and_mark_the_budget(study):
    fig = drawn(V.convergence(study.runs, S.convergence_curves(study.runs)))
    ax = fig.axes[0]
    rates = study.runs.groupby("cell")["converged"].mean().to_numpy()
    steps = [ln for ln in ax.lines if ln.get_linestyle() != "--"][:len(rates)]
    for line, rate in zip(steps, rates, strict=True):
        assert line.get_xdata()[-1] == 60  # drawn to the budget
        assert line.get_ydata()[-1] == pytest.approx(100 * rate)
    budget = [ln for ln in ax.lines if ln.get_linestyle() == "--"]
    assert len(budget) == 1 and list(budget[0].get_xdata()) == [60, 60]
    assert ax.get_ylim() == (0.0, 100.0)
    assert "budget: 60 epochs" in [t.get_text() for t in fig.legends[0].get_texts()]
    other = S.convergence_curves(study.runs[study.runs["cell"] < 2])
    with pytest.raises(ValueError, match=r"no rows for the cell model\.activation=leaky_relu"):
        V.convergence(study.runs, other)
    with pytest.raises(ValueError, match=r"no \['fraction'\]"):
        V.convergence(study.runs, other.drop(columns="fraction"))


@pytest.mark.parametrize("which", ["curves", "convergence"])
def test_legends_sit_outside_the_axes_and_inside_the_figure(tmp_path, which):
    long = ("relu", "leaky_relu", "a_very_long_activation_name_without_any_space_at_all")
    cells = list(itertools.product(long, (0.01, 0.1), ("sgd_with_nesterov_momentum", "adam")))
    folder = make_study(tmp_path / "s", cells=cells, keys=(*GRID, "optim.name"), seeds=4,
                        epochs=20)
    st = V.read_study_folder(folder)
    fig = (V.mean_curves(st.curves(), st.runs, ["train_acc", "train_loss"])
           if which == "curves" else V.convergence(st.runs, S.convergence_curves(st.runs)))
    drawn(fig)
    legend = fig.legends[0].get_window_extent()
    assert len(fig.legends[0].get_texts()) >= 12
    for ax in fig.axes:
        assert not legend.overlaps(ax.get_window_extent())
    box = fig.bbox
    assert legend.y0 >= box.y0 - 1 and legend.y1 <= box.y1 + 1  # not cut off: 12 entries fit
    assert legend.x1 <= box.x1 + 1


def test_labels_lead_with_the_settings_that_differ_and_wrap():
    frame = pd.DataFrame({"model.activation": ["relu", "tanh"], "optim.lr": [0.1, 0.1],
                          "train.flag": [True, True]})
    assert V.cell_labels(frame, list(frame.columns)) == ["activation=relu", "activation=tanh"]
    label = V.wrap_label("activation=leaky_relu, lr=0.001, name=" + "x" * 40, width=20)
    assert all(len(line) <= 20 for line in label.split("\n"))
    assert V.format_value(np.float64(0.1)) == "0.1" and V.format_value(np.bool_(True)) == "true"



def test_labels_keep_integer_settings_beside_float_ones():
    """Seed 000's momentum table: a float column (momentum) and an int one (batch size) in
    one row made a float Series, and every figure said "batch_size=64.0"."""
    frame = pd.DataFrame({"optim.momentum": [0.0, 0.9], "train.batch_size": [1, 64]})
    assert V.cell_labels(frame, list(frame.columns)) == [
        "momentum=0.0, batch_size=1", "momentum=0.9, batch_size=64"]
    runs = pd.concat([frame] * 2, ignore_index=True).assign(cell=[0, 1, 0, 1])
    assert [label for label, _ in V.cell_groups(runs, list(frame.columns))] == [
        "momentum=0.0, batch_size=1", "momentum=0.9, batch_size=64"]


# ----------------------------------------------------------------------------- the reader


def test_reader_refuses_malformed_files_naming_them(tmp_path):
    folder = make_study(tmp_path / "s", seeds=3, epochs=5)
    runs = (folder / "runs.csv").read_text()
    header, first, *rest = runs.splitlines()
    with pytest.raises(ValueError, match="does not exist"):
        V.read_study_folder(tmp_path / "nothing")

    (folder / "runs.csv").write_text(runs.replace(",0.01,", ",None,", 1))
    assert V.read_study_folder(folder).runs["model.negative_slope"][0] == "None"  # as written

    cells = first.split(",")
    def row(column: str, value: str) -> str:
        changed = list(cells)
        changed[header.split(",").index(column)] = value
        return "\n".join([header, ",".join(changed), *rest])

    broken = {
        "empty file": b"",
        "header only": f"{header}\n".encode(),
        "binary": b"\x00\x01\xff\xfe binary",
        "text in a metric": row("final_test_acc", "zero").encode(),
        "text in a flag": row("converged", "yes").encode(),
        "fractional cell": row("cell", "0.5").encode(),
        "no cell column": runs.replace("cell,", "cel,", 1).encode(),
    }
    for what, data in broken.items():
        (folder / "runs.csv").write_bytes(data)
        with pytest.raises(ValueError, match=r"runs\.csv") as err:
            V.read_study_folder(folder)
        assert str(folder) in str(err.value), what

    (folder / "runs.csv").write_text(runs)
    (folder / "summary.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match=r"summary\.json must hold a JSON object"):
        V.read_study_folder(folder)
    (folder / "summary.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"summary\.json is not valid JSON"):
        V.read_study_folder(folder)
    (folder / "summary.json").write_text("{}")
    (folder / "study.toml").write_text("[study\n")
    with pytest.raises(ValueError, match=r"study\.toml is not valid TOML"):
        V.read_study_folder(folder)
    (folder / "study.toml").unlink()
    np.savez(folder / "curves.npz", epoch=np.arange(5), train_acc=np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"curves\.npz.*'train_acc'.*\(12, 5\)"):
        V.read_study_folder(folder).curves()
    (folder / "curves.npz").write_bytes(b"PK not a zip")
    with pytest.raises(ValueError, match=r"curves\.npz is not a readable"):
        V.study_plots(folder)


def test_reader_refuses_links_out_of_the_folder_and_odd_files(tmp_path):
    folder = make_study(tmp_path / "s", seeds=3, epochs=5)
    outside = tmp_path / "secret.csv"
    outside.write_text((folder / "runs.csv").read_text())
    (folder / "runs.csv").unlink()
    (folder / "runs.csv").symlink_to(outside)
    with pytest.raises(ValueError, match="outside the study folder"):
        V.read_study_folder(folder)
    inside = folder / "data" / "runs.csv"  # a link that stays inside the folder is fine
    inside.parent.mkdir()
    inside.write_text(outside.read_text())
    (folder / "runs.csv").unlink()
    (folder / "runs.csv").symlink_to(inside)
    assert len(V.read_study_folder(folder).runs) == 12
    (folder / "summary.json").unlink()
    os.mkfifo(folder / "summary.json")  # reading a FIFO would hang
    with pytest.raises(ValueError, match="not a regular file"):
        V.read_study_folder(folder)
    (folder / "summary.json").unlink()
    (folder / "plots").symlink_to(tmp_path)
    with pytest.raises(ValueError, match="plots"):
        V.study_plots(folder)


def test_reader_bounds_what_it_reads(tmp_path, monkeypatch):
    folder = make_study(tmp_path / "s", seeds=3, epochs=5)
    monkeypatch.setattr(V, "MAX_TEXT_BYTES", 10)
    with pytest.raises(ValueError, match=r"summary\.json is \d+ bytes; at most 10"):
        V.read_study_folder(folder)


@pytest.mark.slow
def test_plots_of_a_large_study_in_png_and_svg(tmp_path):
    """4 cells × 200 seeds × 1,000 epochs: every figure in both formats (their speed is
    measured in benchmarks/, not here)."""
    from neuralab.report.study import write_study_plots

    folder = make_study(tmp_path / "s", seeds=200, epochs=1000)
    paths = write_study_plots(folder, formats=("png", "svg"))
    assert len(paths) == 12 and {p.suffix for p in paths} == {".png", ".svg"}
    assert all(p.stat().st_size > 1000 for p in paths)
    assert write_study_plots(folder) == [p for p in paths if p.suffix == ".png"]  # default
