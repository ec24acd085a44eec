"""Two small finished runs to report on."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    from neuralab.experiments import parse_config, run_experiment

    out = tmp_path_factory.mktemp("runs")
    runs = []
    for name, lr in (("slow<b>", 0.05), ("fast", 0.3)):
        cfg = parse_config({"data": {"options": {"n": 200}}, "model": {"hidden": [8]},
                            "optim": {"lr": lr}, "train": {"epochs": 30, "eval_every": 5},
                            "output": {"dir": str(out), "name": name.strip("<b>")}})
        runs.append(run_experiment(cfg, quiet=True).run_dir)
    return runs
