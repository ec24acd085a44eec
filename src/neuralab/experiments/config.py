"""The experiment config: schema, loading, errors, TOML text and the estimator it describes.

A config is one TOML file with five sections, ``[data]``, ``[model]``, ``[optim]``,
``[train]`` and ``[output]``; every key has a default (listed in docs/config.md), so an empty
file is the default run (moons, a 2-20-2 MLP, lr 1e-2, 100 epochs of batches of 32,
evaluated every epoch). This module is the one home of the config, in this order:

1. **the schema**: one pydantic model per section, ``extra="forbid"`` and strict types, so
   an unknown key or a string where a number belongs is an error naming the key path;
2. **config → estimator** (:data:`SHARED`, :func:`check_applicable`,
   :func:`build_estimator`): which config key feeds which estimator parameter, and the
   rule that a key the chosen model does not use is an error unless left at its default;
3. **reading** a config: the TOML file, the command-line flags, ``--set`` assignments,
   validation (:func:`load_config`, :func:`parse_config`) and the ``--quick`` variant;
4. **errors**: :class:`ConfigError` and pydantic's errors turned into one line with a hint;
5. **TOML text**: what ``config show`` prints and a run folder's config.toml holds.

>>> cfg = parse_config({"model": {"kind": "mlp", "hidden": [20, 20]}, "optim": {"lr": 0.1}})
>>> cfg.model.hidden, cfg.optim.lr, cfg.train.batch_size
([20, 20], 0.1, 32)
>>> parse_config(tomllib.loads(cfg.to_toml())) == cfg
True
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, get_args

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
from neuralab.data.registry import option_defaults
from neuralab.io import json_depth
from neuralab.models import hyperparams as hp
from neuralab.models._setup import schedule_keys
from neuralab.optim.schedules import SCHEDULES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


class ConfigError(ValueError):
    """A config problem, worded as one line that names the key (``train.batch_size``)."""


# == 1. the schema ===========================================================================
SECTIONS = ("data", "model", "optim", "train", "output")
# Options filled in for a dataset when the config does not give them (shown in config show).
# The values are the generators' own defaults (neuralab.data.synthetic, their one home), so
# `neuralab data show moons` and `neuralab train --data moons` mean the same data.
DATA_DEFAULTS: dict[str, dict[str, Any]] = {
    "moons": option_defaults("moons", ("n", "noise")),  # the CS324 skeleton's set
    "circles": option_defaults("circles", ("n", "noise", "factor")),
}
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}\Z")  # \Z: "$" would allow "abc\n"
MAX_CONFIG_BYTES = 2**20  # a config file; far more than any real one
MAX_DEPTH = 32  # lists and tables inside each other in a value: no setting needs more than 3
#: a dotted key of more than MAX_DEPTH + 2 parts (``[a.a.a. …]``): tomllib takes quadratic
#: time on them (64 KiB: 1.8 s; 1 MiB: minutes), so they are refused before it parses
_DEEP_KEY = re.compile(r"(?<![\w-])(?:(?:[\w-]++|\"[^\"\n]*+\"|'[^'\n]*+')[ \t]*+\.[ \t]*+)"
                       f"{{{MAX_DEPTH + 2}}}")


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
        for key, value in self.options.items():  # a table has no meaning as an option
            if isinstance(value, dict):
                raise ConfigError(f"data.options.{key}={value!r} is not allowed; an option is "
                                  "a number, a string, a boolean or a list")
        for key, value in DATA_DEFAULTS.get(self.name, {}).items():
            self.options.setdefault(key, value)
        return self


# -- models, optimizer, training: every setting is a row of the hyper-parameter table ---------
# Defaults, allowed values and bounds come from neuralab.models.hyperparams (one home per
# setting); the sections below only give each key its type. A key whose default depends on
# the model (lr, batch_size, dtype, ...) is None here and filled in for the chosen model by
# ExperimentConfig, so `neuralab config show` prints the value a run will use.
def _choices(name: str, model: str | None = None) -> Any:
    """``Literal[...]`` of a choice row's values (None left out: TOML spells it "none")."""
    return Literal[tuple(c for c in hp.row(name, model).choices or () if c is not None)]


