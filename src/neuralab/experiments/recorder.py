"""The callback that turns a training run into a run folder: metrics rows, checkpoints,
progress, and a clean stop on Ctrl-C.

Checkpoints are taken in ``on_epoch_end`` (the loop calls it once the epoch is complete:
schedule stepped, history appended), every ``checkpoint_every`` epochs, at the last epoch,
and when Ctrl-C asked to stop. Each holds ``est.checkpoint()`` (weights, optimizer,
schedule, generator states, history, stopping state) plus this run's bookkeeping under
``run/`` (the wall-clock seconds of each metrics row), so a resumed run rewrites
metrics.csv exactly as the uninterrupted run would have it.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Any

import numpy as np

from neuralab.experiments.progress import Reporter
from neuralab.experiments.runfolder import (
    CHECKPOINT,
    append_line,
    atomic_write_text,
    csv_line,
    csv_text,
)
from neuralab.train.callbacks import Callback

RUN_PREFIX = "run/"


def history_rows(history: Any, seconds: list[float], part: str | None = None
                 ) -> list[dict[str, Any]]:
    """metrics.csv rows (evaluated epochs) from a History and the rows' seconds."""
    if len(history) == 0:
        return []
    keys = [k for k in history.keys() if k != "evaluated"]
    evaluated = np.asarray(history["evaluated"], dtype=bool)
    cols = {k: history[k] for k in keys}
    rows = []
    for n, i in enumerate(np.flatnonzero(evaluated)):
        row: dict[str, Any] = {k: _scalar(cols[k][i]) for k in keys}
        row["epoch"], row["step"] = int(row["epoch"]), int(row["step"])
        row["seconds"] = seconds[n] if n < len(seconds) else float("nan")
        if part is not None:
            row["classifier"] = part
        rows.append(row)
    return rows


def _scalar(value: Any) -> Any:
    v = np.asarray(value)
    return float(v) if v.ndim == 0 else float(v.mean())


class StopFlag:
    """First Ctrl-C: finish the epoch, checkpoint, stop. Second Ctrl-C: stop at once."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None
        self.on_request: Any = None

    def _handler(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        if self.on_request is not None:
            self.on_request()

    def __enter__(self) -> StopFlag:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None


class RunRecorder(Callback):
    """Writes metrics rows, checkpoints and progress for one estimator being trained.

    ``prefix_rows`` are rows of earlier parts (one-vs-rest) that precede this one in
    metrics.csv; ``part`` labels this estimator's rows; ``extra`` goes into every checkpoint.
    """

    def __init__(self, run_dir: Path, columns: list[str], *, epochs: int,
                 checkpoint_every: int, reporter: Reporter, stop: StopFlag,
                 seconds: list[float] | None = None, elapsed: float = 0.0,
                 part: str | None = None, prefix_rows: list[dict[str, Any]] | None = None,
                 extra: dict[str, np.ndarray] | None = None) -> None:
        self.run_dir, self.columns = Path(run_dir), columns
        self.epochs, self.every = epochs, checkpoint_every
        self.reporter, self.stop = reporter, stop
        self.seconds = list(seconds or [])
        self.elapsed = float(elapsed)
        self.part, self.prefix_rows = part, list(prefix_rows or [])
        self.extra = dict(extra or {})
        self.saved_epoch = -1
        self.last_epoch = 0

    # -- files ------------------------------------------------------------------------------
    def rows(self, est: Any) -> list[dict[str, Any]]:
        return self.prefix_rows + history_rows(est.history_, self.seconds, self.part)

    def rewrite_metrics(self, est: Any) -> None:
        atomic_write_text(self.run_dir / "metrics.csv", csv_text(self.columns, self.rows(est)))

    def state(self, est: Any) -> dict[str, np.ndarray]:
        state = est.checkpoint()
        state[RUN_PREFIX + "seconds"] = np.asarray(self.seconds, dtype=np.float64)
        state[RUN_PREFIX + "elapsed"] = np.asarray(self.elapsed, dtype=np.float64)
        state.update(self.extra)
        return state

    def save_checkpoint(self, est: Any, epoch: int) -> None:
        from neuralab.io import save_arrays

        save_arrays(self.run_dir / CHECKPOINT, {"kind": "neuralab-run-checkpoint",
                                                "epoch": int(epoch), "part": self.part},
                    self.state(est))
        self.rewrite_metrics(est)
        self.saved_epoch = epoch

    # -- hooks ------------------------------------------------------------------------------
    def on_train_begin(self, est: Any) -> None:
        self.last_epoch = len(est.history_)

    def on_epoch_end(self, est: Any, epoch: int, logs: dict[str, Any]) -> None:
        self.last_epoch = epoch
        self.elapsed += float(logs.get("seconds", 0.0))
        if logs.get("evaluated"):
            self.seconds.append(round(self.elapsed, 6))
            row = {k: _scalar(v) for k, v in logs.items()
                   if k not in ("evaluated", "seconds", "interrupted")}
            row.update(epoch=int(epoch), step=int(logs["step"]), seconds=self.seconds[-1])
            if self.part is not None:
                row["classifier"] = self.part
            append_line(self.run_dir / "metrics.csv", csv_line(self.columns, row))
        prefix = f"[{self.part}] " if self.part is not None else ""
        self.reporter.epoch(epoch, self.epochs, logs, prefix)
        if epoch % self.every == 0 or epoch == self.epochs or self.stop.requested:
            self.save_checkpoint(est, epoch)
        if self.stop.requested:
            raise KeyboardInterrupt

    def on_train_end(self, est: Any, logs: dict[str, Any]) -> None:
        if logs.get("interrupted"):
            return
        if self.last_epoch > self.saved_epoch and len(est.history_) > 0:
            self.save_checkpoint(est, self.last_epoch)


def split_state(state: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray],
                                                       dict[str, np.ndarray]]:
    """(estimator checkpoint, run bookkeeping) from a saved run checkpoint."""
    est = {k: v for k, v in state.items() if not k.startswith(RUN_PREFIX)}
    run = {k[len(RUN_PREFIX):]: v for k, v in state.items() if k.startswith(RUN_PREFIX)}
    return est, run


__all__ = ["RunRecorder", "StopFlag", "history_rows", "split_state"]
