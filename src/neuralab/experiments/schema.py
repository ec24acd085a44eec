"""The config schema: one pydantic model per TOML section (data, model, optim, train, output).

``extra="forbid"``: an unknown key is an error. Every field has a default (listed in
docs/config.md), so ``ExperimentConfig()`` is the CS324 default run.

>>> ExperimentConfig().model.hidden, ExperimentConfig().train.epochs
([20], 1500)
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from neuralab._checks import suggest
from neuralab.experiments.errors import ConfigError, format_validation_error
from neuralab.experiments.tomltext import drop_none, dump_toml

SECTIONS = ("data", "model", "optim", "train", "output")
ACTIVATION_NAMES = ("relu", "leaky_relu", "tanh", "sigmoid", "identity")
# Options filled in for a dataset when the config does not give them (shown in config show).
DATA_DEFAULTS: dict[str, dict[str, Any]] = {
    "moons": {"n": 1000, "noise": 0.2},  # the CS324 skeleton's make_moons set
    "circles": {"n": 1000, "noise": 0.1, "factor": 0.5},
}
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


def _count_or_fraction(name: str, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("give a fraction in [0, 1) or a count of samples")
    if isinstance(value, float) and not 0.0 <= value < 1.0:
        raise ValueError("a fraction must lie in [0, 1) (give an integer for a count)")
    if isinstance(value, int) and value < 0:
        raise ValueError("a count must be >= 0")
    return value


class SplitConfig(_Section):
    """How a dataset without a published split is divided (and where validation comes from)."""

    test: float | int = 0.2
    val: float | int | None = None
    seed: Annotated[int, Field(ge=0)] = 0
    stratify: bool = True

    @field_validator("test", "val", mode="before")
    @classmethod
    def _sizes(cls, v: Any, info: Any) -> Any:
        return _count_or_fraction(info.field_name, v)


class DataConfig(_Section):
    name: str = "moons"
    options: dict[str, Any] = Field(default_factory=dict)
    path: str | None = None
    root: str | None = None
    seed: Annotated[int, Field(ge=0)] = 0
    split: SplitConfig = Field(default_factory=SplitConfig)
    n_train: Annotated[int, Field(ge=1)] | None = None
    n_val: Annotated[int, Field(ge=1)] | None = None
    n_test: Annotated[int, Field(ge=1)] | None = None
    features: list[str] | None = None
    degree: Annotated[int, Field(ge=1, le=10)] | None = None
    scaling: Literal["none", "standardize", "minmax", "divide"] = "none"
    divide_by: Annotated[float, Field(gt=0)] = 255.0

    @field_validator("name")
    @classmethod
    def _known(cls, v: str) -> str:
        from neuralab.data import registry

        try:
            return registry.info(v).name
        except ValueError as exc:
            raise ValueError(str(exc).replace("unknown dataset", "unknown dataset name")) from None

    @field_validator("options")
    @classmethod
    def _option_names(cls, v: dict[str, Any]) -> dict[str, Any]:
        for key in ("path", "root", "seed"):
            if key in v:
                raise ValueError(f"give {key} as data.{key}, not inside data.options")
        return v

    @model_validator(mode="after")
    def _check(self) -> DataConfig:
        from neuralab.data import registry

        info = registry.info(self.name)
        allowed = [o for o in info.options if o not in ("path", "root", "seed")]
        for key in self.options:
            if key not in allowed:
                raise ConfigError(f"data.options.{key}: dataset {self.name!r} has no option "
                                  f"{key!r}{suggest(key, allowed)}; its options are "
                                  f"{', '.join(allowed) or '(none)'}")
        for key in ("path", "root"):
            if getattr(self, key) is not None and key not in info.options:
                raise ConfigError(f"data.{key}: dataset {self.name!r} is not read from a "
                                  f"file, so it takes no {key}")
        if self.features is not None and self.degree is not None:
            raise ConfigError("data.features and data.degree are both set; give one feature "
                              "map (Playground features or polynomial degree)")
        if self.features is not None:
            from neuralab.data.features import PLAYGROUND_FEATURES, PLAYGROUND_IDS

            known = [*PLAYGROUND_FEATURES, *PLAYGROUND_IDS]
            if not self.features:
                raise ConfigError("data.features is empty; list at least one feature "
                                  f"({', '.join(PLAYGROUND_FEATURES)})")
            for f in self.features:
                if f not in known:
                    raise ConfigError(f"data.features: unknown feature {f!r}{suggest(f, known)}"
                                      f"; choose from {', '.join(PLAYGROUND_FEATURES)}")
        for key, value in DATA_DEFAULTS.get(self.name, {}).items():
            self.options.setdefault(key, value)
        return self


# -- models ----------------------------------------------------------------------------------
class _ModelBase(_Section):
    fit_intercept: bool = True


class PerceptronModel(_ModelBase):
    kind: Literal["perceptron"] = "perceptron"
    mode: Literal["online", "batch"] = "online"
    init: Literal["zeros", "random"] = "zeros"
    init_std: Annotated[float, Field(gt=0)] = 0.01
    stop_on_separation: bool = False


class LogisticModel(_ModelBase):
    kind: Literal["logistic"] = "logistic"


class LinearModel(_ModelBase):
    kind: Literal["linear"] = "linear"
    solver: Literal["lstsq", "gd"] = "lstsq"


Activation = Literal["relu", "leaky_relu", "tanh", "sigmoid", "identity"]


class _MLPBase(_Section):
    hidden: list[Annotated[int, Field(ge=1, le=100_000)]] = Field(default_factory=lambda: [20])
    activation: Activation | list[Activation] = "relu"
    negative_slope: Annotated[float, Field(ge=0, le=1)] = 0.01
    init: Literal["auto", "he", "kaiming", "he_uniform", "xavier", "glorot", "normal",
                  "uniform", "zeros"] = "auto"
    init_std: Annotated[float, Field(gt=0)] = 1e-4
    dropout: Annotated[float, Field(ge=0, lt=1)] | list[Annotated[float, Field(ge=0, lt=1)]] \
        = 0.0
    batch_norm: bool = False

    @model_validator(mode="after")
    def _per_layer(self) -> _MLPBase:
        for key in ("activation", "dropout"):
            value = getattr(self, key)
            if isinstance(value, list) and len(value) not in (1, len(self.hidden)):
                raise ConfigError(f"model.{key} has {len(value)} entries for "
                                  f"{len(self.hidden)} hidden layers; give one value or one "
                                  "per layer")
        return self


class MLPModel(_MLPBase):
    kind: Literal["mlp"] = "mlp"


class MLPRegressorModel(_MLPBase):
    kind: Literal["mlp_regressor"] = "mlp_regressor"


class OvRModel(_Section):
    """One-vs-rest: one binary ``base`` model per class; ``options`` are the base's keys."""

    kind: Literal["ovr"] = "ovr"
    base: Literal["perceptron", "logistic", "mlp"] = "perceptron"
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _base_options(self) -> OvRModel:
        if "kind" in self.options:
            raise ConfigError("model.options.kind: give the base model as model.base")
        try:
            checked = BASE_MODELS[self.base].model_validate(self.options)
        except ValidationError as exc:
            raise ConfigError(format_validation_error(exc, prefix=("model", "options"),
                                                      root=BASE_MODELS[self.base])) from None
        self.options = checked.model_dump(exclude={"kind"})
        return self


