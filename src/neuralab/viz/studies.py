"""Figures of a study: success rates, metric distributions, mean curves, fraction converged.

A study folder (``studies/<name>-<stamp>/``) holds ``runs.csv`` (one row per (cell, seed)),
``curves.npz`` (per-epoch curves of every run), ``summary.json`` and ``study.toml``.
:func:`read_study_folder` reads it boundedly and safely; the figure functions take the
pieces (a runs DataFrame, a cell table, the curves), so they work on a study built in
Python too; :func:`study_plots` writes every applicable figure into ``plots/``.

>>> from neuralab.viz.studies import study_plots
>>> study_plots("studies/leaky-relu-20261201-101500")       # doctest: +SKIP

Cells are drawn in the order of the ``cell`` column, one colour per cell (the same in every
figure), and labelled by the settings that differ between cells; long labels are wrapped
beside the axes and legends sit outside them, so ~12 cells stay readable.
"""

from __future__ import annotations

import functools
import io
import json
import math
import os
import textwrap
import warnings
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neuralab._atomic import confined, read_bounded
from neuralab.viz._figure import color, finite_mean, integer_epochs, new_figure, save_figure

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib

# Reading is bounded: a study folder can come from someone else (a mailed archive), so no
# file may make a report read gigabytes or hang (a FIFO named runs.csv is refused).
MAX_TEXT_BYTES = 4 * 2**20  # summary.json, study.toml
MAX_CSV_BYTES = 512 * 2**20  # runs.csv: ~2 M runs
MAX_ARRAY_BYTES = 2**30  # one uncompressed curve array of curves.npz (10k runs × 25k epochs)
MAX_IMAGE_BYTES = 32 * 2**20  # a PNG of plots/

# runs.csv columns that must hold numbers / True-False when present.
NUMERIC_COLUMNS = ("cell", "seed_index", "seed", "epoch_converged", "epochs_budget", "epochs",
                   "wall_s")
BOOL_COLUMNS = ("converged", "diverged")
SETS = ("train", "val", "test")

# Beyond this many epochs the mean curves are drawn at evenly spaced epochs: 1,000 points per
# cell add nothing a 1,000-pixel-wide figure can show, and cost seconds in SVG.
MAX_CURVE_POINTS = 400
LABEL_WIDTH = 26  # characters per line of a cell label
PART_MAX = 80  # a single "key=value" longer than this is shortened in figures (not in tables)


# ----------------------------------------------------------------------------- the folder


@dataclass
class StudyFolder:
    """A study folder read back. ``runs`` is runs.csv as a DataFrame (n_runs rows).

    ``grid`` lists the dotted config-key columns of runs.csv (the cell's settings);
    ``by`` is what identifies a cell for the statistics: ``grid``, or ``["cell"]`` for a
    study without a grid. ``study`` is study.toml parsed ({} when missing) and ``summary``
    summary.json ({} when missing).
    """

    path: Path
    runs: Any  # pandas.DataFrame
    grid: list[str]
    summary: dict[str, Any] = field(default_factory=dict)
    study: dict[str, Any] = field(default_factory=dict)
    study_text: str | None = None
    _curves: dict[str, np.ndarray] | None = field(default=None, repr=False)

    @property
    def by(self) -> list[str]:
        return self.grid or ["cell"]

    @property
    def spec(self) -> dict[str, Any]:
        """The ``[study]`` table of study.toml ({} when missing)."""
        spec = self.study.get("study")
        return spec if isinstance(spec, dict) else {}

    @property
    def name(self) -> str:
        return str(self.summary.get("name") or self.spec.get("name") or self.path.name)

    @property
    def target(self) -> dict[str, Any] | None:
        """The study's target ({"train_acc": 1.0}), {} for none, None when not recorded."""
        for source in (self.spec, self.summary):
            if isinstance(source.get("target"), dict):
                return source["target"]
        return None

    @property
    def has_target(self) -> bool:
        """Whether runs.csv has outcome columns and the study had a target to reach."""
        cols = set(self.runs.columns)
        if not {"converged", "epoch_converged", "epochs_budget"} <= cols:
            return False
        return self.target is None or bool(self.target)

    def file(self, name: str, limit: int = MAX_TEXT_BYTES) -> Path | None:
        """``path / name`` checked to stay inside the folder and be a regular file of at most
        ``limit`` bytes; None when it does not exist."""
        return safe_file(self.path, name, limit)

    def curves(self) -> dict[str, np.ndarray]:
        """curves.npz: ``epoch`` (n_epochs,) and each metric (n_runs, n_epochs); {} if absent.

        Read on first use and checked against runs.csv (a ValueError names the file).
        """
        if self._curves is None:
            self._curves = _read_curves(self.file("curves.npz", MAX_ARRAY_BYTES), len(self.runs))
        return self._curves


def safe_file(folder: str | os.PathLike, name: str, limit: int) -> Path | None:
    """``folder / name`` as a regular file inside the study folder of at most ``limit``
    bytes; None when nothing is there (:func:`neuralab._atomic.confined`: a link out of the
    folder, a broken link, a directory, a FIFO or a file over the limit is a ValueError)."""
    return confined(folder, name, limit, what="study folder")


