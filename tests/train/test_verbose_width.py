"""``fit(verbose=1)`` prints each evaluated epoch on lines that fit the terminal (80 columns
when it is unknown), even with validation, evaluation sets and an ensemble's means."""

from __future__ import annotations

import numpy as np

from neuralab.models import MLPClassifier
from neuralab.train.loop import _format_logs


def test_verbose_lines_fit_80_columns(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] > 0).astype(int)
    MLPClassifier(hidden=(4,), epochs=2, n_models=3, verbose=1, random_state=0).fit(
        X, y, validation=(X, y), eval_sets={"test": (X, y)})
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= 80
    text = "\n".join(lines)
    for key in ("batch_loss", "train_loss", "train_acc", "val_loss", "val_acc", "test_loss",
                "test_acc"):
        assert text.count(f"{key} ") == 2  # every metric, once per epoch
    assert sum(line.startswith("epoch ") for line in lines) == 2


def test_format_logs_wraps_at_the_width_it_is_given():
    logs = {"epoch": 3, "batch_loss": 0.5, "train_loss": 0.25, "train_acc": 0.9,
            "val_loss": 0.3, "val_acc": 0.8}
    assert _format_logs(logs, 10, width=200) == ("epoch 3/10  batch_loss 0.5000  train_loss "
                                                 "0.2500  train_acc 0.9000  val_loss 0.3000  "
                                                 "val_acc 0.8000")
    lines = _format_logs(logs, 10, width=50).splitlines()
    assert len(lines) == 3 and all(len(line) <= 50 for line in lines)
    assert lines[1].startswith("    train_acc")
