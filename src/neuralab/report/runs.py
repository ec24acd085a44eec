"""Reading a run folder back: config, summary, metrics and plots."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neuralab._atomic import confined, read_confined
from neuralab._metrics_csv import read_metric_columns
from neuralab.exceptions import DataError
from neuralab.experiments.config import MAX_CONFIG_BYTES, ConfigError, read_toml
from neuralab.experiments.run import check_run_folder
from neuralab.io import parse_json


@dataclass
class RunInfo:
    path: Path
    name: str
    config_text: str
    config: dict[str, Any]
    summary: dict[str, Any]
    columns: list[str] = field(default_factory=list)
    # metrics.csv a column at a time: {column: (rows,) float64 array (NaN where empty)}
    metrics: dict[str, np.ndarray] = field(default_factory=dict)
    plots: dict[str, Path] = field(default_factory=dict)  # name -> PNG

    @property
    def final(self) -> dict[str, Any]:
        return self.summary.get("final") or {}


MAX_METRICS_BYTES = 256 * 2**20  # metrics.csv: millions of rows
MAX_SUMMARY_BYTES = 4 * 2**20
MAX_IMAGE_BYTES = 32 * 2**20  # one PNG of plots/
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_NUMBER = (int, float, type(None))


def _check_summary(summary: Any, file: Path) -> dict[str, Any]:
    """summary.json as the report reads it: a JSON object whose metric tables hold numbers
    (a run folder may come from anyone: a ValueError names the file and the key)."""
    if not isinstance(summary, dict):
        raise ValueError(f"{file} is not a JSON object")
    for key in ("final", "per_class_error", "binary_error_rates", "best"):
        table = summary.get(key)
        if table is None:
            continue
        ok = isinstance(table, dict) and all(
            isinstance(v, dict) and isinstance(v.get("value"), _NUMBER)
            and isinstance(v.get("epoch"), _NUMBER) if key == "best"
            else isinstance(v, _NUMBER) and not isinstance(v, bool) for v in table.values())
        if not ok:
            what = "{metric: {value, epoch}}" if key == "best" else "{name: number}"
            raise ValueError(f"{file}: {key!r} must be a table {what}")
    return summary


def _png(path: Path, name: str) -> Path | None:
    """plots/<name> when it is a PNG inside the run folder (a link out of it: ValueError)."""
    data = read_confined(path, f"plots/{name}", MAX_IMAGE_BYTES)
    return path / "plots" / name if data is not None and data.startswith(PNG_SIGNATURE) \
        else None


def load_run(path: str | Path) -> RunInfo:
    """Read the run folder ``path`` (ConfigError naming it when it is not one).

    Nothing is read through a link out of the folder, and each file has a size limit: a
    run folder is something people mail to each other (a ValueError names the file)."""
    path = Path(path)
    check_run_folder(path)
    cfg_file = confined(path, "config.toml", MAX_CONFIG_BYTES)
    if cfg_file is None:
        raise ConfigError(f"{path} is not a run folder (it has no config.toml)")
    config = read_toml(cfg_file)
    raw = read_confined(path, "summary.json", MAX_SUMMARY_BYTES)
    try:
        text = raw.decode("utf-8-sig") if raw is not None else None
    except UnicodeDecodeError:
        raise ValueError(f"{path / 'summary.json'} is not valid JSON (not UTF-8 text)") from None
    # bounded nesting: a summary.json of 100,000 brackets is an error naming the file
    summary = parse_json(text, str(path / "summary.json"), DataError) if text is not None \
        else {"status": "unknown"}
    summary = _check_summary(summary, path / "summary.json")
    columns, data = [], {}
    metrics = confined(path, "metrics.csv", MAX_METRICS_BYTES)
    if metrics is not None:
        try:
            columns, data = read_metric_columns(metrics)
        except (csv.Error, ValueError) as exc:
            raise ValueError(f"{metrics} is not a metrics file: {exc}") from None
    names = sorted(p.name for p in (path / "plots").glob("*.png")) \
        if (path / "plots").is_dir() else []
    plots = {Path(n).stem: p for n in names if (p := _png(path, n)) is not None}
    output = config.get("output")
    name = str(summary.get("name") or (output.get("name") if isinstance(output, dict) else None)
               or path.name)
    return RunInfo(path, name, cfg_file.read_text(encoding="utf-8"), config, summary,
                   columns, data, plots)


__all__ = ["MAX_IMAGE_BYTES", "RunInfo", "load_run"]
