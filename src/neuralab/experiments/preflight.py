"""What is settled before a run trains: the ``--quick`` config, the config.toml header, and
the checks of the config against the prepared data (task, validation set, classes)."""

from __future__ import annotations

import numpy as np

from neuralab.experiments.build import is_classifier
from neuralab.experiments.errors import ConfigError
from neuralab.experiments.prepare import Prepared
from neuralab.experiments.runfolder import versions
from neuralab.experiments.schema import ExperimentConfig

QUICK_EPOCHS = 5
QUICK_CAPS = {"n_train": 600, "n_val": 200, "n_test": 200}


def quick(cfg: ExperimentConfig) -> ExperimentConfig:
    """A smoke-test version of ``cfg``: at most 5 epochs and a few hundred samples."""
    data = cfg.data.model_copy(update={k: min(getattr(cfg.data, k) or cap, cap)
                                       for k, cap in QUICK_CAPS.items()})
    epochs = min(cfg.train.epochs, QUICK_EPOCHS)
    train = cfg.train.model_copy(update={"epochs": epochs,
                                         "eval_every": min(cfg.train.eval_every, epochs),
                                         "checkpoint_every": min(cfg.train.checkpoint_every,
                                                                 epochs)})
    return cfg.model_copy(update={"data": data, "train": train})


def config_header(cfg: ExperimentConfig) -> str:
    """The comment lines at the top of a run folder's config.toml."""
    return (f"# neuralab {versions()['neuralab']}: resolved config of run {cfg.output.name!r}"
            " (every default filled in)\n# rerun: neuralab train config.toml; continue: "
            "neuralab train --resume <this folder>\n\n")


def check_task(cfg: ExperimentConfig, data: Prepared) -> None:
    """Raise :class:`ConfigError` when ``cfg`` cannot train on ``data``."""
    clf = is_classifier(cfg)
    if clf and data.task != "classification":
        raise ConfigError(f"model.kind={cfg.model.kind!r} is a classifier but dataset "
                          f"{cfg.data.name!r} is a regression set; use model.kind='linear' "
                          "or 'mlp_regressor'")
    if not clf and data.task != "regression":
        raise ConfigError(f"model.kind={cfg.model.kind!r} is a regressor but dataset "
                          f"{cfg.data.name!r} has class labels; use a classifier (mlp, "
                          "logistic, perceptron, ovr)")
    es = cfg.train.early_stopping
    if es.enabled and es.monitor.startswith("val") and "val" not in data.sets:
        raise ConfigError(f"train.early_stopping.monitor={es.monitor!r} needs a validation "
                          "set; set data.split.val (e.g. 0.1) or monitor train_loss")
    if clf and len(np.unique(data.sets["train"][1])) < 2:
        raise ConfigError(f"the training split of {cfg.data.name!r} holds a single class; "
                          "a classifier needs at least 2")


__all__ = ["QUICK_CAPS", "QUICK_EPOCHS", "check_task", "config_header", "quick"]
