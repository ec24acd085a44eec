"""summary.json: the status while a run trains, and at the end the final and best metrics,
per-class errors, sizes and timings (``finish`` also saves model.npz and the plots)."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from neuralab.experiments.runfolder import atomic_write_json, versions
from neuralab.experiments.session import Session


def read_summary(run_dir: Path) -> dict[str, Any]:
    """``run_dir``'s summary.json, or ``{}`` when it is missing or unreadable."""
    try:
        return json.loads((Path(run_dir) / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def write_summary(ses: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """Write summary.json: the run's identity and versions, then ``fields``."""
    cfg = ses.cfg
    base = {"name": cfg.output.name, "run_dir": str(ses.run_dir),
            "data": cfg.data.name, "model": cfg.model.kind,
            "epochs_requested": cfg.train.epochs,
            "updated": time.strftime("%Y-%m-%dT%H:%M:%S"), "versions": versions()}
    summary = {**base, **fields}
    atomic_write_json(ses.run_dir / "summary.json", summary)
    return summary


def mse(est: Any, X: np.ndarray, y: np.ndarray) -> float:
    """Mean squared error of ``est``'s predictions on ``(X, y)``."""
    pred = np.asarray(est.predict(X), float)
    return float(np.mean((pred - np.asarray(y, float)) ** 2))


def _metric(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def _final_metrics(ses: Session, est: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, (X, y) in ses.data.sets.items():
        if ses.classifier:
            out[f"{name}_acc"] = float(est.score(X, y))
        else:
            out[f"{name}_mse"] = mse(est, X, y)
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


def _eval_set(ses: Session) -> str:
    return "test" if "test" in ses.data.sets else ("val" if "val" in ses.data.sets else "train")


def _per_class(ses: Session, est: Any) -> dict[str, Any]:
    from neuralab.train.metrics import per_class_error

    if not ses.classifier:
        return {}
    split = _eval_set(ses)
    X, y = ses.data.sets[split]
    classes = np.asarray(est.classes_)
    labels = ses.labels(classes)
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


def finish(ses: Session, est: Any, elapsed: float, resumed_from: int) -> dict[str, Any]:
    """Save model.npz and the plots, write the finished summary.json; returns the summary."""
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
    summary = write_summary(ses, {
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


__all__ = ["finish", "mse", "read_summary", "write_summary"]
