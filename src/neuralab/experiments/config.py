"""The experiment config: one TOML file with sections data, model, optim, train, output.

This module gathers the config API in one place; the parts live in
:mod:`~neuralab.experiments.schema` (the section models and their defaults),
:mod:`~neuralab.experiments.loading` (TOML file, flags, ``--set``, validation),
:mod:`~neuralab.experiments.errors` (one-line messages) and
:mod:`~neuralab.experiments.tomltext` (writing TOML). An empty file is the CS324 default run
(moons, a 2-20-2 MLP, lr 1e-2, 1500 full-batch epochs, evaluated every 10).

>>> cfg = parse_config({"model": {"kind": "mlp", "hidden": [20, 20]}, "optim": {"lr": 0.1}})
>>> cfg.model.hidden, cfg.optim.lr, cfg.train.batch_size
([20, 20], 0.1, 'full')
"""

from __future__ import annotations

from neuralab.experiments.errors import ConfigError, format_validation_error
from neuralab.experiments.loading import (
    apply_set,
    load_config,
    parse_config,
    parse_value,
    read_toml,
)
from neuralab.experiments.schema import (
    ACTIVATION_NAMES,
    ALIASES,
    BASE_MODELS,
    DATA_DEFAULTS,
    MODELS,
    NAME_RE,
    SECTIONS,
    DataConfig,
    EarlyStoppingConfig,
    ExperimentConfig,
    LinearModel,
    LogisticModel,
    MLPModel,
    MLPRegressorModel,
    ModelConfig,
    OptimConfig,
    OutputConfig,
    OvRModel,
    PerceptronModel,
    SplitConfig,
    TrainConfig,
    default_name,
)
from neuralab.experiments.tomltext import dump_toml

__all__ = [
    "ACTIVATION_NAMES", "ALIASES", "BASE_MODELS", "DATA_DEFAULTS", "MODELS", "NAME_RE",
    "SECTIONS", "ConfigError", "DataConfig", "EarlyStoppingConfig", "ExperimentConfig",
    "LinearModel", "LogisticModel", "MLPModel", "MLPRegressorModel", "ModelConfig",
    "OptimConfig", "OutputConfig", "OvRModel", "PerceptronModel", "SplitConfig",
    "TrainConfig", "apply_set", "default_name", "dump_toml", "format_validation_error",
    "load_config", "parse_config", "parse_value", "read_toml",
]