MODELS: dict[str, type[BaseModel]] = {
    "perceptron": PerceptronModel, "logistic": LogisticModel, "linear": LinearModel,
    "mlp": MLPModel, "mlp_regressor": MLPRegressorModel, "ovr": OvRModel,
}
BASE_MODELS = {k: MODELS[k] for k in ("perceptron", "logistic", "mlp")}
ALIASES = {"mlp_classifier": "mlp", "logistic_regression": "logistic", "logreg": "logistic",
           "linear_regression": "linear", "one_vs_rest": "ovr"}


def model_tag(value: Any) -> str | None:
    """The model kind a ``[model]`` table (or model) stands for, aliases resolved."""
    if isinstance(value, dict):
        kind = value.get("kind", "mlp")
        return ALIASES.get(kind, kind) if isinstance(kind, str) else None
    return getattr(value, "kind", None)


ModelConfig = Annotated[
    Annotated[PerceptronModel, Tag("perceptron")] | Annotated[LogisticModel, Tag("logistic")]
    | Annotated[LinearModel, Tag("linear")] | Annotated[MLPModel, Tag("mlp")]
    | Annotated[MLPRegressorModel, Tag("mlp_regressor")] | Annotated[OvRModel, Tag("ovr")],
    Discriminator(model_tag, custom_error_type="model_kind",
                  custom_error_message="unknown model kind"),
]


class EarlyStoppingConfig(_Section):
    enabled: bool = False
    monitor: Literal["val_loss", "val_acc", "train_loss", "train_acc"] = "val_loss"
    patience: Annotated[int, Field(ge=1)] = 10
    min_delta: Annotated[float, Field(ge=0)] = 0.0
    restore_best_weights: bool = True


