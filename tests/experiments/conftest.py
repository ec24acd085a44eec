"""Fixtures for the experiment tests: small, fast configs and finished runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from run_helpers import small_config


@pytest.fixture(autouse=True)
def _agg(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MPLBACKEND", "Agg")


@pytest.fixture
def finished_run(tmp_path: Path) -> Any:
    from neuralab.experiments import parse_config, run_experiment

    return run_experiment(parse_config(small_config(tmp_path / "runs")), quiet=True)
