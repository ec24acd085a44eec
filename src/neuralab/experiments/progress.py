"""Showing a run's progress: a rich bar on a terminal, plain lines otherwise, or nothing.

Every reporter also writes the plain lines to ``log.txt`` (through ``log``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

METRIC_KEYS = ("train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc")


def metrics_text(logs: dict[str, Any]) -> str:
    parts = []
    for key in METRIC_KEYS:
        value = logs.get(key)
        if value is not None:
            try:
                parts.append(f"{key}={float(value):.4f}")
            except (TypeError, ValueError):
                continue
    return " ".join(parts)


class Reporter:
    """Plain lines on stderr (``mode="plain"``), a rich bar (``"bar"``) or nothing
    (``"quiet"``); ``log`` receives every line in all modes."""

    def __init__(self, mode: str, log: Callable[[str], None]) -> None:
        self.mode, self.log = mode, log
        self._bar: Any = None
        self._task: Any = None
        self._next = 0  # plain mode prints about 25 evaluation lines per run

    @staticmethod
    def auto(quiet: bool, log: Callable[[str], None]) -> Reporter:
        if quiet:
            return Reporter("quiet", log)
        return Reporter("bar" if sys.stderr.isatty() else "plain", log)

    def message(self, text: str) -> None:
        """An event line (start, resume, end): log it; show it unless quiet."""
        self.log(text)
        if self.mode == "plain":
            print(text, file=sys.stderr, flush=True)
        elif self.mode == "bar":
            self._console().print(text, highlight=False, markup=False)

    def _console(self) -> Any:
        from rich.console import Console

        if self._bar is not None:
            return self._bar.console
        return Console(stderr=True)

    def start(self, total: int, done: int, label: str) -> None:
        if self.mode != "bar":
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                             MofNCompleteColumn(), TextColumn("{task.fields[metrics]}"),
                             TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                             transient=False, console=self._console())
        self._bar.start()
        self._task = self._bar.add_task(label, total=total, completed=done, metrics="")

    def epoch(self, epoch: int, total: int, logs: dict[str, Any], prefix: str = "") -> None:
        evaluated = bool(logs.get("evaluated"))
        if evaluated:
            line = f"{prefix}epoch {epoch}/{total} {metrics_text(logs)}".strip()
            self.log(line)
            if self.mode == "plain" and (epoch >= self._next or epoch == total):
                print(line, file=sys.stderr, flush=True)
                self._next = epoch + max(1, total // 25)
        if self._bar is not None:
            fields = {"metrics": metrics_text(logs)} if evaluated else {}
            self._bar.update(self._task, advance=1, **fields)

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


__all__ = ["Reporter", "metrics_text"]
