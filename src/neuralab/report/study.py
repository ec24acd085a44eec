"""The report of a study folder: one self-contained HTML page, or Markdown for a write-up.

>>> from neuralab.report.study import write_study_report
>>> write_study_report("studies/leaky-relu-20261201-101500", "leaky.html")  # doctest: +SKIP

The report says what was varied (grid, seeds, target), then one row per cell leading with
the settings that differ: runs, success rate [95 % CI], median epochs to target [CI] and
the mean / median / IQM [CI] of the main metrics; then the pairwise comparisons of every
grid key (difference [CI], probability of improvement, adjusted p-values), the plots, and
the command that re-runs the study. HTML follows ``report.build``: images inlined as base64
PNG, a Content-Security-Policy that loads nothing, every string from the folder escaped.
"""

from __future__ import annotations

import html
import io
import os
import shlex
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neuralab._atomic import atomic_file, output_file
from neuralab.report.build import CSS, _img, _md_cell
from neuralab.studies.spec import compare_grid, compared_keys, zip_partners
from neuralab.viz._figure import color
from neuralab.viz.studies import (
    MAX_IMAGE_BYTES,
    StudyFolder,
    _finite,
    cell_codes,
    cell_groups,
    fmt_difference,
    fmt_epochs,
    fmt_interval,
    fmt_p,
    format_value,
    main_metrics,
    plot_title,
    read_study_folder,
    read_table,
    safe_file,
    study_figures,
    study_plots,
    target_text,
    varying_keys,
)