def read_study_folder(folder: str | os.PathLike) -> StudyFolder:
    """Read and check a study folder (runs.csv required; summary.json and study.toml optional).

    Every problem is a ValueError naming the file: a folder that is not a study, a malformed
    runs.csv (unparseable, no rows, a metric column holding text), summary.json that is not a
    JSON object, study.toml that is not TOML, and links that leave the folder.
    """
    path = Path(folder)
    if not path.is_dir():
        raise ValueError(f"study folder {path} does not exist or is not a folder")
    runs_file = safe_file(path, "runs.csv", MAX_CSV_BYTES)
    if runs_file is None:
        raise ValueError(f"{path} is not a study folder: it has no runs.csv")
    runs, grid = _read_runs(runs_file)

    summary: dict[str, Any] = {}
    summary_file = safe_file(path, "summary.json", MAX_TEXT_BYTES)
    if summary_file is not None:
        try:
            summary = json.loads(read_bounded(summary_file, MAX_TEXT_BYTES).decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise ValueError(f"{summary_file} is not valid JSON: {exc}") from None
        if not isinstance(summary, dict):
            raise ValueError(f"{summary_file} must hold a JSON object; it holds "
                             f"{type(summary).__name__}")

    study: dict[str, Any] = {}
    text = None
    toml_file = safe_file(path, "study.toml", MAX_TEXT_BYTES)
    if toml_file is not None:
        try:
            text = read_bounded(toml_file, MAX_TEXT_BYTES).decode("utf-8")
            study = tomllib.loads(text)
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ValueError(f"{toml_file} is not valid TOML: {exc}") from None
    return StudyFolder(path, runs, grid, summary, study, text)


def read_table(path: Path, limit: int = MAX_CSV_BYTES) -> Any:
    """A study CSV file (runs.csv, cells.csv, compare-*.csv) as a DataFrame, bounded.

    Dotted-key columns (grid settings) keep their values as written, so a setting named
    "None" or "nan" stays text; elsewhere empty and "nan" cells are missing values, as pandas
    writes them. An unreadable file is a ValueError naming it.
    """
    import pandas as pd

    data = read_bounded(path, limit)
    try:
        header = pd.read_csv(io.BytesIO(data), nrows=0).columns
        missing = {str(c): ["", "nan", "NaN", "NA"] for c in header if "." not in str(c)}
        return pd.read_csv(io.BytesIO(data), keep_default_na=False, na_values=missing)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError,
            pd.errors.EmptyDataError) as exc:
        raise ValueError(f"{path} is not a readable CSV file: {exc}") from None


def _read_runs(path: Path) -> tuple[Any, list[str]]:
    """runs.csv as a DataFrame with checked column types, and its grid columns."""
    import pandas as pd

    runs = read_table(path)
    grid = [str(c) for c in runs.columns if "." in str(c)]
    if runs.empty:
        raise ValueError(f"{path} has no runs (a header and no rows)")
    for col in ("cell", "seed"):
        if col not in runs.columns:
            raise ValueError(f"{path} has no {col!r} column; its columns are "
                             f"{list(map(str, runs.columns))}")
    for col in runs.columns:
        name = str(col)
        if name in grid:
            continue
        numeric = name in NUMERIC_COLUMNS or name.startswith(("final_", "best_"))
        if numeric and not (pd.api.types.is_numeric_dtype(runs[col])
                            and not pd.api.types.is_bool_dtype(runs[col])):
            bad = [v for v in runs[col].tolist() if not isinstance(v, (int, float))][:3]
            raise ValueError(f"{path}: column {name!r} must hold numbers; it holds values "
                             f"such as {bad}")
        if name in BOOL_COLUMNS:
            values = runs[col]
            if not pd.api.types.is_bool_dtype(values):
                if pd.api.types.is_numeric_dtype(values) and values.isin((0, 1)).all():
                    runs[col] = values.astype(bool)
                else:
                    bad = [v for v in values.tolist() if v not in (0, 1)][:3]
                    raise ValueError(f"{path}: column {name!r} must hold True/False; it holds "
                                     f"values such as {bad}")
    if not (runs["cell"] == runs["cell"].round()).all():
        raise ValueError(f"{path}: column 'cell' must hold integer cell indices")
    return runs, grid


def _read_curves(path: Path | None, n_runs: int) -> dict[str, np.ndarray]:
    if path is None:
        return {}
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is not a readable .npz archive (not a zip file)")
    try:
        with np.load(path, allow_pickle=False) as npz:
            names = list(npz.files)
            for name in names:  # refuse a small archive that inflates to gigabytes
                size = npz.zip.getinfo(f"{name}.npy").file_size
                if size > MAX_ARRAY_BYTES:
                    raise ValueError(f"array {name!r} is {size:,} bytes uncompressed; at most "
                                     f"{MAX_ARRAY_BYTES:,} are read")
            arrays = {name: npz[name] for name in names}
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    except (OSError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path} is not a readable .npz archive: {exc}") from None
    epoch = arrays.get("epoch")
    if epoch is None or epoch.ndim != 1 or epoch.dtype.kind not in "iuf":
        raise ValueError(f"{path} needs a 1-D numeric 'epoch' array; it has "
                         f"{ {k: v.shape for k, v in arrays.items()} }")
    out = {"epoch": epoch}
    for name, values in arrays.items():
        if name == "epoch":
            continue
        if values.shape != (n_runs, epoch.size) or values.dtype.kind not in "iuf":
            raise ValueError(f"{path}: array {name!r} has shape {values.shape} and dtype "
                             f"{values.dtype}; expected numbers of shape ({n_runs}, "
                             f"{epoch.size}) (runs of runs.csv × epochs)")
        out[name] = values
    return out


