"""Checkpoints, model files and ensemble members of network-backed estimators.

``CheckpointMixin`` turns the full training state into a flat dict of arrays
(``checkpoint``), restores it (``fit(..., resume=...)``), writes and reads model files
(``save``/``load``) and slices one member out of an ensemble (``member``).
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

import numpy as np

from neuralab.exceptions import ModelFileError
from neuralab.io import from_json_text, json_text, load_arrays, save_arrays
from neuralab.models._params import params_from_json, params_to_json, upgrade_params
from neuralab.models._setup import member_seeds
from neuralab.train.history import History

if TYPE_CHECKING:
    from neuralab.models._estimator import NetEstimator

REGISTRY: dict[str, type] = {}  # estimator class name -> class, for model files
# Parameters that may differ between a checkpoint and the estimator resuming it.
RESUME_FREE = frozenset({"epochs", "verbose", "callbacks"})


class CheckpointMixin:
    """Checkpoint, resume, save/load and ``member(i)`` for ``NetEstimator``."""

    # -- ensembles ----------------------------------------------------------------------
    def member(self, i: int) -> NetEstimator:
        """Member ``i`` of an ensemble as a standalone estimator (weights, optimizer state,
        generator and history copied): the model ``random_state=member_seeds(random_state, E)[i]``
        trains."""
        self._check_fitted()
        E = self._cfg["n_models"]
        if E is None:
            raise ValueError("member(i) needs an ensemble (n_models=E); this is a single model")
        if not 0 <= int(i) < E:
            raise ValueError(f"member index {i} is out of range; this ensemble has {E} members")
        i = int(i)
        params = self.get_params(deep=False)
        params.update(n_models=None,
                      random_state=member_seeds(self._param("random_state"), E)[i])
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
            saved = upgrade_params(from_json_text(state["meta/params"]))
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
        if klass is None or not issubclass(klass, CheckpointMixin):
            raise ModelFileError(f"{path} holds an estimator of unknown kind {name!r}")
        # Every registered class is a NetEstimator, so NetEstimator.load takes them all.
        if not issubclass(klass, cls):
            raise ModelFileError(f"{path} holds a {name}, not a {cls.__name__}")
        try:
            return CheckpointMixin._from_state(arrays)
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
