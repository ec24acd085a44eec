"""Checkpoints, model files and ensemble members of network-backed estimators.

``CheckpointMixin`` turns the full training state into a flat dict of arrays
(``checkpoint``), restores it (``fit(..., resume=...)``), writes and reads model files
(``save``/``load``) and slices one member out of an ensemble (``member``).
"""

from __future__ import annotations

import itertools
import os
from typing import TYPE_CHECKING, Any

import numpy as np

from neuralab.exceptions import ModelFileError
from neuralab.io import from_json_text, json_text, load_arrays, save_arrays
from neuralab.models._members import members_params, members_state
from neuralab.models._params import params_from_json, params_to_json, upgrade_params
from neuralab.rng import check_generator_state
from neuralab.train.history import History

if TYPE_CHECKING:
    from neuralab.models._estimator import NetEstimator

REGISTRY: dict[str, type] = {}  # estimator class name -> class, for model files
# Parameters that may differ between a checkpoint and the estimator resuming it.
RESUME_FREE = frozenset({"epochs", "verbose", "callbacks"})
# What a bad file can make loading raise before the checks name the problem; each becomes a
# ModelFileError naming the file (the checks below catch what they can first, by name).
LOAD_ERRORS = (KeyError, ValueError, TypeError, IndexError, ArithmeticError, RecursionError,
                AttributeError)


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
        est = type(self)(**members_params(self.get_params(deep=False), i, E))
        cfg = est._validate_params()
        state = members_state(self.checkpoint(), i, E)
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
        check_checkpoint(state)
        name = str(state.get("meta/estimator", ""))
        if name != type(self).__name__:
            raise ValueError(f"the checkpoint holds a {name or 'unknown estimator'}; this is a "
                             f"{type(self).__name__}")
        n_in = int(state["meta/n_features_in"])
        if n_in != self.n_features_in_:
            raise ValueError(f"the checkpoint was trained on {n_in} features; X has "
                             f"{self.n_features_in_}")
        _check_against_net(state, self._trainer)
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
        """The checkpoint dict stored in a file written by :meth:`save`/:meth:`save_checkpoint`
        (checked: :class:`ModelFileError` naming the file if it is not a valid one)."""
        _, arrays = load_arrays(path)
        try:
            check_checkpoint(arrays)
        except LOAD_ERRORS as exc:
            raise load_error(path, "checkpoint", exc) from None
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
        except LOAD_ERRORS as exc:
            raise load_error(path, str(name), exc) from None

    @staticmethod
    def _from_state(state: dict[str, np.ndarray]) -> NetEstimator:
        """A fitted estimator rebuilt from a checkpoint dict (class and parameters inside).

        Everything in the dict that sizes work is checked before the network is built:
        its declared architecture must match the weights the dict holds."""
        check_checkpoint(state)
        klass = REGISTRY.get(str(state["meta/estimator"]))
        if klass is None:
            raise ValueError(f"unknown estimator {str(state['meta/estimator'])!r:.60}")
        est = klass(**params_from_json(from_json_text(state["meta/params"], "meta/params"),
                                       REGISTRY))
        cfg = est._validate_params()
        _check_architecture(state, est, cfg)
        est._setup(int(state["meta/n_features_in"]), None, cfg, meta=state)
        est._load_state(state, check_params=False)
        return est


def load_error(path: str | os.PathLike, what: str, exc: BaseException) -> ModelFileError:
    """The one error a bad file gives: the file, what it should be, what is wrong."""
    detail = (f"the array {exc.args[0]!r} is missing" if isinstance(exc, KeyError) and exc.args
              else " ".join(str(exc).split()) or type(exc).__name__)
    return ModelFileError(f"{path} is not a valid {what} model file: {detail}"
                          if what != "checkpoint" else f"{path} is not a valid checkpoint: "
                          f"{detail}")


# -- checking a checkpoint read from a file ------------------------------------------------
MAX_EPOCHS = 2**31  # trainer/epoch (and history length) of a file
WEIGHT_PREFIXES = ("net/", "frozen/", "stop/early/best_state/")


