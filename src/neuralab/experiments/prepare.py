"""From a config to what trains, without a run folder: the prepared data and the estimator.

:func:`prepare_experiment` is the one entry point: it loads the data section (load, split,
cap, feature map, scaling, everything fitted on the training split only), checks that the
model can train on it, and builds the unfitted estimator. A run (:mod:`.run`) starts from it
and adds a folder, checkpoints and a summary; a study calls it once per grid point.

:class:`Prepared` keeps the raw inputs too (for decision-boundary plots of 2-D data) and a
JSON description of the preprocessing (``preprocess.json`` in a run folder), so
``neuralab eval``/``predict`` apply the same steps to new data.

>>> from neuralab.experiments import parse_config
>>> exp = prepare_experiment(parse_config({"data": {"options": {"n": 100}},
...                                        "train": {"epochs": 20}}))
>>> X, y = exp.data.sets["train"]
>>> X.shape, exp.estimator.fit(X, y).score(X, y) > 0.5
((80, 2), True)
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from neuralab.experiments.config import (
    ConfigError,
    DataConfig,
    ExperimentConfig,
    build_estimator,
    is_classifier,
)
from neuralab.io import what_is
from neuralab.models.multiclass import positive_labels

Pair = tuple[np.ndarray, np.ndarray]


@dataclass
class Prepared:
    """Model-ready splits plus what is needed to repeat the preprocessing."""

    sets: dict[str, Pair]  # split -> (X (n, features), y (n,)): model inputs
    raw: dict[str, np.ndarray]  # split -> X (n, n_inputs) before feature map and scaling
    task: str
    name: str
    class_names: tuple[str, ...] | None = None
    classes: tuple[int, ...] | None = None
    image_shape: tuple[int, ...] | None = None
    preprocess: dict[str, Any] = field(default_factory=dict)

    @property
    def n_inputs(self) -> int:
        return int(self.raw["train"].shape[1])

    @property
    def eval_split(self) -> str:
        """The split final figures and per-class errors use: test, else val, else train."""
        return "test" if "test" in self.sets else ("val" if "val" in self.sets else "train")

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Raw inputs (n, n_inputs) → model inputs (feature map, then scaling)."""
        return apply_preprocess(self.preprocess, X)

    @property
    def input_map(self) -> Callable[[np.ndarray], np.ndarray] | None:
        """:meth:`transform`, or None when the model reads the raw inputs unchanged."""
        pre = self.preprocess
        return self.transform if pre.get("features") or pre.get("degree") or pre.get(
            "scaler") else None

    def fit_sets(self, positive: Any = None) -> tuple[Pair, Pair | None, dict[str, Pair] | None]:
        """``(train, validation, eval_sets)`` as ``fit`` takes them; with ``positive``, the
        binary labels ``y == positive`` (one-vs-rest)."""
        def lab(pair: Pair) -> Pair:
            X, y = pair
            return (X, y) if positive is None else (X, positive_labels(y, positive))

        s = self.sets
        return (lab(s["train"]), lab(s["val"]) if "val" in s else None,
                {"test": lab(s["test"])} if "test" in s else None)

    def label_names(self, classes: np.ndarray) -> list[str]:
        """Display names of ``classes`` (the dataset's class names where it has them)."""
        names = dict(zip(self.classes or (), self.class_names or (), strict=False))
        return [str(names.get(int(c), c)) if np.issubdtype(np.asarray(c).dtype, np.integer)
                else str(c) for c in classes]


def _how_to_get(name: str, flags: str = "") -> str:
    """How to get dataset ``name``; ``flags`` go inside the quoted command."""
    from neuralab.data import registry

    info = registry.info(name)
    if info.remotes:
        return f"download it with `neuralab data get {info.name}{flags}`"
    return "check the path"


def check_data_files(cfg: DataConfig) -> None:
    """A missing data file or folder is named, with how to get it (a ConfigError)."""
    from neuralab.data import registry

    info = registry.info(cfg.name)
    if cfg.path is not None:
        p = Path(cfg.path).expanduser()
        if not p.is_file():
            from neuralab.data.download import cache_dir

            what = what_is(p)
            what = "is a folder, not a file" if what == "is a folder" else what
            extra = (f"; {_how_to_get(cfg.name)} (it is saved under "
                     f"{cache_dir() / info.name}, then drop data.path) or point data.path at "
                     "your copy"
                     if info.remotes else "; point data.path at your file")
            raise ConfigError(f"data file {p} {what}{extra}")
    if cfg.root is not None:
        p = Path(cfg.root).expanduser()
        if not p.is_dir():
            how = _how_to_get(cfg.name, f" --root {p}")
            what = what_is(p)
            what = "is a file, not a folder" if what == "is a file" else what
            raise ConfigError(f"data folder {p} {what}; {how}, or point data.root at "
                              "the folder holding the files")


