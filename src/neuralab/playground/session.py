"""One playground session: a state, its data and its network, stepped one epoch at a time.

ONE HOME: the page's run *is* a neuralab config. :func:`config_dict` writes the state as a
config dict; the data, features and estimator come from
:func:`neuralab.experiments.prepare.prepare_experiment`, as ``neuralab train`` makes them. A
step is one epoch (``partial_fit(epochs=1)``, Playground's ``oneStep``), and N steps give the
weights ``neuralab train`` gives for the exported config with ``train.epochs = N``, bit for
bit in float64 (tests/playground/test_session.py). Editing a weight or changing the learning
or regularization rate mid-run is allowed (Playground's behaviour) and makes the export
inexact; the export says why.

A session is used by one thread at a time (the server gives each its own worker thread);
"run n seeds" trains in a thread of its own on a snapshot of the config
(:func:`run_seeds`), so it never touches the session's network.
"""

from __future__ import annotations

import base64
import csv
import io
import math
import secrets
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from neuralab.nn.activations import softmax
from neuralab.playground.state import (
    DATA_FIELDS,
    DOMAIN,
    LIMITS,
    LIVE_FIELDS,
    MAX_CLASSES,
    MAX_SEED,
    MAX_UPLOAD_BYTES,
    MAX_UPLOAD_ROWS,
    VIEW_FIELDS,
    MessageError,
    PlaygroundState,
    derived_loss,
    to_query,
    updated,
)

HEATMAP_SIZE = 100
THUMB_STEP = 4  # thumbnails take every 4th grid point: 25 × 25
SPIRAL_TURNS = 1.0  # k-class spirals: one turn per arm (the CS231n spiral turns less)
BLOB_RADIUS = 3.5  # k-class blobs: centres on a circle of this radius
STEP_SCHEDULE = {"step_size": 50, "gamma": 0.5}
COSINE_SCHEDULE = {"T_max": 200}  # fixed: a run continued step by step anneals the same way
CSV_NAME = "playground-data.csv"
CONFIG_NAME = "playground.toml"
ACTIVATION_NAMES = {"linear": "identity"}  # Playground's name -> neuralab's


# == the state as a neuralab config ==========================================================
def _data_section(state: PlaygroundState, csv_path: str | None) -> dict[str, Any]:
    noise = state.noise / 100  # Playground's slider is in percent
    n = state.n_points
    if state.dataset == "upload":
        if csv_path is None:
            raise MessageError("dataset='upload' needs data: upload a CSV (x1,x2,label) or "
                               "click points onto the plane first")
        data: dict[str, Any] = {"name": "csv", "path": csv_path,
                                "options": {"label": "label", "task": state.problem,
                                            "dtype": "float64"}}
    elif state.dataset == "spirals":
        data = {"name": "spiral", "options": {"n": n, "arms": state.classes,
                                              "turns": SPIRAL_TURNS, "noise": noise,
                                              "radius": DOMAIN}}
    elif state.dataset == "blobs":
        k = state.classes
        centres = [[round(BLOB_RADIUS * math.cos(2 * math.pi * i / k), 4),
                    round(BLOB_RADIUS * math.sin(2 * math.pi * i / k), 4)] for i in range(k)]
        # Playground's gauss spread: variance 0.5 + 7·noise
        data = {"name": "blobs", "options": {"n": n, "centers": centres,
                                             "cluster_std": round(math.sqrt(0.5 + 7 * noise),
                                                                  6)}}
    else:
        data = {"name": f"playground-{state.dataset}", "options": {"n": n, "noise": noise}}
    data["seed"] = state.seed
    data["split"] = {"test": round(1 - state.percTrainData / 100, 4), "seed": state.seed}
    data["features"] = list(state.features)
    return data