# ----------------------------------------------------------------------------- cells, labels


def format_value(value: Any) -> str:
    """A grid value as written in TOML: ``0.01``, ``relu``, ``true``."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else repr(value)
    return str(value)


def varying_keys(frame: Any, by: Sequence[str]) -> list[str]:
    """The columns of ``by`` that take more than one value in ``frame`` (the settings that
    differ between cells); all of ``by`` when none does."""
    keys = [k for k in by if frame[k].map(format_value).nunique() > 1]
    return keys or list(by)


def short_keys(keys: Sequence[str]) -> dict[str, str]:
    """``model.activation`` → ``activation`` where the last part names one key only."""
    last = [k.rsplit(".", 1)[-1] for k in keys]
    return {k: s if last.count(s) == 1 else k for k, s in zip(keys, last, strict=True)}


def _finite(v: Any) -> bool:
    try:
        return math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def _num(v: float) -> str:
    return f"{float(v):.4g}"


def _with_interval(estimate: Any, low: Any, high: Any, f: Callable[[Any], str],
                   unit: str) -> str:
    """``f(estimate)`` and ``unit``, then ``[f(low), f(high)]`` where both are finite; ``–``
    for an unknown estimate."""
    if not _finite(estimate):
        return "–"
    core = f(estimate) + unit
    if not (_finite(low) and _finite(high)):
        return core
    return f"{core} [{f(low)}, {f(high)}]"


def fmt_interval(estimate: Any, low: Any, high: Any, *, percent: bool = False) -> str:
    """``73.0 % [66.5, 78.7]`` (percent) or ``0.0312 [0.0301, 0.0325]``; ``–`` if unknown.

    An undefined interval (fewer than two seeds) shows the estimate alone.
    """
    if percent:
        return _with_interval(estimate, low, high, lambda v: f"{float(v) * 100:.1f}", " %")
    return _with_interval(estimate, low, high, _num, "")


def fmt_epochs(estimate: Any, low: Any, high: Any) -> str:
    """Median epochs to target: ``412 [380, 455]``; ``not reached`` for inf (more than the
    budget), also as an interval bound."""
    def one(v: Any) -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return "–"
        return f"{float(v):g}" if _finite(v) else "not reached"

    if not _finite(estimate):
        return "not reached" if estimate is not None and float(estimate) == math.inf else "–"
    if low is None or high is None or (math.isnan(float(low)) and math.isnan(float(high))):
        return one(estimate)
    return f"{one(estimate)} [{one(low)}, {one(high)}]"


def fmt_difference(estimate: Any, low: Any, high: Any, *, percent: bool = False) -> str:
    """A difference a − b with its interval: ``-7.0 pp [-15.2, 1.3]`` (percentage points)."""
    if percent:
        return _with_interval(estimate, low, high, lambda v: f"{float(v) * 100:+.1f}", " pp")
    return _with_interval(estimate, low, high, lambda v: f"{float(v):+.4g}", "")


def fmt_p(p: Any) -> str:
    """A p-value with two significant digits; ``< 0.001`` below that; ``–`` if not tested."""
    if not _finite(p):
        return "–"
    return "< 0.001" if float(p) < 0.001 else f"{float(p):.2g}"


#: the metric a cell summary leads with, the first of these the table has
LEAD_METRICS = ("final_test_acc", "final_val_acc", "final_train_acc", "final_test_loss",
                "final_train_loss")


def summary_headers(columns: Sequence[str], targeted: bool) -> tuple[list[str], str | None]:
    """The number columns of a short cell table (the terminal's, a notebook's) and the
    metric it leads with: reached target and median epochs (with a target), that metric's
    mean, each with its interval."""
    main = next((m for m in LEAD_METRICS if f"{m}_mean" in columns), None)
    heads = ["reached target [95 % CI]", "median epochs [CI]"] if targeted else []
    return heads + ([f"{main} mean [CI]"] if main else []), main


def summary_cells(row: Any, targeted: bool, main: str | None) -> list[str]:
    """One cell table row's numbers as :func:`summary_headers` names them."""
    cells = []
    if targeted:
        cells += [fmt_interval(row["success_rate"], row["success_rate_low"],
                               row["success_rate_high"], percent=True),
                  fmt_epochs(row["epochs_median"], row["epochs_median_low"],
                             row["epochs_median_high"])]
    if main:
        cells.append(fmt_interval(row[f"{main}_mean"], row[f"{main}_mean_low"],
                                  row[f"{main}_mean_high"], percent=main.endswith("acc")))
    return cells