STATISTIC_NAMES = {"mean": "mean", "median": "median", "iqm": "IQM"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_TABLE_BYTES = 64 * 2**20  # cells.csv, compare-<key>.csv
CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'")
# Wider than a run report (tables of up to ~12 cells); long settings wrap inside their cell
# (overflow-wrap: anywhere) so the page never scrolls sideways at 1400 px.
STUDY_CSS = CSS + """
body{max-width:1400px}table{max-width:100%}td,th{vertical-align:top}th{font-weight:600}
td.set{max-width:16rem;overflow-wrap:anywhere}td .ln{display:block}
.sw{display:inline-block;width:.7rem;height:.7rem;margin-right:.35rem;border-radius:2px}
.warn{background:#fff4e0;border:1px solid #e6b35c;padding:.4rem .7rem}
"""


# ----------------------------------------------------------------------------- numbers


def _is_acc(metric: str) -> bool:
    return metric.endswith("_acc")


def _metric_name(metric: str) -> str:
    return metric.replace("_", " ")


# ----------------------------------------------------------------------------- tables


@dataclass
class Table:
    """A report table: cells are lists of lines; ``kinds`` marks setting columns ("set")."""

    header: list[str]
    rows: list[list[list[str]]]
    kinds: list[str]
    swatches: list[str] = field(default_factory=list)  # a colour per row (cell tables)
    notes: list[str] = field(default_factory=list)


def _statistics_tables(study: StudyFolder, metrics: list[str],
                       statistics: Sequence[str]) -> tuple[Any, dict[str, Any], str]:
    """The cell table and the comparison table of each varying key.

    cells.csv and compare-<key>.csv are used when they describe the runs of runs.csv (same
    cells, same numbers of runs, the needed columns); otherwise (a running study, another
    choice of metrics) the tables are computed from runs.csv with the same defaults.
    """
    from neuralab.studies import stats

    runs, by = study.runs, study.by
    zips = study.spec.get("zip")
    compare_by = {k: compare_grid(k, study.grid, zips) for k in study.grid}
    # the keys the study compares (its compare-<key>.csv files: one rule, spec.compared_keys),
    # among the columns of runs.csv; a folder without its [study] table, every column.
    # Each must take two values in the runs so far (a running study may lack some cells).
    declared = "grid" in study.spec or "zip" in study.spec
    keys = [k for k in (compared_keys(study.spec.get("grid"), zips) if declared
                        else study.grid)
            if k in compare_by and _comparable(runs, k, compare_by[k])]
    needed = [f"{m}_{s}{x}" for m in metrics for s in statistics for x in ("", "_low", "_high")]
    if study.has_target:
        needed += ["success_rate", "success_rate_low", "success_rate_high", "n_converged",
                   "epochs_median", "epochs_median_low", "epochs_median_high"]
    cells = _stored(study, "cells.csv", [*by, "n", *needed])
    if cells is not None and not _same_cells(cells, runs, by):
        cells = None
    source = "cells.csv"
    if cells is None:
        source = "runs.csv"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            cells = stats.cell_table(runs, grid=by, metrics=metrics, statistics=statistics)
    compares = {}
    for key in keys:
        table = None
        if source == "cells.csv":
            cols = ["a", "b", "n_a", "n_b", *[f"{m}_mean_diff" for m in metrics]]
            table = _stored(study, f"compare-{key}.csv", cols)
        if table is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                table = stats.compare(runs, key, grid=compare_by[key], metrics=metrics)
        compares[key] = table
    return cells, compares, source


def _comparable(runs: Any, key: str, grid: Sequence[str]) -> bool:
    """Whether ``key`` takes two values with the other columns of ``grid`` held fixed (a
    key zipped with another never does unless ``grid`` leaves the partner out:
    :func:`~neuralab.studies.spec.compare_grid`)."""
    others = [k for k in grid if k != key]
    codes = cell_codes(runs, others) if others else [()] * len(runs)
    seen: dict[tuple[str, ...], str] = {}
    for other, value in zip(codes, runs[key].map(format_value), strict=True):
        if seen.setdefault(other, value) != value:
            return True
    return False


def _stored(study: StudyFolder, name: str, columns: Sequence[str]) -> Any:
    """A stored table with every column of ``columns``, or None (absent / other columns).

    Its statistics must be numbers (a ValueError names the file otherwise).
    """
    import pandas as pd

    path = study.file(name, limit=MAX_TABLE_BYTES)
    if path is None:
        return None
    table = read_table(path, MAX_TABLE_BYTES)
    if not set(columns) <= set(map(str, table.columns)):
        return None
    for c in columns:
        if c not in study.by and c not in ("a", "b") and not (
                pd.api.types.is_numeric_dtype(table[c]) or table[c].isna().all()):
            raise ValueError(f"{path}: column {c!r} must hold numbers; it holds values such "
                             f"as {table[c].head(3).tolist()}")
    return table


def _same_cells(cells: Any, runs: Any, by: list[str]) -> bool:
    """Whether the cell table counts the same runs per cell as runs.csv."""
    counts: dict[tuple[str, ...], int] = {}
    for code in cell_codes(runs, by):
        counts[code] = counts.get(code, 0) + 1
    stored = dict(zip(cell_codes(cells, by), cells["n"].tolist(), strict=True))
    return stored == counts


def cell_table_rows(study: StudyFolder, cells: Any, metrics: Sequence[str],
                    statistics: Sequence[str]) -> Table:
    """One row per cell, leading with the settings that differ, every number with its CI."""
    runs, by = study.runs, study.by
    groups = cell_groups(runs, by)
    keys = varying_keys(runs, by) if by != ["cell"] else ["cell"]
    order = {code: i for i, code in enumerate(cell_codes(cells, by))}
    firsts = runs.iloc[[rows[0] for _, rows in groups]]
    header = [*keys, "runs"]
    kinds = ["set"] * len(keys) + ["num"]
    if study.has_target:
        header += ["reached the target [95 % CI]", "median epochs to target [95 % CI]"]
        kinds += ["num", "num"]
    for m in metrics:
        header.append(f"{_metric_name(m)}: "
                      + " / ".join(STATISTIC_NAMES[s] for s in statistics) + " [95 % CI]")
        kinds.append("num")
    rows, swatches, fallback = [], [], False
    for i, (code, (_, run_rows)) in enumerate(zip(cell_codes(firsts, by), groups, strict=True)):
        if code not in order:
            continue
        row = cells.iloc[order[code]]
        first = runs.iloc[run_rows[0]]
        out = [[format_value(first[k])] for k in keys]
        n = int(row["n"])
        diverged = int(row["n_diverged"]) if "n_diverged" in row and _finite(
            row["n_diverged"]) else 0
        out.append([str(n)] + ([f"{diverged} diverged"] if diverged else []))
        if study.has_target:
            rate = fmt_interval(row["success_rate"], row["success_rate_low"],
                                row["success_rate_high"], percent=True)
            out.append([rate, f"({int(row['n_converged'])}/{n})"])
            out.append([fmt_epochs(row["epochs_median"], row["epochs_median_low"],
                                   row["epochs_median_high"])])
        for m in metrics:
            lines = []
            for s in statistics:
                name = f"{m}_{s}"
                text = fmt_interval(row[name], row[f"{name}_low"], row[f"{name}_high"],
                                    percent=_is_acc(m))
                if str(row.get(f"{name}_method", "")) == "percentile":
                    text += " †"
                    fallback = True
                lines.append(f"{STATISTIC_NAMES[s]} {text}")
            out.append(lines)
        rows.append(out)
        swatches.append(color(i))
    notes = []
    if fallback:
        notes.append("† percentile bootstrap interval: BCa is undefined when the resampled "
                     "values barely vary (e.g. every seed at 100 %).")
    if metrics and (cells["n"] < 2).any():  # "mean 92.5 %" alone: say why
        notes.append("A cell with a single run has no bootstrap interval: one seed says "
                     "nothing about the spread; run more seeds.")
    return Table(header, rows, kinds, swatches, notes)


def compare_table_rows(study: StudyFolder, key: str, table: Any,
                       metrics: Sequence[str]) -> Table:
    """One row per pair (a, b) of values of ``key``: differences a − b [CI], P(a > b),
    p-values adjusted over the whole table (Benjamini–Hochberg)."""
    runs, by = study.runs, study.by
    others = [k for k in varying_keys(runs, by) if k != key and k in table.columns]
    header = [*others, f"{key}: a vs b", "runs a / b"]
    kinds = ["set"] * (len(others) + 1) + ["num"]
    if "rate_diff" in table.columns:
        header.append("success rate a − b [95 % CI]; tests (adjusted p)")
        kinds.append("num")
    for m in metrics:
        header.append(f"{_metric_name(m)}: mean a − b [95 % CI]; P(a > b); adjusted p")
        kinds.append("num")
    rows, fallback = [], False

    def marked(text: str, method: Any) -> str:
        # a percentile interval after a degenerate BCa: every resample gave (nearly) the
        # same difference, e.g. 2/2 against 0/2 seeds: "+100 pp [+100, +100]" beside p = 0.37
        nonlocal fallback
        if str(method) != "percentile" or text == "–":
            return text
        fallback = True
        return text + " †"

    for _, row in table.iterrows():
        out = [[format_value(row[k])] for k in others]
        out.append([format_value(row["a"]), "vs", format_value(row["b"])])
        out.append([f"{int(row['n_a'])} / {int(row['n_b'])}"])
        if "rate_diff" in table.columns:
            lines = [marked(fmt_difference(row["rate_diff"], row.get("rate_diff_low"),
                                           row.get("rate_diff_high"), percent=True),
                            row.get("rate_diff_method"))]
            if "rate_p_adj" in table.columns:
                lines.append(f"exact test p = {fmt_p(row['rate_p_adj'])}")
            if "epochs_p_adj" in table.columns:
                none = (not _finite(row["epochs_p_adj"]) and _finite(row.get("rate_a"))
                        and _finite(row.get("rate_b"))
                        and float(row["rate_a"]) == float(row["rate_b"]) == 0)
                lines.append("log-rank (epochs): no seed reached the target" if none
                             else f"log-rank (epochs) p = {fmt_p(row['epochs_p_adj'])}")
            out.append(lines)
        for m in metrics:
            name = f"{m}_mean_diff"
            if name not in table.columns:
                out.append(["–"])
                continue
            lines = [marked(fmt_difference(row[name], row.get(f"{name}_low"),
                                           row.get(f"{name}_high"), percent=_is_acc(m)),
                            row.get(f"{name}_method"))]
            if f"{m}_poi" in table.columns:
                poi = row[f"{m}_poi"]
                lines.append(f"P(a > b) = {float(poi):.2f}" if _finite(poi) else "P(a > b) –")
            if f"{m}_p_adj" in table.columns:
                lines.append(f"p = {fmt_p(row[f'{m}_p_adj'])}")
            out.append(lines)
        rows.append(out)
    notes = []
    if fallback:
        notes.append("† percentile bootstrap interval: every resample gave (nearly) the same "
                     "difference, as when each cell's seeds all reached the target or none "
                     "did. A zero-width interval then does not mean the difference is "
                     "certain: read the two cells' Wilson intervals and the exact test.")
    partners = [k for k in by if k in zip_partners(key, study.spec.get("zip"))]
    if partners:  # what moves with each value of a zipped key
        pairs = dict.fromkeys(  # column by column: a row of mixed columns turns 1 into 1.0
            f"{format_value(v)} with " + ", ".join(
                f"{p}={format_value(w)}" for p, w in zip(partners, ws, strict=True))
            for v, *ws in zip(runs[key], *(runs[p] for p in partners), strict=True))
        notes.append(f"{key} is zipped with {', '.join(partners)}: {'; '.join(pairs)}.")
    return Table(header, rows, kinds, notes=notes)


# ----------------------------------------------------------------------------- the report


def _varied(study: StudyFolder) -> list[tuple[str, str]]:
    """(what, text) lines of the 'what was varied' list."""
    spec, runs = study.spec, study.runs
    out: list[tuple[str, str]] = []
    grid = spec.get("grid") if isinstance(spec.get("grid"), dict) else None
    zipped = spec.get("zip") if isinstance(spec.get("zip"), list) else []
    if grid is None and not spec:  # no study.toml: the values found in runs.csv
        grid = {k: list(dict.fromkeys(runs[k].tolist())) for k in study.grid}
    grid = grid or {}  # (a study of zip groups alone has no grid table)
    for key, values in grid.items():
        vals = values if isinstance(values, list) else [values]
        out.append((str(key), ", ".join(format_value(v) for v in vals)))
    for group in zipped:
        if isinstance(group, dict):
            for key, values in group.items():
                vals = values if isinstance(values, list) else [values]
                out.append((f"{key} (zipped)", ", ".join(format_value(v) for v in vals)))
    n_cells = len(cell_groups(runs, study.by))
    per_cell = runs.groupby("cell").size()
    seeds = spec.get("seeds", study.summary.get("seeds"))
    seeds_text = (f"{seeds} per cell" if isinstance(seeds, int)
                  else f"indices {', '.join(map(str, seeds))}" if isinstance(seeds, list)
                  else f"{int(per_cell.max())} per cell")
    if isinstance(spec.get("seed"), int):
        seeds_text += f"; study seed {spec['seed']}"
    vary = spec.get("vary", "init")
    seeds_text += ("; seeds vary the initialisation and batch order" if vary == "init"
                   else "; seeds vary the initialisation, batch order, data draw and split"
                   if vary == "data" else "")
    out += [("cells", str(n_cells)), ("seeds", seeds_text)]
    target = target_text(study.target)
    if study.has_target:
        budgets = sorted({float(b) for b in runs["epochs_budget"] if _finite(b)})
        budget = " / ".join(f"{b:g}" for b in budgets)
        out.append(("target", f"{target or 'reached'} within {budget} epochs"))
    else:
        out.append(("target", target or "none"))
    return out


def _status(study: StudyFolder) -> tuple[str, str | None]:
    """Status line and a warning for an unfinished study."""
    s = study.summary
    status = str(s.get("status", "unknown"))
    done, total = s.get("runs_done", len(study.runs)), s.get("n_runs")
    parts = [f"status: {status}", f"{len(study.runs)} runs in runs.csv"]
    if total is not None:
        parts.append(f"{done} of {total} runs done")
    if _finite(s.get("wall_seconds")):
        parts.append(f"{float(s['wall_seconds']):.1f} s wall time")
    if s.get("backend"):
        parts.append(f"backend: {s['backend']}")
    warning = None
    if status != "finished":
        warning = (f"This study is {status}: the numbers describe the {len(study.runs)} runs "
                   "finished so far and will change.")
        if s.get("error"):
            warning += f" The error: {str(s['error'])[:300]}"
    return "; ".join(parts), warning


def _commands(study: StudyFolder, folder: Path) -> list[str]:
    if study.study_text is None:
        return []
    cmds = [f"neuralab study {shlex.quote(str(folder / 'study.toml'))}"]
    if study.summary.get("status") not in (None, "finished"):
        cmds.append(f"neuralab study --resume {shlex.quote(str(folder))}")
    return cmds


def _png(study: StudyFolder, name: str) -> Path | None:
    """plots/<name>.png when it exists, is a PNG and is not older than runs.csv."""
    path = safe_file(study.path, f"plots/{name}.png", MAX_IMAGE_BYTES)
    runs = study.path / "runs.csv"
    if path is None or path.stat().st_mtime < runs.stat().st_mtime:
        return None
    with open(path, "rb") as f:
        return path if f.read(8) == PNG_SIGNATURE else None


def _render(make: Callable[[], Any]) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Glyph", UserWarning)
        make().savefig(buf, format="png", dpi=100)
    return buf.getvalue()


@dataclass
class _Report:
    title: str
    status: str
    warning: str | None
    varied: list[tuple[str, str]]
    cells: Table
    compares: dict[str, Table]
    source: str
    plots: list[tuple[str, str, Path | None, Callable[[], Any]]]  # name, caption, png, make
    commands: list[str]
    study_text: str | None


def _figure_tables(study: StudyFolder, cells: Any = None) -> dict[str, Any]:
    """The statistics the success-rate and convergence figures draw (studies with a target):
    ``cells`` in cell order (rates only when not given) and the Kaplan–Meier curves."""
    if not study.has_target:
        return {}
    from neuralab.studies import stats

    runs, by = study.runs, study.by
    if cells is None:
        cells = stats.cell_table(runs, grid=by, metrics=[])  # rates only: no bootstrap
    position = {code: i for i, code in enumerate(cell_codes(cells, by))}
    order = [position[code] for code in cell_codes(runs.iloc[[r[0] for _, r in
                                                              cell_groups(runs, by)]], by)
             if code in position]
    return {"cells": cells.iloc[order].reset_index(drop=True),  # colours follow cell order
            "convergence_table": stats.convergence_curves(runs, grid=by)}


def write_study_plots(folder: str | os.PathLike,
                      formats: Sequence[str] = ("png",)) -> list[Path]:
    """Write every figure of the study ``folder`` into its ``plots/``; returns the paths.

    Computes the statistics tables the figures need (``neuralab.studies.stats``) and calls
    :func:`neuralab.viz.studies.study_plots`, which draws them.
    """
    study = read_study_folder(folder)
    return study_plots(study, formats=formats, **_figure_tables(study))


def _build(folder: str | os.PathLike, title: str | None, metrics: Sequence[str] | None,
           statistics: Sequence[str], with_plots: bool) -> _Report:
    study = read_study_folder(folder)
    for s in statistics:
        if s not in STATISTIC_NAMES:
            raise ValueError(f"statistics={list(statistics)}: {s!r} is not one of "
                             f"{', '.join(STATISTIC_NAMES)}")
    if metrics is None:
        metrics = [m for m in main_metrics(study.runs.columns)
                   if np.isfinite(study.runs[m].to_numpy(dtype=float)).any()]
    else:
        metrics = list(metrics)
        bad = [m for m in metrics if m not in study.runs.columns or "." in m]
        if bad:
            raise ValueError(f"metrics={metrics}: {bad} are not metric columns of runs.csv; "
                             f"its columns are {list(map(str, study.runs.columns))}")
    cells, compares, source = _statistics_tables(study, metrics, statistics)
    status, warning = _status(study)
    plots = [(name, plot_title(name), _png(study, name), make)
             for name, make in study_figures(study, **_figure_tables(study, cells))
             ] if with_plots else []
    return _Report(
        title=title or f"Study: {study.name}", status=status, warning=warning,
        varied=_varied(study), cells=cell_table_rows(study, cells, metrics, statistics),
        compares={k: compare_table_rows(study, k, t, metrics) for k, t in compares.items()},
        source=source, plots=plots, commands=_commands(study, Path(folder)),
        study_text=study.study_text)


EXPLAIN = ("Each interval is a 95 % confidence interval: Wilson for success rates, "
           "Kaplan–Meier for the median epoch (\"not reached\": fewer than half the seeds "
           "reached the target within the budget), bootstrap (BCa) for means, medians and "
           "IQMs (the mean of the middle 50 % of seeds). docs/studies.md explains each.")
EXPLAIN_COMPARE = ("a − b with a bootstrap 95 % interval; P(a > b) is the probability that a "
                   "random seed of a beats one of b (0.5: no tendency; for a loss read "
                   "1 − P); p-values are adjusted for the number of tests "
                   "(Benjamini–Hochberg) over the table.")


# -- HTML ----------------------------------------------------------------------------------


def _html_text(line: str) -> str:
    """Escaped text where a number stays with its % and an interval with its bracket."""
    e = html.escape(line)
    return e.replace(" %", "\u00a0%").replace(", ", ",\u00a0") if "[" in line else e


def _html_table(table: Table) -> str:
    e = html.escape
    head = "".join(f"<th>{e(h).replace('.', '.<wbr>')}</th>" for h in table.header)
    body = []
    for r, row in enumerate(table.rows):
        cells = []
        for c, (lines, kind) in enumerate(zip(row, table.kinds, strict=True)):
            swatch = (f'<span class="sw" style="background:{table.swatches[r]}"></span>'
                      if c == 0 and table.swatches else "")  # the cell's colour in the plots
            text = "".join(f'<span class="ln">{swatch if i == 0 else ""}{_html_text(ln)}</span>'
                           for i, ln in enumerate(lines))
            cells.append(f'<td class="{kind}">{text}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    notes = "".join(f'<p class="muted">{e(n)}</p>' for n in table.notes)
    return (f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
            + notes)


def html_study_report(report: _Report) -> str:
    """The HTML text of a study report (self-contained)."""
    e = html.escape
    parts = ["<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
             f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{e(report.title)}</title><style>{STUDY_CSS}</style></head><body>",
             f"<h1>{e(report.title)}</h1>",
             f'<p class="muted">{e(report.status)}; generated '
             f'{e(time.strftime("%Y-%m-%d %H:%M"))} by neuralab</p>']
    if report.warning:
        parts.append(f'<p class="warn">{e(report.warning)}</p>')
    parts.append("<h2>What was varied</h2><ul>")
    parts += [f"<li><b>{e(k)}</b>: {e(v)}</li>" for k, v in report.varied]
    parts += ["</ul>", "<h2>Cells</h2>", f'<p class="muted">{e(EXPLAIN)}</p>',
              _html_table(report.cells)]
    if report.compares:
        parts += ["<h2>Comparisons</h2>", f'<p class="muted">{e(EXPLAIN_COMPARE)}</p>']
        for key, table in report.compares.items():
            parts += [f"<h3>{e(key)}</h3>", _html_table(table)]
    if report.plots:
        parts.append("<h2>Plots</h2>")
        for _, caption, png, make in report.plots:
            data = png.read_bytes() if png is not None else _render(make)
            parts.append(_img(data, f"{report.title}: {caption}", caption))
    if report.commands:
        parts += ["<h2>Re-run</h2>", "<pre>" + e("\n".join(report.commands)) + "</pre>"]
    if report.study_text is not None:
        parts += ["<h2>Config</h2>", "<details><summary>study.toml</summary><pre>"
                  f"{e(report.study_text)}</pre></details>"]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


# -- Markdown ------------------------------------------------------------------------------


def _md(value: Any) -> str:
    """Text for a Markdown line or table cell: pipes and newlines neutralised, and HTML
    escaped (Markdown renderers pass raw HTML through, so a label "<script>" must not)."""
    return html.escape(_md_cell(value), quote=False)


def _md_table(table: Table) -> list[str]:
    out = ["| " + " | ".join(_md(h) for h in table.header) + " |",
           "|" + "|".join("---:" if k == "num" else "---" for k in table.kinds) + "|"]
    for row in table.rows:
        out.append("| " + " | ".join("<br>".join(_md(ln) for ln in lines)
                                     for lines in row) + " |")
    return [*out, "", *table.notes]


def markdown_study_report(report: _Report, output: Path) -> tuple[str, dict[Path, bytes]]:
    """Markdown text (images linked relative to ``output``) and the images to write."""
    extra: dict[Path, bytes] = {}
    lines = [f"# {_md(report.title)}", "", f"_{_md(report.status)}_", ""]
    if report.warning:
        lines += [f"> {_md(report.warning)}", ""]
    lines += ["## What was varied", ""]
    lines += [f"- **{_md(k)}**: {_md(v)}" for k, v in report.varied]
    lines += ["", "## Cells", "", EXPLAIN, "", *_md_table(report.cells), ""]
    if report.compares:
        lines += ["## Comparisons", "", EXPLAIN_COMPARE, ""]
        for key, table in report.compares.items():
            lines += [f"### {_md(key)}", "", *_md_table(table), ""]
    if report.plots:
        lines += ["## Plots", ""]
        for name, caption, png, make in report.plots:
            if png is None:
                png = output.with_name(f"{output.stem}-{name}.png")
                extra[png] = _render(make)
            rel = Path(os.path.relpath(png.resolve(), output.resolve().parent)).as_posix()
            lines += [f"![{_md(caption)}]({rel})", ""]
    if report.commands:
        lines += ["## Re-run", "", "```bash", *report.commands, "```", ""]
    return "\n".join(lines), extra


# ----------------------------------------------------------------------------- entry point


def write_study_report(folder: str | os.PathLike, out_path: str | os.PathLike, *,
                       title: str | None = None, metrics: Sequence[str] | None = None,
                       statistics: Sequence[str] = ("mean", "median", "iqm"),
                       plots: bool = True) -> Path:
    """Write the report of the study ``folder`` to ``out_path`` (.html or .md); its path.

    ``metrics``: runs.csv columns to summarise (default: the final accuracies, or the final
    losses of a regression). ``statistics``: any of "mean", "median", "iqm". The figures of
    ``plots/`` are reused when they are not older than runs.csv, otherwise drawn afresh
    (``plots=False`` leaves them out: a quick table-only report). A folder that is not a
    study, a malformed runs.csv / summary.json / study.toml, or a link out of the folder is
    a ValueError naming the file.
    """
    output = Path(out_path)
    if output.suffix.lower() not in (".html", ".htm", ".md"):
        raise ValueError(f"out_path={str(output)!r}: the report must be a .html or .md file")
    report = _build(folder, title, metrics, statistics, plots)
    output = output_file(output, create=True)  # a file where its folder should be: refused
    if output.suffix.lower() == ".md":
        text, extra = markdown_study_report(report, output)
        for path, data in extra.items():
            _write(path, data)
    else:
        text = html_study_report(report)
    _write(output, text.encode("utf-8"))
    return output


def _write(path: Path, data: bytes) -> None:
    with atomic_file(path) as f:  # a crash leaves the old file or the new one
        f.write(data)


__all__ = ["fmt_difference", "fmt_epochs", "fmt_interval", "fmt_p", "write_study_plots",
           "write_study_report"]