def load_splits(cfg: DataConfig, *, offline: bool = False) -> dict[str, Any]:
    """The raw splits (train, val, test as Datasets; val/test may be None)."""
    from neuralab.data import registry, split
    from neuralab.data.dataset import DatasetSplits

    check_data_files(cfg)
    info = registry.info(cfg.name)
    options = dict(cfg.options)
    for key in ("path", "root"):
        if getattr(cfg, key) is not None:
            options[key] = str(Path(getattr(cfg, key)).expanduser())
    if "seed" in info.options:
        options["seed"] = cfg.seed
    if offline and "download" in info.options:
        options["download"] = False
    try:
        loaded = registry.load(info.name, **options)
    except (TypeError, ValueError) as exc:
        msg = " ".join(str(exc).split())
        if info.remotes and "neuralab data get" not in msg and (
                "not found" in msg or "missing" in msg or "does not exist" in msg):
            msg += f"; {_how_to_get(cfg.name)}"
        raise ConfigError(f"data {info.name}: {msg}") from None
    sp = cfg.split
    if isinstance(loaded, DatasetSplits):
        train, val, test = loaded.train, loaded.val, loaded.test
        if val is None and sp.val:
            train, val = split(train, test=sp.val, stratify=_strat(train, sp.stratify),
                               seed=sp.seed)
    else:
        test_size = sp.test
        if sp.val:
            train, val, test = split(loaded, test=test_size, val=sp.val,
                                     stratify=_strat(loaded, sp.stratify), seed=sp.seed)
        else:
            train, test = split(loaded, test=test_size, stratify=_strat(loaded, sp.stratify),
                                seed=sp.seed)
            val = None
        if test is not None and len(test) == 0:
            test = None
    for key, ds in (("n_train", train), ("n_val", val), ("n_test", test)):
        cap = getattr(cfg, key)
        if cap is not None and ds is not None:
            ds = ds.head(cap)
            if key == "n_train":
                train = ds
            elif key == "n_val":
                val = ds
            else:
                test = ds
    if len(train) == 0:
        raise ConfigError(f"data {info.name}: the training split is empty; check data.split "
                          "and data.n_train")
    return {"train": train, "val": val, "test": test}


def _strat(ds: Any, wanted: bool) -> bool:
    return bool(wanted) and ds.task == "classification"


def apply_preprocess(pre: dict[str, Any], X: np.ndarray) -> np.ndarray:
    """Apply a ``preprocess.json`` description to raw inputs ``X``."""
    from neuralab.data.features import playground_features, polynomial_features
    from neuralab.data.scalers import scaler_from_dict

    X = np.asarray(X)
    if X.ndim > 2:
        X = X.reshape(len(X), -1)
    if pre.get("features"):
        X = playground_features(X, pre["features"])
    elif pre.get("degree"):
        X = polynomial_features(X, int(pre["degree"])).astype(X.dtype)
    if pre.get("scaler"):
        X = scaler_from_dict(pre["scaler"]).transform(X)
    return X


def prepare(cfg: DataConfig, *, offline: bool = False) -> Prepared:
    """Load and preprocess the data a config asks for."""
    from neuralab.data.scalers import SCALERS

    check_data_memory(cfg)
    parts = load_splits(cfg, offline=offline)
    train = parts["train"]
    raw = {k: ds.X.reshape(len(ds), -1) for k, ds in parts.items() if ds is not None}
    if (cfg.features is not None or cfg.degree is not None) and raw["train"].shape[1] != 2:
        which = "data.features" if cfg.features is not None else "data.degree"
        raise ConfigError(f"{which} maps 2-D inputs; dataset {cfg.name!r} has "
                          f"{raw['train'].shape[1]} input features")
    pre: dict[str, Any] = {"n_inputs": int(raw["train"].shape[1]), "features": cfg.features,
                           "degree": cfg.degree, "scaler": None}
    mapped = {k: apply_preprocess(pre, X) for k, X in raw.items()}
    if cfg.scaling != "none":
        params = {"c": cfg.divide_by} if cfg.scaling == "divide" else {}
        scaler = SCALERS[cfg.scaling](**params).fit(mapped["train"])
        pre["scaler"] = scaler.to_dict()
        mapped = {k: scaler.transform(X) for k, X in mapped.items()}
    sets = {k: (mapped[k], parts[k].y) for k in mapped}
    return Prepared(sets=sets, raw=raw, task=train.task, name=train.name.split("/")[0],
                    class_names=train.class_names, classes=train.classes,
                    image_shape=train.image_shape, preprocess=pre)


