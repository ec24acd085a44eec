"""A small study file and the command line, shared by the study tests."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def base_config(epochs: int = 30) -> dict:
    """A small study's base config: moons 120, MLP 2-6-2, full batch, lr 0.5."""
    return {"data": {"name": "moons", "options": {"n": 120, "noise": 0.1}},
            "model": {"kind": "mlp", "hidden": [6]},
            "optim": {"lr": 0.5},
            "train": {"epochs": epochs, "batch_size": "full", "eval_every": 1},
            "output": {"plots": False}}


STUDY = """
[data]
name = "moons"
options = {{n = {n}, noise = 0.1}}
[model]
kind = "mlp"
hidden = [{hidden}]
[optim]
lr = 0.5
[train]
epochs = {epochs}
batch_size = "full"
eval_every = 1
[study]
name = "{name}"
seeds = {seeds}
target = {{train_acc = {target}}}
[study.grid]
"model.activation" = ["relu", "tanh"]
"optim.lr" = [{lrs}]
"""


def study_toml(epochs: int, seeds: int, *, n: int = 120, hidden: int = 6,
               target: float = 0.95, lrs: str = "0.5, 1.0", name: str = "tiny") -> str:
    """A 2 × 2 study of moons (activation × learning rate)."""
    return STUDY.format(epochs=epochs, seeds=seeds, n=n, hidden=hidden, target=target,
                        lrs=lrs, name=name)


def env() -> dict[str, str]:
    return {**os.environ, "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1"}


def cli(*args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    """``neuralab ARGS`` in a fresh process."""
    return subprocess.run([sys.executable, "-m", "neuralab", *args], cwd=cwd, env=env(),
                          capture_output=True, text=True, timeout=timeout)


def refused(done: subprocess.CompletedProcess, match: str, studies: Path) -> None:
    """``done`` (a ``neuralab study``) was bad input: one ``neuralab: error:`` line naming
    ``match``, exit 2, no traceback, and no study folder in ``studies``."""
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("neuralab: error:"), done.stderr
    assert match in lines[0] and "Traceback" not in done.stderr
    assert not studies.exists() or not any(studies.iterdir())


def runs_rows(folder: Path) -> list[tuple]:
    """runs.csv without the wall-clock column, sorted: equal for equal studies."""
    with open(folder / "runs.csv", newline="") as f:
        return sorted(tuple(v for k, v in r.items() if k != "wall_s")
                      for r in csv.DictReader(f))


def check_trains_again(args: list[str], run: Any, cwd: Path) -> None:
    """``neuralab ARGS`` (a cell file's train command, with a run's seed) ends with the
    final metrics ``run`` (a row of runs.csv) has."""
    import pandas as pd
    import pytest

    again = cli(*args, "--no-plots", "--out", "runs", "--quiet", cwd=cwd)
    assert again.returncode == 0, again.stderr
    (trained,) = (cwd / "runs").iterdir()
    last = pd.read_csv(trained / "metrics.csv").iloc[-1]
    assert int(last["epoch"]) == int(run["epochs"])
    for key in ("train_loss", "train_acc", "test_loss", "test_acc"):
        assert last[key] == pytest.approx(run[f"final_{key}"], rel=1e-6), key
