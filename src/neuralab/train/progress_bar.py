"""``fit(verbose=1)`` in Jupyter: one progress bar updated in place instead of a printed line
per epoch.

The bar is an HTML ``<progress>`` element shown with an IPython display handle and
replaced on each update. rich's Jupyter progress needs ipywidgets (without it rich warns and
shows nothing) and widget output is lost when a notebook is saved or run by nbclient; a
display handle needs only IPython, which every kernel has, and its last state stays in the
saved notebook. Outside Jupyter nothing here is used: the loop prints its lines.
"""

from __future__ import annotations

import html
import time
from typing import Any

import numpy as np

from neuralab._jupyter import in_notebook
from neuralab.train.callbacks import Callback

MIN_INTERVAL = 0.2  # seconds between redraws: a fast epoch loop must not flood the browser


def _metric(value: Any) -> str:
    v = np.asarray(value, dtype=float)
    return f"{float(v):.4f}" if v.ndim == 0 else f"{np.nanmean(v):.4f} (mean)"


def _duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, s = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {s:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def bar_bundle(value: int, total: int, text: str, detail: str = "") -> tuple[str, str]:
    """A notebook progress line as (HTML, plain text): a ``<progress>`` bar at
    ``value``/``total``, ``text`` beside it and ``detail`` below."""
    e = html.escape
    page = (f'<div style="font-family:monospace;font-size:12px">'
            f'<progress value="{value}" max="{max(total, 1)}" '
            f'style="width:220px;vertical-align:middle"></progress> {e(text)}'
            + (f"<br>{e(detail)}" if detail else "") + "</div>")
    return page, text + (f"\n{detail}" if detail else "")


class NotebookProgress(Callback):
    """A progress bar for a notebook cell: epoch/total, elapsed, ETA and the last evaluated
    metrics; its last state says finished, stopped early or interrupted."""

    changes_weights = False

    def __init__(self, epochs: int, min_interval: float = MIN_INTERVAL) -> None:
        self.epochs = int(epochs)
        self.min_interval = float(min_interval)
        self.handle: Any = None
        self.metrics: dict[str, Any] = {}
        self.start_epoch = 0
        self.epoch = 0
        self.t0 = 0.0
        self.last_draw = 0.0

    def text(self, state: str = "") -> tuple[str, str]:
        """The bar now as (HTML, plain text); ``state``: "" while training, else the
        closing words."""
        elapsed = time.perf_counter() - self.t0
        done = self.epoch - self.start_epoch
        left = self.epochs - self.epoch
        text = f"epoch {self.epoch}/{self.epochs} · {_duration(elapsed)}"
        if not state and done > 0 and left > 0:
            text += f" · ETA {_duration(elapsed / done * left)}"
        if state:
            text += f" · {state}"
        metrics = "  ".join(f"{k} {_metric(v)}" for k, v in self.metrics.items())
        return bar_bundle(self.epoch, self.epochs, text, metrics)

    def _bundle(self, state: str = "") -> dict[str, str]:
        page, plain = self.text(state)
        return {"text/html": page, "text/plain": plain}  # plain: for text-only front ends

    def _show(self, state: str = "") -> None:
        self.last_draw = time.perf_counter()
        self.handle.update(self._bundle(state), raw=True)

    def on_train_begin(self, est: Any) -> None:
        from IPython.display import display

        self.t0 = self.last_draw = time.perf_counter()
        self.start_epoch = self.epoch = int(getattr(est, "n_epochs_", 0) or 0)
        self.handle = display(self._bundle(), raw=True, display_id=True)

    def _record(self, epoch: int, logs: dict[str, Any]) -> None:
        self.epoch = epoch
        if logs.get("evaluated"):
            self.metrics = {k: v for k, v in logs.items()
                            if k.endswith(("_loss", "_acc")) and k != "batch_loss"}

    def on_epoch_end(self, est: Any, epoch: int, logs: dict[str, Any]) -> None:
        self._record(epoch, logs)
        if time.perf_counter() - self.last_draw >= self.min_interval:
            self._show()

    def on_train_end(self, est: Any, logs: dict[str, Any]) -> None:
        if self.handle is None:
            return
        if "epoch" in logs:
            # the last completed epoch: a callback before the bar that raised (a Ctrl-C in
            # its on_epoch_end) kept the bar from seeing it, yet it is in history_
            self._record(int(logs["epoch"]), logs)
        if logs.get("interrupted"):
            state = "interrupted"
        elif logs.get("diverged"):
            state = f"diverged after epoch {self.epoch}"
        elif self.epoch < self.epochs:
            state = f"stopped at epoch {self.epoch}"
        else:
            state = "done"
        self._show(state)


def notebook_progress(verbose: int, epochs: int) -> NotebookProgress | None:
    """The bar for ``fit(verbose>=1)`` inside Jupyter, else None (the loop prints lines)."""
    return NotebookProgress(epochs) if verbose and in_notebook() else None


__all__ = ["NotebookProgress", "bar_bundle", "notebook_progress"]
