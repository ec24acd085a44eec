"""Run an experiment into a run folder, or resume one after a crash or Ctrl-C.

``run_experiment(cfg)`` loads the data, creates ``runs/<name>-<timestamp>/``, trains with a
:class:`~neuralab.experiments.recorder.RunRecorder` callback, then writes the model, the
plots and summary.json. ``resume_run(folder)`` reads the folder's config.toml and its last
checkpoint and continues; the final weights and metrics.csv equal those of a run that was
never interrupted (tests/experiments/test_crash_resume.py kills runs with SIGKILL to check).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neuralab.exceptions import NeuralabError, TrainingDiverged
from neuralab.experiments.build import build_estimator, is_classifier
from neuralab.experiments.config import ConfigError, ExperimentConfig, default_name, load_config
from neuralab.experiments.prepare import Prepared, prepare
from neuralab.experiments.progress import Reporter
from neuralab.experiments.recorder import (
    RunRecorder,
    StopFlag,
    history_rows,
    split_state,
)
from neuralab.experiments.runfolder import (
    CHECKPOINT,
    append_line,
    atomic_write_json,
    atomic_write_text,
    csv_text,
    metric_columns,
    new_run_dir,
    versions,
)

QUICK_EPOCHS = 5
QUICK_CAPS = {"n_train": 600, "n_val": 200, "n_test": 200}


class RunInterrupted(NeuralabError):
    """Training stopped on Ctrl-C after saving a checkpoint; ``run_dir`` resumes it."""

    def __init__(self, run_dir: Path, epoch: int | None) -> None:
        self.run_dir, self.epoch = run_dir, epoch
        super().__init__(f"interrupted; resume with: neuralab train --resume {run_dir}")


class RunFailed(NeuralabError):
    """Training failed (e.g. diverged); the run folder keeps what was recorded."""


@dataclass
class RunResult:
    run_dir: Path
    summary: dict[str, Any]
    estimator: Any
    data: Prepared | None


def quick(cfg: ExperimentConfig) -> ExperimentConfig:
    """A smoke-test version of ``cfg``: at most 5 epochs and a few hundred samples."""
    data = cfg.data.model_copy(update={k: min(getattr(cfg.data, k) or cap, cap)
                                       for k, cap in QUICK_CAPS.items()})
    epochs = min(cfg.train.epochs, QUICK_EPOCHS)
    train = cfg.train.model_copy(update={"epochs": epochs,
                                         "eval_every": min(cfg.train.eval_every, epochs),
                                         "checkpoint_every": min(cfg.train.checkpoint_every,
                                                                 epochs)})
    return cfg.model_copy(update={"data": data, "train": train})


def _header(cfg: ExperimentConfig) -> str:
    return (f"# neuralab {versions()['neuralab']}: resolved config of run {cfg.output.name!r}"
            " (every default filled in)\n# rerun: neuralab train config.toml; continue: "
            "neuralab train --resume <this folder>\n\n")


def _check_task(cfg: ExperimentConfig, data: Prepared) -> None:
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
    if clf and len(np.unique(data.sets["train"][1])) < 2:
        raise ConfigError(f"the training split of {cfg.data.name!r} holds a single class; "
                          "a classifier needs at least 2")


def run_experiment(cfg: ExperimentConfig, *, quiet: bool = False, offline: bool = False,
                   reporter: Reporter | None = None) -> RunResult:
    """Train ``cfg`` into a new run folder under ``cfg.output.dir``; returns the result."""
    data = prepare(cfg.data, offline=offline)
    _check_task(cfg, data)
    name = default_name(cfg)
    cfg = cfg.model_copy(update={"output": cfg.output.model_copy(update={"name": name})})
    run_dir = new_run_dir(cfg.output.dir, name)
    atomic_write_text(run_dir / "config.toml", _header(cfg) + cfg.to_toml())
    return _execute(run_dir, cfg, data, state=None, quiet=quiet, reporter=reporter)


def read_summary(run_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((Path(run_dir) / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def resume_run(run_dir: str | Path, *, quiet: bool = False, epochs: int | None = None,
               offline: bool = False, reporter: Reporter | None = None) -> RunResult:
    """Continue the run in ``run_dir`` from its last checkpoint (or from the start when it
    was stopped before the first one). ``epochs`` extends a run to more epochs."""
    from neuralab.io import load_arrays

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ConfigError(f"run folder {run_dir} does not exist")
    if not (run_dir / "config.toml").is_file():
        raise ConfigError(f"{run_dir} is not a run folder (it has no config.toml)")
    cfg = load_config(run_dir / "config.toml")
    if epochs is not None and epochs != cfg.train.epochs:
        cfg = cfg.model_copy(update={"train": cfg.train.model_copy(update={"epochs": epochs})})
        atomic_write_text(run_dir / "config.toml", _header(cfg) + cfg.to_toml())
    summary = read_summary(run_dir)
    if summary.get("status") == "finished" and (run_dir / "model.npz").is_file() and (
            epochs is None or summary.get("epochs_requested") == cfg.train.epochs):
        line = f"{run_dir} already finished; nothing to resume"
        if not quiet:
            print(line)
        return RunResult(run_dir, summary, None, None)
    data = prepare(cfg.data, offline=offline)
    _check_task(cfg, data)
    ckpt = run_dir / CHECKPOINT
    state = load_arrays(ckpt)[1] if ckpt.is_file() else None
    return _execute(run_dir, cfg, data, state=state, quiet=quiet, reporter=reporter)


# -- the run -----------------------------------------------------------------------------------
class _Session:
    """What one invocation of ``train`` (fresh or resumed) needs while it runs."""

    def __init__(self, run_dir: Path, cfg: ExperimentConfig, data: Prepared, quiet: bool,
                 reporter: Reporter | None) -> None:
        self.run_dir, self.cfg, self.data = run_dir, cfg, data
        self.t0 = time.time()
        self.reporter = reporter or Reporter.auto(quiet, self.log)
        if reporter is not None:
            reporter.log = self.log
        self.classifier = is_classifier(cfg)
        sets = [s for s in ("train", "val", "test") if s in data.sets]
        self.columns = metric_columns(sets, self.classifier, part=cfg.model.kind == "ovr")
        self.stop = StopFlag()
        self.stop.on_request = lambda: self.reporter.message(
            "Ctrl-C: stopping after this epoch (checkpoint first); press Ctrl-C again to "
            "stop at once")

    def log(self, line: str) -> None:
        append_line(self.run_dir / "log.txt", f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}")

    def sets(self, positive: Any = None) -> tuple[Any, Any, Any]:
        """(train, validation, eval_sets) for fit; binary k-vs-rest labels with ``positive``."""
        def lab(pair: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
            X, y = pair
            return (X, y) if positive is None else (X, (y == positive).astype(np.int64))

        s = self.data.sets
        return (lab(s["train"]), lab(s["val"]) if "val" in s else None,
                {"test": lab(s["test"])} if "test" in s else None)


def _execute(run_dir: Path, cfg: ExperimentConfig, data: Prepared, *,
             state: dict[str, np.ndarray] | None, quiet: bool,
             reporter: Reporter | None) -> RunResult:
    ses = _Session(run_dir, cfg, data, quiet, reporter)
    atomic_write_json(run_dir / "preprocess.json", data.preprocess)
    resumed_from = _resumed_epoch(state)
    if state is None and (run_dir / "metrics.csv").exists():
        ses.reporter.message("no checkpoint yet: starting over from epoch 0")
    elif state is not None:
        ses.reporter.message(f"resuming {run_dir} after epoch {resumed_from}")
    else:
        ses.reporter.message(f"run folder {run_dir}")
    _write_summary(ses, {"status": "running"})
    try:
        with ses.stop:
            if cfg.model.kind == "ovr":
                est, elapsed = _train_ovr(ses, state)
            else:
                est, elapsed = _train_single(ses, state)
    except KeyboardInterrupt:
        ses.reporter.stop()
        saved = _resumed_epoch(_load_ckpt(run_dir))
        ses.reporter.message(f"interrupted; last checkpoint after epoch {saved}")
        _write_summary(ses, {"status": "interrupted", "checkpoint_epoch": saved})
        raise RunInterrupted(run_dir, saved) from None
    except TrainingDiverged as exc:
        ses.reporter.stop()
        ses.reporter.message(f"failed: {exc}")
        _write_summary(ses, {"status": "diverged", "error": str(exc)})
        raise RunFailed(f"{exc} (run folder {run_dir} keeps the metrics so far)") from None
    ses.reporter.stop()
    summary = _finish(ses, est, elapsed, resumed_from)
    return RunResult(run_dir, summary, est, data)


def _load_ckpt(run_dir: Path) -> dict[str, np.ndarray] | None:
    from neuralab.io import load_arrays

    path = run_dir / CHECKPOINT
    return load_arrays(path)[1] if path.is_file() else None


def _resumed_epoch(state: dict[str, np.ndarray] | None) -> int:
    if state is None or "trainer/epoch" not in state:
        return 0
    return int(state["trainer/epoch"])


def _fit(est: Any, ses: _Session, positive: Any, est_state: Any) -> Any:
    (X, y), validation, eval_sets = ses.sets(positive)
    return est.fit(X, y, validation=validation, eval_sets=eval_sets, resume=est_state)


def _train_single(ses: _Session, state: dict[str, np.ndarray] | None) -> tuple[Any, float]:
    from neuralab.train.history import History

    cfg = ses.cfg
    est_state, run_state = split_state(state) if state is not None else (None, {})
    seconds = np.asarray(run_state.get("seconds", []), dtype=float).tolist()
    recorder = RunRecorder(ses.run_dir, ses.columns, epochs=cfg.train.epochs,
                           checkpoint_every=cfg.train.checkpoint_every, reporter=ses.reporter,
                           stop=ses.stop, seconds=seconds,
                           elapsed=float(run_state.get("elapsed", 0.0)))
    done = 0
    if est_state is not None:
        history = History.from_arrays(est_state)
        done = len(history)
        atomic_write_text(ses.run_dir / "metrics.csv",
                          csv_text(ses.columns, history_rows(history, seconds)))
    else:
        atomic_write_text(ses.run_dir / "metrics.csv", csv_text(ses.columns, []))
    est = build_estimator(cfg, callbacks=[recorder])
    ses.reporter.start(cfg.train.epochs, done, cfg.output.name or "train")
    if cfg.model.kind == "linear" and cfg.model.solver == "lstsq":
        t = time.perf_counter()
        _fit(est, ses, None, None)
        _lstsq_row(ses, est, time.perf_counter() - t)
        return est, time.perf_counter() - t
    _fit(est, ses, None, est_state)
    return est, recorder.elapsed


def _lstsq_row(ses: _Session, est: Any, seconds: float) -> None:
    """The closed form has no epochs: one metrics row (epoch 0) with each set's MSE."""
    row: dict[str, Any] = {"epoch": 0, "step": 0, "seconds": round(seconds, 6)}
    for name, (X, y) in ses.data.sets.items():
        pred = est.predict(X)
        row[f"{name}_loss"] = float(np.mean((np.asarray(pred, float) - np.asarray(y, float)) ** 2))
    atomic_write_text(ses.run_dir / "metrics.csv", csv_text(ses.columns, [row]))


