"""Experiments: a TOML config, a run folder, the run/resume driver.

>>> from neuralab.experiments import load_config, run_experiment
>>> cfg = load_config("examples/cs324/001-mlp-bgd.toml")          # doctest: +SKIP
>>> result = run_experiment(cfg)                                   # doctest: +SKIP
>>> result.run_dir, result.summary["final"]["test_acc"]           # doctest: +SKIP
"""

from __future__ import annotations

from neuralab.experiments.errors import ConfigError
from neuralab.experiments.loading import load_config, parse_config
from neuralab.experiments.schema import ExperimentConfig

__all__ = ["ConfigError", "ExperimentConfig", "load_config", "parse_config", "resume_run",
           "run_experiment"]


def __getattr__(name: str):
    if name in ("run_experiment", "resume_run", "RunResult"):
        from neuralab.experiments import runner

        return getattr(runner, name)
    raise AttributeError(name)