def _table_check(obj: BaseModel, section: str, model: str | None = None) -> None:
    """Check each field of ``obj`` that is a row of the table (bounds, choices)."""
    for name in type(obj).model_fields:
        row = hp.by_config(f"{section}.{name}", model)
        value = getattr(obj, name)
        if row is None or value is None or row.kind in ("pair", "dict", "object"):
            continue
        # a list of choices is checked item by item; a list of sizes as a whole (its length)
        values = value if isinstance(value, list) and row.kind != "sizes" else [value]
        for v in values:
            v = None if (row.name == "schedule" and v == "none") else v
            try:
                hp.check(hp.param_name(row), v, model)
            except ValueError:
                raise ConfigError(f"{section}.{name}={fmt_value(value)} is not allowed; it "
                                  f"must be {row.allowed()}") from None


_PERCEPTRON, _MLP = hp.defaults("perceptron"), hp.defaults("mlp")


class _ModelBase(_Section):
    fit_intercept: bool = hp.default("fit_intercept")

    @model_validator(mode="after")
    def _table(self) -> _ModelBase:
        _table_check(self, "model", getattr(self, "kind", None))
        return self


class PerceptronModel(_ModelBase):
    kind: Literal["perceptron"] = "perceptron"
    mode: _choices("mode") = _PERCEPTRON.mode
    init: _choices("init", "perceptron") = _PERCEPTRON.init
    init_std: float = _PERCEPTRON.init_std
    stop_on_separation: bool = _PERCEPTRON.stop_on_separation


class LogisticModel(_ModelBase):
    kind: Literal["logistic"] = "logistic"


class LinearModel(_ModelBase):
    kind: Literal["linear"] = "linear"
    solver: _choices("solver") = hp.default("solver")


Activation = _choices("activation")
ACTIVATION_NAMES = get_args(Activation)


class _MLPBase(_Section):
    hidden: list[int] = Field(default_factory=lambda: list(_MLP.hidden))
    activation: Activation | list[Activation] = _MLP.activation
    negative_slope: float = _MLP.negative_slope
    init: _choices("init", "mlp") = _MLP.init
    init_std: float = _MLP.init_std
    dropout: float | list[float] = _MLP.dropout
    batch_norm: bool = _MLP.batch_norm

    @model_validator(mode="after")
    def _per_layer(self) -> _MLPBase:
        _table_check(self, "model", getattr(self, "kind", "mlp"))
        for key in ("activation", "dropout"):
            value = getattr(self, key)
            if isinstance(value, list) and len(value) not in (1, len(self.hidden)):
                raise ConfigError(f"model.{key} has {len(value)} entries for "
                                  f"{len(self.hidden)} hidden layers; give one value or one "
                                  "per layer")
        return self


class MLPModel(_MLPBase):
    kind: Literal["mlp"] = "mlp"
    loss: _choices("loss") = _MLP.loss


class MLPRegressorModel(_MLPBase):
    kind: Literal["mlp_regressor"] = "mlp_regressor"


class CNNModel(_Section):
    """A convolutional network: a named ``architecture``, or a ``layers`` list of tables
    (``{type = "conv2d", out = 6, kernel = 5}``) that replaces it (neuralab.models.cnn)."""

    kind: Literal["cnn"] = "cnn"
    #: None with a layer list (the resolved config then shows the layers alone), else the
    #: table's default when not given
    architecture: _choices("architecture", "cnn") | None = None
    layers: list[dict[str, Any]] | None = None

    @model_validator(mode="after")
    def _layers(self) -> CNNModel:
        _table_check(self, "model", "cnn")
        if self.layers is None:
            if self.architecture is None:
                self.architecture = hp.default("architecture", "cnn")
        else:
            from neuralab.models.cnn import check_layers

            if self.architecture is not None:
                raise ConfigError(f"model.architecture={self.architecture!r} and model.layers "
                                  "are both set; give a named architecture or a layer list")
            try:
                check_layers(self.layers, "model.layers")
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
        return self


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
    "mlp": MLPModel, "mlp_regressor": MLPRegressorModel, "ovr": OvRModel, "cnn": CNNModel,
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
    | Annotated[MLPRegressorModel, Tag("mlp_regressor")] | Annotated[OvRModel, Tag("ovr")]
    | Annotated[CNNModel, Tag("cnn")],
    Discriminator(model_tag, custom_error_type="model_kind",
                  custom_error_message="unknown model kind"),
]


class _TableSection(_Section):
    """A section whose every key is a row of the table (checked after type validation)."""

    _section: ClassVar[str]

    @model_validator(mode="after")
    def _table(self) -> _TableSection:
        _table_check(self, self._section)
        return self