def compare_headers(columns: Sequence[str], targeted: bool = True
                    ) -> tuple[list[str], str | None, str | None]:
    """The number columns of a short comparison table (a notebook's ``res.compare(key)``),
    the metric it leads with and its statistic (mean, median or IQM): the difference of
    success rates with its interval and the exact test's adjusted p (with a target), then
    that metric's difference a − b [CI], P(a > b) and adjusted p."""
    heads = (["reached target a − b [95 % CI]", "exact test p (adj.)"]
             if targeted and "rate_diff" in columns else [])
    for main in LEAD_METRICS:
        for stat in ("mean", "median", "iqm"):
            if f"{main}_{stat}_diff" in columns:
                return ([*heads, f"{main} {stat} a − b [CI]", "P(a > b)", "p (adj.)"],
                        main, stat)
    return heads, None, None


def compare_cells(row: Any, main: str | None, stat: str | None, targeted: bool = True
                  ) -> list[str]:
    """One comparison row's numbers as :func:`compare_headers` names them (a † marks a
    percentile interval, where every resample gave nearly the same difference)."""
    def diff(name: str, percent: bool) -> str:
        text = fmt_difference(row[name], row.get(f"{name}_low"), row.get(f"{name}_high"),
                              percent=percent)
        return text + (" †" if str(row.get(f"{name}_method")) == "percentile"
                       and text != "–" else "")

    cells = []
    if targeted and "rate_diff" in row:
        cells += [diff("rate_diff", True), fmt_p(row.get("rate_p_adj"))]
    if main and stat:
        poi = row.get(f"{main}_poi")
        cells += [diff(f"{main}_{stat}_diff", main.endswith("acc")),
                  f"{float(poi):.2f}" if _finite(poi) else "–", fmt_p(row.get(f"{main}_p_adj"))]
    return cells


def cell_labels(frame: Any, by: Sequence[str], *, short: bool = True) -> list[str]:
    """One label per row of ``frame`` (a cell table, or the first run of each cell):
    ``activation=relu, lr=0.1`` over the settings that differ between the rows."""
    if list(by) == ["cell"]:
        return ["all runs" if len(frame) == 1 else f"cell {format_value(v)}"
                for v in frame["cell"]]
    keys = varying_keys(frame, by)
    names = short_keys(keys) if short else {k: k for k in keys}
    # column by column: a row of a float and an int column (momentum 0.9, batch size 64)
    # is one float Series, which labelled the cell "batch_size=64.0"
    texts = [frame[k].map(format_value).tolist() for k in keys]
    return [", ".join(f"{names[k]}={t}" for k, t in zip(keys, row, strict=True))
            for row in zip(*texts, strict=True)]


def wrap_label(label: str, width: int = LABEL_WIDTH) -> str:
    """``label`` on lines of about ``width`` characters, broken between settings first."""
    lines: list[str] = []
    for part in label.split(", "):
        if len(part) > PART_MAX:
            part = part[:PART_MAX - 1] + "…"
        if lines and len(lines[-1]) + 2 + len(part) <= width:
            lines[-1] += ", " + part
        else:
            lines.extend(textwrap.wrap(part, width, break_long_words=True,
                                       break_on_hyphens=False) or [""])
    return "\n".join(lines)


def cell_groups(runs: Any, by: Sequence[str] | None = None) -> list[tuple[str, np.ndarray]]:
    """(label, row positions (k,)) of each cell of ``runs``, ordered by the ``cell`` column
    (by first appearance without it)."""
    by = _by(runs, by)
    codes = cell_codes(runs, by)
    positions: dict[tuple[str, ...], list[int]] = {}
    for i, c in enumerate(codes):
        positions.setdefault(c, []).append(i)
    order = list(positions)
    if "cell" in runs.columns:
        cell = runs["cell"].to_numpy()
        order.sort(key=lambda c: cell[positions[c][0]])
    firsts = runs.iloc[[positions[c][0] for c in order]]
    labels = cell_labels(firsts, by)
    return [(lab, np.asarray(positions[c])) for lab, c in zip(labels, order, strict=True)]


def cell_codes(frame: Any, by: Sequence[str]) -> list[tuple[str, ...]]:
    """Each row's settings of ``by`` as a tuple of texts: equal settings compare equal
    whether pandas read them as 0.1 or np.float64(0.1)."""
    return list(zip(*(frame[k].map(format_value) for k in by), strict=True))


def _by(frame: Any, by: Sequence[str] | None) -> list[str]:
    if by is None:
        by = [str(c) for c in frame.columns if "." in str(c)] or ["cell"]
    by = list(by)
    missing = [k for k in by if k not in frame.columns]
    if missing:
        raise ValueError(f"by={by}: {missing} are not columns; the columns are "
                         f"{list(map(str, frame.columns))}")
    return by