def _part_labels(ses: _Session, classes: np.ndarray) -> list[str]:
    names = dict(zip(ses.data.classes or (), ses.data.class_names or (), strict=False))
    return [str(names.get(int(c), c)) if np.issubdtype(np.asarray(c).dtype, np.integer)
            else str(c) for c in classes]


def _train_ovr(ses: _Session, state: dict[str, np.ndarray] | None) -> tuple[Any, float]:
    """One binary model per class, one after the other; each finished one is kept in
    checkpoints/part-K.npz, the one in progress in checkpoints/last.npz."""
    from neuralab.io import load_arrays, save_arrays
    from neuralab.models import OneVsRest
    from neuralab.train.history import History

    cfg = ses.cfg
    y = ses.data.sets["train"][1]
    classes = np.unique(y)
    labels = _part_labels(ses, classes)
    current = int(state["run/part"]) if state is not None and "run/part" in state else -1
    prefix: list[dict[str, Any]] = []
    estimators, elapsed = [], 0.0
    ses.reporter.start(cfg.train.epochs * len(classes), 0, cfg.output.name or "train")
    for k, c in enumerate(classes):
        part_file = ses.run_dir / "checkpoints" / f"part-{k}.npz"
        if part_file.is_file():  # finished before: rebuild it without training
            est_state, run_state = split_state(load_arrays(part_file)[1])
            est = _fit(build_estimator(cfg), ses, c, est_state)
            seconds = np.asarray(run_state.get("seconds", []), dtype=float).tolist()
            prefix = prefix + history_rows(est.history_, seconds, labels[k])
            elapsed = float(run_state.get("elapsed", elapsed))
            estimators.append(est)
            continue
        est_state, run_state = (split_state(state) if state is not None and current == k
                                else (None, {}))
        seconds = np.asarray(run_state.get("seconds", []), dtype=float).tolist()
        recorder = RunRecorder(ses.run_dir, ses.columns, epochs=cfg.train.epochs,
                               checkpoint_every=cfg.train.checkpoint_every,
                               reporter=ses.reporter, stop=ses.stop, seconds=seconds,
                               elapsed=float(run_state.get("elapsed", elapsed)),
                               part=labels[k], prefix_rows=prefix,
                               extra={"run/part": np.asarray(k)})
        rows = prefix if est_state is None else prefix + history_rows(
            History.from_arrays(est_state), seconds, labels[k])
        atomic_write_text(ses.run_dir / "metrics.csv", csv_text(ses.columns, rows))
        est = _fit(build_estimator(cfg, callbacks=[recorder]), ses, c, est_state)
        save_arrays(part_file, {"kind": "neuralab-run-checkpoint", "part": labels[k]},
                    recorder.state(est))
        prefix = recorder.rows(est)
        elapsed = recorder.elapsed
        estimators.append(est)
    ovr = OneVsRest(build_estimator(cfg))
    ovr.classes_, ovr.n_features_in_ = classes, estimators[0].n_features_in_
    ovr.estimators_ = estimators
    return ovr, elapsed


