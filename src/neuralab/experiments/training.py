"""Training a run's estimator with a :class:`RunRecorder` callback, from scratch or from a
checkpoint: one model, the closed-form least-squares fit, or one-vs-rest part by part."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from neuralab.experiments.build import build_estimator
from neuralab.experiments.recorder import RunRecorder, history_rows, split_state
from neuralab.experiments.runfolder import atomic_write_text, csv_text
from neuralab.experiments.session import Session
from neuralab.experiments.summary import mse


def _fit(est: Any, ses: Session, positive: Any, est_state: Any) -> Any:
    (X, y), validation, eval_sets = ses.sets(positive)
    return est.fit(X, y, validation=validation, eval_sets=eval_sets, resume=est_state)


def _seconds(run_state: dict[str, Any]) -> list[float]:
    return np.asarray(run_state.get("seconds", []), dtype=float).tolist()


def _recorder(ses: Session, run_state: dict[str, Any], elapsed: float,
              **kwargs: Any) -> RunRecorder:
    cfg = ses.cfg
    return RunRecorder(ses.run_dir, ses.columns, epochs=cfg.train.epochs,
                       checkpoint_every=cfg.train.checkpoint_every, reporter=ses.reporter,
                       stop=ses.stop, seconds=_seconds(run_state),
                       elapsed=float(run_state.get("elapsed", elapsed)), **kwargs)


def train_single(ses: Session, state: dict[str, np.ndarray] | None) -> tuple[Any, float]:
    """Train one estimator (resuming from ``state``); returns it and the training seconds."""
    from neuralab.train.history import History

    cfg = ses.cfg
    est_state, run_state = split_state(state) if state is not None else (None, {})
    recorder = _recorder(ses, run_state, 0.0)
    done = 0
    if est_state is not None:
        history = History.from_arrays(est_state)
        done = len(history)
        atomic_write_text(ses.run_dir / "metrics.csv",
                          csv_text(ses.columns, history_rows(history, _seconds(run_state))))
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


def _lstsq_row(ses: Session, est: Any, seconds: float) -> None:
    """The closed form has no epochs: one metrics row (epoch 0) with each set's MSE."""
    row: dict[str, Any] = {"epoch": 0, "step": 0, "seconds": round(seconds, 6)}
    for name, (X, y) in ses.data.sets.items():
        row[f"{name}_loss"] = mse(est, X, y)
    atomic_write_text(ses.run_dir / "metrics.csv", csv_text(ses.columns, [row]))


def train_ovr(ses: Session, state: dict[str, np.ndarray] | None) -> tuple[Any, float]:
    """One binary model per class, one after the other; each finished one is kept in
    checkpoints/part-K.npz, the one in progress in checkpoints/last.npz."""
    from neuralab.io import load_arrays, save_arrays
    from neuralab.models import OneVsRest
    from neuralab.train.history import History

    cfg = ses.cfg
    y = ses.data.sets["train"][1]
    classes = np.unique(y)
    labels = ses.labels(classes)
    current = int(state["run/part"]) if state is not None and "run/part" in state else -1
    prefix: list[dict[str, Any]] = []
    estimators, elapsed = [], 0.0
    ses.reporter.start(cfg.train.epochs * len(classes), 0, cfg.output.name or "train")
    for k, c in enumerate(classes):
        part_file = ses.run_dir / "checkpoints" / f"part-{k}.npz"
        if part_file.is_file():  # finished before: rebuild it without training
            est_state, run_state = split_state(load_arrays(part_file)[1])
            est = _fit(build_estimator(cfg), ses, c, est_state)
            prefix = prefix + history_rows(est.history_, _seconds(run_state), labels[k])
            elapsed = float(run_state.get("elapsed", elapsed))
            estimators.append(est)
            continue
        est_state, run_state = (split_state(state) if state is not None and current == k
                                else (None, {}))
        recorder = _recorder(ses, run_state, elapsed, part=labels[k], prefix_rows=prefix,
                             extra={"run/part": np.asarray(k)})
        rows = prefix if est_state is None else prefix + history_rows(
            History.from_arrays(est_state), _seconds(run_state), labels[k])
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


__all__ = ["train_ovr", "train_single"]
