"""One run of an experiment: its folder, training with checkpoints, resume, and its summary.

``run_experiment(cfg)`` prepares the data and the estimator
(:func:`~neuralab.experiments.prepare.prepare_experiment`), creates
``runs/<name>-<YYYYMMDD-HHMMSS>/``, trains with a :class:`Recorder` callback, then writes the
model, the plots and summary.json. ``resume_run(folder)`` reads the folder's config.toml and
its last checkpoint and continues; the final weights and metrics.csv equal those of a run
that was never interrupted (tests/experiments/test_crash_resume.py kills runs with SIGKILL).

The run folder::

    config.toml        the resolved config (every default filled in)
    metrics.csv        one row per evaluation (written by MetricsFile only)
    summary.json       status, final and best metrics, converged epoch, wall time, versions
    model.npz          the trained model (neuralab.models.load)
    preprocess.json    feature map and fitted scaler, for eval / predict
    checkpoints/       last.npz: everything needed to continue exactly
                       (one-vs-rest: also part-K.npz per finished binary model)
    plots/             PNG + SVG figures
    log.txt            what happened, one line per event

Whole files are written to a temporary file in the same folder, fsync'ed and moved into
place with ``os.replace`` (:mod:`neuralab._atomic`): a reader or a crash sees the old file or
the new one, never half of one. ``log.txt`` and the rows added to ``metrics.csv`` between
checkpoints are appended with one ``write`` per line; at each checkpoint ``metrics.csv`` is
rewritten whole from the checkpoint's history, which is also how a resumed run drops rows
written after the checkpoint it continues from.
"""

from __future__ import annotations

import errno
import json
import math
import os
import shutil
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neuralab._atomic import append_line, atomic_file, confined, read_confined
from neuralab._lock import lock_folder
from neuralab._metrics_csv import TEXT_COLUMNS, csv_line, csv_text
from neuralab.exceptions import NeuralabError, TrainingDiverged
from neuralab.experiments.config import (
    MAX_CONFIG_BYTES,
    ConfigError,
    ExperimentConfig,
    default_name,
    fmt_value,
    is_classifier,
    load_config,
    read_toml,
)
from neuralab.experiments.prepare import Experiment, Prepared, class_errors, prepare_experiment
from neuralab.experiments.progress import Reporter
from neuralab.io import what_is
from neuralab.train.callbacks import Callback

FILES = ("config.toml", "metrics.csv", "summary.json", "model.npz", "preprocess.json",
         "log.txt")
CHECKPOINT = "checkpoints/last.npz"
RUN_PREFIX = "run/"  # a checkpoint's keys for the run's own bookkeeping (beside the estimator's)


# -- files --------------------------------------------------------------------------------------
def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file + fsync + os.replace)."""
    with atomic_file(path) as f:
        f.write(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, default=_json_default) + "\n")


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def new_run_dir(parent: str | os.PathLike, name: str, now: float | None = None, *,
                subdirs: tuple[str, ...] = ("checkpoints", "plots"),
                setting: str = "output.dir",
                first: Callable[[Path], None] | None = None) -> Path:
    """Create ``parent/<name>-<YYYYMMDD-HHMMSS>`` (``-2``, ``-3``, ... if taken) with
    ``subdirs`` inside (a study folder uses the same rule).

    ``first(folder)`` writes what the folder must hold from the moment it exists (a study's
    study.toml): it is filled under a hidden name and then renamed into place, so a process
    killed meanwhile leaves no half-made folder under the visible name.

    ``parent`` is taken as given: ``~`` is expanded, ``..`` and absolute paths are allowed
    (only a new folder is ever created in it). A parent that cannot be a folder (a file, a
    name too long, no permission) is a ValueError naming ``setting``.
    """
    parent = Path(parent).expanduser()
    try:
        parent.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
        staging = None
        if first is not None:
            staging = new_run_dir(parent, f".{name}", now, subdirs=subdirs, setting=setting)
            first(staging)
        base = f"{name}-{stamp}"
        for i in range(1, 1000):
            path = parent / (base if i == 1 else f"{base}-{i}")
            try:
                if staging is None:
                    path.mkdir()
                elif os.path.lexists(path):
                    continue
                else:
                    os.rename(staging, path)
            except OSError as exc:  # taken meanwhile by another process
                if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
                    continue
                raise
            if staging is None:
                for sub in subdirs:
                    (path / sub).mkdir()
            return path
    except (FileExistsError, NotADirectoryError):
        raise ValueError(f"{setting} {fmt_value(str(parent))} is a file, not a folder") from None
    except OSError as exc:
        if exc.errno not in (errno.ENAMETOOLONG, errno.EACCES, errno.EPERM, errno.EROFS,
                             errno.ELOOP):
            raise  # a full disk: the machine's fault, not the setting's
        raise ValueError(f"{setting} {fmt_value(str(parent))}: cannot create a folder there "
                         f"({exc.strerror})") from None
    raise ValueError(f"could not create a run folder for {name!r} in {parent}")


def versions() -> dict[str, str]:
    """Versions of Python, neuralab and the main libraries (for summary.json)."""
    import platform
    from importlib import metadata

    from neuralab import __version__

    out = {"neuralab": __version__, "numpy": np.__version__,
           "python": platform.python_version(), "platform": platform.platform()}
    # read from the installed packages' metadata: importing scikit-learn to ask its version
    # cost a quick run 2 s
    for mod, dist in (("sklearn", "scikit-learn"), ("matplotlib", "matplotlib")):
        try:
            out[mod] = metadata.version(dist)
        except metadata.PackageNotFoundError:  # pragma: no cover - optional
            pass
    return out


def config_header(cfg: ExperimentConfig) -> str:
    """The comment lines at the top of a run folder's config.toml."""
    return (f"# neuralab {versions()['neuralab']}: resolved config of run {cfg.output.name!r}"
            " (every default filled in)\n# rerun: neuralab train config.toml; continue: "
            "neuralab train --resume <this folder>\n\n")