def _style(i: int) -> dict[str, Any]:
    """Colour and line style of the i-th cell: 10 colours, then the same with dashes."""
    return {"color": color(i), "linestyle": ("-", "--", ":", "-.")[(i // 10) % 4]}


def _is_accuracy(metric: str) -> bool:
    return metric.endswith("_acc") or metric == "acc"


def _metric_title(metric: str) -> str:
    return metric.replace("_", " ")


def _band_alpha(n_cells: int) -> float:
    """Bands fainter as cells multiply, so a dozen overlapping bands stay see-through."""
    return 0.18 if n_cells <= 4 else max(0.05, 0.7 / n_cells)


def _legend_height(labels: Sequence[str], least: float = 4.2) -> float:
    """Figure height (inches) that fits a legend of ``labels`` beside the axes."""
    lines = sum(lab.count("\n") + 1 for lab in labels)
    return max(least, 0.7 + 0.17 * lines + 0.08 * len(labels))


def _rows_height(labels: Sequence[str]) -> float:
    """Figure height (inches) fitting one row per cell with its wrapped label."""
    lines = sum(max(1, lab.count("\n") + 1) for lab in labels)
    return 1.4 + 0.18 * lines + 0.18 * len(labels)


# ----------------------------------------------------------------------------- the figures


def success_rates(cells_table: Any, *, by: Sequence[str] | None = None,
                  target: str | None = None, confidence_level: float = 0.95) -> Any:
    """Success rate of each cell with its Wilson interval, on an honest 0–100 % axis.

    ``cells_table``: :func:`neuralab.studies.stats.cell_table` output, one row per cell, with
    ``success_rate``, ``success_rate_low``, ``success_rate_high`` (and ``n_converged``, ``n``
    to print "146/200" beside each row). ``target``: text for the title ("train_acc ≥ 1.0").
    """
    needed = ["success_rate", "success_rate_low", "success_rate_high"]
    missing = [c for c in needed if c not in cells_table.columns]
    if missing:
        raise ValueError(f"cells_table has no {missing} column(s); it needs a study with a "
                         "target (converged column) — see stats.cell_table")
    by = _by(cells_table, by)
    labels = [wrap_label(lab) for lab in cell_labels(cells_table, by)]
    fig = new_figure((7.5, _rows_height(labels)))
    ax = fig.subplots()
    y = np.arange(len(labels))
    rate = cells_table["success_rate"].to_numpy(dtype=float) * 100
    low = cells_table["success_rate_low"].to_numpy(dtype=float) * 100
    high = cells_table["success_rate_high"].to_numpy(dtype=float) * 100
    for i in range(len(labels)):
        ax.errorbar(rate[i], y[i], xerr=[[rate[i] - low[i]], [high[i] - rate[i]]], fmt="o",
                    color=color(i), ecolor=color(i), capsize=4, lw=1.6, ms=6,
                    clip_on=False)  # a rate of 0 % or 100 % is drawn whole
    ax.set_yticks(y, labels=labels, fontsize="small")
    ax.set_ylim(len(labels) - 0.5, -0.5)  # first cell on top
    ax.set_xlim(0, 100)  # a rate's axis starts at 0 and ends at 100 %, whatever the data
    ax.set_xlabel(f"seeds that reached the target (%), {confidence_level:.0%} Wilson interval")
    ax.grid(axis="x", alpha=0.3)
    if {"n", "n_converged"} <= set(cells_table.columns):
        right = ax.twinx()  # "k/n" beside each row, outside the plotting area
        right.set_ylim(ax.get_ylim())
        right.set_yticks(y, labels=[f"{int(k)}/{int(n)}" for k, n in
                                    zip(cells_table["n_converged"], cells_table["n"],
                                        strict=True)], fontsize="small")
    ax.set_title("Success rate per cell" + (f" (target {target})" if target else ""))
    return fig


def metric_distributions(runs: Any, metric: str, *, by: Sequence[str] | None = None,
                         rng: np.random.Generator | int = 0) -> Any:
    """One point per seed (strip) over a violin of ``metric`` for each cell of ``runs``.

    ``runs``: one row per (cell, seed). Non-finite values (a diverged run's loss) are left
    out and counted beside the row. Accuracies get the full 0–1 axis. ``rng`` only jitters
    the points vertically (a seeded Generator: the same figure every time).
    """
    if metric not in runs.columns:
        raise ValueError(f"metric={metric!r} is not a column of runs; the columns are "
                         f"{list(map(str, runs.columns))}")
    groups = cell_groups(runs, by)
    rng = np.random.default_rng(rng)
    values = runs[metric].to_numpy(dtype=float)
    labels = [wrap_label(lab) for lab, _ in groups]
    fig = new_figure((7.5, _rows_height(labels)))
    ax = fig.subplots()
    counts = []
    finite_all = values[np.isfinite(values)]
    for i, (_, rows) in enumerate(groups):
        v = values[rows]
        ok = v[np.isfinite(v)]
        counts.append(f"n={ok.size}" + (f" ({v.size - ok.size} not finite)"
                                        if ok.size < v.size else ""))
        if np.unique(ok).size >= 2:  # a violin needs spread: its density is a Gaussian KDE
            parts = ax.violinplot(ok, positions=[i], widths=0.8, showextrema=False,
                                  **_horizontal())
            for body in parts["bodies"]:
                body.set(facecolor=color(i), edgecolor=color(i), alpha=0.25)
        jitter = rng.uniform(-0.18, 0.18, ok.size)
        ax.scatter(ok, i + jitter, s=9, color=color(i), alpha=0.6, linewidths=0,
                   clip_on=False)
        if ok.size:
            ax.plot([np.median(ok)] * 2, [i - 0.32, i + 0.32], color="black", lw=1.6)
    ax.set_yticks(np.arange(len(labels)), labels=labels, fontsize="small")
    ax.set_ylim(len(labels) - 0.5, -0.5)
    if _is_accuracy(metric):
        ax.set_xlim(-0.01, 1.01)  # the whole 0–1 range, so small differences look small
    elif finite_all.size and finite_all.min() > 0 and finite_all.max() > 1e3 * finite_all.min():
        ax.set_xscale("log")  # losses spanning orders of magnitude
    ax.set_xlabel(f"{_metric_title(metric)} (one point per seed; black: median)")
    ax.grid(axis="x", alpha=0.3)
    right = ax.twinx()
    right.set_ylim(ax.get_ylim())
    right.set_yticks(np.arange(len(labels)), labels=counts, fontsize="x-small")
    ax.set_title(f"{_metric_title(metric)} per cell")
    return fig


def _horizontal() -> dict[str, Any]:
    """violinplot's keyword for horizontal violins (renamed in matplotlib 3.10)."""
    import matplotlib

    major, minor = (int(p) for p in matplotlib.__version__.split(".")[:2])
    return {"orientation": "horizontal"} if (major, minor) >= (3, 10) else {"vert": False}


def mean_curves(curves: Mapping[str, Any], runs: Any, metric: str | Sequence[str], *,
                by: Sequence[str] | None = None, confidence_level: float = 0.95,
                carry_forward: bool = True, max_points: int = MAX_CURVE_POINTS) -> Any:
    """Mean ``metric`` per epoch of each cell with a pointwise 95 % band.

    ``curves``: ``epoch`` (n_epochs,) and ``metric`` (n_runs, n_epochs) in the row order of
    ``runs`` (curves.npz); NaN where a run was not evaluated or had stopped. Several metrics
    (``["train_acc", "train_loss"]``) give one panel each with a shared legend.

    The band is the t-interval of the mean at each epoch, mean ± t·s/√k with t from
    ``scipy.stats.t`` (k − 1 degrees of freedom, k = seeds with a finite value there): it says
    where the *mean* is, not where single seeds go. NaN and infinite values are left out.

    ``carry_forward``: a run that stopped (reached the target or stopped early) keeps its
    weights, so its last value is carried to later epochs; without this the mean after
    epoch 100 would be over the slow seeds only. Diverged runs are not carried (they leave
    the mean when they diverge). Epochs where no run was evaluated are skipped, and past
    ``max_points`` epochs the curves are drawn at evenly spaced epochs.
    """
    metrics = [metric] if isinstance(metric, str) else list(metric)
    if not metrics:
        raise ValueError("metric=[] names no curve; give a metric such as 'train_acc'")
    epoch = np.asarray(curves["epoch"]) if "epoch" in curves else None
    for m in metrics:
        if m not in curves:
            raise ValueError(f"metric={m!r} has no curves; curves has "
                             f"{sorted(k for k in curves if k != 'epoch')}")
        shape = np.shape(curves[m])
        if epoch is None or shape != (len(runs), epoch.size):
            raise ValueError(f"curves[{m!r}] has shape {shape}; expected ({len(runs)}, "
                             f"{None if epoch is None else epoch.size}) (runs × epochs, "
                             "with an 'epoch' array)")
    groups = cell_groups(runs, by)
    labels = [wrap_label(label) + f" (n={rows.size})" for label, rows in groups]
    fig = new_figure((4.6 * len(metrics) + 3.2, _legend_height(labels)))
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    handles: list[Any] = []
    for ax, m in zip(axes, metrics, strict=True):
        handles = _draw_mean_curves(ax, epoch, np.asarray(curves[m], dtype=np.float64), runs,
                                    groups, confidence_level, carry_forward, max_points)
        if _is_accuracy(m):
            ax.set_ylim(-0.01, 1.01)
        integer_epochs(ax)  # no "epoch 2.5"
        ax.set_xlabel("epoch")
        ax.set_ylabel(_metric_title(m))
        ax.grid(alpha=0.3)
    names = " and ".join(_metric_title(m) for m in metrics)
    fig.suptitle(f"Mean {names} per cell, {confidence_level:.0%} band of the mean")
    fig.legend(handles, labels, loc="outside right upper", fontsize="small")
    return fig


def _draw_mean_curves(ax: Any, epoch: np.ndarray, values: np.ndarray, runs: Any,
                      groups: list[tuple[str, np.ndarray]], confidence_level: float,
                      carry_forward: bool, max_points: int) -> list[Any]:
    """Draw each cell's mean of values (n_runs, n_epochs) with its band; returns the lines."""
    from scipy import stats

    finite = np.isfinite(values)
    if carry_forward and values.size:
        values = _carry_forward(values, finite, runs)
        finite = np.isfinite(values)
    cols = np.flatnonzero(finite.any(axis=0))
    if cols.size > max_points:
        cols = cols[np.unique(np.linspace(0, cols.size - 1, max_points).round().astype(int))]
    x, values, finite = epoch[cols], values[:, cols], finite[:, cols]
    lines = []
    for i, (_, rows) in enumerate(groups):
        v, ok = values[rows], finite[rows]
        mean, k = finite_mean(v, axis=0)  # k (T,): seeds with a value at each epoch
        dev = np.where(ok, v - mean, 0.0)
        var = np.divide((dev**2).sum(axis=0), k - 1, out=np.full(k.shape, np.nan), where=k > 1)
        t = stats.t.ppf(0.5 + confidence_level / 2, np.maximum(k - 1, 1))
        half = t * np.sqrt(var / np.maximum(k, 1))  # NaN (no band) where k < 2
        (line,) = ax.plot(x, mean, lw=1.5, **_style(i))
        ax.fill_between(x, mean - half, mean + half, color=color(i), lw=0,
                        alpha=_band_alpha(len(groups)))
        lines.append(line)
    return lines


def _carry_forward(values: np.ndarray, finite: np.ndarray, runs: Any) -> np.ndarray:
    """Fill each non-diverged run's trailing NaNs with its last finite value (n_runs, T)."""
    n, t = values.shape
    has = finite.any(axis=1)
    last = t - 1 - np.argmax(finite[:, ::-1], axis=1)  # (n,) last finite column
    stopped = has & (last < t - 1)
    if "diverged" in runs.columns:
        stopped &= ~runs["diverged"].to_numpy(dtype=bool)
    fill = stopped[:, None] & (np.arange(t)[None, :] > last[:, None])
    out = values.copy()
    out[fill] = np.broadcast_to(values[np.arange(n), last][:, None], (n, t))[fill]
    return out


def convergence(runs: Any, curves_table: Any, *, by: Sequence[str] | None = None,
                target: str | None = None, confidence_level: float = 0.95) -> Any:
    """Fraction of seeds that reached the target by each epoch, per cell (Kaplan–Meier).

    ``curves_table``: ``stats.convergence_curves(runs)`` (neuralab.studies.stats), the step
    points of each cell: grid columns, ``epoch``, ``fraction``, ``low``, ``high``; seeds that
    never converged are censored at their budget there. ``runs`` (one row per (cell, seed),
    with ``converged`` and ``epochs_budget``) gives the budgets and the counts. Step curves
    with pointwise bands; each budget is a dashed vertical line, and a curve stays flat from
    its last step to the budget, where it ends at the cell's success rate.
    (The statistics are computed in ``neuralab.studies``, which sits above the figures.)
    """
    by = _by(runs, by)
    needed = [*by, "epoch", "fraction", "low", "high"]
    missing = [c for c in needed if c not in curves_table.columns]
    if missing:
        raise ValueError(f"curves_table has no {missing} column(s); pass "
                         "stats.convergence_curves(runs) with the same grid")
    for c in ("converged", "epochs_budget"):
        if c not in runs.columns:
            raise ValueError(f"runs has no {c!r} column; a convergence plot needs a study "
                             "with a target")
    table = curves_table
    groups = cell_groups(runs, by)
    keys = cell_codes(table, by)
    budgets = sorted({float(b) for b in runs["epochs_budget"]})
    handles, labels = [], []
    for _, rows in groups:
        n_conv = int(runs["converged"].iloc[rows].sum())
        labels.append(f" ({n_conv}/{rows.size})")
    labels = [wrap_label(lab) + count for (lab, _), count in zip(groups, labels, strict=True)]
    fig = new_figure((9.5, _legend_height([*labels, "budget"])))
    ax = fig.subplots()
    for i, (_, rows) in enumerate(groups):
        first = runs.iloc[rows[0]]
        code = tuple(format_value(first[k]) for k in by)
        part = table[np.array([k == code for k in keys], dtype=bool)]
        if part.empty:
            cell = ", ".join(f"{k}={v}" for k, v in zip(by, code, strict=True))
            raise ValueError(f"curves_table has no rows for the cell {cell}; pass "
                             "stats.convergence_curves(runs) of these runs")
        budget = float(runs["epochs_budget"].iloc[rows].max())
        x = np.append(part["epoch"].to_numpy(float), budget)  # flat until the budget
        frac = np.append(part["fraction"].to_numpy(float), part["fraction"].iloc[-1]) * 100
        low = part["low"].ffill().to_numpy(float)  # undefined where all converged: keep last
        high = part["high"].to_numpy(float)
        low, high = np.append(low, low[-1]) * 100, np.append(high, high[-1]) * 100
        keep = x <= budget
        (line,) = ax.step(x[keep], frac[keep], where="post", lw=1.5, **_style(i))
        ax.fill_between(x[keep], low[keep], high[keep], step="post", color=color(i),
                        alpha=_band_alpha(len(groups)), lw=0)
        handles.append(line)
    for b in budgets:
        handles.append(ax.axvline(b, color="0.4", ls="--", lw=1))
        labels.append(f"budget: {b:g} epochs")
    if len(budgets) > 1:  # one legend entry for all budget lines
        handles, labels = handles[:len(groups) + 1], [*labels[:len(groups)], "budgets"]
    ax.set_xlim(0, max(budgets) * 1.03)
    ax.set_ylim(0, 100)
    ax.set_xlabel(f"epoch (Kaplan–Meier estimate, pointwise {confidence_level:.0%} band)")
    ax.set_ylabel("seeds converged by this epoch (%)")
    ax.grid(alpha=0.3)
    ax.set_title("Fraction converged by epoch" + (f" (target {target})" if target else ""))
    fig.legend(handles, labels, loc="outside right upper", fontsize="small")
    return fig


# ----------------------------------------------------------------------------- a whole study


def main_metrics(columns: Sequence[str]) -> list[str]:
    """The per-run metrics a study's report and plots lead with: final accuracies (test,
    val, train) for classifiers, final losses for regressions."""
    cols = set(columns)
    acc = [f"final_{s}_acc" for s in ("test", "val", "train") if f"final_{s}_acc" in cols]
    return acc or [f"final_{s}_loss" for s in ("test", "val", "train")
                   if f"final_{s}_loss" in cols]


def target_text(target: Mapping[str, Any] | None) -> str | None:
    """``{"train_acc": 1.0}`` → ``"train_acc ≥ 1"``; None for no target."""
    if not target:
        return None
    return ", ".join(f"{k} ≥ {format_value(v)}" for k, v in target.items())


PLOT_TITLES = {
    "success_rates": "Success rate per cell (Wilson interval)",
    "convergence": "Fraction of seeds converged by epoch (Kaplan–Meier)",
}


def plot_title(name: str) -> str:
    """A caption for the plot file ``name`` written by :func:`study_plots`."""
    if name in PLOT_TITLES:
        return PLOT_TITLES[name]
    if name.startswith("distribution_"):
        return f"{_metric_title(name.removeprefix('distribution_'))}: one point per seed"
    if name.startswith("curve_"):
        return f"Mean {name.removeprefix('curve_')} curves per cell (95 % band of the mean)"
    return name.replace("_", " ")


def study_figures(study: StudyFolder, *, cells: Any = None,
                  convergence_table: Any = None) -> list[tuple[str, Callable[[], Any]]]:
    """(name, make) for every figure that applies to ``study``; ``make()`` draws it.

    ``cells`` (``stats.cell_table``, with success rates) and ``convergence_table``
    (``stats.convergence_curves``) feed the success-rate and fraction-converged figures of a
    study with a target; without them those two are left out. Drawing on demand lets a
    report reuse a PNG already in ``plots/`` instead.
    """
    runs, by = study.runs, study.by
    target = target_text(study.target)
    out: list[tuple[str, Callable[[], Any]]] = []
    if study.has_target and cells is not None:
        out.append(("success_rates",
                    functools.partial(success_rates, cells, by=by, target=target)))
    if study.has_target and convergence_table is not None:
        out.append(("convergence", functools.partial(convergence, runs, convergence_table,
                                                     by=by, target=target)))
    for metric in main_metrics(runs.columns):
        if np.isfinite(runs[metric].to_numpy(dtype=float)).any():
            out.append((f"distribution_{metric}",
                        functools.partial(metric_distributions, runs, metric, by=by)))
    curves = study.curves()
    for s in SETS:  # one figure per set: its accuracy and loss side by side
        metrics = [f"{s}_{m}" for m in ("acc", "loss") if f"{s}_{m}" in curves
                   and np.isfinite(curves[f"{s}_{m}"]).any()]
        if metrics:
            out.append((f"curve_{s}",
                        functools.partial(mean_curves, curves, runs, metrics, by=by)))
    return out


def study_plots(folder: str | os.PathLike | StudyFolder, *, cells: Any = None,
                convergence_table: Any = None,
                formats: Sequence[str] = ("png",)) -> list[Path]:
    """Write the figures of a study folder into its ``plots/``; returns the paths.

    The distribution of each main metric and the mean curves of each set in curves.npz, and,
    for a study with a target, the success rates and fraction converged by epoch from the
    statistics tables ``cells`` (``stats.cell_table``) and ``convergence_table``
    (``stats.convergence_curves``). ``neuralab.report.study.write_study_plots(folder)``
    computes those tables and calls this. Files are ``plots/<name>.png`` / ``.svg``,
    written atomically.
    """
    study = folder if isinstance(folder, StudyFolder) else read_study_folder(folder)
    out = study.path / "plots"
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise ValueError(f"{out} must be a folder inside the study, not a link or a file")
    paths: list[Path] = []
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Glyph", UserWarning)  # fonts lacking "≥"
        for name, make in study_figures(study, cells=cells,
                                        convergence_table=convergence_table):
            fig = make()
            for i, fmt in enumerate(formats):
                paths += save_figure(fig, out / name, (fmt,))
                if i == 0:  # laid out once: the other formats reuse it (~40 % of a save)
                    fig.set_layout_engine("none")
    return paths


__all__ = [
    "LEAD_METRICS",
    "StudyFolder",
    "cell_codes",
    "cell_groups",
    "cell_labels",
    "compare_cells",
    "compare_headers",
    "convergence",
    "fmt_difference",
    "fmt_epochs",
    "fmt_interval",
    "fmt_p",
    "format_value",
    "main_metrics",
    "mean_curves",
    "metric_distributions",
    "plot_title",
    "read_study_folder",
    "read_table",
    "safe_file",
    "short_keys",
    "study_figures",
    "study_plots",
    "success_rates",
    "summary_cells",
    "summary_headers",
    "target_text",
    "varying_keys",
    "wrap_label",
]
