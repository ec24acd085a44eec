"""Run an experiment into a run folder, or resume one after a crash or Ctrl-C.

``run_experiment(cfg)`` loads the data, creates ``runs/<name>-<timestamp>/``, trains with a
:class:`~neuralab.experiments.recorder.RunRecorder` callback, then writes the model, the
plots and summary.json. ``resume_run(folder)`` reads the folder's config.toml and its last
checkpoint and continues; the final weights and metrics.csv equal those of a run that was
never interrupted (tests/experiments/test_crash_resume.py kills runs with SIGKILL to check).
This module drives a run and turns Ctrl-C and divergence into a recorded status; the parts
are in :mod:`~neuralab.experiments.preflight`, :mod:`~neuralab.experiments.session`,
:mod:`~neuralab.experiments.training` and :mod:`~neuralab.experiments.summary`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neuralab.exceptions import NeuralabError, TrainingDiverged
from neuralab.experiments.errors import ConfigError
from neuralab.experiments.loading import load_config
from neuralab.experiments.preflight import check_task, config_header, quick
from neuralab.experiments.prepare import Prepared, prepare
from neuralab.experiments.progress import Reporter
from neuralab.experiments.runfolder import atomic_write_json, atomic_write_text, new_run_dir
from neuralab.experiments.schema import ExperimentConfig, default_name
from neuralab.experiments.session import Session, load_checkpoint, resumed_epoch
from neuralab.experiments.summary import finish, read_summary, write_summary
from neuralab.experiments.training import train_ovr, train_single


class RunInterrupted(NeuralabError):
    """Training stopped on Ctrl-C after saving a checkpoint; ``run_dir`` resumes it."""

    def __init__(self, run_dir: Path, epoch: int | None) -> None:
        self.run_dir, self.epoch = run_dir, epoch
        super().__init__(f"interrupted; resume with: neuralab train --resume {run_dir}")


class RunFailed(NeuralabError):
    """Training failed (e.g. diverged); the run folder keeps what was recorded."""


@dataclass
class RunResult:
    run_dir: Path
    summary: dict[str, Any]
    estimator: Any
    data: Prepared | None


def run_experiment(cfg: ExperimentConfig, *, quiet: bool = False, offline: bool = False,
                   reporter: Reporter | None = None) -> RunResult:
    """Train ``cfg`` into a new run folder under ``cfg.output.dir``; returns the result."""
    data = prepare(cfg.data, offline=offline)
    check_task(cfg, data)
    name = default_name(cfg)
    cfg = cfg.model_copy(update={"output": cfg.output.model_copy(update={"name": name})})
    run_dir = new_run_dir(cfg.output.dir, name)
    atomic_write_text(run_dir / "config.toml", config_header(cfg) + cfg.to_toml())
    return _execute(run_dir, cfg, data, state=None, quiet=quiet, reporter=reporter)


def resume_run(run_dir: str | Path, *, quiet: bool = False, epochs: int | None = None,
               offline: bool = False, reporter: Reporter | None = None) -> RunResult:
    """Continue the run in ``run_dir`` from its last checkpoint (or from the start when it
    was stopped before the first one). ``epochs`` extends a run to more epochs."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ConfigError(f"run folder {run_dir} does not exist")
    if not (run_dir / "config.toml").is_file():
        raise ConfigError(f"{run_dir} is not a run folder (it has no config.toml)")
    cfg = load_config(run_dir / "config.toml")
    if epochs is not None and epochs != cfg.train.epochs:
        cfg = cfg.model_copy(update={"train": cfg.train.model_copy(update={"epochs": epochs})})
        atomic_write_text(run_dir / "config.toml", config_header(cfg) + cfg.to_toml())
    summary = read_summary(run_dir)
    if summary.get("status") == "finished" and (run_dir / "model.npz").is_file() and (
            epochs is None or summary.get("epochs_requested") == cfg.train.epochs):
        line = f"{run_dir} already finished; nothing to resume"
        if not quiet:
            print(line)
        return RunResult(run_dir, summary, None, None)
    data = prepare(cfg.data, offline=offline)
    check_task(cfg, data)
    state = load_checkpoint(run_dir)
    return _execute(run_dir, cfg, data, state=state, quiet=quiet, reporter=reporter)


def _execute(run_dir: Path, cfg: ExperimentConfig, data: Prepared, *,
             state: dict[str, np.ndarray] | None, quiet: bool,
             reporter: Reporter | None) -> RunResult:
    ses = Session(run_dir, cfg, data, quiet, reporter)
    atomic_write_json(run_dir / "preprocess.json", data.preprocess)
    resumed_from = resumed_epoch(state)
    if state is None and (run_dir / "metrics.csv").exists():
        ses.reporter.message("no checkpoint yet: starting over from epoch 0")
    elif state is not None:
        ses.reporter.message(f"resuming {run_dir} after epoch {resumed_from}")
    else:
        ses.reporter.message(f"run folder {run_dir}")
    write_summary(ses, {"status": "running"})
    try:
        with ses.stop:
            if cfg.model.kind == "ovr":
                est, elapsed = train_ovr(ses, state)
            else:
                est, elapsed = train_single(ses, state)
    except KeyboardInterrupt:
        ses.reporter.stop()
        saved = resumed_epoch(load_checkpoint(run_dir))
        ses.reporter.message(f"interrupted; last checkpoint after epoch {saved}")
        write_summary(ses, {"status": "interrupted", "checkpoint_epoch": saved})
        raise RunInterrupted(run_dir, saved) from None
    except TrainingDiverged as exc:
        ses.reporter.stop()
        ses.reporter.message(f"failed: {exc}")
        write_summary(ses, {"status": "diverged", "error": str(exc)})
        raise RunFailed(f"{exc} (run folder {run_dir} keeps the metrics so far)") from None
    ses.reporter.stop()
    summary = finish(ses, est, elapsed, resumed_from)
    return RunResult(run_dir, summary, est, data)


__all__ = ["RunFailed", "RunInterrupted", "RunResult", "quick", "read_summary", "resume_run",
           "run_experiment"]