class OptimConfig(_Section):
    optimizer: Literal["sgd", "adam", "rmsprop"] = "sgd"
    lr: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 0.01
    momentum: Annotated[float, Field(ge=0, lt=1)] = 0.0
    nesterov: bool = False
    weight_decay: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0
    betas: list[Annotated[float, Field(ge=0, lt=1)]] = Field(default_factory=lambda: [0.9,
                                                                                      0.999])
    schedule: Literal["none", "step", "exponential", "cosine"] = "none"
    schedule_params: dict[str, float | int] = Field(default_factory=dict)
    l1: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0
    l2: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0
    flooding: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None

    @model_validator(mode="after")
    def _check(self) -> OptimConfig:
        if len(self.betas) != 2:
            raise ConfigError(f"optim.betas={self.betas!r} must be two numbers in [0, 1)")
        if self.nesterov and (self.optimizer != "sgd" or self.momentum <= 0):
            raise ConfigError("optim.nesterov=true needs optim.optimizer='sgd' and "
                              f"optim.momentum > 0 (got {self.optimizer!r}, {self.momentum})")
        allowed = {"none": (), "step": ("step_size", "gamma"), "exponential": ("gamma",),
                   "cosine": ("T_max", "eta_min")}[self.schedule]
        for key in self.schedule_params:
            if key not in allowed:
                raise ConfigError(f"optim.schedule_params.{key} does not apply to schedule="
                                  f"{self.schedule!r}{suggest(key, allowed)}; it takes "
                                  f"{', '.join(allowed) or 'no parameters'}")
        return self


BatchSize = Literal["full"] | Annotated[int, Field(ge=1)]


class TrainConfig(_Section):
    epochs: Annotated[int, Field(ge=1, le=10_000_000)] = 1500
    batch_size: Any = "full"
    shuffle: bool = True
    eval_every: Annotated[int, Field(ge=1)] = 10
    seed: Annotated[int, Field(ge=0)] = 0
    dtype: Literal["float32", "float64"] = "float32"
    target_accuracy: Annotated[float, Field(gt=0, le=1)] | None = None
    early_stopping: EarlyStoppingConfig = Field(default_factory=EarlyStoppingConfig)
    checkpoint_every: Annotated[int, Field(ge=1)] = 50

    @field_validator("batch_size", mode="before")
    @classmethod
    def _batch(cls, v: Any) -> Any:
        if v == "full" and isinstance(v, str):
            return v
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError("use an integer >= 1 or 'full'")
        return v


class OutputConfig(_Section):
    name: str | None = None
    dir: str = "runs"
    plots: bool = True
    formats: list[Literal["png", "svg", "pdf"]] = Field(default_factory=lambda: ["png", "svg"])

    @field_validator("name")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        if v is not None and not NAME_RE.match(v):
            raise ValueError("use letters, digits, '.', '_' and '-' (it becomes a folder name)")
        return v

    @field_validator("formats")
    @classmethod
    def _png(cls, v: list[str]) -> list[str]:
        if "png" not in v:
            raise ValueError("formats must include 'png' (reports embed the PNG files)")
        return v


class ExperimentConfig(_Section):
    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=MLPModel)
    optim: OptimConfig = Field(default_factory=OptimConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)

    @field_validator("model", mode="before")
    @classmethod
    def _alias_kind(cls, v: Any) -> Any:
        if isinstance(v, dict) and isinstance(v.get("kind"), str) and v["kind"] in ALIASES:
            v = {**v, "kind": ALIASES[v["kind"]]}
        return v

    @model_validator(mode="after")
    def _consistent(self) -> ExperimentConfig:
        from neuralab.experiments.build import check_applicable

        check_applicable(self)
        return self

    def to_dict(self) -> dict[str, Any]:
        """The resolved config as plain data (no None values: TOML has no null)."""
        out = drop_none(self.model_dump(mode="python"))
        out["model"] = {"kind": out["model"].pop("kind"), **out["model"]}
        return out

    def to_toml(self) -> str:
        """The resolved config as TOML text (reads back to the same config)."""
        return dump_toml(self.to_dict())


def default_name(cfg: ExperimentConfig) -> str:
    """``output.name`` or ``<data>-<model>``."""
    return cfg.output.name or f"{cfg.data.name}-{cfg.model.kind}".replace("_", "-")




__all__ = [
    "ACTIVATION_NAMES", "ALIASES", "BASE_MODELS", "DATA_DEFAULTS", "MODELS", "NAME_RE",
    "SECTIONS", "DataConfig", "EarlyStoppingConfig", "ExperimentConfig", "LinearModel",
    "LogisticModel", "MLPModel", "MLPRegressorModel", "ModelConfig", "OptimConfig",
    "OutputConfig", "OvRModel", "PerceptronModel", "SplitConfig", "TrainConfig",
    "default_name", "model_tag",
]