def check_task(cfg: ExperimentConfig, data: Prepared) -> None:
    """Raise :class:`ConfigError` when ``cfg``'s model cannot train on ``data``."""
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
    if not clf:
        return
    seen = np.unique(data.sets["train"][1])
    if len(seen) < 2:
        raise ConfigError(f"the training split of {cfg.data.name!r} holds a single class; "
                          "a classifier needs at least 2")
    for split_name, (_, y) in data.sets.items():
        # a class the model never saw cannot be scored: refused here, before a run folder
        unseen = np.setdiff1d(np.unique(y), seen) if split_name != "train" else []
        if len(unseen):
            some = ", ".join(map(repr, data.label_names(unseen[:3])))
            raise ConfigError(
                f"the {split_name} split of {cfg.data.name!r} holds {len(unseen):,} "
                f"class(es) that the training split lacks (such as {some}; the training "
                f"split has {len(seen):,}); every class needs training samples: give more "
                "samples per class, or use fewer classes")


def as_images(cfg: ExperimentConfig, data: Prepared) -> Prepared:
    """The model inputs of a CNN kept as images ``(n, C, H, W)`` (channels first; the
    ``flatten=False`` shape) or signals ``(n, 1, L)``, after the flat preprocessing; a layer
    that cannot take the shape is a ConfigError naming it."""
    view = image_view(cfg, data.image_shape, int(data.sets["train"][0].shape[1]), data.name)
    sets = {k: (view(X), y) for k, (X, y) in data.sets.items()}
    return replace(data, sets=sets)


def image_view(cfg: ExperimentConfig, image: tuple[int, ...] | None, n_features: int,
               name: str) -> Callable[[np.ndarray], np.ndarray]:
    """How a CNN sees flat rows ``(n, d)`` of ``name``: ``(n, C, H, W)`` channels first (a
    colour set stored ``(H, W, C)`` per row is transposed) or ``(n, C, L)``. One home for
    training and ``neuralab eval``."""
    from neuralab.models.cnn import (
        architecture_layers,
        auto_architecture,
        fit_hint,
        layer_shapes,
        read_shape,
    )

    model = cfg.model
    key = "model.layers" if getattr(model, "layers", None) is not None else \
        "model.architecture"
    architecture = getattr(model, "layers", None) or model.architecture
    channels_last = image is not None and len(image) == 3
    given = None  # flat rows
    if image is not None and len(image) in (2, 3) and math.prod(image) == n_features:
        given = (image[2], image[0], image[1]) if channels_last else (1, *image)
    else:
        channels_last = False
    try:
        if architecture == "auto":  # as CNNClassifier resolves it from these inputs
            architecture = auto_architecture(n_features, given)
        specs = architecture_layers(architecture)
        shape = read_shape(specs, n_features, given)  # as the estimator reads them
    except ValueError as exc:
        raise ConfigError(f"{key} on {name}: {exc}") from None
    try:
        layer_shapes(specs, shape)
    except ValueError as exc:
        raise ConfigError(f"{key} on {name} ({'×'.join(map(str, shape))} inputs): "
                          f"{exc}{fit_hint(architecture, shape)}") from None

    def view(X: np.ndarray) -> np.ndarray:
        if channels_last:  # stored (H, W, C): channels to the front
            return np.ascontiguousarray(X.reshape(len(X), *image).transpose(0, 3, 1, 2))
        return X.reshape(len(X), *shape)

    return view


@dataclass
class Experiment:
    """A config made real: its prepared data and the unfitted estimator it describes
    (``OneVsRest(base)`` for ``model.kind = "ovr"``)."""

    config: ExperimentConfig
    data: Prepared
    estimator: Any


def prepare_experiment(cfg: ExperimentConfig, *, offline: bool = False) -> Experiment:
    """Load and preprocess ``cfg``'s data, check the model fits the task, build the estimator.

    Creates no files (``offline=True`` never downloads). Raises :class:`ConfigError` naming
    the key when the data cannot be had or does not suit the model.
    """
    data = prepare(cfg.data, offline=offline)
    if cfg.model.kind == "cnn":
        data = as_images(cfg, data)
    check_task(cfg, data)
    check_model_memory(cfg, data)
    return Experiment(cfg, data, build_estimator(cfg))


# -- memory: refuse what cannot fit before a run folder exists ---------------------------------
# The estimates are lower bounds (the arrays training must hold at once), so a refusal is
# never wrong; a run that passes may still need a few times more for temporaries.
GENERATED = ("synthetic", "playground", "signal")  # data made in memory from a sample count
COUNT_OPTIONS = ("n", "n_train", "n_test", "n_per_class")


def available_memory() -> int | None:
    """Bytes this process may use: the least of the physical memory, the address-space limit
    (``ulimit -v``) and the cgroup's ``memory.max`` (a container or batch job); None if
    none is known."""
    import resource

    limits = []
    try:
        limits.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        pass
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        limits.append(soft)
    try:
        with open("/sys/fs/cgroup/memory.max", encoding="ascii") as f:
            text = f.read(64).strip()
        if text.isdigit():
            limits.append(int(text))
    except OSError:
        pass
    return min(limits) if limits else None


