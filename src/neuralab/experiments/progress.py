"""Showing a run's progress: a rich bar on a terminal, plain lines otherwise, or nothing.

Every reporter also writes the plain lines to ``log.txt`` (through ``log``).

The bar is one line of rich Progress columns that always fits the terminal: it shows
``name ━━━━━ epoch 12/100 loss 0.4131 acc 0.8267 test_acc 0.7850 0:00:03 ETA 0:00:21``
when there is room, and on a narrower terminal shrinks the bar, then drops the elapsed time,
the run's name, the held-out metric, the bar and the word "epoch", in that order;
epoch/total, loss, accuracy and ETA stay (down to 45 columns). It is measured again at every
refresh, so resizing the window works too.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Any

METRIC_KEYS = ("train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc")
BAR_WIDTH = (10, 40)  # the bar's narrowest and widest (characters)
NAME_WIDTH = 24  # a longer run name is cut with "…"


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


def _number(logs: dict[str, Any], key: str) -> float | None:
    try:
        return float(logs[key])
    except (KeyError, TypeError, ValueError):
        return None


def bar_fields(logs: dict[str, Any]) -> dict[str, str]:
    """The bar's metric fields from an evaluation's logs: the training loss and accuracy,
    and one held-out metric (validation if there is one, else test; accuracy for a
    classifier, loss otherwise)."""
    loss, acc = _number(logs, "train_loss"), _number(logs, "train_acc")
    fields = {"loss": "" if loss is None else f"loss {loss:.4g}",
              "acc": "" if acc is None else f"acc {acc:.4f}", "held": ""}
    for key in ("val_acc", "test_acc", "val_loss", "test_loss"):
        value = _number(logs, key)
        if value is not None:
            fields["held"] = f"{key} {value:.4f}" if key.endswith("acc") else f"{key} {value:.4g}"
            break
    return fields


def fitting_progress(console: Any) -> Any:
    """A rich Progress whose line fits ``console``'s width (see the module docstring)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.table import Column, Table

    def text(template: str, max_width: int | None = None) -> Any:
        column = Column(no_wrap=True, max_width=max_width, overflow="ellipsis")
        return TextColumn(template, table_column=column)

    bar = BarColumn(bar_width=BAR_WIDTH[0])
    # (columns shown together, drop rank: lower goes first; None stays), in display order
    fields: list[tuple[tuple[Any, ...], int | None]] = [
        ((text("[bold]{task.description}", NAME_WIDTH),), 2),
        ((bar,), 4),
        ((text("epoch"),), 5),  # below ~50 columns "12/100" alone
        ((MofNCompleteColumn(),), None),
        ((text("{task.fields[loss]}"),), None),
        ((text("{task.fields[acc]}"),), None),
        ((text("{task.fields[held]}"),), 3),
        ((TimeElapsedColumn(),), 1),
        ((text("ETA"), TimeRemainingColumn()), None),
    ]

    class FittingProgress(Progress):
        def make_tasks_table(self, tasks: Any) -> Any:
            tasks = [t for t in tasks if t.visible]
            cells = [{id(c): c(t) for cols, _ in fields for c in cols if c is not bar}
                     for t in tasks]

            def width(cols: tuple[Any, ...]) -> int:
                if cols == (bar,):
                    return BAR_WIDTH[0]
                widths = [sum(_cells(r[id(c)], c) for c in cols) for r in cells] or [0]
                return max(widths) + len(cols) - 1 if max(widths) else 0

            shown = [(cols, rank, width(cols)) for cols, rank in fields]
            shown = [f for f in shown if f[2] > 0]  # an empty field takes no room

            def total() -> int:
                return sum(w for _, _, w in shown) + len(shown) - 1

            room = console.width
            while total() > room and any(rank is not None for _, rank, _ in shown):
                drop = min((f for f in shown if f[1] is not None), key=lambda f: f[1])
                shown.remove(drop)
            bar.bar_width = min(BAR_WIDTH[1], BAR_WIDTH[0] + max(0, room - total()))
            columns = [c for cols, _, _ in shown for c in cols]
            table = Table.grid(*(c.get_table_column().copy() for c in columns),
                               padding=(0, 1), expand=False)
            for task, row in zip(tasks, cells, strict=True):
                table.add_row(*(bar(task) if c is bar else row[id(c)] for c in columns))
            return table

    return FittingProgress(*(c for cols, _ in fields for c in cols), console=console,
                           transient=False)


def _cells(renderable: Any, column: Any) -> int:
    """The columns ``renderable`` takes in ``column`` (a long run name is cut with "…")."""
    width = getattr(renderable, "cell_len", 1)
    limit = column.get_table_column().max_width
    return width if limit is None else min(width, limit)


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
            # soft_wrap: a long path wraps in the terminal, not with a newline of rich's,
            # so it can be copied whole
            self._console().print(text, highlight=False, markup=False, soft_wrap=True)

    @contextlib.contextmanager
    def status(self, text: str) -> Iterator[None]:
        """Say what the run is doing during a silent step (``drawing plots…``): a spinner on
        a terminal, a plain line otherwise; logged in every mode."""
        self.log(text)
        if self.mode == "bar":
            with self._console().status(text):
                yield
            return
        if self.mode == "plain":
            print(text, file=sys.stderr, flush=True)
        yield

    def _console(self) -> Any:
        from rich.console import Console

        if self._bar is not None:
            return self._bar.console
        return Console(stderr=True)

    def start(self, total: int, done: int, label: str) -> None:
        if self.mode != "bar":
            return
        self._bar = fitting_progress(self._console())
        self._bar.start()
        self._task = self._bar.add_task(label, total=total, completed=done,
                                        **bar_fields({}))

    def epoch(self, epoch: int, total: int, logs: dict[str, Any], prefix: str = "") -> None:
        evaluated = bool(logs.get("evaluated"))
        if evaluated:
            line = f"{prefix}epoch {epoch}/{total} {metrics_text(logs)}".strip()
            self.log(line)
            if self.mode == "plain" and (epoch >= self._next or epoch == total):
                print(line, file=sys.stderr, flush=True)
                self._next = epoch + max(1, total // 25)
        if self._bar is not None:
            fields = bar_fields(logs) if evaluated else {}
            self._bar.update(self._task, advance=1, **fields)

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


__all__ = ["BAR_WIDTH", "Reporter", "bar_fields", "fitting_progress", "metrics_text"]
