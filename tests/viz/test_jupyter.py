"""Jupyter pieces without a kernel: the estimators' HTML repr, the notebook progress bar's
content, and the figure formatter (tests/test_notebooks.py runs them in a real kernel)."""

from __future__ import annotations

import html
import re

import numpy as np
import pytest

from neuralab._jupyter import in_notebook, show_figures_inline
from neuralab.data import moons
from neuralab.models import LogisticRegression, MLPClassifier, OneVsRest
from neuralab.train.progress_bar import NotebookProgress, notebook_progress


def _text(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def test_html_repr_shows_state_and_changed_parameters_first():
    est = MLPClassifier(hidden=(7,), lr=0.3, epochs=4, random_state=0)
    page = est._repr_html_()
    assert "<script" not in page  # plain HTML: shown in untrusted notebooks too
    text = _text(page)
    assert "MLPClassifier" in text and "not fitted" in text
    assert "4 changed of" in text  # hidden, lr, epochs, random_state
    rows = re.findall(r"<tr><td[^>]*>(\w+)</td>", page)
    assert set(rows[:4]) == {"epochs", "hidden", "lr", "random_state"}  # changed ones first
    ds = moons(n=120, noise=0.2, seed=0)
    est.fit(ds.X, ds.y, validation=(ds.X, ds.y))
    text = _text(est._repr_html_())
    assert "fitted · 2 → 7 → 2 · 4 epochs" in text
    assert f"val_acc {est.history_.val_acc[-1]:.4f}" in text


def test_html_repr_of_ensembles_and_one_vs_rest():
    ds = moons(n=80, noise=0.2, seed=0)
    ens = MLPClassifier(hidden=(5,), epochs=2, n_models=3, random_state=0).fit(ds.X, ds.y)
    text = _text(ens._repr_html_())
    assert "3 models" in text
    # the ensemble's metrics are means, said once (not "(mean of 3)" after each of them)
    assert text.count("mean of 3") == 1
    assert f"mean of 3 models: train_loss {ens.history_.train_loss[-1].mean():.4f}" in text
    ovr = OneVsRest(LogisticRegression(epochs=2, lr=0.5)).fit(ds.X, ds.y)
    text = _text(ovr._repr_html_())
    assert text.index("OneVsRest") < text.index("LogisticRegression")  # the base nested in it
    assert "2 binary classifiers" in text
    odd = MLPClassifier(hidden=(3,), dtype="<b>")  # a user string is escaped
    assert "<b>" not in odd._repr_html_().replace("<b>MLPClassifier</b>", "")


def test_progress_bar_content_and_closing_state():
    bar = NotebookProgress(epochs=200)
    bar.t0 = bar.last_draw = 0.0
    bar.epoch, bar.start_epoch = 50, 0
    bar.metrics = {"train_loss": 0.25, "val_acc": np.array([0.9, 0.8])}
    page, plain = bar.text()
    assert '<progress value="50" max="200"' in page
    assert plain.startswith("epoch 50/200") and "ETA" in plain
    assert "train_loss 0.2500" in plain and "val_acc 0.8500 (mean)" in plain
    page, plain = bar.text("done")
    assert "ETA" not in plain and "done" in plain


def test_outside_jupyter_nothing_changes():
    assert not in_notebook()
    assert notebook_progress(1, 10) is None  # the loop prints its lines as before
    show_figures_inline()  # no shell: a no-op


def test_figures_get_an_image_formatter_in_a_kernel(monkeypatch):
    IPython = pytest.importorskip("IPython")
    from IPython.core.interactiveshell import InteractiveShell
    from matplotlib.figure import Figure

    import neuralab._jupyter as jup

    shell = InteractiveShell.instance()
    monkeypatch.setattr(shell, "kernel", object(), raising=False)  # as a kernel's shell has
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    monkeypatch.setattr(jup, "_registered", False)
    png = shell.display_formatter.formatters["image/png"]
    png.pop(Figure, None)
    try:
        assert jup.in_notebook()
        jup.show_figures_inline()
        fig = Figure()
        fig.subplots().plot([0, 1])
        assert png(fig)  # a base64 PNG, not "<Figure size ...>"
        assert notebook_progress(1, 10) is not None
    finally:
        png.pop(Figure, None)
        InteractiveShell.clear_instance()


class _Handle:
    """A display handle that keeps what the bar showed last."""

    def __init__(self) -> None:
        self.shown: dict[str, str] = {}

    def update(self, bundle: dict[str, str], raw: bool = False) -> None:
        self.shown = bundle


def _fake_bars(monkeypatch) -> list:
    """The bars a fit opens, as if in a notebook (each draws into a fake display handle)."""
    import neuralab.train.loop as loop

    bars = []

    def fake_bar(verbose, epochs):
        bar = NotebookProgress(epochs, min_interval=0.0)
        bar.on_train_begin = lambda est: setattr(bar, "handle", _Handle())
        bars.append(bar)
        return bar

    monkeypatch.setattr(loop, "notebook_progress", fake_bar)
    return bars


def test_interrupted_bar_shows_the_epochs_history_has(monkeypatch):
    """Ctrl-C raised from a user's callback in epoch 30: the epoch is complete (history_ has
    30 rows), so the bar's last state says 30, not the 29 it saw before the user's callback
    ran ahead of it."""
    from neuralab.train.callbacks import Callback

    bars = _fake_bars(monkeypatch)

    class CtrlC(Callback):
        def on_epoch_end(self, est, epoch, logs):
            if epoch == 30:
                raise KeyboardInterrupt

    ds = moons(n=100, noise=0.2, seed=0)
    clf = MLPClassifier(hidden=(5,), epochs=100, verbose=1, callbacks=[CtrlC()],
                        random_state=0)
    with pytest.raises(KeyboardInterrupt):
        clf.fit(ds.X, ds.y)
    assert len(clf.history_) == 30
    plain = bars[0].handle.shown["text/plain"]
    assert plain.startswith("epoch 30/100") and "interrupted" in plain
    assert f"train_acc {clf.history_.train_acc[-1]:.4f}" in plain  # epoch 30's metrics
    assert '<progress value="30" max="100"' in bars[0].handle.shown["text/html"]


def test_a_diverged_fit_leaves_the_bar_saying_so(monkeypatch):
    """TrainingDiverged used to leave the bar as it was mid-run, with a live ETA."""
    from neuralab.exceptions import TrainingDiverged

    bars = _fake_bars(monkeypatch)
    ds = moons(n=100, noise=0.2, seed=0)
    clf = MLPClassifier(hidden=(8,), lr=1e6, epochs=100, verbose=1, random_state=0)
    with np.errstate(all="ignore"), pytest.raises(TrainingDiverged):
        clf.fit(ds.X, ds.y)
    plain = bars[0].handle.shown["text/plain"]
    assert "diverged after epoch" in plain and "ETA" not in plain, plain