def format_bytes(n: float) -> str:
    """``n`` bytes as 512 B, 3.2 MiB, 74.5 GiB, 3.6 TiB (beyond PiB: 2.0e+31 B)."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{float(n):.1e} B"


def _refuse(setting: str, need: int, what: str, fix: str) -> None:
    have = available_memory()
    if have is not None and need > have:
        raise ConfigError(f"{setting}: {what} need at least {format_bytes(need)}, more than "
                          f"the {format_bytes(have)} of memory this process may use; {fix}")


def _count(value: Any, n_classes: int) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value * n_classes
    if isinstance(value, (list, tuple)):
        return sum(v for v in value if isinstance(v, int) and not isinstance(v, bool))
    return 0


def check_data_memory(cfg: DataConfig) -> None:
    """Refuse a generated data set too large for memory (``data.options.n = 10**12``)
    before it is generated."""
    from neuralab.data import registry

    info = registry.info(cfg.name)
    if info.kind not in GENERATED:
        return  # read from files: their size bounds them
    means = cfg.options.get("means")
    classes = len(means) if isinstance(means, (list, tuple)) else 2
    given = {k: v for k, v in cfg.options.items() if k in COUNT_OPTIONS}
    n = sum(_count(v, classes if k == "n_per_class" else 1) for k, v in given.items())
    features = cfg.options.get("n_features", math.prod(info.input_shape or (1,)))
    if not n or not isinstance(features, int) or isinstance(features, bool):
        return
    need = n * (max(features, 1) + 1) * 8  # X and y in float64, once
    key, value = max(given.items(), key=lambda kv: _count(kv[1], classes))
    _refuse(f"data.options.{key}={value!r}", need, f"{n:,} samples of {features} features",
            "ask for fewer samples")


def network_sizes(cfg: ExperimentConfig, n_features: int, n_outputs: int) -> list[int]:
    """The widths of the network's layers, inputs to outputs (no hidden layer for the
    linear models)."""
    from neuralab.experiments.config import _kind_and_options

    kind, options = _kind_and_options(cfg)
    hidden = list(options.get("hidden") or []) if kind in ("mlp", "mlp_regressor") else []
    return [n_features, *hidden, n_outputs]


def check_model_memory(cfg: ExperimentConfig, data: Prepared) -> None:
    """Refuse a model whose weights, gradients, optimizer state and activations cannot fit
    in memory (``--hidden 100000,100000``), naming the setting and the estimate."""
    X, y = data.sets["train"]
    classes = len(np.unique(y)) if is_classifier(cfg) else 1
    ovr = cfg.model.kind == "ovr"
    sizes = network_sizes(cfg, math.prod(X.shape[1:]), 1 if ovr or classes == 2 else classes)
    params = sum((a + 1) * b for a, b in itertools.pairwise(sizes))
    params *= classes if ovr else 1
    itemsize = 4 if cfg.train.dtype == "float32" else 8
    optim = cfg.optim
    state = {"adam": 2, "rmsprop": 1}.get(optim.optimizer or "", 0) + (
        1 if optim.momentum and optim.optimizer in ("sgd", "rmsprop") else 0)
    batch = len(y) if cfg.train.batch_size == "full" else min(int(cfg.train.batch_size), len(y))
    # weights + gradients + optimizer state, and each layer's output over one batch
    need = params * itemsize * (2 + state) + batch * sum(sizes[1:]) * itemsize
    hidden = sizes[1:-1]
    setting = (f"model.hidden={hidden}" if hidden and max(hidden) >= max(sizes[0], sizes[-1])
               else f"model.kind={cfg.model.kind!r} on {sizes[0]:,} input features")
    _refuse(setting, need, f"{params:,} parameters ({cfg.train.dtype}) and their "
            "activations", "use smaller layers" if hidden else "use fewer features")


def class_errors(est: Any, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Error rate within each class of ``est.classes_`` on ``(X, y)``, shape (n_classes,)."""
    from neuralab.train.metrics import per_class_error

    classes = np.asarray(est.classes_)
    index = {v: i for i, v in enumerate(classes.tolist())}
    t = np.array([index[v] for v in np.asarray(y).tolist()])
    p = np.array([index[v] for v in np.asarray(est.predict(X)).tolist()])
    return np.asarray(per_class_error(t, p, len(classes)), dtype=float)


__all__ = ["Experiment", "Prepared", "apply_preprocess", "as_images", "available_memory",
           "check_data_files", "check_data_memory", "check_model_memory", "check_task",
           "class_errors", "format_bytes", "load_splits", "network_sizes", "prepare",
           "prepare_experiment"]
