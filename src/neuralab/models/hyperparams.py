"""Every hyper-parameter, defined once: name, type, default, allowed values and a doc line.

This table is the one home of each setting. The estimators' constructor defaults
(:func:`defaults`), their checks (:func:`check`), the config schema's fields and defaults
(``neuralab.experiments``), the command-line flags' help and ``docs/hyperparameters.md``
(:func:`markdown_table`) are all derived from it; ``tests/models/test_hyperparams.py``
checks that they agree.

A row may give a different default for some model kinds (``by_model``): the learning rate
of logistic regression, the batch size of the MLPs, the dtype of the float64 models. That
is still one default per (setting, model), written here and nowhere else.

>>> HYPERPARAMS["patience"].default
10
>>> default("batch_size", "mlp"), default("batch_size", "logistic")
(32, 'full')
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np

from neuralab._checks import check_choice
from neuralab.nn.activations import ACTIVATIONS
from neuralab.nn.init import INITS
from neuralab.optim import OPTIMIZERS, SCHEDULES
from neuralab.train.stopping import MONITORS

#: The estimator behind each model kind (the names configs use in ``model.kind``).
MODEL_KINDS = ("perceptron", "logistic", "linear", "mlp", "mlp_regressor", "cnn")
MLPS = ("mlp", "mlp_regressor")
NETS = (*MLPS, "cnn")  # the deep networks (flooding, early stopping)
GRADIENT = ("logistic", "linear", *NETS)  # trained by the shared gradient loop
#: the named CNN architectures (neuralab.models.cnn.ARCHITECTURES has their layers), and
#: "auto": the first of them, in this order, that reads the data
CNN_ARCHITECTURES = ("lenet5", "onelayer_cnn", "mnist1d_cnn", "features_cnn")
ALL = MODEL_KINDS


@dataclass(frozen=True)
class Hyper:
    """One hyper-parameter.

    kind : "float", "int", "bool", "choice", "batch", "sizes", "pair", "dict", "object".
    low, high : bounds for numbers; ``low_open``/``high_open`` make them strict.
    choices : allowed values of a "choice" (None allowed where ``optional``).
    optional : None is allowed (it means "off" or "not set").
    config : the key path in a config file (``optim.lr``), or None (estimator only).
    flag : the ``neuralab train`` flag, or None.
    models : the model kinds that have this setting.
    by_model : a different default for some kinds.
    per_member : an ensemble may give one value per member (a study groups such cells).
    estimator : False for settings of a run that no estimator has (``train.seed``).
    """

    name: str
    kind: str
    default: Any
    doc: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[Any, ...] | None = None
    optional: bool = False
    config: str | None = None
    flag: str | None = None
    models: tuple[str, ...] = ALL
    by_model: dict[str, Any] = field(default_factory=dict)
    per_member: bool = False  # an ensemble may give one value per member
    estimator: bool = True  # False: a setting of runs only (config and CLI, no estimator)

    def default_for(self, model: str | None = None) -> Any:
        """The default of this setting for ``model`` (a kind of :data:`MODEL_KINDS`)."""
        return self.by_model.get(model, self.default) if model else self.default

    def allowed(self) -> str:
        """What is allowed, in words (for errors, help and docs)."""
        if self.kind == "choice":
            text = "one of " + ", ".join(repr(c) for c in self.choices or ())
        elif self.kind in ("float", "int"):
            what = "an integer" if self.kind == "int" else "a number"
            if self.high is None and self.low is not None:
                text = f"{what} {'>' if self.low_open else '>='} {_num(self.low)}"
            else:
                lo = "-inf" if self.low is None else _num(self.low)
                lb = "(" if self.low_open or self.low is None else "["
                rb = ")" if self.high_open else "]"
                text = f"{what} in {lb}{lo}, {_num(self.high)}{rb}"
        elif self.kind == "batch":
            text = "an integer >= 1 or 'full'"
        elif self.kind == "sizes":
            text = f"a list of at most {MAX_LAYERS:,} integers in [1, {_num(self.high)}]"
        elif self.kind == "pair":
            text = "two numbers in [0, 1)"
        else:
            text = {"bool": "true or false", "dict": "a table of numbers",
                    "object": "a Python object"}[self.kind]
        return f"{text} or None" if self.optional and self.kind != "choice" else text


def _num(x: float) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


_ACTIVATIONS = tuple(a for a in ACTIVATIONS if a != "linear")  # "linear" is an alias
MAX_LAYERS = 1_000  # hidden layers of an MLP: far deeper than any lesson's
_TABLE = [
    # -- the network ------------------------------------------------------------------------
    Hyper("hidden", "sizes", (20,), "sizes of the hidden layers; () gives a linear model",
          high=100_000, config="model.hidden", flag="--hidden", models=MLPS),
    Hyper("activation", "choice", "relu", "hidden activation (one, or one per hidden layer)",
          choices=_ACTIVATIONS, config="model.activation", flag="--activation", models=MLPS),
    Hyper("negative_slope", "float", 0.01, "slope of leaky_relu for x < 0", low=0.0, high=1.0,
          config="model.negative_slope", models=MLPS),
    Hyper("init", "choice", "auto", "weight init: auto is He for ReLU-like layers, Xavier "
          "otherwise", choices=("auto", *INITS), config="model.init", models=MLPS),
    Hyper("init_std", "float", 1e-4, "standard deviation of init='normal' (the CS324 "
          "skeleton's N(0, 1e-4))", low=0.0, low_open=True, config="model.init_std",
          models=MLPS),
    Hyper("dropout", "float", 0.0, "drop probability after each hidden layer (one, or one "
          "per layer)", low=0.0, high=1.0, high_open=True, config="model.dropout",
          models=MLPS),
    Hyper("batch_norm", "bool", False, "batch normalisation after each hidden Linear",
          config="model.batch_norm", models=MLPS),
    Hyper("loss", "choice", "cross_entropy", "cross_entropy (softmax outputs) or squared "
          "(TensorFlow Playground's: one tanh output, targets -1/+1, loss (o - t)^2 / 2; two "
          "classes only)", choices=("cross_entropy", "squared"), config="model.loss",
          models=("mlp",)),
    Hyper("architecture", "choice", "auto", "a named CNN (lenet5, onelayer_cnn, mnist1d_cnn, "
          "features_cnn) or auto: the first of them that reads the data (LeNet-5 for images "
          "of at least 12×12); the estimator also takes a list of layer specs (model.layers)",
          choices=("auto", *CNN_ARCHITECTURES), config="model.architecture", models=("cnn",)),
    Hyper("fit_intercept", "bool", True, "learn a bias", config="model.fit_intercept",
          models=("perceptron", "logistic", "linear")),
    Hyper("solver", "choice", "lstsq", "closed form (lstsq, ridge with l2) or gradient "
          "descent (gd)", choices=("lstsq", "gd"), config="model.solver", models=("linear",)),
    # -- the perceptron ---------------------------------------------------------------------
    Hyper("mode", "choice", "online", "online: update per sample (seed 000); batch: once "
          "per epoch (seed 001)", choices=("online", "batch"), config="model.mode",
          models=("perceptron",)),
    Hyper("perceptron_init", "choice", "zeros", "initial weights: zeros or N(0, init_std²)",
          choices=("zeros", "random"), config="model.init", models=("perceptron",)),
    Hyper("perceptron_init_std", "float", 0.01, "standard deviation of init='random'",
          low=0.0, low_open=True, config="model.init_std", models=("perceptron",)),
    Hyper("stop_on_separation", "bool", False, "stop at the first epoch with no mistake",
          config="model.stop_on_separation", models=("perceptron",)),
    # -- the optimizer ----------------------------------------------------------------------
    Hyper("optimizer", "choice", "sgd", "update rule", choices=tuple(OPTIMIZERS),
          config="optim.optimizer", flag="--optimizer", models=GRADIENT,
          by_model={"logistic": "adam"}),
    Hyper("lr", "float", 0.01, "learning rate (step size)", low=0.0, low_open=True,
          config="optim.lr", flag="--lr", by_model={"logistic": 0.1}, per_member=True),
    Hyper("momentum", "float", 0.0, "heavy-ball momentum (SGD, RMSProp)", low=0.0, high=1.0,
          high_open=True, config="optim.momentum", flag="--momentum", models=GRADIENT,
          per_member=True),
    Hyper("nesterov", "bool", False, "Nesterov momentum (SGD with momentum > 0)",
          config="optim.nesterov", models=GRADIENT),
    Hyper("weight_decay", "float", 0.0, "decoupled-from-loss L2 term added to the gradient",
          low=0.0, config="optim.weight_decay", models=GRADIENT, per_member=True),
    Hyper("betas", "pair", (0.9, 0.999), "Adam's (β₁, β₂)", config="optim.betas",
          models=GRADIENT),
    Hyper("schedule", "choice", None, "learning-rate schedule, stepped once per epoch",
          choices=(None, *SCHEDULES), optional=True, config="optim.schedule",
          models=GRADIENT, by_model={"logistic": "cosine"}),
    Hyper("schedule_params", "dict", None, "schedule settings (step: step_size=30, "
          "gamma=0.1; exponential: gamma=0.95; cosine: T_max=epochs, eta_min=0)",
          optional=True, config="optim.schedule_params", models=GRADIENT),
    Hyper("l1", "float", 0.0, "L1 penalty λ Σ|W| on the weights", low=0.0, config="optim.l1",
          models=GRADIENT),
    Hyper("l2", "float", 0.0, "L2 penalty λ/2 Σ W² on the weights", low=0.0,
          config="optim.l2", models=GRADIENT, by_model={"logistic": 1e-4}),
    Hyper("flooding", "float", None, "flood level b (Ishida et al. 2020): train on "
          "|loss − b| + b", low=0.0, optional=True, config="optim.flooding", models=NETS),
    # -- training ---------------------------------------------------------------------------
    Hyper("epochs", "int", 100, "passes over the training set", low=1, high=10_000_000,
          config="train.epochs", flag="--epochs"),
    Hyper("batch_size", "batch", "full", "samples per step, or 'full' for full-batch GD",
          config="train.batch_size", flag="--batch-size", models=GRADIENT,
          by_model={"mlp": 32, "mlp_regressor": 32, "cnn": 32, "logistic": 64}),
    Hyper("shuffle", "bool", True, "draw a fresh sample order every epoch",
          config="train.shuffle"),
    Hyper("eval_every", "int", 1, "compute the logged metrics every N epochs (and at the "
          "last)", low=1, config="train.eval_every", flag="--eval-every"),
    Hyper("train_metrics", "choice", "auto", "how train_loss/train_acc are measured: "
          "'running' = mean over the epoch's mini-batches as they trained (Keras, "
          "scikit-learn's loss_curve_; no extra pass), 'full' = one pass over the training "
          "set after the epoch (eval mode), 'auto' = full when a target accuracy is set, "
          "else running", choices=("auto", "running", "full"), config="train.train_metrics",
          flag="--train-metrics", models=GRADIENT),
    Hyper("random_state", "object", None, "the estimator's seed: int, SeedSequence, "
          "Generator, or None for fresh entropy", optional=True),
    Hyper("seed", "int", 0, "a run's seed (train.seed becomes the estimator's random_state; "
          "a run is always seeded, so its folder reproduces it)", low=0,
          config="train.seed", flag="--seed", estimator=False),
    Hyper("checkpoint_every", "int", 50, "a run saves a checkpoint every N epochs (and at "
          "the last, and on Ctrl-C)", low=1, config="train.checkpoint_every",
          estimator=False),
    Hyper("dtype", "choice", "float32", "floating-point precision of weights and data",
          choices=("float32", "float64"), config="train.dtype", flag="--dtype",
          by_model={"perceptron": "float64", "linear": "float64"}),
    Hyper("target_accuracy", "float", None, "stop once the training accuracy reaches this "
          "(e.g. 1.0); the epoch is kept in converged_epoch_", low=0.0, high=1.0,
          low_open=True, optional=True, config="train.target_accuracy", models=("mlp", "cnn")),
    Hyper("early_stopping", "bool", False, "stop when `monitor` stops improving",
          config="train.early_stopping.enabled", models=NETS),
    Hyper("monitor", "choice", "val_loss", "the metric early stopping watches",
          choices=MONITORS, config="train.early_stopping.monitor", models=NETS),
    Hyper("patience", "int", 10, "evaluations without improvement before stopping", low=1,
          config="train.early_stopping.patience", models=NETS),
    Hyper("min_delta", "float", 0.0, "smallest change that counts as an improvement",
          low=0.0, config="train.early_stopping.min_delta", models=NETS),
    Hyper("restore_best_weights", "bool", True, "go back to the best epoch's weights when "
          "stopping early", config="train.early_stopping.restore_best_weights",
          models=NETS),
    # -- the estimator object only ----------------------------------------------------------
    Hyper("n_models", "int", None, "train E independently seeded models in one vectorized "
          "pass", low=1, optional=True),
    Hyper("verbose", "int", 0, "print a line per evaluated epoch", low=0),
    Hyper("callbacks", "object", None, "list of neuralab.train.Callback objects",
          optional=True),
]
HYPERPARAMS: dict[str, Hyper] = {h.name: h for h in _TABLE}
#: rows whose estimator parameter name differs from the row name (same name, other meaning)
PARAM_NAME = {"perceptron_init": "init", "perceptron_init_std": "init_std"}


def rows_for(model: str) -> list[Hyper]:
    """The rows that apply to ``model``, in table order."""
    check_choice("model", model, MODEL_KINDS)
    return [h for h in _TABLE if model in h.models]


def param_name(row: Hyper) -> str:
    """The estimator parameter a row stands for."""
    return PARAM_NAME.get(row.name, row.name)


def row(name: str, model: str | None = None) -> Hyper:
    """The row of estimator parameter ``name`` (for ``model``, where two rows share a name)."""
    if model is not None:
        for h in rows_for(model):
            if param_name(h) == name:
                return h
    if name in HYPERPARAMS:
        return HYPERPARAMS[name]
    check_choice("hyper-parameter", name, HYPERPARAMS)
    raise AssertionError  # unreachable: check_choice raised


def by_config(path: str, model: str | None = None) -> Hyper | None:
    """The row of config key ``path`` (``optim.lr``) for ``model``, or None."""
    rows = [h for h in _TABLE if h.config == path]
    for h in rows:
        if model is None or model in h.models:
            return h
    return rows[0] if rows else None


def default(name: str, model: str | None = None) -> Any:
    """The default of estimator parameter ``name`` for ``model``."""
    return row(name, model).default_for(model)


def defaults(model: str) -> SimpleNamespace:
    """Every default of ``model`` by parameter name, for constructor signatures:
    ``def __init__(self, lr=D.lr, ...)`` with ``D = defaults("mlp")``."""
    return SimpleNamespace(**{param_name(h): h.default_for(model) for h in rows_for(model)
                              if h.estimator})


def check(name: str, value: Any, model: str | None = None) -> Any:
    """Validate a scalar setting against its row; returns it, or raises ValueError naming
    the parameter, the value and what is allowed."""
    h = row(name, model)
    pname = param_name(h)
    if value is None and h.optional:
        return value
    bad = ValueError(f"{pname}={value!r} is not allowed; it must be {h.allowed()}")
    if h.kind == "choice":
        if value not in (h.choices or ()):
            check_choice(pname, value, [c for c in h.choices or () if c is not None])
        return value
    if h.kind == "bool":
        if not isinstance(value, (bool, int)) or value not in (0, 1):
            raise bad
        return bool(value)
    if h.kind in ("float", "int"):
        number = isinstance(value, (int, float, np.integer, np.floating)) \
            and not isinstance(value, bool)
        if not number or (h.kind == "int" and not float(value).is_integer()) \
                or not math.isfinite(float(value)):
            raise bad
        v = float(value)
        if h.low is not None and (v <= h.low if h.low_open else v < h.low):
            raise bad
        if h.high is not None and (v >= h.high if h.high_open else v > h.high):
            raise bad
        return int(value) if h.kind == "int" else float(value)
    if h.kind == "sizes":
        sizes = list(value) if isinstance(value, (list, tuple)) else [value]
        if len(sizes) > MAX_LAYERS:  # (each layer is a Python object: 10⁵ of them hang)
            raise bad
        for v in sizes:
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) \
                    or not 1 <= v <= (h.high or math.inf):
                raise bad
        return tuple(int(v) for v in sizes)
    if h.kind == "batch":
        if value == "full" and isinstance(value, str):
            return value
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise bad
        return int(value)
    return value


def flag_help(name: str) -> str:
    """The ``neuralab train`` help of a row's flag: its doc line, allowed values, default."""
    h = HYPERPARAMS[name]
    default = repr(h.default) if not h.by_model else "; ".join(
        [f"{h.default!r}", *(f"{m}: {v!r}" for m, v in h.by_model.items())])
    return f"{h.doc[0].upper()}{h.doc[1:]}. Allowed: {h.allowed()}. Default: {default}."


def markdown_table(models: Iterable[str] = MODEL_KINDS) -> str:
    """``docs/hyperparameters.md``: every row with its default per model (generated)."""
    models = list(models)
    head = ("# Hyper-parameters\n\n"
            "Generated from `neuralab.models.hyperparams` (the one place each setting is "
            "defined):\n`python -m neuralab.models > docs/hyperparameters.md`."
            " The estimators' defaults,\nthe config keys and the `neuralab train` flags "
            "all come from this table.\n\n"
            "A blank cell: the model has no such setting. `None`: off / not set.\n\n")
    cols = ["parameter", "config key", "flag", *models, "allowed", "meaning"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for h in _TABLE:
        cells = [f"`{param_name(h)}`", f"`{h.config}`" if h.config else "",
                 f"`{h.flag}`" if h.flag else ""]
        cells += [f"`{h.default_for(m)!r}`" if m in h.models else "" for m in models]
        cells += [h.allowed(), h.doc]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return head + "\n".join(lines) + "\n"

