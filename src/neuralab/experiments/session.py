"""One invocation of ``train`` (fresh or resumed): its run folder, log, reporter, metric
columns and Ctrl-C flag, plus reading the folder's last checkpoint."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from neuralab.experiments.build import is_classifier
from neuralab.experiments.prepare import Prepared
from neuralab.experiments.progress import Reporter
from neuralab.experiments.recorder import StopFlag
from neuralab.experiments.runfolder import CHECKPOINT, append_line, metric_columns
from neuralab.experiments.schema import ExperimentConfig


class Session:
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

    def labels(self, classes: np.ndarray) -> list[str]:
        """Display names of ``classes`` (the dataset's class names where it has them)."""
        names = dict(zip(self.data.classes or (), self.data.class_names or (), strict=False))
        return [str(names.get(int(c), c)) if np.issubdtype(np.asarray(c).dtype, np.integer)
                else str(c) for c in classes]


def load_checkpoint(run_dir: Path) -> dict[str, np.ndarray] | None:
    """The arrays of ``run_dir``'s last checkpoint, or None before the first one."""
    from neuralab.io import load_arrays

    path = run_dir / CHECKPOINT
    return load_arrays(path)[1] if path.is_file() else None


def resumed_epoch(state: dict[str, np.ndarray] | None) -> int:
    """The epoch a checkpoint ``state`` was saved after (0 for none)."""
    if state is None or "trainer/epoch" not in state:
        return 0
    return int(state["trainer/epoch"])


__all__ = ["Session", "load_checkpoint", "resumed_epoch"]
