"""Helpers of the fault tests: a small run config, the CLI in a fresh process, the one-line
error check (a module of its own: test files import it by name)."""

from __future__ import annotations

import csv
import os
import resource
import subprocess
import sys
from pathlib import Path

CONFIG = """
[data]
name = "moons"
options = {{n = 300, noise = 0.2}}
[model]
kind = "mlp"
hidden = [{hidden}]
[optim]
lr = 0.1
momentum = 0.9
{optim}
[train]
epochs = {epochs}
batch_size = 32
eval_every = {eval_every}
checkpoint_every = {checkpoint_every}
[output]
dir = "{out}"
name = "{name}"
plots = {plots}
"""


def write_config(path: Path, out: Path, *, epochs: int = 30, hidden: str = "16, 16",
                 eval_every: int = 3, checkpoint_every: int = 4, name: str = "f",
                 plots: bool = False, optim: str = "") -> Path:
    """A moons MLP config at ``path`` whose runs go under ``out``."""
    path.write_text(CONFIG.format(out=out, epochs=epochs, hidden=hidden, eval_every=eval_every,
                                  checkpoint_every=checkpoint_every, name=name,
                                  plots="true" if plots else "false", optim=optim),
                    encoding="utf-8")
    return path


def env(**extra: str) -> dict[str, str]:
    return {**os.environ, "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1", **extra}


def _file_size_limit(limit: int):  # a preexec_fn
    def apply() -> None:  # runs in the child: Python ignores SIGXFSZ, so writes get EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def start(*args: str, cwd: Path, fsize: int | None = None, **extra: str) -> subprocess.Popen:
    """``neuralab ARGS`` started in a fresh process (``fsize``: RLIMIT_FSIZE in bytes)."""
    return subprocess.Popen([sys.executable, "-m", "neuralab", *args], cwd=cwd, env=env(**extra),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=None if fsize is None else _file_size_limit(fsize))


def cli(*args: str, cwd: Path, fsize: int | None = None, timeout: float = 300,
        **extra: str) -> subprocess.CompletedProcess:
    """``neuralab ARGS`` run to the end in a fresh process."""
    proc = start(*args, cwd=cwd, fsize=fsize, **extra)
    out, err = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def one_line(proc: subprocess.CompletedProcess, code: int) -> str:
    """The single ``neuralab: error:`` line of a failed command with exit code ``code``."""
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    assert len(lines) == 1 and lines[0].startswith("neuralab: error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


def metrics_epochs(run: Path) -> list[int]:
    """The epochs of metrics.csv's rows, in file order."""
    with open(run / "metrics.csv", newline="") as f:
        return [int(r["epoch"]) for r in csv.DictReader(f)]


def only_run(out: Path) -> Path:
    """The one run folder under ``out`` (fails when there are none or several)."""
    runs = [p for p in out.iterdir() if p.is_dir()]
    assert len(runs) == 1, runs
    return runs[0]