def config_dict(state: PlaygroundState, epochs: int = 1, *, csv_path: str | None = None,
                target: float | None = None) -> dict[str, Any]:
    """The neuralab config of ``state`` trained for ``epochs`` epochs (plain data, TOML-ready).

    ``csv_path`` is the file holding the session's own data (dataset "upload");
    ``target`` stops at that training accuracy (the seeds study)."""
    classifier = state.problem == "classification"
    acts = [ACTIVATION_NAMES.get(a, a) for a in state.activations]
    model: dict[str, Any] = {"kind": "mlp" if classifier else "mlp_regressor",
                             "hidden": list(state.networkShape),
                             "init": "playground"}  # U(-0.5, 0.5) weights, 0.1 biases
    if acts:
        model["activation"] = acts[0] if len(set(acts)) == 1 else acts
    if state.dropout:
        model["dropout"] = state.dropout
    if classifier and state.loss == "squared":  # Playground's: tanh output, targets -1/+1
        model["loss"] = "squared"
    optim: dict[str, Any] = {"optimizer": "adam" if state.optimizer == "adam" else "sgd",
                             "lr": state.learningRate}
    if state.optimizer == "momentum":
        optim["momentum"] = state.momentum
    if state.regularization is not None and state.regularizationRate > 0:
        optim[state.regularization.lower()] = state.regularizationRate
    if state.schedule != "constant":
        optim["schedule"] = state.schedule
        optim["schedule_params"] = dict(STEP_SCHEDULE if state.schedule == "step"
                                        else COSINE_SCHEDULE)
    # Playground's oneStep walks the training points in one fixed (shuffled once) order
    train: dict[str, Any] = {"epochs": max(int(epochs), 1), "batch_size": state.batchSize,
                             "shuffle": False, "seed": state.seed, "dtype": "float64",
                             "eval_every": 1, "train_metrics": "full"}
    if target is not None:
        train["target_accuracy"] = target
    return {"data": _data_section(state, csv_path), "model": model, "optim": optim,
            "train": train, "output": {"name": "playground"}}