MAX_SUMMARY_BYTES = 4 * 2**20


def read_summary(run_dir: str | os.PathLike) -> dict[str, Any]:
    """``run_dir``'s summary.json, or ``{}`` when it is missing, unreadable or not a JSON
    object. A link out of the folder is a ValueError."""
    data = read_confined(run_dir, "summary.json", MAX_SUMMARY_BYTES)
    try:
        summary = json.loads(data) if data is not None else {}
    except ValueError:  # a torn or foreign file: summary.json is rewritten as the run goes
        return {}
    return summary if isinstance(summary, dict) else {}


def load_checkpoint(run_dir: Path) -> dict[str, np.ndarray] | None:
    """The arrays of ``run_dir``'s last checkpoint, or None before the first one."""
    from neuralab.io import load_arrays

    path = confined(run_dir, CHECKPOINT)
    return load_arrays(path)[1] if path is not None else None


def resumed_epoch(state: dict[str, np.ndarray] | None) -> int:
    """The epoch a checkpoint ``state`` was saved after (0 for none)."""
    if state is None or "trainer/epoch" not in state:
        return 0
    return int(state["trainer/epoch"])


def split_state(state: dict[str, np.ndarray] | None
                ) -> tuple[dict[str, np.ndarray] | None, dict[str, np.ndarray]]:
    """(estimator checkpoint, run bookkeeping) from a saved run checkpoint (None: none)."""
    if state is None:
        return None, {}
    est = {k: v for k, v in state.items() if not k.startswith(RUN_PREFIX)}
    run = {k[len(RUN_PREFIX):]: v for k, v in state.items() if k.startswith(RUN_PREFIX)}
    return est, run


# -- metrics.csv --------------------------------------------------------------------------------
def metric_columns(sets: list[str], classifier: bool, part: bool = False) -> list[str]:
    """The columns of metrics.csv for a run evaluating ``sets`` (train, val, test)."""
    cols = ["classifier"] if part else []
    cols += ["step", "epoch", "lr", "batch_loss"]
    for s in sets:
        cols.append(f"{s}_loss")
        if classifier:
            cols.append(f"{s}_acc")
    return [*cols, "seconds"]


def _scalar(value: Any) -> float:
    v = np.asarray(value)
    return float(v) if v.ndim == 0 else float(v.mean())


def _row(values: dict[str, Any], seconds: float, part: str | None) -> dict[str, Any]:
    """One metrics row from one epoch of a History (``values``: key -> that epoch's value)."""
    row: dict[str, Any] = {k: _scalar(v) for k, v in values.items() if k != "evaluated"}
    row["epoch"], row["step"] = int(row["epoch"]), int(row["step"])
    row["seconds"] = seconds
    if part is not None:
        row["classifier"] = part
    return row


