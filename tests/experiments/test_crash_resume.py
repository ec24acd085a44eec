"""Crash safety: SIGKILL `neuralab train` at 20 random moments, resume each, and compare
with the uninterrupted run: identical final weights (every array of model.npz) and
identical metrics.csv (all columns but the wall-clock seconds), no missing or duplicated
rows."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from neuralab.io import load_arrays

KILLS = 20
CONFIG = """
[data]
name = "moons"
options = {{n = 300, noise = 0.2}}
[model]
kind = "mlp"
hidden = [16, 16]
dropout = 0.1
[optim]
lr = 0.1
momentum = 0.9
schedule = "step"
schedule_params = {{step_size = 50, gamma = 0.8}}
[train]
epochs = 400
batch_size = 32
eval_every = 3
checkpoint_every = {every}
[output]
dir = "{out}"
name = "crash"
plots = false
"""


def _train(args: list[str]) -> subprocess.Popen:
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.Popen([sys.executable, "-m", "neuralab", "train", *args, "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def _rows(run: Path) -> list[list[str]]:
    with open(run / "metrics.csv", newline="") as f:
        return [r[:-1] for r in csv.reader(f)]


def _same_weights(a: Path, b: Path) -> bool:
    x, y = load_arrays(a / "model.npz")[1], load_arrays(b / "model.npz")[1]
    if set(x) != set(y):
        return False
    return all(np.array_equal(x[k], y[k], equal_nan=x[k].dtype.kind == "f")
               for k in x if k != "meta/params")


@pytest.mark.slow
def test_sigkill_at_random_moments_then_resume(tmp_path):
    rng = np.random.default_rng(20261124)
    ref_cfg = tmp_path / "ref.toml"
    ref_cfg.write_text(CONFIG.format(every=3, out=tmp_path / "ref"))
    t0 = time.perf_counter()
    ref = _train([str(ref_cfg)])
    started = None  # when the run folder appeared (imports and data loading come first)
    while ref.poll() is None:
        if started is None and list((tmp_path / "ref").glob("*/config.toml")):
            started = time.perf_counter() - t0
        time.sleep(0.01)
    duration = time.perf_counter() - t0
    _out, err = ref.communicate(timeout=120)
    assert ref.returncode == 0, err
    started = started or 0.0
    ref_run = next((tmp_path / "ref").iterdir())
    ref_rows = _rows(ref_run)
    epochs = [int(r[1]) for r in ref_rows[1:]]
    assert epochs == sorted(set(epochs)) and epochs[-1] == 400

    phases = {"before the run folder": 0, "before the first checkpoint": 0,
              "while training": 0, "after training": 0}
    for i in range(KILLS):
        out_dir = tmp_path / f"k{i}"
        cfg = tmp_path / f"k{i}.toml"
        cfg.write_text(CONFIG.format(every=int(rng.integers(1, 6)), out=out_dir))
        proc = _train([str(cfg)])
        # mostly after start-up, where there is something to lose; some before
        time.sleep(float(rng.uniform(0.8 * started, duration)))
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        runs = list(out_dir.iterdir()) if out_dir.exists() else []
        if not runs or not (runs[0] / "config.toml").is_file():
            # killed before the run existed: nothing to resume, start it again
            phases["before the run folder"] += 1
            again = _train([str(cfg)])
            assert again.wait(timeout=120) == 0
            run = next(r for r in out_dir.iterdir() if (r / "config.toml").is_file())
        else:
            run = runs[0]
            ckpt = run / "checkpoints" / "last.npz"
            if (run / "model.npz").is_file():
                phases["after training"] += 1
            elif ckpt.is_file():
                phases["while training"] += 1
            else:
                phases["before the first checkpoint"] += 1
            for _ in range(3):  # resume until finished (once should do)
                resumed = _train(["--resume", str(run)])
                _, err = resumed.communicate(timeout=120)
                assert resumed.returncode == 0, err.decode()
                if (run / "model.npz").is_file():
                    break
        assert _same_weights(ref_run, run), f"kill {i}: weights differ"
        rows = _rows(run)
        assert rows == ref_rows, f"kill {i}: metrics.csv differs"
    print(f"\nSIGKILL moments: {phases}")
    assert phases["while training"] >= 3, phases