# == own data: CSV text in, CSV file out ======================================================
def parse_csv(text: str) -> tuple[np.ndarray, np.ndarray, str]:
    """Rows ``x1,x2,label`` (header optional) → ``(X (n, 2), y (n,), task)``.

    Labels 0..4 or -1/1 are classes (-1/1 become 0/1); other numbers make a regression set
    (targets clipped to [-1, 1]). Points beyond Playground's domain are rescaled into it.
    Read with the csv module only; caps: 256 KB, 5,000 rows."""
    size = len(text.encode())
    if size > MAX_UPLOAD_BYTES:
        raise MessageError(f"the CSV has {size:,} bytes; the cap is {MAX_UPLOAD_BYTES:,}")
    rows = [r for r in csv.reader(io.StringIO(text)) if r and any(c.strip() for c in r)]
    if rows and not _is_number(rows[0][0]):
        rows = rows[1:]  # a header
    if len(rows) < 2:
        raise MessageError(f"the CSV has {len(rows)} data row(s); give at least 2 rows of "
                           "x1,x2,label")
    if len(rows) > MAX_UPLOAD_ROWS:
        raise MessageError(f"the CSV has {len(rows):,} rows; the cap is {MAX_UPLOAD_ROWS:,}")
    values = np.empty((len(rows), 3))
    for i, row in enumerate(rows, start=1):
        if len(row) != 3:
            raise MessageError(f"CSV row {i} has {len(row)} values; give x1,x2,label")
        for j, cell in enumerate(row):
            try:
                values[i - 1, j] = float(cell)
            except ValueError:
                raise MessageError(f"CSV row {i}: {cell.strip()[:20]!r} is not a number; "
                                   "give x1,x2,label as numbers") from None
    if not np.isfinite(values).all():
        raise MessageError("the CSV holds inf or nan; give finite numbers")
    X, y = values[:, :2], values[:, 2]
    top = np.abs(X).max()
    if top > DOMAIN:
        X = X * (DOMAIN / top)  # into Playground's plane, keeping the shape of the data
    if np.array_equal(y, np.round(y)) and set(np.unique(y)) <= set(range(-1, MAX_CLASSES)):
        if -1 in y:
            if not set(np.unique(y)) <= {-1, 1}:
                raise MessageError("CSV labels mix -1 with other classes; use -1/1 or "
                                   f"0..{MAX_CLASSES - 1}")
            y = (y > 0).astype(float)
        if len(np.unique(y)) < 2:
            raise MessageError("the CSV labels hold a single class; give at least 2")
        return X, y, "classification"
    return X, np.clip(y, -1.0, 1.0), "regression"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def csv_text(X: np.ndarray, y: np.ndarray, task: str) -> str:
    """Own data as the CSV file neuralab train reads (header x1,x2,label)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["x1", "x2", "label"])
    for (a, b), t in zip(X.tolist(), y.tolist(), strict=True):
        writer.writerow([repr(a), repr(b), int(t) if task == "classification" else repr(t)])
    return out.getvalue()


# == encoding images ==========================================================================
def encode_unit(values: np.ndarray) -> str:
    """Values in [-1, 1] (clipped; NaN as 0) as base64 uint8: byte b stands for b/127.5 - 1."""
    finite = np.nan_to_num(values, nan=0.0, posinf=1.0, neginf=-1.0)
    b = np.rint((np.clip(finite, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)
    return base64.b64encode(b.tobytes()).decode("ascii")


def json_numbers(values: np.ndarray, decimals: int = 4) -> list[Any]:
    """``values`` rounded, as nested lists, with null for NaN or infinity (JSON has neither:
    a diverged network's weights must not break the page's JSON.parse)."""
    a = np.asarray(values, dtype=float)
    return np.where(np.isfinite(a), np.round(a, decimals), None).tolist()


def encode_bytes(values: np.ndarray) -> str:
    """Whole numbers 0..255 (NaN as 0) as base64 uint8."""
    b = np.clip(np.nan_to_num(np.asarray(values, dtype=float), nan=0.0), 0, 255)
    return base64.b64encode(b.astype(np.uint8).tobytes()).decode("ascii")


def _grid(size: int = HEATMAP_SIZE) -> np.ndarray:
    """Points of the size×size heat map, row-major, row 0 at y = +6, column 0 at x = -6."""
    xs = np.linspace(-DOMAIN, DOMAIN, size)
    xx, yy = np.meshgrid(xs, xs[::-1])
    return np.column_stack([xx.ravel(), yy.ravel()])


GRID = _grid()
_THUMB_INDEX = np.arange(HEATMAP_SIZE * HEATMAP_SIZE).reshape(HEATMAP_SIZE, HEATMAP_SIZE)[
    THUMB_STEP // 2::THUMB_STEP, THUMB_STEP // 2::THUMB_STEP].ravel()
THUMB = math.isqrt(len(_THUMB_INDEX))


# == the session ==============================================================================
class Session:
    """A page's state, data and network (see the module docstring)."""

    def __init__(self, state: PlaygroundState | None = None) -> None:
        self.state = state or PlaygroundState()
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._own: tuple[np.ndarray, np.ndarray, str] | None = None  # own data (X, y, task)
        self.epoch = 0
        self.notes: list[str] = []  # why the export is not exact
        self.stopped: str | None = None
        self.playing = False
        self._build_data()
        self._build_net()

    # -- building -----------------------------------------------------------------------
    @property
    def csv_path(self) -> str | None:
        return None if self._dir is None else str(Path(self._dir.name) / CSV_NAME)

    def config(self, epochs: int | None = None, target: float | None = None) -> dict[str, Any]:
        """This session's config dict, ``epochs`` defaulting to the epochs trained."""
        return config_dict(self.state, self.epoch if epochs is None else epochs,
                           csv_path=self.csv_path, target=target)

    def _build_data(self) -> None:
        from neuralab.experiments import parse_config
        from neuralab.experiments.config import ConfigError
        from neuralab.experiments.prepare import prepare_experiment

        try:
            self.exp = prepare_experiment(parse_config(self.config(1)), offline=True)
        except ConfigError as exc:
            raise MessageError(f"these settings do not make a run: {exc}") from None
        data = self.exp.data
        self.X, self.y = data.sets["train"]
        self.test = data.sets.get("test")
        self.raw = data.raw
        self.grid_inputs = data.transform(GRID)
        # features scaled to [-1, 1] over the plane, for their thumbnails
        feats = self.grid_inputs[_THUMB_INDEX]
        self._feature_thumbs = feats / np.maximum(np.abs(self.grid_inputs).max(axis=0), 1e-12)

    def _build_net(self) -> None:
        """A fresh, untrained network (epoch 0) of the current settings, from their seed."""
        from neuralab.experiments import parse_config
        from neuralab.experiments.config import ConfigError, build_estimator

        try:  # the data stay; the estimator is the one the current config describes
            self.est = build_estimator(parse_config(self.config(1)))
        except ConfigError as exc:
            raise MessageError(f"these settings do not make a run: {exc}") from None
        est = self.est
        # the set-up fit() does before its first epoch (weights drawn from train.seed), so
        # epoch 0 can be drawn and the first step continues exactly as fit() would
        cfg = est._validate_params()
        X, y = est._check_Xy(self.X, self.y, cfg)
        est._setup(X.shape[1], y, cfg)
        self.epoch = 0
        self.notes = []
        self.stopped = None
        self.diverged = False  # the last epoch blew up: no finished network until a reset
        self._target_reached: float | None = None
        self._last: dict[str, Any] = {}
        self._metrics()

    @property
    def classifier(self) -> bool:
        return self.state.problem == "classification"

    @property
    def n_classes(self) -> int:
        return len(self.est.classes_) if self.classifier else 1

    # -- changes ------------------------------------------------------------------------
    def apply(self, changes: dict[str, Any]) -> set[str]:
        """Apply settings (validated); returns what was rebuilt: {"data", "net"} or less."""
        new = updated(self.state, changes)
        return self.set_state(new)

    def set_state(self, new: PlaygroundState) -> set[str]:
        old = self.state
        changed = {k for k in type(new).model_fields if getattr(new, k) != getattr(old, k)}
        if not changed:
            return set()
        if new.dataset == "upload" and self._own is None:
            raise MessageError("dataset='upload' needs data: upload a CSV (x1,x2,label) or "
                               "click points onto the plane first")
        if new.dataset == "upload" and self._own is not None:
            new = new.model_copy(update={"problem": self._own[2], "loss": derived_loss(
                self._own[2], new.n_classes, new.loss)})
            changed = {k for k in type(new).model_fields if getattr(new, k) != getattr(old, k)}
        self.state = new
        try:
            if changed & set(DATA_FIELDS) or "features" in changed:
                self._build_data()
                self._build_net()
                return {"data", "net"}
            if changed - set(LIVE_FIELDS) - set(VIEW_FIELDS):
                self._build_net()
                return {"net"}
        except MessageError:
            self.state = old
            self._build_data()
            self._build_net()
            raise
        if changed & set(LIVE_FIELDS):
            self._apply_live(old, new)
        return set()

    def _apply_live(self, old: PlaygroundState, new: PlaygroundState) -> None:
        """Learning and regularization rates change the running network (Playground does)."""
        from neuralab.nn.penalties import L1, L2

        trainer = self.est._trainer
        if new.learningRate != old.learningRate:
            self.est.set_params(lr=new.learningRate)
            # the Trainer sets the optimizer's rate from its base rate (and schedule) each epoch
            trainer.base_lr = new.learningRate
            if trainer.scheduler is not None:
                trainer.scheduler.base_lr = new.learningRate
            if trainer.optimizer is not None:
                trainer.optimizer.lr = trainer.lr
            if self.epoch > 0:
                self.notes.append(f"learningRate changed from {old.learningRate:g} to "
                                  f"{new.learningRate:g} after epoch {self.epoch}")
        if new.regularizationRate != old.regularizationRate and new.regularization:
            kind = {"L1": L1, "L2": L2}[new.regularization]
            trainer.penalties = [p for p in trainer.penalties if not isinstance(p, kind)]
            if new.regularizationRate > 0:
                trainer.penalties.append(kind(new.regularizationRate))
            self.est.set_params(**{new.regularization.lower(): new.regularizationRate})
            if self.epoch > 0:
                self.notes.append(f"regularizationRate changed from "
                                  f"{old.regularizationRate:g} to {new.regularizationRate:g} "
                                  f"after epoch {self.epoch}")

    def reset(self) -> None:
        """A fresh network from the same seed (Playground's reset)."""
        self._build_net()

    def regenerate(self) -> None:
        """New data and weights: a new seed (the URL carries it)."""
        seed = secrets.randbelow(MAX_SEED)
        if self.state.dataset == "upload":
            self.set_state(self.state.model_copy(update={"seed": seed}))
        else:
            self.apply({"seed": seed})

    def upload(self, text: str) -> None:
        """Own data from CSV text (validated, capped); the network starts again."""
        X, y, task = parse_csv(text)
        self._use_own(X, y, task)

    def add_point(self, x: float, y: float, label: float) -> None:
        """A clicked point joins the data (the data become own data, seeded split redone)."""
        if self.classifier:
            k = self.n_classes
            c = 0 if label == -1 else label
            if c != int(c) or not 0 <= c < max(k, 2):
                raise MessageError(f"label={label:g} is not a class here; give 0..{k - 1}")
            value = float(int(c))
        else:
            value = float(np.clip(label, -1.0, 1.0))
        X, Y, task = self._own if self._own is not None else self._current_data()
        if len(X) >= LIMITS["maxUploadRows"]:
            raise MessageError(f"the data hold {len(X):,} points already; the cap is "
                               f"{LIMITS['maxUploadRows']:,}")
        self._use_own(np.vstack([X, [[x, y]]]), np.append(Y, value), task)

    def _current_data(self) -> tuple[np.ndarray, np.ndarray, str]:
        parts = [("train", self.y)] + ([("test", self.test[1])] if self.test else [])
        X = np.vstack([self.raw[name] for name, _ in parts])
        Y = np.concatenate([self._label_index(y) for _, y in parts]).astype(float)
        return X, Y, self.state.problem

    def _label_index(self, y: np.ndarray) -> np.ndarray:
        if not self.classifier:
            return np.asarray(y, dtype=float)
        return np.searchsorted(np.asarray(self.est.classes_), y)

    def _use_own(self, X: np.ndarray, y: np.ndarray, task: str) -> None:
        old_own, old_state = self._own, self.state
        if self._dir is None:
            self._dir = tempfile.TemporaryDirectory(prefix="neuralab-playground-")
        Path(self.csv_path or "").write_text(csv_text(X, y, task), encoding="utf-8")
        self._own = (X, y, task)
        classes = len(np.unique(y)) if task == "classification" else self.state.classes
        try:
            self.state = updated(self.state, {"dataset": "upload",
                                              "classes": min(max(classes, 2), MAX_CLASSES)})
            self.state = self.state.model_copy(update={
                "problem": task, "loss": derived_loss(task, self.state.n_classes,
                                                      self.state.loss)})
            self._build_data()
            self._build_net()
        except MessageError:
            self._own, self.state = old_own, old_state
            if old_own is not None:
                Path(self.csv_path or "").write_text(csv_text(*old_own), encoding="utf-8")
            self._build_data()
            self._build_net()
            raise

    def set_weight(self, layer: int, source: int, target: int, value: float) -> None:
        """The weight from neuron ``source`` of layer ``layer - 1`` to ``target`` of
        ``layer`` (layer 0 = the input features)."""
        W = self._linear(layer).params["weight"]
        if not (source < W.shape[0] and target < W.shape[1]):
            raise MessageError(f"set_weight layer={layer}: source={source}, target={target} "
                               f"is outside its {W.shape[0]}×{W.shape[1]} weights")
        W[source, target] = value
        self.notes.append(f"weight {layer}:{source}->{target} set to {value:g} at epoch "
                          f"{self.epoch}")
        self._metrics()

    def set_bias(self, layer: int, neuron: int, value: float) -> None:
        b = self._linear(layer).params["bias"]
        if not neuron < b.shape[-1]:
            raise MessageError(f"set_bias layer={layer}: neuron={neuron} is outside its "
                               f"{b.shape[-1]} neurons")
        b[..., neuron] = value
        self.notes.append(f"bias {layer}:{neuron} set to {value:g} at epoch {self.epoch}")
        self._metrics()

    def _linear(self, layer: int) -> Any:
        linears = self._linears()
        if not 1 <= layer <= len(linears):
            raise MessageError(f"layer={layer} is not a layer of this network; give 1.."
                               f"{len(linears)} (1 = the first hidden layer, "
                               f"{len(linears)} = the output)")
        return linears[layer - 1]

    def _linears(self) -> list[Any]:
        from neuralab.nn.linear import Linear

        return [m for m in self.est.net_ if isinstance(m, Linear)]

    # -- training -----------------------------------------------------------------------
    def step(self, epochs: int = 1) -> None:
        """Train ``epochs`` more epochs (one = Playground's oneStep over the training set)."""
        from neuralab.exceptions import TrainingDiverged

        ev = {"test": self.test} if self.test is not None else None
        if not self.diverged:
            try:
                self.est.partial_fit(self.X, self.y, epochs=epochs, eval_sets=ev)
            except TrainingDiverged:
                self.diverged = True
                self.epoch = self.est._trainer.epoch
        if self.diverged:  # play and step say it again instead of training a broken network
            self.stopped = (f"training diverged in epoch {self.epoch + 1} (the loss is not "
                            "finite); lower the learning rate and press reset")
            self.playing = False
            return
        self.epoch = self.est._trainer.epoch
        self._metrics(from_history=True)
        target = self.state.targetAccuracy
        acc = self._last.get("train_acc")
        if target is not None and acc is not None and acc >= target and \
                self._target_reached != target:
            # stop once; play goes on past the target when pressed again
            self._target_reached = target
            self.stopped = f"target accuracy {target:g} reached at epoch {self.epoch}"
            self.playing = False

    def _metrics(self, from_history: bool = False) -> None:
        """Losses and accuracies of the current weights: the history's last row right after
        a step (train_metrics="full" measured them), else one evaluation pass."""
        h = self.est.history_
        if from_history and len(h):
            self._last = {k: _num(h.last(k))  # the last row only: O(1) per frame
                          for k in ("train_loss", "test_loss", "train_acc", "test_acc")}
        else:
            self._last = self._evaluate()

    def _evaluate(self) -> dict[str, Any]:
        from neuralab.train.metrics import accuracy, evaluate

        est = self.est
        out: dict[str, Any] = {}
        sets = {"train": (self.X, self.y)}
        if self.test is not None:
            sets["test"] = self.test
        for name, (X, y) in sets.items():
            idx = est._encode(y)
            loss, acc = evaluate(est.net_, est._eval_loss, X, est._targets(idx),
                                 (lambda o, i=idx: accuracy(i, est._index_from_outputs(o)))
                                 if self.classifier else None)
            out[f"{name}_loss"] = _num(loss)
            out[f"{name}_acc"] = _num(acc) if self.classifier else None
        for key in ("test_loss", "test_acc"):
            out.setdefault(key, None)
        return out

    # -- frames -------------------------------------------------------------------------
    def frame(self, frames_dropped: int = 0) -> dict[str, Any]:
        """What the page draws now: heat map, thumbnails, weights, curves' points."""
        from neuralab.viz.weights import ACTIVATION_TYPES, layer_outputs

        net = self.est.net_
        outs = layer_outputs(net, self.grid_inputs, np.float64)
        logits = outs[-1][1]
        heat: dict[str, Any] = {"size": HEATMAP_SIZE, "extent": [-DOMAIN, DOMAIN, -DOMAIN,
                                                                 DOMAIN], "encoding": "u8"}
        if self.classifier:
            if logits.shape[1] == 1:  # loss "squared": Playground's own tanh output
                out_values = np.tanh(logits[:, 0])
                heat["values"] = encode_unit(out_values)
            elif logits.shape[1] == 2:  # 2·P(class 1) − 1 of a 2-way softmax, in one pass
                out_values = np.tanh((logits[:, 1] - logits[:, 0]) / 2)
                heat["values"] = encode_unit(out_values)
            else:
                p = softmax(logits, axis=1)
                out_values = p.argmax(axis=1)
                heat["values"] = encode_bytes(out_values)
                heat["confidence"] = encode_bytes(np.rint(p.max(axis=1) * 255))
                out_values = (2 * p.max(axis=1) - 1)
        else:
            out_values = logits[:, 0]
            heat["values"] = encode_unit(out_values)
        neurons = [[{"values": encode_unit(self._feature_thumbs[:, j])}
                    for j in range(self._feature_thumbs.shape[1])]]
        for layer, a in outs:
            if type(layer).__name__ in ACTIVATION_TYPES:
                t = a[_THUMB_INDEX]
                neurons.append([{"values": encode_unit(t[:, j])} for j in range(t.shape[1])])
        neurons.append([{"values": encode_unit(out_values[_THUMB_INDEX])}])
        weights, biases = [], []
        for lin in self._linears():
            weights.append(json_numbers(lin.params["weight"]))
            biases.append(json_numbers(lin.params["bias"].reshape(-1)))
        m = self._last
        trainer = self.est._trainer
        lr = trainer.lr if trainer.optimizer is not None else None  # the next epoch's
        return {"type": "frame", "epoch": self.epoch,
                "train_loss": m.get("train_loss"), "test_loss": m.get("test_loss"),
                "train_acc": m.get("train_acc"), "test_acc": m.get("test_acc"),
                "heatmap": heat, "thumb": THUMB, "neurons": neurons, "weights": weights,
                "biases": biases, "confusion": self.confusion(), "lr": _num(lr),
                "playing": self.playing, "stopped": self.stopped,
                "frames_dropped": int(frames_dropped)}

    def confusion(self) -> list[list[int]] | None:
        """Counts (true class, predicted class) on the test set, else the training set."""
        if not self.classifier:
            return None
        X, y = self.test if self.test is not None else (self.X, self.y)
        from neuralab.train.metrics import confusion_matrix

        p = self.est._index_from_outputs(self.est._outputs(X))
        return confusion_matrix(self.est._encode(y), p, self.n_classes).tolist()

    def state_message(self) -> dict[str, Any]:
        return {"type": "state", "state": self.state.model_dump(), "query": to_query(self.state),
                "limits": LIMITS, "playing": self.playing}

    def data_message(self) -> dict[str, Any]:
        def rows(split: str, y: np.ndarray) -> list[list[float]]:
            # float64 before rounding: a rounded float32 prints as -3.008699893951416
            X = np.round(self.raw[split].astype(np.float64), 4)
            labels = self._label_index(y)
            lab = labels.tolist() if self.classifier else np.round(labels, 4).tolist()
            return [[a, b, c] for (a, b), c in zip(X.tolist(), lab, strict=True)]

        return {"type": "data", "train": rows("train", self.y),
                "test": rows("test", self.test[1]) if self.test is not None else [],
                "classes": self.n_classes, "task": self.state.problem}

    # -- export -------------------------------------------------------------------------
    def export(self) -> dict[str, Any]:
        """The run as a neuralab config (TOML), the train command and the model (.npz)."""
        from neuralab.experiments.config import dump_toml

        if self.diverged:
            raise MessageError(f"nothing to export: the training diverged in epoch "
                               f"{self.epoch + 1}; lower the learning rate, press reset and "
                               "train again")
        cfg = self.config()
        own = self.state.dataset == "upload"
        if own:
            cfg["data"]["path"] = CSV_NAME
        notes = list(self.notes)
        if self.epoch == 0:
            notes.append("no epoch trained yet: the config trains 1 epoch, the model file "
                         "holds the untrained network")
        header = ("# neuralab playground export: `neuralab train playground.toml` trains this "
                  f"run again ({self.epoch} epochs, seed {self.state.seed})\n"
                  f"# the page: ?{to_query(self.state)}\n"
                  + (f"# {CSV_NAME} (sent with this file) holds the data; keep it next to "
                     "this file and run the command in that folder (data.path is read from "
                     "the folder you run in)\n" if own else "")
                  + ("# NOT EXACT: " + "; ".join(notes) + "\n" if notes else ""))
        with tempfile.TemporaryDirectory(prefix="neuralab-export-") as d:
            path = Path(d) / "playground.npz"
            self.est.save(path)
            model = base64.b64encode(path.read_bytes()).decode("ascii")
        out = {"type": "export", "toml": dump_toml(cfg, header), "filename": CONFIG_NAME,
               "command": f"neuralab train {CONFIG_NAME}", "model_npz_base64": model,
               "model_filename": "playground.npz", "exact": not notes,
               "note": "; ".join(notes) if notes else None, "epochs": self.epoch}
        if own:
            out["csv"] = Path(self.csv_path or "").read_text(encoding="utf-8")
            out["csv_filename"] = CSV_NAME
        return out

    def close(self) -> None:
        """Remove the session's own files (its uploaded data)."""
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None