class EarlyStoppingConfig(_TableSection):
    _section = "train.early_stopping"
    enabled: bool = hp.default("early_stopping")
    monitor: _choices("monitor") = hp.default("monitor")
    patience: int = hp.default("patience")
    min_delta: float = hp.default("min_delta")
    restore_best_weights: bool = hp.default("restore_best_weights")


class OptimConfig(_TableSection):
    _section = "optim"
    optimizer: _choices("optimizer") | None = None  # None: the model's default
    lr: float | None = None
    momentum: float = hp.default("momentum")
    nesterov: bool = hp.default("nesterov")
    weight_decay: float = hp.default("weight_decay")
    betas: list[Annotated[float, Field(ge=0, lt=1)]] = Field(
        default_factory=lambda: list(hp.default("betas")))
    schedule: Literal[("none", *SCHEDULES)] | None = None
    schedule_params: dict[str, float | int] = Field(default_factory=dict)
    l1: float = hp.default("l1")
    l2: float | None = None
    flooding: float | None = hp.default("flooding")

    @model_validator(mode="after")
    def _check(self) -> OptimConfig:
        if len(self.betas) != 2:
            raise ConfigError(f"optim.betas={self.betas!r} must be two numbers in [0, 1)")
        if self.nesterov and (self.optimizer not in ("sgd", None) or self.momentum <= 0):
            raise ConfigError("optim.nesterov=true needs optim.optimizer='sgd' and "
                              f"optim.momentum > 0 (got {self.optimizer!r}, {self.momentum})")
        if self.schedule is None:
            return self  # checked once the model's default schedule is known
        allowed = () if self.schedule == "none" else schedule_keys(self.schedule)
        for key in self.schedule_params:
            if key not in allowed:
                raise ConfigError(f"optim.schedule_params.{key} does not apply to schedule="
                                  f"{self.schedule!r}{suggest(key, allowed)}; it takes "
                                  f"{', '.join(allowed) or 'no parameters'}")
        return self


class TrainConfig(_TableSection):
    _section = "train"
    epochs: int = hp.default("epochs")
    batch_size: Any = None
    shuffle: bool = hp.default("shuffle")
    eval_every: int = hp.default("eval_every")
    train_metrics: _choices("train_metrics") = hp.default("train_metrics")
    seed: int = hp.default("seed")
    dtype: _choices("dtype") | None = None
    target_accuracy: float | None = hp.default("target_accuracy")
    early_stopping: EarlyStoppingConfig = Field(default_factory=EarlyStoppingConfig)
    checkpoint_every: int = hp.default("checkpoint_every")

    @field_validator("batch_size", mode="before")
    @classmethod
    def _batch(cls, v: Any) -> Any:
        if v is None or (v == "full" and isinstance(v, str)):
            return v
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError("use an integer >= 1 or 'full'")
        return v


#: optim/train keys whose default depends on the model (None in a section until filled in)
MODEL_DEFAULTED = tuple(h.config for h in hp.HYPERPARAMS.values()
                        if h.by_model and h.config and h.config.startswith(("optim.", "train.")))


def fill_model_defaults(cfg: Any, kind: str) -> None:
    """Set each still-None model-dependent key to the table's default for ``kind``."""
    for path in MODEL_DEFAULTED:
        section, name = path.split(".")
        part = getattr(cfg, section)
        if getattr(part, name) is None:
            value = hp.by_config(path, kind).default_for(kind)
            if name == "schedule" and value is None:
                value = "none"
            object.__setattr__(part, name, value)


class OutputConfig(_Section):
    name: str | None = None
    dir: str = "runs"
    plots: bool = True
    # PNG (reports embed it) and SVG (for a write-up), as issue #4 asks; an SVG adds its own
    # save (~0.3 s a run for the default figures): ["png"] skips it
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
        kind, _ = _kind_and_options(self)
        fill_model_defaults(self, kind)
        self.optim._check()  # the schedule's parameters, now that the schedule is known
        _check_schedule_values(self)
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


