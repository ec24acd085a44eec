"""A full disk (simulated with RLIMIT_FSIZE: every write past the limit fails with EFBIG, as
ENOSPC would): one line, exit code 1, the run marked failed, no orphan folder, and
``--resume`` finishes once the limit is lifted."""

from __future__ import annotations

import csv
import json

import pytest
from fault_helpers import cli, metrics_epochs, one_line, only_run, write_config

pytestmark = pytest.mark.slow


def test_disk_full_during_training_then_resume(tmp_path):
    # A 64-64 MLP: config.toml, summary.json and the first metrics rows fit in 24 KB, the
    # first checkpoint (~45 KB) does not.
    cfg = write_config(tmp_path / "df.toml", tmp_path / "runs", hidden="64, 64", epochs=30)
    proc = cli("train", str(cfg), "--quiet", cwd=tmp_path, fsize=24_000)
    line = one_line(proc, 1)
    run = only_run(tmp_path / "runs")
    assert "File too large" in line and "checkpoints/last.npz" in line
    assert f"neuralab train --resume {run}" in line
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "failed" and "File too large" in summary["error"]
    assert not list(run.rglob("*.tmp")), "a temporary file was left behind"

    # the space is back: the same run finishes, nothing duplicated
    resumed = cli("train", "--resume", str(run), "--quiet", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((run / "summary.json").read_text())["status"] == "finished"
    epochs = metrics_epochs(run)
    assert epochs == list(range(3, 31, 3))
    assert only_run(tmp_path / "runs") == run


def test_disk_full_before_the_run_starts_leaves_no_folder(tmp_path):
    cfg = write_config(tmp_path / "df.toml", tmp_path / "runs")
    for _ in range(2):  # a retry does not pile up folders either
        proc = cli("train", str(cfg), "--quiet", cwd=tmp_path, fsize=300)
        line = one_line(proc, 1)
        assert "config.toml: File too large" in line
        assert not any((tmp_path / "runs").iterdir())


def test_disk_full_writing_a_report_or_predictions(tmp_path):
    cfg = write_config(tmp_path / "df.toml", tmp_path / "runs", epochs=3, plots=True)
    assert cli("train", str(cfg), "--quiet", cwd=tmp_path).returncode == 0
    run = only_run(tmp_path / "runs")
    report = cli("report", str(run), "-o", "r.html", cwd=tmp_path, fsize=2_000)
    assert "r.html: File too large" in one_line(report, 1)
    points = tmp_path / "points.csv"
    points.write_text("x1,x2\n" + "0.5,0.25\n" * 200)
    predict = cli("predict", str(run), str(points), "-o", "p.csv", cwd=tmp_path, fsize=2_000)
    assert "p.csv: File too large" in one_line(predict, 1)
    assert not (tmp_path / "r.html").exists() and not (tmp_path / "p.csv").exists()
    assert not list(tmp_path.glob(".*.tmp"))


STUDY = """
[data]
name = "moons"
options = {n = 200, noise = 0.2}
[model]
kind = "mlp"
hidden = [8]
[train]
epochs = 20
[study]
seeds = 6
target = {train_acc = 0.95}
[study.grid]
"optim.lr" = [0.3, 1.0]
"""


def test_disk_full_during_a_study_then_resume(tmp_path):
    """The first chunk file does not fit: one line with the --resume command, exit 1, the
    folder marked failed; with the space back, --resume finishes it with the results of a
    study that never failed."""
    (tmp_path / "s.toml").write_text(STUDY)
    proc = cli("study", "s.toml", "--out", "studies", "-q", "--no-plots", cwd=tmp_path,
               fsize=3_000)
    line = one_line(proc, 1)
    folder = only_run(tmp_path / "studies")
    assert "File too large" in line and "chunks/" in line and " of 12 runs saved" in line
    assert line.endswith(f"then: neuralab study --resume studies/{folder.name}")
    assert json.loads((folder / "summary.json").read_text())["status"] == "failed"
    assert not list(folder.rglob("*.tmp")), "a temporary file was left behind"
    resumed = cli("study", "--resume", f"studies/{folder.name}", "-q", "--no-plots",
                  cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    whole = cli("study", "s.toml", "--out", "whole", "-q", "--no-plots", cwd=tmp_path)
    assert whole.returncode == 0, whole.stderr
    assert study_rows(folder) == study_rows(only_run(tmp_path / "whole"))


def study_rows(folder) -> list[dict[str, str]]:
    """runs.csv without its wall-clock column."""
    with open(folder / "runs.csv", newline="") as f:
        return [{k: v for k, v in row.items() if k != "wall_s"} for row in csv.DictReader(f)]
