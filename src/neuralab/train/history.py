"""Per-epoch training curves: ``history.train_loss``, ``history.val_acc``, ... as arrays.

One row per completed epoch. Metrics that are only computed every ``eval_every`` epochs hold
NaN on the other epochs (``history.evaluated`` marks the real ones). For an ensemble of E
models each metric row is an ``(E,)`` array, so ``history.train_loss`` is ``(epochs, E)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# Keys kept in the history; logs may hold more (``seconds`` is not kept: it would make two
# identical runs differ).
SKIP = frozenset({"seconds", "interrupted"})


class History:
    """Append-only table of per-epoch logs, read as arrays by attribute or key."""

    def __init__(self) -> None:
        self._data: dict[str, list[Any]] = {}

    def append(self, logs: dict[str, Any]) -> None:
        n = len(self)
        for key, value in logs.items():
            if key in SKIP:
                continue
            column = self._data.setdefault(key, [np.nan] * n)
            column.append(np.array(value, copy=True) if np.ndim(value) else value)
        for column in self._data.values():  # keys absent this epoch
            if len(column) == n:
                column.append(np.nan)

    def __len__(self) -> int:
        return len(self._data.get("epoch", ()))

    def keys(self) -> list[str]:
        return list(self._data)

    def __contains__(self, key: str) -> bool:
        return key in self._data

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self._data:
            raise KeyError(f"history has no {key!r}; it has {', '.join(self._data) or 'nothing'}")
        column = self._data[key]
        # an ensemble's rows are (E,) arrays, E = 1 included: its scalar NaNs (epochs that
        # were not evaluated) are padded to that shape
        shape = next((np.shape(v) for v in column if np.ndim(v)), None)
        if shape is not None:
            column = [np.full(shape, v) if np.ndim(v) == 0 else v for v in column]
        return np.asarray(column)

    def __getattr__(self, key: str) -> np.ndarray:
        if key.startswith("_"):
            raise AttributeError(key)
        try:
            return self[key]
        except KeyError as exc:
            raise AttributeError(str(exc)) from None

    def last(self, key: str, default: Any = None) -> Any:
        column = self._data.get(key)
        return column[-1] if column else default

    def to_dict(self) -> dict[str, list[Any]]:
        """Plain lists (ensemble rows as lists), ready for JSON."""
        return {k: self[k].tolist() for k in self._data}

    # -- checkpoints ----------------------------------------------------------------------
    def to_arrays(self, prefix: str = "history/") -> dict[str, np.ndarray]:
        return {prefix + k: self[k] for k in self._data}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], prefix: str = "history/") -> History:
        h = cls()
        for key, value in arrays.items():
            if key.startswith(prefix):
                value = np.asarray(value)
                h._data[key[len(prefix):]] = [
                    row.copy() if row.ndim else row.item() for row in value
                ]
        return h

    def member(self, i: int) -> History:
        """The curves of ensemble member ``i``."""
        h = History()
        for key in self._data:
            col = self[key]
            h._data[key] = [row.item() if np.ndim(row) == 0 else row[i].item() for row in col]
        return h

    def __repr__(self) -> str:
        return f"History({len(self)} epochs: {', '.join(self._data)})"
