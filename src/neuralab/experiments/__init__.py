"""Experiments: a TOML config, a run folder, the run/resume driver.

Modules: :mod:`.config` (schema, loading, errors, TOML, config → estimator),
:mod:`.prepare` (the data and the unfitted estimator of a config, no files),
:mod:`.run` (run folder, training with checkpoints, resume, metrics.csv, summary.json),
:mod:`.progress` (the progress display), :mod:`.plots` (a run's figures) and
:mod:`.evaluate` (``eval`` and ``predict`` on a finished run).

>>> from neuralab.experiments import load_config, run_experiment
>>> cfg = load_config("examples/cs324/001-mlp-bgd.toml")          # doctest: +SKIP
>>> result = run_experiment(cfg)                                   # doctest: +SKIP
>>> result.run_dir, result.summary["final"]["test_acc"]           # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from neuralab.experiments.config import ConfigError, ExperimentConfig, load_config, parse_config
from neuralab.experiments.prepare import Experiment, Prepared, prepare_experiment

__all__ = ["ConfigError", "Experiment", "ExperimentConfig", "Prepared", "RunResult",
           "load_config", "parse_config", "prepare_experiment", "resume_run", "run_experiment"]


def __getattr__(name: str) -> Any:
    # The run machinery (callbacks, checkpoints, progress) loads on first use, so reading a
    # config (``neuralab config show``) does not import it.
    if name in ("run_experiment", "resume_run", "RunResult"):
        from neuralab.experiments import run

        return getattr(run, name)
    raise AttributeError(f"module 'neuralab.experiments' has no attribute {name!r}")
