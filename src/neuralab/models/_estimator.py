"""``NetEstimator``, the base of every network-backed estimator: set-up of the network and
trainer from the checked hyper-parameters, ``fit``, ``partial_fit``, the training run and
network outputs for prediction.

A subclass supplies the network (``_build_net``), the loss (``_make_loss``) and, for
classifiers and regressors, a mixin of :mod:`neuralab.models._targets`. Hyper-parameters are
validated in ``fit`` (the constructor only stores them, scikit-learn's convention);
checkpoints, files and ensemble members come from :mod:`neuralab.models._persistence`.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

import numpy as np

from neuralab._checks import check_positive
from neuralab._malloc import keep_large_allocations
from neuralab.models._hyper import check_common_params
from neuralab.models._params import Params, not_fitted
from neuralab.models._persistence import REGISTRY, CheckpointMixin
from neuralab.models._repr import HTMLRepr
from neuralab.models._setup import (
    make_generators,
    make_optimizer,
    make_penalties,
    make_scheduler,
    make_stoppers,
)
from neuralab.models._validation import check_X, check_y, warn_raw_pixels
from neuralab.nn.losses import Flooding, Loss
from neuralab.nn.module import Module
from neuralab.optim import Optimizer
from neuralab.train.history import History
from neuralab.train.loop import Trainer, fit_loop
from neuralab.train.metrics import CHUNK as EVAL_CHUNK
from neuralab.train.metrics import accuracy, evaluate, predict_chunks


class NetEstimator(HTMLRepr, CheckpointMixin, Params):
    """Base of the network-backed estimators (see the module docstring)."""

    #: warn when X is raw uint8 pixels (``warn_raw_pixels``): the MLPs and CNNs, measured to
    #: stay at chance on them; a perceptron's updates are scale-free
    _pixels_warning: ClassVar[bool] = False

    _probabilistic: ClassVar[bool] = True
    #: ``n_models=E`` trains E members as one stacked ensemble (a study stacks its seeds)
    stacks_members: ClassVar[bool] = True

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

    def _reads_images(self, X: Any) -> bool:
        """Whether the network fit() builds for ``X`` reads it as images (a CNN's may)."""
        return False

    def _check_X(self, X: Any, **kw: Any) -> np.ndarray:
        """``X`` checked as rows (n, features); a CNN also takes images."""
        return check_X(X, **kw)

    def _make_trainer_from(self, net: Module, loss: Loss, opt: Optimizer | None, **kw: Any
                           ) -> Trainer:
        return Trainer(net, loss, opt, **kw)

    def _param(self, name: str, default: Any = None) -> Any:
        return getattr(self, name, default)

    # -- hyper-parameters ---------------------------------------------------------------
    def _validate_params(self) -> dict[str, Any]:
        cfg = check_common_params(self._param, getattr(self, "_kind", None))
        cfg.update(self._validate_extra(cfg))
        if cfg["train_metrics"] == "auto":  # a target is the accuracy of the epoch's end weights
            cfg["train_metrics"] = "running" if cfg["target_accuracy"] is None else "full"
        return cfg

    # -- set-up -------------------------------------------------------------------------
    def _setup(self, n_features: int, y: np.ndarray | None, cfg: dict[str, Any],
               classes: Any = None, meta: dict[str, np.ndarray] | None = None) -> None:
        """Fresh network, optimizer and history for ``n_features`` inputs (targets described
        by ``y``/``classes``, or by a checkpoint's ``meta``)."""
        self._cfg = cfg
        self.n_features_in_ = int(n_features)
        self._init_targets(y, classes, meta)
        gens = make_generators(self._param("random_state"), cfg)
        rng = gens[0] if cfg["n_models"] is None else gens
        net = self._build_net(self.n_features_in_, self._n_outputs, rng, cfg)
        loss = self._make_loss(cfg)
        if cfg["flooding"] is not None:
            loss = Flooding(loss, cfg["flooding"])
        opt = make_optimizer(net, cfg) if cfg.get("optimizer") else None
        penalties = make_penalties(cfg)
        self._trainer = self._make_trainer_from(
            net, loss, opt, gens=gens, batch_size=cfg["batch_size"], shuffle=cfg["shuffle"],
            n_models=cfg["n_models"], penalties=penalties,
            scheduler=make_scheduler(opt, cfg) if opt is not None else None)
        self._eval_loss = self._make_loss(cfg)
        self.history_ = History()
        self._stoppers: dict[str, Any] = make_stoppers(cfg)
        self._set_results()

    def _set_results(self) -> None:
        """Public results read from the training state (``converged_epoch_``, ...)."""
        if self._cfg["n_models"] is not None:  # members that diverged and were frozen (E,)
            self.diverged_ = self._trainer.diverged.copy()
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
            X = self._check_X(X, dtype=cfg["dtype"], owner=type(self).__name__,
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
        if self._pixels_warning:
            warn_raw_pixels(X, name, images=self._reads_images(X))
        X = self._check_X(X, dtype=cfg["dtype"], owner=name)
        y = check_y(y, len(X), owner=name, classifier=self._is_classifier())
        return X, y

    def _prepare_set(self, name: str, data: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not isinstance(data, (tuple, list)) or len(data) != 2:
            raise ValueError(f"{name} must be a pair (X, y); got {type(data).__name__}")
        owner = type(self).__name__
        X = self._check_X(data[0], dtype=self._cfg["dtype"], owner=owner,
                    n_features=self.n_features_in_, name=f"{name} X")
        y = check_y(data[1], len(X), owner=owner, classifier=self._is_classifier(),
                    name=f"{name} y")
        y_idx = self._encode(y)
        return X, self._targets(y_idx), y_idx

    def _train(self, X: np.ndarray, y: np.ndarray, validation: Any, eval_sets: Any,
               epochs: int) -> None:
        # Training allocates the same large temporaries every step (activations of a big
        # batch, evaluation chunks): keep them in the heap instead of fresh mmap pages.
        keep_large_allocations()
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

        running = cfg["train_metrics"] == "running"
        passes = {k: v for k, v in sets.items() if not (running and k == "train")}
        # Full-batch GD's next epoch starts with the forward pass the training set's
        # evaluation has just done: evaluated last, in one chunk, it primes the Trainer
        # (Trainer.prime), unless a callback of the user's may change the weights meanwhile.
        priming = ("train" in passes and trainer._batch(len(X)) >= len(X)
                   and len(X) <= EVAL_CHUNK
                   and not any(getattr(cb, "changes_weights", True) for cb in cfg["callbacks"]))
        if priming:
            passes["train"] = passes.pop("train")  # last

        def evaluate_all() -> dict[str, Any]:
            out: dict[str, Any] = {}
            if running:  # the epoch's own forward passes (Trainer.running): no extra pass
                out["train_loss"] = trainer.running["loss"]
                if classifier:
                    out["train_acc"] = trainer.running["acc"]
            for name, (Xs, Ts, ys) in passes.items():
                seen: list[np.ndarray] = []

                def score(o: np.ndarray, ys: np.ndarray = ys, seen: list = seen) -> Any:
                    seen.append(o)
                    return accuracy(ys, self._index_from_outputs(o)) if classifier else None

                loss, acc = evaluate(trainer.net, self._eval_loss, Xs, Ts, score)
                out[f"{name}_loss"] = loss
                if classifier:
                    out[f"{name}_acc"] = acc
                if priming and name == "train":
                    trainer.prime(Xs, seen[0])
            return out

        callbacks = [*self._stoppers.values(), *cfg["callbacks"]]
        try:
            fit_loop(self, trainer, X, T, epochs=epochs, eval_every=cfg["eval_every"],
                     evaluate=evaluate_all, callbacks=callbacks, verbose=cfg["verbose"],
                     correct=self._batch_correct if running and classifier else None)
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
        """Network outputs (eval mode) computed in float64: (n, K), or (E, n, K) for an
        ensemble.

        Prediction runs in float64 whatever ``dtype`` trained the network, so a row's
        output does not depend on the rows it is computed with: float32 GEMM kernels sum in
        an order that changes with the batch shape, which moved outputs by ~1e-7 between a
        set and its subsets (scikit-learn's ``check_methods_subset_invariance``). The
        float32 weights are cast once per call; training's evaluation keeps ``dtype``.
        """
        self._check_fitted()
        # float32 input stays float32 here (no full-size copy); chunks widen in the GEMM
        dtype = np.float32 if getattr(X, "dtype", None) == np.float32 else np.float64
        X = self._check_X(X, dtype=dtype, owner=type(self).__name__,
                    n_features=self.n_features_in_)
        return predict_chunks(self._float64_net(), X).astype(np.float64, copy=False)

    def _float64_net(self) -> Module:
        """The trained network, or (trained in float32) a float64 copy of it."""
        net = self._trainer.net
        if np.dtype(self._cfg["dtype"]) == np.float64:
            return net
        cfg = {**self._cfg, "dtype": np.float64}
        # a throwaway generator: the copy's initial weights are overwritten below
        E = cfg["n_models"]
        rng = np.random.default_rng(0)
        twin = self._build_net(self.n_features_in_, self._n_outputs,
                               rng if E is None else [rng] * E, cfg)
        twin.load_state_dict(net.state_dict())
        return twin

    @property
    def net_(self) -> Module:
        """The trained network (``nn.Sequential``)."""
        self._check_fitted()
        return self._trainer.net