def _num(value: Any) -> float | None:
    if value is None:
        return None
    v = float(np.asarray(value).reshape(-1)[0])
    return v if math.isfinite(v) else None


# == "run n seeds" ============================================================================
SEED_GROUP = 10  # members trained together between progress messages (and cancel checks)


def seeds_budget(epoch: int) -> int:
    """The epoch budget of a seeds study: the epochs trained so far, at least 100."""
    return max(int(epoch), 100)


def check_seeds(config: dict[str, Any]) -> None:
    """Refuse a seeds run that has no training accuracy to reach (a regression set)."""
    if config["model"]["kind"] != "mlp":
        raise MessageError("run n seeds counts the seeds that reach a training accuracy, so it "
                           "needs a classification data set; this one is a regression set")


def run_seeds(config: dict[str, Any], n: int, target: float, *,
              progress: Callable[[int, int], None] | None = None,
              cancel: threading.Event | None = None) -> dict[str, Any] | None:
    """Train ``config`` over ``n`` seeds (neuralab.studies: its run seeds and runner) with a
    target training accuracy; the success rate with its Wilson interval, or None when
    cancelled. ``config``'s ``train.epochs`` is the budget."""
    from neuralab.studies.runner import Study, run_chunk
    from neuralab.studies.stats import wilson_interval

    check_seeds(config)
    study = Study(config, seeds=n, target={"train_acc": target})
    converged: list[bool] = []
    epochs_to: list[float] = []
    done = 0
    for chunk in study.chunks():
        task = chunk.task()
        for k in range(0, len(task["members"]), SEED_GROUP):
            if cancel is not None and cancel.is_set():
                return None
            part = {**task, "members": task["members"][k:k + SEED_GROUP],
                    "per_member": {key: v[k:k + SEED_GROUP]
                                   for key, v in task["per_member"].items()}}
            result = run_chunk(part)
            converged += result["converged"].astype(bool).tolist()
            epochs_to += np.where(result["converged"], result["epoch_converged"],
                                  np.inf).tolist()
            done += len(part["members"])
            if progress is not None:
                progress(done, n)
    k = int(sum(converged))
    ci = wilson_interval(k, n)
    budget = config["train"]["epochs"]
    # every run has the same budget, so the Kaplan–Meier median is the plain median with
    # "not reached" as +inf; None when fewer than half reached the target
    median = float(np.median(epochs_to))
    return {"type": "seeds", "n": n, "target": f"train_acc >= {target:g} within {budget} epochs",
            "successes": k, "rate": ci.estimate, "low": ci.low, "high": ci.high,
            "confidence": 0.95, "median_epochs": median if math.isfinite(median) else None,
            "budget": budget}


__all__ = ["CONFIG_NAME", "CSV_NAME", "GRID", "HEATMAP_SIZE", "THUMB", "Session", "check_seeds",
           "config_dict", "csv_text", "encode_unit", "parse_csv", "run_seeds", "seeds_budget"]
