"""What every network-backed estimator shares: validation, the network/trainer set-up, fit,
partial_fit, prediction, checkpoints, model files and ensemble members.

A subclass supplies the network (``_build_net``), the loss (``_make_loss``) and, for
classifiers and regressors, the mixins below. Hyper-parameters are validated in ``fit``
(the constructor only stores them, scikit-learn's convention).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from neuralab._checks import check_choice, check_in_range, check_positive
from neuralab.data.labels import to_index
from neuralab.exceptions import ModelFileError
from neuralab.io import from_json_text, json_text, load_arrays, save_arrays
from neuralab.models._params import (
    Params,
    not_fitted,
    params_from_json,
    params_to_json,
)
from neuralab.models._validation import check_X, check_y
from neuralab.nn.activations import sigmoid, softmax
from neuralab.nn.losses import Flooding, Loss
from neuralab.nn.module import Module
from neuralab.nn.penalties import L1, L2, Penalty
from neuralab.optim import OPTIMIZERS, SCHEDULES, Optimizer
from neuralab.optim.optimizer import check_hyper
from neuralab.rng import as_generator, as_seed_sequence
from neuralab.train.history import History
from neuralab.train.loop import Trainer, fit_loop
from neuralab.train.metrics import accuracy, evaluate, predict_chunks, r2_score
from neuralab.train.stopping import MONITORS, EarlyStopping, TargetAccuracy

DTYPES = {"float32": np.float32, "float64": np.float64}
REGISTRY: dict[str, type] = {}  # estimator class name -> class, for model files
# Parameters that may differ between a checkpoint and the estimator resuming it.
RESUME_FREE = frozenset({"epochs", "verbose", "callbacks"})
DEFAULT_SCHEDULE_PARAMS = {"step": {"step_size": 30, "gamma": 0.1},
                           "exponential": {"gamma": 0.95}, "cosine": {"eta_min": 0.0}}


def member_seeds(seed: Any, n: int) -> list[np.random.SeedSequence]:
    """The E child seeds of an ensemble: ``SeedSequence(seed).spawn(E)``, without advancing a
    SeedSequence the caller passed in (so refitting and ``member(i)`` see the same children)."""
    ss = as_seed_sequence(seed)
    fresh = np.random.SeedSequence(ss.entropy, spawn_key=ss.spawn_key, pool_size=ss.pool_size)
    return fresh.spawn(n)


def check_dtype(value: Any) -> type:
    try:
        name = np.dtype(value).name
    except TypeError:
        name = str(value)
    check_choice("dtype", name, DTYPES)
    return DTYPES[name]


def check_member_hyper(name: str, value: Any, n_models: int | None, *, strict: bool = True,
                       upper: float | None = None) -> float | np.ndarray:
    """A scalar, or (ensembles only) one value per member."""
    if np.ndim(value) == 0:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer,
                                                             np.floating)):
            raise ValueError(f"{name}={value!r} is not allowed; it must be a number")
        check_positive(name, value, strict=strict)
        if upper is not None and value >= upper:
            raise ValueError(f"{name}={value!r} is not allowed; it must be < {upper}")
        return float(value)
    arr = np.asarray(value, dtype=float)
    if n_models is None or arr.shape != (n_models,):
        want = "a single number" if n_models is None else f"a number or {n_models} numbers"
        raise ValueError(f"{name}={value!r} is not allowed; give {want} (one per member of "
                         "an ensemble with n_models=E)")
    return check_hyper(name, arr, strict=strict, upper=upper)


class NetEstimator(Params):
    """Base of the network-backed estimators (see the module docstring)."""

    _probabilistic: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__name__.startswith("_"):
            REGISTRY[cls.__name__] = cls

    # -- hooks for subclasses -----------------------------------------------------------
    def _build_net(self, n_in: int, n_out: int, rng: Any, cfg: dict[str, Any]) -> Module:
        raise NotImplementedError

    def _make_loss(self, cfg: dict[str, Any]) -> Loss:
        raise NotImplementedError

    def _validate_extra(self, cfg: dict[str, Any]) -> dict[str, Any]:
        return {}

    def _make_trainer_from(self, net: Module, loss: Loss, opt: Optimizer | None, **kw: Any
                           ) -> Trainer:
        return Trainer(net, loss, opt, **kw)

    def _param(self, name: str, default: Any = None) -> Any:
        return getattr(self, name, default)

    # -- hyper-parameters ---------------------------------------------------------------
    def _validate_params(self) -> dict[str, Any]:
        p = self._param
        cfg: dict[str, Any] = {}
        cfg["dtype"] = check_dtype(p("dtype", "float32"))
        cfg["epochs"] = int(check_positive("epochs", p("epochs", 1), integer=True))
        cfg["eval_every"] = int(check_positive("eval_every", p("eval_every", 1), integer=True))
        E = p("n_models")
        if E is not None:
            check_positive("n_models", E, integer=True)
            E = int(E)
        cfg["n_models"] = E
        cfg["lr"] = check_member_hyper("lr", p("lr", 0.01), E)
        bs = p("batch_size", "full")
        if bs != "full" and (isinstance(bs, bool) or not isinstance(bs, (int, np.integer))
                             or bs < 1):
            raise ValueError(f"batch_size={bs!r} is not allowed; use an integer >= 1 or 'full'")
        cfg["batch_size"] = None if bs == "full" else int(bs)
        cfg["shuffle"] = bool(p("shuffle", True))
        cfg["optimizer"] = check_choice("optimizer", p("optimizer", "sgd"), OPTIMIZERS)
        cfg["momentum"] = check_member_hyper("momentum", p("momentum", 0.0), E, strict=False,
                                             upper=1.0)
        cfg["weight_decay"] = check_member_hyper("weight_decay", p("weight_decay", 0.0), E,
                                                 strict=False)
        cfg["nesterov"] = bool(p("nesterov", False))
        if cfg["nesterov"] and (cfg["optimizer"] != "sgd" or np.any(cfg["momentum"] <= 0)):
            raise ValueError("nesterov=True is not allowed here; it needs optimizer='sgd' and "
                             f"momentum > 0 (got optimizer={cfg['optimizer']!r}, "
                             f"momentum={p('momentum', 0.0)!r})")
        betas = p("betas", (0.9, 0.999))
        if np.shape(betas) != (2,):
            raise ValueError(f"betas={betas!r} is not allowed; give two numbers in [0, 1)")
        for b in betas:
            check_in_range("betas", b, 0.0, 1.0)
        cfg["betas"] = (float(betas[0]), float(betas[1]))
        for name in ("l1", "l2"):
            cfg[name] = float(check_positive(name, p(name, 0.0), strict=False))
        flood = p("flooding")
        cfg["flooding"] = None if flood is None else float(check_positive("flooding", flood,
                                                                          strict=False))
        sched = p("schedule")
        if sched is not None:
            check_choice("schedule", sched, SCHEDULES)
        sp = p("schedule_params")
        if sp is not None and not isinstance(sp, dict):
            raise ValueError(f"schedule_params={sp!r} is not allowed; give a dict such as "
                             "{'step_size': 10, 'gamma': 0.5}")
        cfg["schedule"], cfg["schedule_params"] = sched, dict(sp or {})
        cfg["early_stopping"] = bool(p("early_stopping", False))
        cfg["patience"] = int(check_positive("patience", p("patience", 10), integer=True))
        cfg["min_delta"] = float(check_positive("min_delta", p("min_delta", 0.0), strict=False))
        cfg["monitor"] = check_choice("monitor", p("monitor", "val_loss"), MONITORS)
        cfg["restore_best_weights"] = bool(p("restore_best_weights", True))
        target = p("target_accuracy")
        if target is not None:
            check_in_range("target_accuracy", target, 0.0, 1.0, closed="right")
        cfg["target_accuracy"] = target
        as_generator(p("seed")) if not isinstance(p("seed"), np.random.Generator) else None
        cbs = p("callbacks")
        if cbs is not None and (not isinstance(cbs, (list, tuple)) or not all(
                hasattr(c, "on_epoch_end") for c in cbs)):
            raise ValueError(f"callbacks={cbs!r} is not allowed; give a list of "
                             "neuralab.train.Callback objects")
        cfg["callbacks"] = list(cbs or [])
        cfg["verbose"] = int(p("verbose", 0) or 0)
        cfg.update(self._validate_extra(cfg))
        return cfg

    # -- set-up -------------------------------------------------------------------------
    def _generators(self, cfg: dict[str, Any]) -> list[np.random.Generator]:
        seed = self._param("seed")
        if cfg["n_models"] is None:
            return [as_generator(seed)]
        return [np.random.default_rng(s) for s in member_seeds(seed, cfg["n_models"])]

    def _make_optimizer(self, net: Module, cfg: dict[str, Any]) -> Optimizer:
        name, lr = cfg["optimizer"], cfg["lr"]
        if name == "sgd":
            return OPTIMIZERS["sgd"](net, lr, momentum=cfg["momentum"], nesterov=cfg["nesterov"],
                                     weight_decay=cfg["weight_decay"])
        if name == "adam":
            return OPTIMIZERS["adam"](net, lr, betas=cfg["betas"],
                                      weight_decay=cfg["weight_decay"])
        return OPTIMIZERS["rmsprop"](net, lr, momentum=cfg["momentum"],
                                     weight_decay=cfg["weight_decay"])

    def _make_scheduler(self, opt: Optimizer, cfg: dict[str, Any]) -> Any:
        name = cfg["schedule"]
        if name is None:
            return None
        kwargs = {**DEFAULT_SCHEDULE_PARAMS[name], **cfg["schedule_params"]}
        if name == "cosine":
            kwargs.setdefault("T_max", cfg["epochs"])
        try:
            return SCHEDULES[name](opt, **kwargs)
        except TypeError as exc:
            raise ValueError(f"schedule_params={cfg['schedule_params']!r} does not fit "
                             f"schedule={name!r}: {exc}") from None

    def _setup(self, n_features: int, y: np.ndarray | None, cfg: dict[str, Any],
               classes: Any = None, meta: dict[str, np.ndarray] | None = None) -> None:
        """Fresh network, optimizer and history for ``n_features`` inputs (targets described
        by ``y``/``classes``, or by a checkpoint's ``meta``)."""
        self._cfg = cfg
        self.n_features_in_ = int(n_features)
        self._init_targets(y, classes, meta)
        gens = self._generators(cfg)
        rng = gens[0] if cfg["n_models"] is None else gens
        net = self._build_net(self.n_features_in_, self._n_outputs, rng, cfg)
        loss = self._make_loss(cfg)
        if cfg["flooding"] is not None:
            loss = Flooding(loss, cfg["flooding"])
        opt = self._make_optimizer(net, cfg) if cfg.get("optimizer") else None
        penalties: list[Penalty] = []
        if cfg["l1"]:
            penalties.append(L1(cfg["l1"]))
        if cfg["l2"]:
            penalties.append(L2(cfg["l2"]))
        self._trainer = self._make_trainer_from(
            net, loss, opt, gens=gens, batch_size=cfg["batch_size"], shuffle=cfg["shuffle"],
            n_models=cfg["n_models"], penalties=penalties,
            scheduler=self._make_scheduler(opt, cfg) if opt is not None else None)
        self._eval_loss = self._make_loss(cfg)
        self.history_ = History()
        members = cfg["n_models"] or 1
        self._stoppers: dict[str, Any] = {}
        if cfg.get("target_accuracy") is not None:
            self._stoppers["target"] = TargetAccuracy(cfg["target_accuracy"],
                                                      n_members=members,
                                                      stop=cfg.get("target_stop", True))
        if cfg["early_stopping"]:
            self._stoppers["early"] = EarlyStopping(cfg["monitor"], cfg["patience"],
                                                    cfg["min_delta"],
                                                    cfg["restore_best_weights"], members)
        self._set_results()

    def _set_results(self) -> None:
        """Public results read from the training state (``converged_epoch_``, ...)."""
        target = self._stoppers.get("target") if hasattr(self, "_stoppers") else None
        if target is None:
            self.converged_epoch_ = None
        elif self._cfg["n_models"] is None:
            c = int(target.converged_epoch[0])
            self.converged_epoch_ = None if c < 0 else c
        else:
            self.converged_epoch_ = target.converged_epoch.copy()
        self.n_epochs_ = self._trainer.epoch
        early = self._stoppers.get("early") if hasattr(self, "_stoppers") else None
        if early is not None:
            be = early.best_epoch
            self.best_epoch_ = int(be[0]) if self._cfg["n_models"] is None else be.copy()

    # -- fitting ------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None, validation: tuple[Any, Any] | None = None, *,
            eval_sets: dict[str, tuple[Any, Any]] | None = None,
            resume: dict[str, np.ndarray] | str | os.PathLike | None = None) -> NetEstimator:
        """Train from scratch (or from ``resume``, a :meth:`checkpoint` dict or file) for
        ``epochs`` epochs. ``validation=(X_val, y_val)`` adds ``val_loss``/``val_acc`` to the
        history; ``eval_sets={"test": (X, y)}`` adds ``test_loss``/``test_acc``.
        Returns self."""
        cfg = self._validate_params()
        X, y = self._check_Xy(X, y, cfg)
        state = None
        if resume is not None:
            state = self.load_checkpoint(resume) if isinstance(resume, (str, os.PathLike)) \
                else resume
            self._setup(X.shape[1], y, cfg, meta=state)
            self._load_state(state, check_params=True)
        else:
            self._setup(X.shape[1], y, cfg)
        self._train(X, y, validation, eval_sets, cfg["epochs"])
        return self

    def partial_fit(self, X: Any, y: Any = None, classes: Any = None, *, epochs: int = 1,
                    validation: tuple[Any, Any] | None = None,
                    eval_sets: dict[str, tuple[Any, Any]] | None = None) -> NetEstimator:
        """``epochs`` more epochs (default 1), keeping weights, optimizer state and history.
        Classifiers take ``classes`` (all labels) on the first call."""
        check_positive("epochs", epochs, integer=True)
        if not self.__sklearn_is_fitted__():
            cfg = self._validate_params()
            X, y = self._check_Xy(X, y, cfg)
            self._setup(X.shape[1], y, cfg, classes=classes)
        else:
            cfg = self._cfg
            X = check_X(X, dtype=cfg["dtype"], owner=type(self).__name__,
                        n_features=self.n_features_in_)
            y = check_y(y, len(X), owner=type(self).__name__, classifier=self._is_classifier())
            self._trainer.active[:] = True  # stopped members train again
            self._trainer.frozen_state = None
        self._train(X, y, validation, eval_sets, self._trainer.epoch + int(epochs))
        return self

    def _is_classifier(self) -> bool:
        return self._estimator_type == "classifier"

    def _check_Xy(self, X: Any, y: Any, cfg: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        name = type(self).__name__
        X = check_X(X, dtype=cfg["dtype"], owner=name)
        y = check_y(y, len(X), owner=name, classifier=self._is_classifier())
        return X, y

    def _prepare_set(self, name: str, data: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not isinstance(data, (tuple, list)) or len(data) != 2:
            raise ValueError(f"{name} must be a pair (X, y); got {type(data).__name__}")
        owner = type(self).__name__
        X = check_X(data[0], dtype=self._cfg["dtype"], owner=owner,
                    n_features=self.n_features_in_, name=f"{name} X")
        y = check_y(data[1], len(X), owner=owner, classifier=self._is_classifier(),
                    name=f"{name} y")
        y_idx = self._encode(y)
        return X, self._targets(y_idx), y_idx

    def _train(self, X: np.ndarray, y: np.ndarray, validation: Any, eval_sets: Any,
               epochs: int) -> None:
        cfg = self._cfg
        y_idx = self._encode(y)
        T = self._targets(y_idx)
        sets = {"train": (X, T, y_idx)}
        if validation is not None:
            sets["val"] = self._prepare_set("validation", validation)
        for name, data in (eval_sets or {}).items():
            if not isinstance(name, str) or not name.isidentifier() or name in ("train", "val"):
                raise ValueError(f"eval_sets name {name!r} is not allowed; use a short "
                                 "identifier other than 'train' and 'val'")
            sets[name] = self._prepare_set(f"eval_sets[{name!r}]", data)
        early = self._stoppers.get("early")
        if early is not None and early.monitor.startswith("val") and "val" not in sets:
            raise ValueError(f"early_stopping monitors {early.monitor!r} but no validation "
                             "data was given; pass fit(X, y, validation=(X_val, y_val)) or "
                             "monitor='train_loss'")
        trainer = self._trainer
        classifier = self._is_classifier()

        def evaluate_all() -> dict[str, Any]:
            out: dict[str, Any] = {}
            for name, (Xs, Ts, ys) in sets.items():
                score = (lambda o, ys=ys: accuracy(ys, self._index_from_outputs(o))) \
                    if classifier else None
                loss, acc = evaluate(trainer.net, self._eval_loss, Xs, Ts, score)
                out[f"{name}_loss"] = loss
                if classifier:
                    out[f"{name}_acc"] = acc
            return out

        callbacks = [*self._stoppers.values(), *cfg["callbacks"]]
        try:
            fit_loop(self, trainer, X, T, epochs=epochs, eval_every=cfg["eval_every"],
                     evaluate=evaluate_all, callbacks=callbacks, verbose=cfg["verbose"])
        finally:
            self._set_results()

    # -- prediction ---------------------------------------------------------------------
    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "_trainer")

    def _check_fitted(self) -> None:
        if not self.__sklearn_is_fitted__():
            raise not_fitted(f"this {type(self).__name__} is not fitted yet; call fit(X, y) "
                             "first")

    def _outputs(self, X: Any) -> np.ndarray:
        """Network outputs (eval mode) as float64: (n, K), or (E, n, K) for an ensemble."""
        self._check_fitted()
        X = check_X(X, dtype=self._cfg["dtype"], owner=type(self).__name__,
                    n_features=self.n_features_in_)
        return predict_chunks(self._trainer.net, X).astype(np.float64)

    @property
    def net_(self) -> Module:
        """The trained network (``nn.Sequential``)."""
        self._check_fitted()
        return self._trainer.net

    # -- ensembles ----------------------------------------------------------------------
    def member(self, i: int) -> NetEstimator:
        """Member ``i`` of an ensemble as a standalone estimator (weights, optimizer state,
        generator and history copied): the model ``seed=member_seeds(seed, E)[i]`` trains."""
        self._check_fitted()
        E = self._cfg["n_models"]
        if E is None:
            raise ValueError("member(i) needs an ensemble (n_models=E); this is a single model")
        if not 0 <= int(i) < E:
            raise ValueError(f"member index {i} is out of range; this ensemble has {E} members")
        i = int(i)
        params = self.get_params(deep=False)
        params.update(n_models=None, seed=member_seeds(self._param("seed"), E)[i])
        for name in ("lr", "momentum", "weight_decay"):
            if name in params and np.ndim(params[name]) > 0:
                params[name] = float(np.asarray(params[name])[i])
        est = type(self)(**params)
        cfg = est._validate_params()
        state = _member_state(self.checkpoint(), i, E)
        est._setup(self.n_features_in_, None, cfg, meta=state)
        est._load_state(state, check_params=False)
        return est

    # -- checkpoints and files ----------------------------------------------------------
    def _meta(self) -> dict[str, np.ndarray]:
        meta = {"meta/estimator": np.array(type(self).__name__),
                "meta/params": json_text(params_to_json(self.get_params(deep=False))),
                "meta/n_features_in": np.asarray(self.n_features_in_),
                "meta/n_outputs": np.asarray(self._n_outputs)}
        meta.update(self._target_meta())
        return meta

    def checkpoint(self) -> dict[str, np.ndarray]:
        """Every array needed to continue training exactly (after any completed epoch):
        network, optimizer, schedule, generator states, counters, history, stopping state,
        classes and hyper-parameters. Pass it to ``fit(..., resume=...)``."""
        self._check_fitted()
        if self._trainer.in_epoch:
            raise RuntimeError(
                f"epoch {self._trainer.epoch + 1} of this {type(self).__name__} was interrupted "
                "part-way, so its state is not that of a completed epoch; resume from the "
                f"checkpoint saved at the end of epoch {self._trainer.epoch}")
        out = self._trainer.state_dict()
        out.update(self.history_.to_arrays())
        for name, stopper in self._stoppers.items():
            out.update({f"stop/{name}/{k}": v for k, v in stopper.state_dict().items()})
        out.update(self._meta())
        return out

    def _load_state(self, state: dict[str, np.ndarray], *, check_params: bool) -> None:
        name = str(state.get("meta/estimator", ""))
        if name != type(self).__name__:
            raise ValueError(f"the checkpoint holds a {name or 'unknown estimator'}; this is a "
                             f"{type(self).__name__}")
        n_in = int(state["meta/n_features_in"])
        if n_in != self.n_features_in_:
            raise ValueError(f"the checkpoint was trained on {n_in} features; X has "
                             f"{self.n_features_in_}")
        if check_params:
            saved = from_json_text(state["meta/params"])
            mine = params_to_json(self.get_params(deep=False))
            diff = sorted(k for k in set(saved) | set(mine)
                          if k not in RESUME_FREE and saved.get(k) != mine.get(k))
            if diff:
                shown = ", ".join(f"{k}: checkpoint {saved.get(k)!r} vs {mine.get(k)!r}"
                                  for k in diff)
                raise ValueError("cannot resume: these parameters differ from the checkpoint's "
                                 f"({shown}); only {', '.join(sorted(RESUME_FREE))} may change")
        self._trainer.load_state_dict(state)
        self.history_ = History.from_arrays(state)
        for key, stopper in self._stoppers.items():
            prefix = f"stop/{key}/"
            stopper.load_state_dict({k[len(prefix):]: v for k, v in state.items()
                                     if k.startswith(prefix)})
        self._set_results()

    def save(self, path: str | os.PathLike) -> None:
        """Write the fitted estimator (weights, training state, history) to ``path`` (.npz
        + JSON header). ``load(path)`` gives it back, ready to predict or train on."""
        state = self.checkpoint()
        header = {"estimator": type(self).__name__,
                  "params": from_json_text(state["meta/params"]),
                  "dtype": np.dtype(self._cfg["dtype"]).name,
                  "n_features_in": self.n_features_in_, "epochs_trained": self._trainer.epoch}
        if "meta/classes" in state:
            header["classes"] = np.asarray(state["meta/classes"]).tolist()
        save_arrays(path, header, state)

    save_checkpoint = save

    @staticmethod
    def load_checkpoint(path: str | os.PathLike) -> dict[str, np.ndarray]:
        """The checkpoint dict stored in a file written by :meth:`save`/:meth:`save_checkpoint`."""
        _, arrays = load_arrays(path)
        return arrays

    @classmethod
    def load(cls, path: str | os.PathLike) -> NetEstimator:
        """Read an estimator written by :meth:`save` (any class with ``NetEstimator.load``)."""
        header, arrays = load_arrays(path)
        name = header.get("estimator")
        klass = REGISTRY.get(str(name))
        if klass is None or not issubclass(klass, NetEstimator):
            raise ModelFileError(f"{path} holds an estimator of unknown kind {name!r}")
        if cls is not NetEstimator and not issubclass(klass, cls):
            raise ModelFileError(f"{path} holds a {name}, not a {cls.__name__}")
        try:
            return NetEstimator._from_state(arrays)
        except (KeyError, ValueError, TypeError) as exc:
            raise ModelFileError(f"{path} is not a valid {name} model file: {exc}") from None

    @staticmethod
    def _from_state(state: dict[str, np.ndarray]) -> NetEstimator:
        """A fitted estimator rebuilt from a checkpoint dict (class and parameters inside)."""
        klass = REGISTRY[str(state["meta/estimator"])]
        est = klass(**params_from_json(json.loads(str(state["meta/params"])), REGISTRY))
        cfg = est._validate_params()
        est._setup(int(state["meta/n_features_in"]), None, cfg, meta=state)
        est._load_state(state, check_params=False)
        return est


def _member_state(state: dict[str, np.ndarray], i: int, E: int) -> dict[str, np.ndarray]:
    """Slice member ``i`` out of an ensemble checkpoint (a single-model checkpoint)."""
    out: dict[str, np.ndarray] = {}
    for key, value in state.items():
        v = np.asarray(value)
        if key.startswith(("net/", "stop/early/best_state/")):
            out[key] = v[i].copy()
        elif key.startswith("opt/"):
            out[key] = v[i].copy() if v.ndim and v.shape[0] == E and key != "opt/steps" else v
        elif key.startswith("rng/"):
            if key == f"rng/{i}":
                out["rng/0"] = v
        elif key == "trainer/active" or key.startswith("stop/"):
            out[key] = v[i:i + 1].copy() if v.ndim else v
        elif key.startswith("history/"):
            out[key] = v[:, i].copy() if v.ndim == 2 else v
        elif key.startswith("frozen/"):
            continue
        else:
            out[key] = v
    return out


class ClassifierMixin:
    """Labels, probabilities and accuracy for network classifiers."""

    _estimator_type = "classifier"
    classes_: np.ndarray

    def _outputs_for(self, n_classes: int) -> int:
        return n_classes

    def _init_targets(self, y: np.ndarray | None, classes: Any, meta: Any = None) -> None:
        owner = type(self).__name__
        if meta is not None:
            classes = meta["meta/classes"]
        if classes is not None:
            labels = np.unique(np.asarray(classes))
            if y is not None:
                unseen = np.setdiff1d(np.unique(y), labels)
                if unseen.size:
                    raise ValueError(f"y has labels {unseen.tolist()} that are not in "
                                     f"classes={labels.tolist()}")
        else:
            labels = np.unique(y)
        if len(labels) < 2:
            raise ValueError(f"{owner} needs at least 2 classes to train; y has 1 class "
                             f"({labels.tolist()}), a single class cannot be separated")
        self.classes_ = labels
        self._n_outputs = self._outputs_for(len(labels))

    def _target_meta(self) -> dict[str, np.ndarray]:
        classes = np.asarray(self.classes_)
        if classes.dtype.kind == "O":
            classes = classes.astype(str)
        return {"meta/classes": classes}

    def _encode(self, y: np.ndarray) -> np.ndarray:
        try:
            return to_index(y, self.classes_)
        except ValueError:
            unseen = np.setdiff1d(np.unique(y), self.classes_)
            raise ValueError(f"labels {unseen.tolist()} were not seen in fit; this "
                             f"{type(self).__name__} knows the classes "
                             f"{np.asarray(self.classes_).tolist()}") from None

    def _targets(self, y_idx: np.ndarray) -> np.ndarray:
        if self._n_outputs == 1:  # one logit: 0/1 float targets
            return y_idx.astype(self._cfg["dtype"])[:, None]
        return y_idx

    @staticmethod
    def _index_from_outputs(out: np.ndarray) -> np.ndarray:
        if out.shape[-1] == 1:
            return (out[..., 0] >= 0).astype(np.int64)
        return out.argmax(axis=-1)

    def decision_function(self, X: Any) -> np.ndarray:
        """Scores: (n,) for two classes (positive class), (n, K) otherwise; ensembles add a
        leading (E,) axis."""
        out = self._outputs(X)
        if out.shape[-1] == 1:
            return out[..., 0]
        if out.shape[-1] == 2:
            return out[..., 1] - out[..., 0]
        return out

    def predict(self, X: Any) -> np.ndarray:
        """Labels (n,) from ``classes_``; (E, n) for an ensemble."""
        index = self._index_from_outputs(self._outputs(X))
        return self.classes_[index]

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities (n, K), rows summing to 1; (E, n, K) for an ensemble."""
        out = self._outputs(X)
        if out.shape[-1] == 1:
            p = sigmoid(out)
            return np.concatenate([1 - p, p], axis=-1)
        return softmax(out, axis=-1)

    def score(self, X: Any, y: Any) -> float | np.ndarray:
        """Accuracy on ``(X, y)``; (E,) for an ensemble."""
        pred = self.predict(X)
        y = check_y(y, pred.shape[-1], owner=type(self).__name__, classifier=True)
        return accuracy(y, pred)


class RegressorMixin:
    """Predictions and R² for network regressors."""

    _estimator_type = "regressor"
    _multi_output = True

    def _init_targets(self, y: np.ndarray | None, classes: Any = None, meta: Any = None
                      ) -> None:
        if meta is not None:
            self._y_ndim, self._n_outputs = int(meta["meta/y_ndim"]), int(meta["meta/n_outputs"])
        else:
            self._y_ndim = y.ndim
            self._n_outputs = 1 if y.ndim == 1 else y.shape[1]

    def _target_meta(self) -> dict[str, np.ndarray]:
        return {"meta/y_ndim": np.asarray(self._y_ndim)}

    def _encode(self, y: np.ndarray) -> np.ndarray:
        if (y.ndim == 1 and self._n_outputs != 1) or (y.ndim == 2 and
                                                      y.shape[1] != self._n_outputs):
            raise ValueError(f"y has shape {y.shape}; this {type(self).__name__} predicts "
                             f"{self._n_outputs} output(s)")
        return y

    def _targets(self, y: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(y.reshape(len(y), -1), dtype=self._cfg["dtype"])

    def predict(self, X: Any) -> np.ndarray:
        """Predictions (n,) (or (n, m) for m outputs); ensembles add a leading (E,) axis."""
        out = self._outputs(X)
        return out[..., 0] if self._y_ndim == 1 else out

    def score(self, X: Any, y: Any) -> float | np.ndarray:
        """R² on ``(X, y)`` (averaged over outputs); (E,) for an ensemble."""
        pred = self.predict(X)
        n = pred.shape[-2] if self._y_ndim == 2 else pred.shape[-1]
        y = check_y(y, n, owner=type(self).__name__, classifier=False)
        return r2_score(y, pred)


def as_tuple(value: Any) -> tuple[Any, ...]:
    if isinstance(value, Sequence) and not isinstance(value, str):
        return tuple(value)
    return (value,)
