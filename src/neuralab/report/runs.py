"""Reading a run folder back: config, summary, metrics and plots."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neuralab._metrics_csv import read_metrics
from neuralab.experiments.config import ConfigError, read_toml


@dataclass
class RunInfo:
    path: Path
    name: str
    config_text: str
    config: dict[str, Any]
    summary: dict[str, Any]
    columns: list[str] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    plots: dict[str, Path] = field(default_factory=dict)  # name -> PNG

    @property
    def final(self) -> dict[str, Any]:
        return self.summary.get("final") or {}


def load_run(path: str | Path) -> RunInfo:
    """Read the run folder ``path`` (ConfigError naming it when it is not one)."""
    path = Path(path)
    if not path.is_dir():
        raise ConfigError(f"run folder {path} does not exist")
    cfg_file = path / "config.toml"
    if not cfg_file.is_file():
        raise ConfigError(f"{path} is not a run folder (it has no config.toml)")
    config = read_toml(cfg_file)
    try:
        summary = json.loads((path / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        summary = {"status": "unknown"}
    columns, rows = ([], [])
    if (path / "metrics.csv").is_file():
        columns, rows = read_metrics(path / "metrics.csv")
    plots = {p.stem: p for p in sorted((path / "plots").glob("*.png"))} \
        if (path / "plots").is_dir() else {}
    name = str(summary.get("name") or config.get("output", {}).get("name") or path.name)
    return RunInfo(path, name, cfg_file.read_text(encoding="utf-8"), config, summary,
                   columns, rows, plots)


__all__ = ["RunInfo", "load_run"]