def _array(state: dict[str, Any], key: str, kinds: str, ndim: int | None = None,
           shape: tuple[int, ...] | None = None) -> np.ndarray:
    """``state[key]`` as an array whose dtype kind is in ``kinds`` (and given rank/shape)."""
    if key not in state:
        raise ValueError(f"the array {key!r} is missing")
    arr = np.asarray(state[key])
    names = {"b": "booleans", "i": "integers", "u": "integers", "f": "real floats",
             "U": "text"}
    if arr.dtype.kind not in kinds or arr.dtype.names is not None:
        want = " or ".join(dict.fromkeys(names[k] for k in kinds))
        raise ValueError(f"array {key!r} has dtype {arr.dtype}; it must hold {want}")
    if (ndim is not None and arr.ndim != ndim) or (shape is not None and arr.shape != shape):
        want = f"shape {shape}" if shape is not None else f"{ndim} dimension(s)"
        raise ValueError(f"array {key!r} has shape {arr.shape}; it must have {want}")
    return arr


def _int(state: dict[str, Any], key: str, low: int, high: int) -> int:
    value = int(_array(state, key, "iu", ndim=0))
    if not low <= value <= high:
        raise ValueError(f"{key} is {value}; it must lie in [{low}, {high}]")
    return value


def check_checkpoint(state: dict[str, Any]) -> None:
    """ValueError naming the array when a checkpoint dict (from a file or a caller) is not
    what :meth:`CheckpointMixin.checkpoint` writes: scalars of the right kind and range,
    generator states NumPy would write, weights of real floats and finite (except members
    of an ensemble that diverged), histories as long as the epochs trained, classes sorted
    and distinct. Needs no estimator, so it runs before anything is built."""
    name = _array(state, "meta/estimator", "U", ndim=0)
    if str(name) not in REGISTRY:
        raise ValueError(f"meta/estimator {str(name)!r:.60} is not a neuralab estimator")
    _array(state, "meta/params", "U", ndim=0)
    _int(state, "meta/n_features_in", 1, 2**40)
    if "meta/n_outputs" in state:
        _int(state, "meta/n_outputs", 1, 2**40)
    if "meta/y_ndim" in state:
        _int(state, "meta/y_ndim", 1, 2)
    if "meta/classes" in state:
        classes = _array(state, "meta/classes", "biufU", ndim=1)
        if classes.dtype.kind == "f" and not np.isfinite(classes).all():
            raise ValueError("meta/classes holds NaN or infinite labels")
        if len(classes) < 2 or not np.array_equal(classes, np.unique(classes)):
            raise ValueError(f"meta/classes must be at least 2 distinct labels in sorted "
                             f"order; found {len(classes)} label(s) {classes.tolist()!r:.60}")
    epoch = _int(state, "trainer/epoch", 0, MAX_EPOCHS)
    _int(state, "trainer/step", 0, 2**62)
    active = _array(state, "trainer/active", "b", ndim=1)
    M = len(active)
    if M < 1:
        raise ValueError("trainer/active is empty; a model has at least one member")
    diverged = (_array(state, "trainer/diverged", "b", shape=(M,))
                if "trainer/diverged" in state else np.zeros(M, dtype=bool))
    rngs = sorted(k for k in state if k.startswith("rng/"))
    if rngs != sorted(f"rng/{i}" for i in range(M)):
        raise ValueError(f"the checkpoint has {M} member(s) but generator states "
                         f"{rngs[:5]!r:.80}; it needs rng/0 to rng/{M - 1}")
    for key in rngs:
        check_generator_state(from_json_text(state[key], key))
    for key in state:
        if key.startswith("history/"):
            arr = _array(state, key, "biuf")
            if arr.ndim not in (1, 2) or len(arr) != epoch or (arr.ndim == 2 and
                                                                arr.shape[1] != M):
                raise ValueError(f"{key} has shape {arr.shape}; the checkpoint trained "
                                 f"{epoch} epoch(s) of {M} member(s)")
        elif key.startswith(WEIGHT_PREFIXES) or (key.startswith("opt/") and
                                                 key not in ("opt/lr", "opt/steps")):
            _check_finite(key, _array(state, key, "f"), diverged)
        elif key.startswith("stop/") and "/best_state/" not in key:
            arr = _array(state, key, "iuf" if key.endswith("/best") else "iu", shape=(M,))
            if arr.dtype.kind == "f" and np.isnan(arr[~diverged]).any():
                raise ValueError(f"{key} holds NaN")
    if "opt/lr" in state:
        lr = _array(state, "opt/lr", "f")
        if lr.shape not in ((), (M,)) or not (np.isfinite(lr) & (lr >= 0)).all():
            raise ValueError(f"opt/lr must be finite and >= 0, one value or one per member; "
                             f"found {np.array2string(lr, threshold=5)} (shape {lr.shape})")
        _int(state, "opt/steps", 0, 2**62)