def history_rows(history: Any, seconds: list[float], part: str | None = None
                 ) -> list[dict[str, Any]]:
    """metrics.csv rows from a History: one per evaluated epoch, with the rows' seconds."""
    if len(history) == 0:
        return []
    cols = {k: history[k] for k in history.keys()}
    evaluated = np.flatnonzero(np.asarray(cols["evaluated"], dtype=bool))
    return [_row({k: v[i] for k, v in cols.items()},
                 seconds[n] if n < len(seconds) else math.nan, part)
            for n, i in enumerate(evaluated)]


class MetricsFile:
    """metrics.csv and the rows it holds, kept in memory: the one writer of the file.

    :meth:`reset` rewrites the file whole (atomically), :meth:`append` adds one row with one
    ``write``. :attr:`rows` (the file's cells, numbers unformatted) feed the plots and the
    summary, so nothing reads the file back.
    """

    def __init__(self, path: Path, columns: list[str]) -> None:
        self.path, self.columns = path, columns
        self.rows: list[dict[str, Any]] = []

    def _cells(self, row: dict[str, Any]) -> dict[str, Any]:
        # A missing number is NaN, as the file's empty cell reads back.
        return {c: row.get(c) if c in TEXT_COLUMNS or row.get(c) is not None else math.nan
                for c in self.columns}

    def reset(self, rows: list[dict[str, Any]]) -> None:
        self.rows = [self._cells(r) for r in rows]
        atomic_write_text(self.path, csv_text(self.columns, self.rows))

    def append(self, row: dict[str, Any]) -> None:
        self.rows.append(self._cells(row))
        append_line(self.path, csv_line(self.columns, self.rows[-1]))


# -- recording a training run -------------------------------------------------------------------
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


class Recorder(Callback):
    """Records one estimator's training into its run: metrics rows, progress, checkpoints.

    Checkpoints are taken in ``on_epoch_end`` (the loop calls it once the epoch is complete:
    schedule stepped, history appended) every ``train.checkpoint_every`` epochs, at the last
    epoch, and when Ctrl-C asked to stop. Each holds ``est.checkpoint()`` (weights,
    optimizer, schedule, generator states, history, stopping state) plus the run's
    bookkeeping under ``run/`` (the wall-clock seconds of each metrics row), so a resumed run
    rewrites metrics.csv exactly as the uninterrupted run would have it. ``part`` labels a
    one-vs-rest model's rows, ``prefix_rows`` are the earlier parts' rows and ``extra`` goes
    into every checkpoint.
    """

    changes_weights = False  # it only reads: full-batch runs may reuse the evaluation pass

    def __init__(self, run: Run, run_state: dict[str, np.ndarray], *, elapsed: float = 0.0,
                 part: str | None = None, prefix_rows: list[dict[str, Any]] | None = None,
                 extra: dict[str, np.ndarray] | None = None) -> None:
        self.run = run
        self.seconds: list[float] = np.asarray(run_state.get("seconds", []),
                                               dtype=float).tolist()
        self.elapsed = float(run_state.get("elapsed", elapsed))
        self.part, self.prefix_rows = part, list(prefix_rows or [])
        self.extra = dict(extra or {})
        self.saved_epoch = -1
        self.last_epoch = 0

    def rows(self, est: Any) -> list[dict[str, Any]]:
        """Every metrics row of the run so far (earlier parts, then this estimator's)."""
        return self.prefix_rows + history_rows(est.history_, self.seconds, self.part)

    def state(self, est: Any) -> dict[str, np.ndarray]:
        """The checkpoint arrays: the estimator's state plus the run's bookkeeping."""
        state = est.checkpoint()
        state[RUN_PREFIX + "seconds"] = np.asarray(self.seconds, dtype=np.float64)
        state[RUN_PREFIX + "elapsed"] = np.asarray(self.elapsed, dtype=np.float64)
        state.update(self.extra)
        return state

    def save_checkpoint(self, est: Any, epoch: int) -> None:
        from neuralab.io import save_arrays

        save_arrays(self.run.run_dir / CHECKPOINT, {"kind": "neuralab-run-checkpoint",
                                                    "epoch": int(epoch), "part": self.part},
                    self.state(est))
        self.run.metrics.reset(self.rows(est))
        self.saved_epoch = epoch

    def on_train_begin(self, est: Any) -> None:
        self.last_epoch = len(est.history_)

    def on_epoch_end(self, est: Any, epoch: int, logs: dict[str, Any]) -> None:
        train = self.run.cfg.train
        self.last_epoch = epoch
        self.elapsed += float(logs.get("seconds", 0.0))
        if logs.get("evaluated"):
            self.seconds.append(round(self.elapsed, 6))
            # the row from the history, as history_rows rebuilds it from a checkpoint
            history = est.history_
            self.run.metrics.append(_row({k: history.last(k) for k in history.keys()},
                                         self.seconds[-1], self.part))
        prefix = f"[{self.part}] " if self.part is not None else ""
        self.run.reporter.epoch(epoch, train.epochs, logs, prefix)
        stop = self.run.stop.requested
        if epoch % train.checkpoint_every == 0 or epoch == train.epochs or stop:
            self.save_checkpoint(est, epoch)
        if stop:
            raise KeyboardInterrupt

    def on_train_end(self, est: Any, logs: dict[str, Any]) -> None:
        if logs.get("interrupted"):
            return
        if self.last_epoch > self.saved_epoch and len(est.history_) > 0:
            self.save_checkpoint(est, self.last_epoch)