def _check_schedule_values(cfg: ExperimentConfig) -> None:
    """Build the schedule once, as training would, so ``step_size = 0``, ``T_max = 0`` or
    ``gamma = nan`` is refused with its key path before anything is written."""
    from types import SimpleNamespace

    from neuralab.models._setup import make_scheduler

    optim = cfg.optim
    if optim.schedule in (None, "none"):
        return
    settings = {"schedule": optim.schedule, "schedule_params": dict(optim.schedule_params),
                "epochs": cfg.train.epochs}
    try:
        make_scheduler(SimpleNamespace(lr=1.0), settings)  # only its lr is read
    except ValueError as exc:
        message = " ".join(str(exc).split())
        key = message.partition("=")[0]
        if key in optim.schedule_params:
            raise ConfigError(f"optim.schedule_params.{message}") from None
        raise ConfigError(f"optim.schedule={optim.schedule!r}: {message}") from None


def default_name(cfg: ExperimentConfig) -> str:
    """``output.name`` or ``<data>-<model>``."""
    return cfg.output.name or f"{cfg.data.name}-{cfg.model.kind}".replace("_", "-")

# == 2. config -> estimator ==================================================================
# The model section gives the estimator's own options (``hidden``, ``mode``, ...); optim and
# train give the shared ones through SHARED. A shared key the chosen model has no parameter
# for is an error when set to anything but its default (``optim.momentum = 0.9`` with a
# perceptron), so a config never silently means less than it says.
def _classes() -> dict[str, type]:
    from neuralab.models import (
        CNNClassifier,
        LinearRegression,
        LogisticRegression,
        MLPClassifier,
        MLPRegressor,
        Perceptron,
    )

    return {"perceptron": Perceptron, "logistic": LogisticRegression,
            "linear": LinearRegression, "mlp": MLPClassifier, "mlp_regressor": MLPRegressor,
            "cnn": CNNClassifier}


def estimator_class(cfg: ExperimentConfig) -> type:
    """The estimator class a config builds (for ``kind = "ovr"``, its binary model's)."""
    return _classes()[_kind_and_options(cfg)[0]]


REGRESSORS = ("linear", "mlp_regressor")
# estimator parameter <- (config key path, the key's default). A default of None means "the
# key always applies" (every estimator has the parameter). The config files and the CLI say
# train.seed; scikit-learn's tools seed an estimator through random_state.
#: estimator parameter -> config key, for the optim and train keys (from the table)
SHARED: dict[str, str] = {
    **{hp.param_name(h): h.config for h in hp.HYPERPARAMS.values()
       if h.estimator and h.config and h.config.startswith(("optim.", "train."))},
    "random_state": "train.seed",  # a run's seed is its estimator's random_state
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


def _config_default(path: str, kind: str) -> Any:
    """The table's default of config key ``path`` for ``kind``, as a config spells it."""
    value = hp.by_config(path, kind).default_for(kind)
    if isinstance(value, tuple):
        return list(value)
    return {"optim.schedule": "none", "optim.schedule_params": {}}.get(path, value) \
        if value is None else value


def estimator_params(cfg: ExperimentConfig, kind: str, options: dict[str, Any]
                     ) -> dict[str, Any]:
    """Constructor arguments for the estimator of ``kind`` (raises ConfigError on keys that
    do not apply)."""
    cls = _classes()[kind]
    names = set(cls._get_param_names())
    params = dict(options)
    for param, path in SHARED.items():
        value = _get(cfg, path)
        if param in names:
            params[param] = value
        elif value != _config_default(path, kind) and not (
                kind == "perceptron" and param == "target_accuracy"):
            why = WHY.get(kind) or "it has no such setting"
            raise ConfigError(f"{path}={value!r} does not apply to model.kind={kind!r}: {why}; "
                              "remove it")
    if "schedule" in params:
        params["schedule"] = None if params["schedule"] == "none" else params["schedule"]
        params["schedule_params"] = dict(params.get("schedule_params") or {}) or None
    if kind == "cnn" and params.get("layers") is not None:  # a layer list replaces the name
        params["architecture"] = params["layers"]
    params.pop("layers", None)
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


def build_estimator(cfg: ExperimentConfig, callbacks: list[Any] | None = None, *,
                    base: bool = False) -> Any:
    """The unfitted estimator ``cfg`` describes: ``OneVsRest(base)`` for ``model.kind='ovr'``.

    ``base=True`` gives the binary base estimator of a one-vs-rest config (a run trains the K
    binary models itself, one checkpoint each); for the other kinds it changes nothing.
    ``callbacks`` go to the (base) estimator.
    """
    kind, options = _kind_and_options(cfg)
    params = estimator_params(cfg, kind, options)
    params["callbacks"] = callbacks
    est = _classes()[kind](**params)
    if cfg.model.kind == "ovr" and not base:
        from neuralab.models import OneVsRest

        return OneVsRest(est)
    return est


def is_classifier(cfg: ExperimentConfig) -> bool:
    """Whether ``cfg``'s model predicts classes (every kind but linear and mlp_regressor)."""
    kind, _ = _kind_and_options(cfg)
    return kind not in REGRESSORS

# == 3. reading a config =====================================================================
def parse_config(data: dict[str, Any]) -> ExperimentConfig:
    """Validate a config dict; raises :class:`ConfigError` with one line on a problem."""
    if not isinstance(data, dict):
        raise ConfigError("the config must be a table of sections (data, model, optim, train, "
                          "output)")
    for section in SECTIONS:
        if section in data and not isinstance(data[section], dict):
            raise ConfigError(f"{section} = {fmt_value(data[section])}: {section} must be a "
                              f"table ([{section}] followed by key = value lines)")
    try:
        return ExperimentConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, data=data)) from None
    except ConfigError:
        raise
    except ValueError as exc:  # a check raised outside pydantic's wrapping
        raise ConfigError(" ".join(str(exc).split())) from None


