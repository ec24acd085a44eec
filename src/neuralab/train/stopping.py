"""Built-in stopping rules: early stopping and target accuracy, ensemble-aware.

Both work on per-member arrays ``(E,)`` (a single model is ``E = 1``). A member that stops is
*frozen* by the trainer (its learning rate is masked to 0 and its weights are restored
after every epoch), so member ``i`` of an ensemble ends exactly where the single model
with member ``i``'s seed stops. Training ends once every member has stopped.
Their state is plain arrays (``state_dict``) so checkpoints can resume them exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neuralab._checks import check_choice, check_positive
from neuralab.train.callbacks import Callback

MONITORS = ("val_loss", "val_acc", "train_loss", "train_acc")


class TargetAccuracy(Callback):
    """Record the first evaluated epoch whose training accuracy reaches ``target``.

    With ``stop=True`` the member stops there (seed 000's "epochs to reach 100 %");
    ``converged_epoch`` holds that epoch per member, −1 while not reached.
    """

    changes_weights = False

    def __init__(self, target: float = 1.0, *, stop: bool = True, n_members: int = 1) -> None:
        self.target, self.stop = float(target), stop
        self.converged_epoch = np.full(n_members, -1, dtype=np.int64)

    def on_epoch_end(self, est: Any, epoch: int, logs: dict[str, Any]) -> None:
        if not logs.get("evaluated") or "train_acc" not in logs:
            return
        trainer = est._trainer
        acc = np.atleast_1d(logs["train_acc"])
        new = (acc >= self.target) & (self.converged_epoch < 0) & trainer.active
        self.converged_epoch[new] = epoch
        if self.stop and new.any():
            trainer.freeze(new)

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"converged_epoch": self.converged_epoch.copy()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self.converged_epoch = np.array(state["converged_epoch"], dtype=np.int64)


class EarlyStopping(Callback):
    """Stop a member when ``monitor`` has not improved by ``min_delta`` for ``patience``
    evaluations; with ``restore_best_weights`` its best weights are put back (when it
    stops, or at the end of training)."""

    def __init__(self, monitor: str = "val_loss", patience: int = 10, min_delta: float = 0.0,
                 restore_best_weights: bool = True, n_members: int = 1) -> None:
        self.monitor = check_choice("monitor", monitor, MONITORS)
        self.patience = check_positive("patience", patience, integer=True)
        self.min_delta = check_positive("min_delta", min_delta, strict=False)
        self.restore_best_weights = bool(restore_best_weights)
        self.sign = 1.0 if monitor.endswith("loss") else -1.0  # minimise sign * value
        self.best = np.full(n_members, np.inf)
        self.best_epoch = np.zeros(n_members, dtype=np.int64)
        self.wait = np.zeros(n_members, dtype=np.int64)
        self.stopped_epoch = np.zeros(n_members, dtype=np.int64)
        self.best_state: dict[str, np.ndarray] | None = None

    def on_epoch_end(self, est: Any, epoch: int, logs: dict[str, Any]) -> None:
        if not logs.get("evaluated"):
            return
        trainer = est._trainer
        value = self.sign * np.atleast_1d(np.asarray(logs[self.monitor], dtype=np.float64))
        active = trainer.active
        better = (value < self.best - self.min_delta) & active
        self.best[better] = value[better]
        self.best_epoch[better] = epoch
        self.wait[better] = 0
        self.wait[active & ~better] += 1
        if self.restore_best_weights and better.any():
            self.best_state = trainer.snapshot(better, self.best_state)
        stop = active & (self.wait >= self.patience)
        if stop.any():
            self.stopped_epoch[stop] = epoch
            trainer.freeze(stop, self.best_state if self.restore_best_weights else None)

    def on_train_end(self, est: Any, logs: dict[str, Any]) -> None:
        trainer = est._trainer
        if logs.get("interrupted"):  # leave the last completed epoch as it was
            return
        if self.restore_best_weights and self.best_state is not None and trainer.active.any():
            trainer.restore(trainer.active, self.best_state)

    def state_dict(self) -> dict[str, np.ndarray]:
        out = {"best": self.best.copy(), "best_epoch": self.best_epoch.copy(),
               "wait": self.wait.copy(), "stopped_epoch": self.stopped_epoch.copy()}
        for k, v in (self.best_state or {}).items():
            out[f"best_state/{k}"] = v.copy()
        return out

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self.best = np.array(state["best"], dtype=np.float64)
        self.best_epoch = np.array(state["best_epoch"], dtype=np.int64)
        self.wait = np.array(state["wait"], dtype=np.int64)
        self.stopped_epoch = np.array(state["stopped_epoch"], dtype=np.int64)
        best = {k[len("best_state/"):]: np.array(v) for k, v in state.items()
                if k.startswith("best_state/")}
        self.best_state = best or None