# -- the run ------------------------------------------------------------------------------------
class RunInterrupted(NeuralabError):
    """Training stopped on Ctrl-C after saving a checkpoint; ``run_dir`` resumes it."""

    def __init__(self, run_dir: Path, epoch: int | None) -> None:
        self.run_dir, self.epoch = run_dir, epoch
        super().__init__(f"interrupted; resume with: neuralab train --resume {run_dir}")


class RunFailed(NeuralabError):
    """Training failed (it diverged, or the disk filled up); the run folder keeps what was
    recorded and its summary.json says why. ``exit_code``: 2 when the input is to blame, 1
    for the machine (the CLI exits with it)."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def fault_text(exc: BaseException) -> str:
    """An error on one line: an OSError's file and reason (``chunks/a.npz: File too
    large``), anything else its message."""
    where = f"{exc.filename}: " if isinstance(exc, OSError) and exc.filename else ""
    return " ".join(f"{where}{getattr(exc, 'strerror', None) or exc}".split())


# errno values of a fault of the machine rather than of the input (exit code 1)
ENVIRONMENT_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.ENOMEM,
                      errno.EMFILE, errno.ENFILE)


@dataclass
class RunResult:
    run_dir: Path
    summary: dict[str, Any]
    estimator: Any
    data: Prepared | None


class Run:
    """One invocation of ``train``, fresh or resumed, on a run folder: it owns the folder's
    files, the progress display and the Ctrl-C flag, and trains the experiment's estimator."""

    def __init__(self, run_dir: Path, exp: Experiment, *, quiet: bool = False,
                 reporter: Reporter | None = None) -> None:
        self.run_dir, self.exp = run_dir, exp
        self.cfg, self.data = exp.config, exp.data
        self.t0 = time.time()
        self.reporter = reporter or Reporter.auto(quiet, self.log)
        if reporter is not None:
            reporter.log = self.log
        self.classifier = is_classifier(self.cfg)
        self.ovr = self.cfg.model.kind == "ovr"
        sets = [s for s in ("train", "val", "test") if s in self.data.sets]
        self.metrics = MetricsFile(run_dir / "metrics.csv",
                                   metric_columns(sets, self.classifier, part=self.ovr))
        self.stop = StopFlag()
        self.stop.on_request = lambda: self.reporter.message(
            "Ctrl-C: stopping after this epoch (checkpoint first); press Ctrl-C again to "
            "stop at once")

    def log(self, line: str) -> None:
        append_line(self.run_dir / "log.txt", f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}")

    def execute(self, state: dict[str, np.ndarray] | None) -> RunResult:
        """Train from ``state`` (a checkpoint, or None to start), recording everything;
        Ctrl-C, divergence and failures (a full disk, no memory) end with their status in
        summary.json: never a run left saying ``running``."""
        try:
            return self._execute(state)
        except (RunInterrupted, RunFailed):
            raise
        except Exception as exc:
            self.reporter.stop()
            text = fault_text(exc)
            self._record_failure(text or type(exc).__name__)
            if isinstance(exc, OSError) and exc.errno in ENVIRONMENT_ERRNOS:
                saved = resumed_epoch(_checkpoint_or_none(self.run_dir))
                where = f"its last checkpoint is after epoch {saved}" if saved else (
                    "no checkpoint yet")
                raise RunFailed(f"{text}; the run stopped ({where}); free some space, then: "
                                f"neuralab train --resume {self.run_dir}", exit_code=1) from None
            raise

    def _record_failure(self, text: str) -> None:
        """summary.json says ``failed`` and why, if the disk still takes a small file."""
        try:
            self.log(f"failed: {text}")
        except OSError:
            pass
        try:
            self.write_summary({"status": "failed", "error": text})
        except OSError:
            pass  # the lock shows the run is not live; --resume still works

    def _execute(self, state: dict[str, np.ndarray] | None) -> RunResult:
        run_dir = self.run_dir
        atomic_write_json(run_dir / "preprocess.json", self.data.preprocess)
        resumed_from = resumed_epoch(state)
        if state is None and (run_dir / "metrics.csv").exists():
            self.reporter.message("no checkpoint yet: starting over from epoch 0")
        elif state is not None:
            self.reporter.message(f"resuming {run_dir} after epoch {resumed_from}")
        else:
            self.reporter.message(f"run folder {run_dir}")
        self.write_summary({"status": "running"})
        try:
            with self.stop:
                est, elapsed = self._train_ovr(state) if self.ovr else self._train(state)
        except KeyboardInterrupt:
            self.reporter.stop()
            saved = resumed_epoch(load_checkpoint(run_dir))
            self.reporter.message(f"interrupted; last checkpoint after epoch {saved}")
            self.write_summary({"status": "interrupted", "checkpoint_epoch": saved})
            raise RunInterrupted(run_dir, saved) from None
        except TrainingDiverged as exc:
            self.reporter.stop()
            self.reporter.message(f"failed: {exc}")
            self.write_summary({"status": "diverged", "error": str(exc)})
            raise RunFailed(f"{exc} (run folder {run_dir} keeps the metrics so far)") from None
        self.reporter.stop()
        return RunResult(run_dir, self._finish(est, elapsed, resumed_from), est, self.data)

    # -- training -----------------------------------------------------------------------------
    def _new_estimator(self, callbacks: list[Any] | None = None) -> Any:
        """A fresh copy of the experiment's estimator (the binary base for one-vs-rest)."""
        from neuralab.models import clone

        template = self.exp.estimator.estimator if self.ovr else self.exp.estimator
        return clone(template).set_params(callbacks=callbacks)

    def _fit(self, est: Any, positive: Any = None, est_state: Any = None) -> Any:
        (X, y), validation, eval_sets = self.data.fit_sets(positive)
        return est.fit(X, y, validation=validation, eval_sets=eval_sets, resume=est_state)

    def _train(self, state: dict[str, np.ndarray] | None) -> tuple[Any, float]:
        """Train one estimator (resuming from ``state``); returns it and the training
        seconds."""
        from neuralab.train.history import History

        cfg = self.cfg
        est_state, run_state = split_state(state)
        recorder = Recorder(self, run_state)
        history = History.from_arrays(est_state) if est_state is not None else History()
        self.metrics.reset(history_rows(history, recorder.seconds))
        est = self._new_estimator([recorder])
        self.reporter.start(cfg.train.epochs, len(history), cfg.output.name or "train")
        if cfg.model.kind == "linear" and cfg.model.solver == "lstsq":
            # the closed form has no epochs: one metrics row (epoch 0) with each set's MSE
            t = time.perf_counter()
            self._fit(est)
            row: dict[str, Any] = {"epoch": 0, "step": 0,
                                   "seconds": round(time.perf_counter() - t, 6)}
            row.update({f"{name}_loss": _mse(est, X, y)
                        for name, (X, y) in self.data.sets.items()})
            self.metrics.reset([row])
            return est, time.perf_counter() - t
        self._fit(est, est_state=est_state)
        return est, recorder.elapsed

    def _train_ovr(self, state: dict[str, np.ndarray] | None) -> tuple[Any, float]:
        """One binary model per class, one after the other; each finished one is kept in
        checkpoints/part-K.npz, the one in progress in checkpoints/last.npz."""
        from neuralab.io import load_arrays, save_arrays
        from neuralab.models import clone
        from neuralab.train.history import History

        cfg = self.cfg
        classes = np.unique(self.data.sets["train"][1])
        labels = self.data.label_names(classes)
        current = int(state["run/part"]) if state is not None and "run/part" in state else -1
        rows: list[dict[str, Any]] = []  # the finished parts' metrics rows
        estimators, elapsed = [], 0.0
        written = False  # whether metrics.csv holds ``rows`` (a trained part wrote them)
        self.reporter.start(cfg.train.epochs * len(classes), 0, cfg.output.name or "train")
        for k, c in enumerate(classes):
            part_file = self.run_dir / "checkpoints" / f"part-{k}.npz"
            if part_file.is_file():  # finished before: rebuild it without training
                est_state, run_state = split_state(load_arrays(part_file)[1])
                est = self._fit(self._new_estimator(), c, est_state)
                seconds = np.asarray(run_state.get("seconds", []), dtype=float).tolist()
                rows = rows + history_rows(est.history_, seconds, labels[k])
                elapsed = float(run_state.get("elapsed", elapsed))
                estimators.append(est)
                written = False
                continue
            est_state, run_state = split_state(state if current == k else None)
            recorder = Recorder(self, run_state, elapsed=elapsed, part=labels[k],
                                prefix_rows=rows, extra={RUN_PREFIX + "part": np.asarray(k)})
            done = History.from_arrays(est_state) if est_state is not None else History()
            self.metrics.reset(rows + history_rows(done, recorder.seconds, labels[k]))
            est = self._fit(self._new_estimator([recorder]), c, est_state)
            save_arrays(part_file, {"kind": "neuralab-run-checkpoint", "part": labels[k]},
                        recorder.state(est))
            rows = recorder.rows(est)
            elapsed = recorder.elapsed
            estimators.append(est)
            written = True
        if not written:  # the last parts were rebuilt from their files: write their rows
            self.metrics.reset(rows)
        ovr = clone(self.exp.estimator)
        ovr.classes_, ovr.n_features_in_ = classes, estimators[0].n_features_in_
        ovr.estimators_ = estimators
        return ovr, elapsed

    # -- summary.json -------------------------------------------------------------------------
    def write_summary(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Write summary.json: the run's identity and versions, then ``fields``."""
        cfg = self.cfg
        summary = {"name": cfg.output.name, "run_dir": str(self.run_dir),
                   "data": cfg.data.name, "model": cfg.model.kind,
                   "epochs_requested": cfg.train.epochs,
                   "updated": time.strftime("%Y-%m-%dT%H:%M:%S"), "versions": versions(),
                   **fields}
        atomic_write_json(self.run_dir / "summary.json", summary)
        return summary

    def _finish(self, est: Any, elapsed: float, resumed_from: int) -> dict[str, Any]:
        """Save model.npz and the plots, write the finished summary.json; returns it."""
        from neuralab.experiments.plots import make_plots

        est.save(self.run_dir / "model.npz")
        rows = self.metrics.rows
        plots: list[str] = []
        if self.cfg.output.plots:
            with self.reporter.status("drawing plots…"):  # a few silent seconds otherwise
                plots = make_plots(est, self.data, self.cfg, self.run_dir / "plots", rows,
                                   self.log)
        final = _final_metrics(est, self.data, self.classifier)
        single = [r for r in rows if "classifier" not in r]
        if hasattr(est, "estimators_"):
            converged: Any = [getattr(e, "converged_epoch_", None) for e in est.estimators_]
            epochs: Any = [int(getattr(e, "n_epochs_", 0)) for e in est.estimators_]
        else:
            converged = getattr(est, "converged_epoch_", None)
            epochs = int(getattr(est, "n_epochs_", 0) or 0)
        classes = getattr(est, "classes_", None)
        summary = self.write_summary({
            "status": "finished",
            "epochs_trained": epochs,
            "converged_epoch": converged,
            "best_epoch": getattr(est, "best_epoch_", None),
            "final": final,
            "last_eval": {k: _metric(v) for k, v in (single[-1] if single else {}).items()},
            "best": _best(single),
            **(_per_class(est, self.data) if self.classifier else {}),
            "data_sizes": {k: len(v[1]) for k, v in self.data.sets.items()},
            "n_features": math.prod(self.data.sets["train"][0].shape[1:]),  # images: C·H·W
            "classes": None if classes is None else np.asarray(classes).tolist(),
            "train_seconds": round(elapsed, 4),
            "wall_seconds": round(time.time() - self.t0, 4),
            "resumed_from_epoch": resumed_from or None,
            "plots": plots,
            **_weight_norm(est),
            **_network(est),
        })
        shown = " ".join(f"{k}={v:.4f}" for k, v in final.items())
        self.reporter.message(f"finished: {shown}")
        return summary


def _mse(est: Any, X: np.ndarray, y: np.ndarray) -> float:
    """Mean squared error of ``est``'s predictions on ``(X, y)``."""
    pred = np.asarray(est.predict(X), float)
    return float(np.mean((pred - np.asarray(y, float)) ** 2))


def _metric(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def _final_metrics(est: Any, data: Prepared, classifier: bool) -> dict[str, Any]:
    """The final weights' metrics on every split."""
    out: dict[str, Any] = {}
    for name, (X, y) in data.sets.items():
        if classifier:
            out[f"{name}_acc"] = float(est.score(X, y))
        else:
            out[f"{name}_mse"] = _mse(est, X, y)
            out[f"{name}_r2"] = float(est.score(X, y))
    return out


def _best(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The best value of each metric over the evaluations, and its epoch."""
    best: dict[str, Any] = {}
    for key, better in (("val_acc", max), ("val_loss", min), ("test_acc", max),
                        ("train_acc", max), ("train_loss", min)):
        vals = [(r[key], int(r["epoch"])) for r in rows if _metric(r.get(key)) is not None]
        if vals:
            value, epoch = better(vals, key=lambda t: t[0])
            best[key] = {"value": float(value), "epoch": epoch}
    return best


def _per_class(est: Any, data: Prepared) -> dict[str, Any]:
    """Per-class error rates on the evaluation split (and one-vs-rest binary error rates)."""
    split = data.eval_split
    X, y = data.sets[split]
    labels = data.label_names(np.asarray(est.classes_))
    out: dict[str, Any] = {"split": split, "per_class_error": dict(zip(
        labels, [_metric(r) for r in class_errors(est, X, y)], strict=True))}
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


def _network(est: Any) -> dict[str, Any]:
    """A convolutional network's layers (``nn.summary``: output shape and parameter count of
    each), which the report shows; nothing for other models."""
    shape = getattr(est, "input_shape_", None)
    if shape is None:
        return {}
    from neuralab.nn import summary

    rows = summary(est.net_, tuple(shape), print_table=False)
    return {"network": [{"layer": r.layer, "output_shape": list(r.output_shape),
                         "parameters": int(r.n_params)} for r in rows]}


def _checkpoint_or_none(run_dir: Path) -> dict[str, np.ndarray] | None:
    """The last checkpoint, or None when there is none or it cannot be read (a failure is
    being reported: do not raise another)."""
    try:
        return load_checkpoint(run_dir)
    except (OSError, ValueError):
        return None


# -- entry points -------------------------------------------------------------------------------
def run_experiment(cfg: ExperimentConfig, *, quiet: bool = False, offline: bool = False,
                   reporter: Reporter | None = None) -> RunResult:
    """Train ``cfg`` into a new run folder under ``cfg.output.dir``; returns the result.

    Everything is checked (the config, the data, the memory the model needs) before the
    folder is created; a folder whose config.toml could not be written is removed again,
    so a failed start leaves nothing behind. The folder is locked while the run trains.
    """
    name = default_name(cfg)
    cfg = cfg.model_copy(update={"output": cfg.output.model_copy(update={"name": name})})
    check_text(cfg.to_dict())
    exp = prepare_experiment(cfg, offline=offline)
    run_dir = new_run_dir(cfg.output.dir, name)
    with lock_folder(run_dir):
        try:
            atomic_write_text(run_dir / "config.toml", config_header(cfg) + cfg.to_toml())
        except BaseException:
            shutil.rmtree(run_dir, ignore_errors=True)  # nothing in it to resume
            raise
        return Run(run_dir, exp, quiet=quiet, reporter=reporter).execute(state=None)


def check_text(value: Any, key: str = "") -> None:
    """Refuse a setting that cannot be written as UTF-8 text (config.toml records every
    setting): a path holding bytes that are not UTF-8, which Python keeps as lone surrogates
    (``--out $'\\xff'``). Checked before any folder exists; the ConfigError names the key."""
    if isinstance(value, dict):
        for k, v in value.items():
            check_text(k, key)
            check_text(v, f"{key}.{k}" if key else str(k))
    elif isinstance(value, (list, tuple)):
        for v in value:
            check_text(v, key)
    elif isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ConfigError(f"{key or 'a key'}={value!r} is not allowed: it holds bytes that "
                              "are not UTF-8 text, which config.toml cannot record; rename it "
                              "with UTF-8 characters") from None


def check_extension(cfg: ExperimentConfig, epochs: int) -> None:
    """Refuse ``--resume --epochs`` where training longer would change the schedule of the
    epochs already trained: a cosine schedule whose ``T_max`` defaulted to train.epochs."""
    optim = cfg.optim
    if optim.schedule == "cosine" and "T_max" not in optim.schedule_params:
        raise ConfigError(
            f"--epochs {epochs}: this run's cosine schedule anneals over its "
            f"train.epochs={cfg.train.epochs} (optim.schedule_params.T_max is not set); "
            f"going on to {epochs} would stretch it mid-run, which is neither this run "
            f"continued nor a fresh {epochs}-epoch run; start a new run with --epochs {epochs}")


def load_run_config(path: str | Path) -> ExperimentConfig:
    """The config.toml of a run folder, as :func:`load_config` reads it, and as older
    versions wrote it: a CNN's ``[model]`` with both a ``layers`` list and the default
    ``architecture`` name beside it. The layers are what that run built and trained
    (a layer list replaces the name), so the name is set aside; a config file given to
    ``neuralab train`` with both is still refused."""
    model = read_toml(path).get("model")
    if isinstance(model, dict) and model.get("kind") == "cnn" and model.get(
            "layers") is not None and model.get("architecture") is not None:
        return load_config(path, overrides={"model.architecture": None})
    return load_config(path)


def check_run_folder(run_dir: Path) -> None:
    """A ConfigError unless ``run_dir`` is a folder: missing, a file, a FIFO, a device are
    said as what they are."""
    if not run_dir.is_dir():
        what = what_is(run_dir)
        raise ConfigError(f"{run_dir} {what}, not a run folder" if what.startswith("is a ")
                          else f"run folder {run_dir} {what}")


def resume_run(run_dir: str | Path, *, quiet: bool = False, epochs: int | None = None,
               offline: bool = False, reporter: Reporter | None = None) -> RunResult:
    """Continue the run in ``run_dir`` from its last checkpoint (or from the start when it
    was stopped before the first one). ``epochs`` extends a run to more epochs."""
    run_dir = Path(run_dir).expanduser()
    check_run_folder(run_dir)
    if not os.path.lexists(run_dir / "config.toml"):
        raise ConfigError(f"{run_dir} is not a run folder (it has no config.toml)")
    # one process at a time; links out of the folder refused; stale temporary files removed
    with lock_folder(run_dir):
        config = confined(run_dir, "config.toml", MAX_CONFIG_BYTES)
        if config is None:  # removed since it was looked at
            raise ConfigError(f"{run_dir} is not a run folder (it has no config.toml)")
        cfg = load_run_config(config)
        if epochs is not None and epochs != cfg.train.epochs:
            check_extension(cfg, epochs)
            cfg = cfg.model_copy(update={"train": cfg.train.model_copy(
                update={"epochs": epochs})})
            atomic_write_text(run_dir / "config.toml", config_header(cfg) + cfg.to_toml())
        summary = read_summary(run_dir)
        if summary.get("status") == "finished" and confined(run_dir, "model.npz") and (
                epochs is None or summary.get("epochs_requested") == cfg.train.epochs):
            if not quiet:
                print(f"{run_dir} already finished; nothing to resume")
            return RunResult(run_dir, summary, None, None)
        exp = prepare_experiment(cfg, offline=offline)
        state = load_checkpoint(run_dir)
        return Run(run_dir, exp, quiet=quiet, reporter=reporter).execute(state)


__all__ = ["CHECKPOINT", "FILES", "MetricsFile", "Recorder", "Run", "RunFailed",
           "RunInterrupted", "RunResult", "StopFlag", "append_line", "atomic_write_bytes",
           "atomic_write_json", "atomic_write_text", "config_header", "fault_text", "history_rows",
           "load_checkpoint", "load_run_config", "metric_columns", "new_run_dir", "read_summary",
           "resume_run", "resumed_epoch", "run_experiment", "split_state", "versions"]