def read_toml(path: str | Path) -> dict[str, Any]:
    """The TOML file at ``path`` as a dict; errors name the file (and line)."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"config file {path} does not exist")
    if not path.is_file():
        raise ConfigError(f"config file {path} is not a file")
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)
        text = raw.decode("utf-8-sig")  # (Notepad starts its UTF-8 with a byte-order mark)
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"config file {path} is over {MAX_CONFIG_BYTES:,} bytes; a config is "
                          "a few lines of TOML")
    try:
        data = None if _DEEP_KEY.search(text) else tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    except RecursionError:
        data = None
    if data is None or json_depth(data) > MAX_DEPTH + 2:  # + the section and the key
        raise ConfigError(f"config file {path} nests lists or tables more than {MAX_DEPTH} "
                          "deep; no setting takes that")
    return data


def parse_value(raw: str, key: str = "value") -> Any:
    """A ``--set`` value: a TOML literal (``0.1``, ``true``, ``[20, 20]``, ``"x"``), else text.

    A value nesting lists or tables deeper than MAX_DEPTH is a ConfigError naming ``key``."""
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw
    except RecursionError:  # TOML is read recursively: 20,000 brackets exhaust the stack
        value = None
    if value is None or json_depth(value) > MAX_DEPTH:
        raise ConfigError(f"--set {key}: the value nests lists or tables more than "
                          f"{MAX_DEPTH} deep; no setting takes that")
    return value


def apply_set(data: dict[str, Any], assignment: str) -> None:
    """Apply ``--set a.b.c=value`` to the nested dict ``data`` in place."""
    key, sep, raw = assignment.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--set {assignment!r} is not KEY=VALUE (e.g. --set optim.lr=0.1)")
    parts = key.split(".")
    if any(not p.strip() for p in parts):
        raise ConfigError(f"--set {assignment!r}: {key!r} is not a dotted key such as "
                          "train.batch_size")
    if parts[0] not in SECTIONS:
        other = key_elsewhere(parts[0], data) if len(parts) == 1 else None
        hint = f" (did you mean {other!r}?)" if other else suggest(parts[0], SECTIONS)
        raise ConfigError(f"--set {key}: unknown section {parts[0]!r}{hint}"
                          f"; sections are {', '.join(SECTIONS)}")
    node = data
    for i, part in enumerate(parts[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"--set {key}: {'.'.join(parts[:i + 1])} is a value, not a table")
        node = child
    node[parts[-1]] = parse_value(raw.strip(), key)


def load_config(path: str | Path | None = None, sets: list[str] | tuple[str, ...] = (),
                overrides: dict[str, Any] | None = None) -> ExperimentConfig:
    """Read ``path`` (or start empty), apply flag ``overrides`` then ``--set`` assignments,
    validate. ``overrides`` maps dotted keys to values (what the no-file flags give)."""
    data = read_toml(path) if path is not None else {}
    for key, value in (overrides or {}).items():
        if key == "model.kind":
            model = data.get("model")
            old = model.get("kind", "mlp") if isinstance(model, dict) else None
            if not isinstance(model, dict) or ALIASES.get(old, old) != ALIASES.get(value, value):
                data["model"] = {}
        section, *rest = key.split(".")
        node = data.setdefault(section, {})
        if not isinstance(node, dict):
            raise ConfigError(f"[{section}] in the config is a value, not a table")
        for part in rest[:-1]:
            node = node.setdefault(part, {})
        node[rest[-1]] = value
    for assignment in sets:
        apply_set(data, assignment)
    if path is not None and "output" in data and isinstance(data["output"], dict):
        data["output"].setdefault("name", Path(path).stem if NAME_RE.match(Path(path).stem)
                                  else None)
        if data["output"]["name"] is None:
            del data["output"]["name"]
    elif path is not None and NAME_RE.match(Path(path).stem):
        data.setdefault("output", {})["name"] = Path(path).stem
    return parse_config(data)


QUICK_EPOCHS = 5
QUICK_CAPS = {"n_train": 600, "n_val": 200, "n_test": 200}


def quick(cfg: ExperimentConfig) -> ExperimentConfig:
    """A smoke-test version of ``cfg`` (``--quick``): at most 5 epochs, a few hundred
    samples."""
    data = cfg.data.model_copy(update={k: min(getattr(cfg.data, k) or cap, cap)
                                       for k, cap in QUICK_CAPS.items()})
    epochs = min(cfg.train.epochs, QUICK_EPOCHS)
    train = cfg.train.model_copy(update={"epochs": epochs,
                                         "eval_every": min(cfg.train.eval_every, epochs),
                                         "checkpoint_every": min(cfg.train.checkpoint_every,
                                                                 epochs)})
    return cfg.model_copy(update={"data": data, "train": train})


# == 4. errors as one line ===================================================================
def fmt_value(value: Any) -> str:
    """``repr(value)``, cut to 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