# -- the end of a run --------------------------------------------------------------------------
def _write_summary(ses: _Session, fields: dict[str, Any]) -> dict[str, Any]:
    cfg = ses.cfg
    base = {"name": cfg.output.name, "run_dir": str(ses.run_dir),
            "data": cfg.data.name, "model": cfg.model.kind,
            "epochs_requested": cfg.train.epochs,
            "updated": time.strftime("%Y-%m-%dT%H:%M:%S"), "versions": versions()}
    summary = {**base, **fields}
    atomic_write_json(ses.run_dir / "summary.json", summary)
    return summary


def _metric(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def _final_metrics(ses: _Session, est: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, (X, y) in ses.data.sets.items():
        if ses.classifier:
            out[f"{name}_acc"] = float(est.score(X, y))
        else:
            pred = np.asarray(est.predict(X), float)
            out[f"{name}_mse"] = float(np.mean((pred - np.asarray(y, float)) ** 2))
            out[f"{name}_r2"] = float(est.score(X, y))
    return out


def _best(rows: list[dict[str, Any]]) -> dict[str, Any]:
    best: dict[str, Any] = {}
    rows = [r for r in rows if "classifier" not in r]
    for key, better in (("val_acc", max), ("val_loss", min), ("test_acc", max),
                        ("train_acc", max), ("train_loss", min)):
        vals = [(r[key], int(r["epoch"])) for r in rows if _metric(r.get(key)) is not None]
        if vals:
            value, epoch = better(vals, key=lambda t: t[0])
            best[key] = {"value": float(value), "epoch": epoch}
    return best


def _eval_set(ses: _Session) -> str:
    return "test" if "test" in ses.data.sets else ("val" if "val" in ses.data.sets else "train")


def _per_class(ses: _Session, est: Any) -> dict[str, Any]:
    from neuralab.train.metrics import per_class_error

    if not ses.classifier:
        return {}
    split = _eval_set(ses)
    X, y = ses.data.sets[split]
    classes = np.asarray(est.classes_)
    labels = _part_labels(ses, classes)
    index = {v: i for i, v in enumerate(classes.tolist())}
    t = np.array([index[v] for v in y.tolist()])
    p = np.array([index[v] for v in np.asarray(est.predict(X)).tolist()])
    out: dict[str, Any] = {"split": split, "per_class_error": dict(zip(
        labels, [_metric(r) for r in per_class_error(t, p, len(classes))], strict=True))}
    if hasattr(est, "binary_error_rates"):
        out["binary_error_rates"] = dict(zip(
            labels, [float(r) for r in est.binary_error_rates(X, y)], strict=True))
    return out


def _weight_norm(est: Any) -> dict[str, float]:
    """‖w‖ of a linear model (how far the weights grew; seed 004, question 3.2)."""
    if hasattr(est, "estimators_") or type(est).__name__ not in (
            "Perceptron", "LogisticRegression", "LinearRegression"):
        return {}
    return {"weight_norm": float(np.linalg.norm(np.asarray(est.coef_, dtype=float)))}


def _finish(ses: _Session, est: Any, elapsed: float, resumed_from: int) -> dict[str, Any]:
    from neuralab.experiments.plots import make_plots
    from neuralab.experiments.runfolder import read_metrics

    run_dir = ses.run_dir
    est.save(run_dir / "model.npz")
    _, rows = read_metrics(run_dir / "metrics.csv")
    plots: list[str] = []
    if ses.cfg.output.plots:
        plots = make_plots(est, ses.data, ses.cfg, run_dir / "plots", rows, ses.log)
    final = _final_metrics(ses, est)
    single = [r for r in rows if "classifier" not in r]
    last = {k: _metric(v) for k, v in (single[-1] if single else {}).items()}
    converged = getattr(est, "converged_epoch_", None)
    if hasattr(est, "estimators_"):
        converged = [getattr(e, "converged_epoch_", None) for e in est.estimators_]
        epochs = [int(getattr(e, "n_epochs_", 0)) for e in est.estimators_]
    else:
        epochs = int(getattr(est, "n_epochs_", 0) or 0)
    classes = getattr(est, "classes_", None)
    summary = _write_summary(ses, {
        "status": "finished",
        "epochs_trained": epochs,
        "converged_epoch": converged,
        "best_epoch": getattr(est, "best_epoch_", None),
        "final": final,
        "last_eval": last,
        "best": _best(rows),
        **_per_class(ses, est),
        "data_sizes": {k: len(v[1]) for k, v in ses.data.sets.items()},
        "n_features": int(ses.data.sets["train"][0].shape[1]),
        "classes": None if classes is None else np.asarray(classes).tolist(),
        "train_seconds": round(elapsed, 4),
        "wall_seconds": round(time.time() - ses.t0, 4),
        "resumed_from_epoch": resumed_from or None,
        "plots": plots,
        **_weight_norm(est),
    })
    shown = " ".join(f"{k}={v:.4f}" for k, v in final.items())
    ses.reporter.message(f"finished: {shown}")
    return summary


__all__ = ["RunFailed", "RunInterrupted", "RunResult", "quick", "resume_run",
           "run_experiment"]
