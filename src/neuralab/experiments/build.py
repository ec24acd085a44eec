"""From a config to an estimator: which config keys feed which estimator parameter.

The model section gives the estimator's own options; optim and train give the shared ones
(``lr``, ``epochs``, ...). A key the chosen model does not use is an error when it is set to
something other than its default (``optim.momentum = 0.9`` with a perceptron), so a config
never silently means less than it says.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from neuralab.experiments.schema import ExperimentConfig


def _classes() -> dict[str, type]:
    from neuralab.models import (
        LinearRegression,
        LogisticRegression,
        MLPClassifier,
        MLPRegressor,
        Perceptron,
    )

    return {"perceptron": Perceptron, "logistic": LogisticRegression,
            "linear": LinearRegression, "mlp": MLPClassifier, "mlp_regressor": MLPRegressor}


REGRESSORS = ("linear", "mlp_regressor")
# estimator parameter <- (config key path, default) for the shared keys
SHARED: dict[str, tuple[str, Any]] = {
    "optimizer": ("optim.optimizer", "sgd"),
    "lr": ("optim.lr", None),  # always applies
    "momentum": ("optim.momentum", 0.0),
    "nesterov": ("optim.nesterov", False),
    "weight_decay": ("optim.weight_decay", 0.0),
    "betas": ("optim.betas", [0.9, 0.999]),
    "schedule": ("optim.schedule", "none"),
    "schedule_params": ("optim.schedule_params", {}),
    "l1": ("optim.l1", 0.0),
    "l2": ("optim.l2", 0.0),
    "flooding": ("optim.flooding", None),
    "epochs": ("train.epochs", None),
    "batch_size": ("train.batch_size", "full"),
    "shuffle": ("train.shuffle", True),
    "eval_every": ("train.eval_every", None),
    "seed": ("train.seed", None),
    "dtype": ("train.dtype", None),
    "target_accuracy": ("train.target_accuracy", None),
    "early_stopping": ("train.early_stopping.enabled", False),
    "monitor": ("train.early_stopping.monitor", "val_loss"),
    "patience": ("train.early_stopping.patience", 10),
    "min_delta": ("train.early_stopping.min_delta", 0.0),
    "restore_best_weights": ("train.early_stopping.restore_best_weights", True),
}
WHY = {
    "perceptron": "the perceptron rule has its own update (mode='online' per sample, 'batch' "
                  "once per epoch)",
    "linear": "",
}


def _get(cfg: ExperimentConfig, path: str) -> Any:
    node: Any = cfg
    for part in path.split("."):
        node = getattr(node, part)
    return node


def _kind_and_options(cfg: ExperimentConfig) -> tuple[str, dict[str, Any]]:
    model = cfg.model
    if model.kind == "ovr":
        return model.base, dict(model.options)
    return model.kind, model.model_dump(exclude={"kind"})


def estimator_params(cfg: ExperimentConfig, kind: str, options: dict[str, Any]
                     ) -> dict[str, Any]:
    """Constructor arguments for the estimator of ``kind`` (raises ConfigError on keys that
    do not apply)."""
    from neuralab.experiments.errors import ConfigError

    cls = _classes()[kind]
    names = set(cls._get_param_names())
    params = dict(options)
    for param, (path, default) in SHARED.items():
        value = _get(cfg, path)
        if param in names:
            params[param] = value
        elif default is not None and value != default and not (
                kind == "perceptron" and param == "target_accuracy"):
            why = WHY.get(kind) or "it has no such setting"
            raise ConfigError(f"{path}={value!r} does not apply to model.kind={kind!r}: {why}; "
                              "remove it")
    if "schedule" in params:
        params["schedule"] = None if params["schedule"] == "none" else params["schedule"]
        params["schedule_params"] = dict(params.get("schedule_params") or {}) or None
    if isinstance(params.get("hidden"), list):
        params["hidden"] = tuple(params["hidden"])
    if isinstance(params.get("betas"), list):
        params["betas"] = tuple(params["betas"])
    target = cfg.train.target_accuracy
    if kind == "perceptron" and target is not None:
        if target != 1.0:
            raise ConfigError(f"train.target_accuracy={target!r} does not apply to a perceptron: "
                              "it can only stop at separation (use 1.0, or "
                              "model.stop_on_separation = true)")
        params["stop_on_separation"] = True
    if kind == "linear" and params.get("solver") == "lstsq":
        for path in ("optim.l1",):
            if _get(cfg, path):
                raise ConfigError(f"{path} needs model.solver='gd'; the closed form (lstsq) "
                                  "supports optim.l2 (ridge) only")
    return params


def check_applicable(cfg: ExperimentConfig) -> None:
    """Raise ConfigError for a key that does not apply to the model, and validate the
    estimator's own parameters (so every problem shows before any data is loaded)."""
    from neuralab.experiments.errors import ConfigError

    kind, options = _kind_and_options(cfg)
    params = estimator_params(cfg, kind, options)
    es = cfg.train.early_stopping
    if es.enabled and cfg.model.kind == "ovr":
        raise ConfigError("train.early_stopping does not apply to model.kind='ovr' (each binary "
                          "model trains to train.epochs)")
    if es.enabled and es.monitor.endswith("_acc") and kind in REGRESSORS:
        raise ConfigError(f"train.early_stopping.monitor={es.monitor!r} needs a classifier; "
                          f"model.kind={kind!r} is a regressor (use val_loss or train_loss)")
    try:
        est = _classes()[kind](**params)
        est._validate_params()
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"model {kind}: {' '.join(str(exc).split())}") from None


def build_estimator(cfg: ExperimentConfig, callbacks: list[Any] | None = None) -> Any:
    """The (unfitted) estimator the config describes; for ``ovr`` the base estimator."""
    kind, options = _kind_and_options(cfg)
    params = estimator_params(cfg, kind, options)
    params["callbacks"] = callbacks
    return _classes()[kind](**params)


def is_classifier(cfg: ExperimentConfig) -> bool:
    kind, _ = _kind_and_options(cfg)
    return kind not in REGRESSORS


__all__ = ["build_estimator", "check_applicable", "estimator_params", "is_classifier"]