#: the course skeletons' names for config keys (the CLI takes them as flags too)
SKELETON_KEYS = {"learning_rate": "optim.lr", "max_steps": "train.epochs",
                 "eval_freq": "train.eval_every", "dnn_hidden_units": "model.hidden"}


def key_elsewhere(key: str, data: Any) -> str | None:
    """The full path of ``key`` when it belongs to another section (``lr`` → ``optim.lr``)
    or is a course skeleton's name for a key (``learning_rate`` → ``optim.lr``); else None."""
    if key in SKELETON_KEYS:
        return SKELETON_KEYS[key]
    for section in SECTIONS:
        cls = _section_at(ExperimentConfig, (section, key), data)
        if cls is not None and key in cls.model_fields:
            return f"{section}.{key}"
    return None


def _section_at(root: type[BaseModel], loc: tuple[Any, ...], data: Any) -> type[BaseModel] | None:
    """The pydantic model class that owns the last key of ``loc`` (for suggestions)."""
    cls: Any = root
    for part in loc[:-1]:
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
            return None
        if cls is ExperimentConfig and part == "model":
            kind = model_tag(data.get("model", {}) if isinstance(data, dict) else {})
            cls = MODELS.get(kind or "", None)
            continue
        field = cls.model_fields.get(str(part))
        if field is None:
            return None
        cls = field.annotation
    return cls if isinstance(cls, type) and issubclass(cls, BaseModel) else None


def _clean_loc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    out = []
    for i, part in enumerate(loc):
        if i == 1 and loc[0] == "model" and part in MODELS:
            continue  # the discriminator tag pydantic inserts
        if isinstance(part, str) and part.startswith(("function-", "literal[", "constrained-",
                                                      "list[", "union[", "json-or-python[",
                                                      "lax-or-strict[")):
            continue  # a union alternative's type tag
        if part in ("int", "float", "str", "bool", "list[...]", "json-or-python[json=int,"
                    "python=int]", "lax-or-strict[lax=union[json-or-python[json=float,"
                    "python=float],int],strict=json-or-python[json=float,python=float]]"):
            continue
        out.append(part)
    return tuple(out)


