"""Helpers of the experiment tests (a module of its own: test files import it by name)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def small_config(out: Path, **sections: Any) -> dict[str, Any]:
    """A run that takes well under a second: 300 moons, a 16-16 MLP, 60 epochs."""
    cfg: dict[str, Any] = {
        "data": {"name": "moons", "options": {"n": 300, "noise": 0.2}},
        "model": {"kind": "mlp", "hidden": [16, 16]},
        "optim": {"lr": 0.1, "momentum": 0.9},
        "train": {"epochs": 60, "batch_size": 32, "eval_every": 3, "checkpoint_every": 4},
        "output": {"dir": str(out), "name": "small"},
    }
    for key, value in sections.items():
        if key == "model":  # a model section is replaced: its keys depend on the kind
            cfg[key] = dict(value)
        else:
            cfg.setdefault(key, {}).update(value)
    return cfg