def _check_finite(key: str, arr: np.ndarray, diverged: np.ndarray) -> None:
    """Weights are finite, except the rows of ensemble members that diverged (frozen NaN)."""
    if diverged.any() and arr.ndim and len(arr) == len(diverged):
        arr = arr[~diverged]
    if not np.isfinite(arr).all():
        raise ValueError(f"{key} holds NaN or infinite values; a trained model's weights "
                         "are finite (it would predict nonsense)")


def _check_architecture(state: dict[str, Any], est: Any, cfg: dict[str, Any]) -> None:
    """The network the parameters declare must be the one whose weights the dict holds:
    checked *before* building it, so a file cannot make loading allocate more than it
    holds (n_models, hidden sizes, n_features_in and the outputs all size the network)."""
    E = cfg["n_models"]
    M = len(np.asarray(state["trainer/active"]))
    if M != (E or 1):
        raise ValueError(f"n_models={E} but the checkpoint holds {M} member(s)")
    n_in = int(state["meta/n_features_in"])
    if est._is_classifier():
        if "meta/classes" not in state:
            raise ValueError("the array 'meta/classes' is missing")
        n_out = est._outputs_for(len(np.asarray(state["meta/classes"])))
        if "meta/n_outputs" in state and int(state["meta/n_outputs"]) != n_out:
            raise ValueError(f"meta/n_outputs is {int(state['meta/n_outputs'])} but "
                             f"{len(np.asarray(state['meta/classes']))} classes need {n_out}")
    else:
        for key in ("meta/n_outputs", "meta/y_ndim"):
            if key not in state:
                raise ValueError(f"the array {key!r} is missing")
        n_out = int(state["meta/n_outputs"])
        if int(state["meta/y_ndim"]) == 1 and n_out != 1:
            raise ValueError(f"meta/y_ndim is 1 (one target) but meta/n_outputs is {n_out}")
    widths = [n_in, *cfg.get("hidden", ()), n_out]
    declared = (E or 1) * sum(a * b for a, b in itertools.pairwise(widths))
    if hasattr(est, "_declared_weights"):  # a CNN counts its own layers
        declared = est._declared_weights(state, cfg, n_out)
    held = sum(np.asarray(v).size for k, v in state.items() if k.startswith("net/"))
    if declared > held:
        raise ValueError(f"the parameters declare a network of {declared:,} weights "
                         f"(layers {widths}, {E or 1} member(s)) but the file holds "
                         f"{held:,} numbers in its net/ arrays")


def _check_against_net(state: dict[str, Any], trainer: Any) -> None:
    """Optimizer state, frozen and best weights have the shapes of the built network's."""
    shapes = {name: p.shape for name, p, _ in trainer.net.named_parameters()}
    shapes.update({name: b.shape for name, b in trainer.net.named_buffers()})
    for key, value in state.items():
        if key.startswith(("frozen/", "stop/early/best_state/")):
            name = key.split("/", 1)[1].removeprefix("early/best_state/")
            want = shapes.get(name)
        elif key.startswith("opt/") and key not in ("opt/lr", "opt/steps"):
            name = key[4:].rsplit("/", 1)[0]
            want = shapes.get(name)
        else:
            continue
        if want is None:
            raise ValueError(f"{key} belongs to no parameter of this network")
        if np.shape(value) != want:
            raise ValueError(f"{key} has shape {np.shape(value)}; this network needs {want}")