def format_validation_error(exc: ValidationError, *, prefix: tuple[Any, ...] = (),
                            root: type[BaseModel] | None = None, data: Any = None) -> str:
    """One line for the first problem: the key path, the value seen and what is allowed.

    ``root`` is the model that was validated (default: the whole ``ExperimentConfig``)."""
    if root is None:
        root = ExperimentConfig
    errors = exc.errors(include_url=False)
    err = errors[0]
    loc = _clean_loc(tuple(err["loc"]))
    path = ".".join(str(p) for p in (*prefix, *loc)) or "(config)"
    # a value that fits no alternative of a union (an activation name or a list of them)
    # fails once per alternative, at one key: one problem
    others = list(dict.fromkeys(".".join(str(p) for p in (*prefix, *_clean_loc(tuple(e["loc"]))))
                                for e in errors[1:]))
    others = [k for k in others if k != path]
    more = (f" (and {len(others)} more problem{'s' if len(others) > 1 else ''}: "
            f"{', '.join(others[:3])}{', ...' if len(others) > 3 else ''})" if others else "")
    kind = err["type"]
    if kind == "extra_forbidden":
        owner = _section_at(root, loc, data)
        allowed = list(owner.model_fields) if owner is not None else []
        head = ".".join(str(p) for p in (*prefix, *loc[:-1]))
        where = f"in [{head}]" if head else "at the top level"
        hint = suggest(str(loc[-1]), allowed)
        if not hint and len(loc) <= 2 and (not head or head in SECTIONS):
            other = key_elsewhere(str(loc[-1]), data)
            hint = f" (did you mean {other!r}?)" if other else ""
        valid = f"; valid keys: {', '.join(allowed)}" if allowed else ""
        return f"unknown key {path} {where}{hint}{valid}{more}"
    if kind == "model_kind":
        model = data.get("model") if isinstance(data, dict) else None
        value = model.get("kind") if isinstance(model, dict) else None
        return (f"model.kind={fmt_value(value)} is not a model kind; choose one of "
                f"{', '.join(MODELS)}{suggest(str(value), list(MODELS))}{more}")
    original = (err.get("ctx") or {}).get("error")
    if isinstance(original, ConfigError):
        return f"{original}{more}"
    msg = err["msg"]
    for lead in ("Value error, ", "Assertion failed, "):
        if msg.startswith(lead):
            msg = msg[len(lead):]
    if kind == "missing":
        return f"{path} is required{more}"
    if kind == "literal_error":
        owner_value = err.get("input")
        allowed = re.findall(r"'([^']*)'", msg)
        return (f"{path}={fmt_value(owner_value)} is not allowed; {msg[0].lower() + msg[1:]}"
                f"{suggest(str(owner_value), allowed)}{more}")
    if "input" in err and kind not in ("assertion_error",):
        return f"{path}={fmt_value(err['input'])} is not allowed: {msg}{more}"
    return f"{path}: {msg}{more}"



# == 5. TOML text ============================================================================
def _toml_value(value: Any) -> str:
    import tomli_w

    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) \
            + "}"
    return tomli_w.dumps({"v": value})[4:].rstrip("\n")


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml_value(key)


def dump_toml(data: dict[str, Any], header: str = "") -> str:
    """TOML with one ``[section]`` per table, short arrays inline (tomli_w formats values)."""
    lines: list[str] = [header] if header else []

    def table(name: str, body: dict[str, Any]) -> None:
        scalars = {k: v for k, v in body.items() if not isinstance(v, dict)}
        tables = {k: v for k, v in body.items() if isinstance(v, dict) and v}
        if scalars or not tables:
            lines.append(f"[{name}]")
            lines.extend(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in scalars.items())
            lines.append("")
        for key, sub in tables.items():
            table(f"{name}.{_toml_key(key)}", sub)

    for name, body in data.items():
        table(_toml_key(name), body)
    return "\n".join(lines)


def drop_none(obj: Any) -> Any:
    """``obj`` without None values in its dicts (TOML has no null)."""
    if isinstance(obj, dict):
        return {k: drop_none(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        return [drop_none(v) for v in obj]
    return obj


__all__ = [
    "ACTIVATION_NAMES", "ALIASES", "BASE_MODELS", "DATA_DEFAULTS", "MODELS", "NAME_RE",
    "QUICK_CAPS", "QUICK_EPOCHS", "REGRESSORS", "SECTIONS", "SHARED", "ConfigError",
    "DataConfig", "EarlyStoppingConfig", "ExperimentConfig", "LinearModel", "LogisticModel",
    "MLPModel", "MLPRegressorModel", "ModelConfig", "OptimConfig", "OutputConfig", "OvRModel",
    "PerceptronModel", "SplitConfig", "TrainConfig", "apply_set", "build_estimator",
    "check_applicable", "default_name", "drop_none", "dump_toml", "estimator_params",
    "fmt_value", "format_validation_error", "is_classifier", "load_config", "model_tag",
    "parse_config", "parse_value", "quick", "read_toml",
]
