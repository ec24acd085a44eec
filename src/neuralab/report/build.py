"""Reports of one or several runs: a self-contained HTML page or Markdown for a write-up.

HTML embeds every image as base64 PNG and inlines its style; a Content-Security-Policy
forbids loading anything else, so the file opens offline, can be mailed, and never
reaches the network. Every string that comes from a run (names, config, values) is
escaped.
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from neuralab.report.runs import RunInfo, load_run

PLOT_TITLES = {
    "curves": "Loss and accuracy curves",
    "decision_boundary": "Decision boundary",
    "confusion": "Confusion matrix",
    "class_errors": "Per-class error",
    "first_layer_weights": "First-layer weights",
    "hidden_activations": "Hidden neurons' activations",
}
CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;
max-width:1100px;padding:0 1rem;color:#222;line-height:1.45}
h1{font-size:1.6rem}h2{border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2.2rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.25rem .6rem;text-align:left}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
figure{display:inline-block;margin:.6rem 1rem .6rem 0;vertical-align:top}
figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.85rem;color:#555}
pre{background:#f7f7f7;padding:.6rem;overflow:auto;font-size:.8rem}
.muted{color:#666;font-size:.9rem}
"""
SUMMARY_KEYS = ("status", "data", "model", "epochs_trained", "converged_epoch", "best_epoch",
                "train_seconds", "wall_seconds", "resumed_from_epoch")


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        return f"{value:.4f}" if abs(value) < 1e5 else f"{value:.4g}"
    if isinstance(value, list):
        return ", ".join(_fmt(v) for v in value)
    return str(value)


def _metrics(run: RunInfo) -> dict[str, Any]:
    return {f"final {k}": v for k, v in run.final.items()}


def comparison_rows(runs: Sequence[RunInfo]) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of the comparison table (one row per run)."""
    metric_keys: list[str] = []
    for run in runs:
        for k in run.final:
            if k not in metric_keys:
                metric_keys.append(k)
    best_keys = []
    for run in runs:
        for k in (run.summary.get("best") or {}):
            if k.startswith("val") and k not in best_keys:
                best_keys.append(k)
    header = ["run", "data", "model", "epochs", *metric_keys,
              *[f"best {k} (epoch)" for k in best_keys], "converged epoch", "train s"]
    rows = []
    for run in runs:
        s = run.summary
        best = s.get("best") or {}
        rows.append([run.name, s.get("data"), s.get("model"), s.get("epochs_trained"),
                     *[run.final.get(k) for k in metric_keys],
                     *[f"{_fmt(best[k]['value'])} ({best[k]['epoch']})" if k in best else None
                       for k in best_keys],
                     s.get("converged_epoch"), s.get("train_seconds")])
    return header, rows


def _overlay_pngs(runs: Sequence[RunInfo]) -> dict[str, bytes]:
    """Overlaid curves of several runs as PNG bytes (accuracy and loss)."""
    from neuralab.viz import plot_compare

    out = {}
    sources = {f"{i + 1}. {r.name}": r.rows for i, r in enumerate(runs)
               if r.rows and "classifier" not in r.columns}
    if len(sources) < 2:
        return out
    for metric in ("acc", "loss"):
        if not any(any(c.endswith(f"_{metric}") for c in r.columns) for r in runs):
            continue
        fig = plot_compare(sources, metric=metric)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=100)
        out[metric] = buf.getvalue()
    return out


# -- HTML --------------------------------------------------------------------------------------
def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    e = html.escape
    head = "".join(f"<th>{e(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(
            f'<td class="num">{e(_fmt(v))}</td>' if isinstance(v, (int, float))
            and not isinstance(v, bool) else f"<td>{e(_fmt(v))}</td>" for v in row) + "</tr>"
        for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _img(png: bytes, alt: str, caption: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def _run_section(run: RunInfo, index: int) -> str:
    e = html.escape
    s = run.summary
    info = [(k.replace("_", " "), s.get(k)) for k in SUMMARY_KEYS if k in s]
    info += list(_metrics(run).items())
    per_class = s.get("per_class_error") or {}
    parts = [f'<section id="run-{index}"><h2>{index}. {e(run.name)}</h2>',
             f'<p class="muted">{e(str(run.path))}</p>', "<h3>Summary</h3>",
             _table(["", "value"], info)]
    if per_class:
        split = s.get("split", "test")
        rates = s.get("binary_error_rates") or {}
        header = ["class", f"error within class ({split})"] + (
            ["one-vs-rest binary error"] if rates else [])
        rows = [[k, v, *([rates.get(k)] if rates else [])] for k, v in per_class.items()]
        parts += ["<h3>Per class</h3>", _table(header, rows)]
    if run.plots:
        parts.append("<h3>Plots</h3>")
        for name, path in run.plots.items():
            parts.append(_img(path.read_bytes(), f"{run.name}: {name}",
                              PLOT_TITLES.get(name, name.replace("_", " "))))
    parts += ["<h3>Config</h3>", f"<details><summary>config.toml</summary><pre>"
              f"{e(run.config_text)}</pre></details>", "</section>"]
    return "\n".join(parts)


def html_report(runs: Sequence[RunInfo], title: str = "neuralab report") -> str:
    """The HTML text of a report on ``runs`` (self-contained)."""
    e = html.escape
    parts = ["<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
             "img-src data:; style-src 'unsafe-inline'\">",
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{e(title)}</title><style>{CSS}</style></head><body>",
             f"<h1>{e(title)}</h1>",
             f'<p class="muted">{len(runs)} run(s); generated {e(time.strftime("%Y-%m-%d %H:%M"))}'
             " by neuralab</p>"]
    if len(runs) > 1:
        header, rows = comparison_rows(runs)
        parts += ["<h2>Comparison</h2>", _table(header, rows)]
        for metric, png in _overlay_pngs(runs).items():
            name = "accuracy" if metric == "acc" else "loss"
            parts.append(_img(png, f"overlaid {name} curves", f"{name} of every run "
                              "(solid train, dashed val, dotted test)"))
    for i, run in enumerate(runs, 1):
        parts.append(_run_section(run, i))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


# -- Markdown ----------------------------------------------------------------------------------
def _md_cell(value: Any) -> str:
    return _fmt(value).replace("|", "\\|").replace("\n", " ")


def _md_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    out = ["| " + " | ".join(_md_cell(h) for h in header) + " |",
           "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in rows]
    return out


def markdown_report(runs: Sequence[RunInfo], output: Path, title: str = "neuralab report"
                    ) -> tuple[str, dict[Path, bytes]]:
    """Markdown text (images linked relative to ``output``) and extra images to write."""
    extra: dict[Path, bytes] = {}
    lines = [f"# {title}", ""]
    if len(runs) > 1:
        header, rows = comparison_rows(runs)
        lines += ["## Comparison", "", *_md_table(header, rows), ""]
        for metric, png in _overlay_pngs(runs).items():
            img = output.with_name(f"{output.stem}-{'accuracy' if metric == 'acc' else 'loss'}.png")
            extra[img] = png
            lines += [f"![{metric} of every run]({img.name})", ""]
    for i, run in enumerate(runs, 1):
        s = run.summary
        lines += [f"## {i}. {run.name}", "", f"Run folder: `{run.path}`", ""]
        info = [(k.replace("_", " "), s.get(k)) for k in SUMMARY_KEYS if k in s]
        lines += [*_md_table(["", "value"], info + list(_metrics(run).items())), ""]
        for name, path in run.plots.items():
            rel = os.path.relpath(path.resolve(), output.resolve().parent)
            lines += [f"![{PLOT_TITLES.get(name, name)}]({Path(rel).as_posix()})", ""]
    return "\n".join(lines), extra


def write_report(run_dirs: Sequence[str | os.PathLike], output: str | os.PathLike,
                 title: str | None = None) -> Path:
    """Write the report of ``run_dirs`` to ``output`` (.html or .md); returns its path."""
    from neuralab.experiments.config import ConfigError
    from neuralab.experiments.run import atomic_write_bytes, atomic_write_text

    output = Path(output)
    if output.suffix.lower() not in (".html", ".htm", ".md"):
        raise ConfigError(f"-o {output}: the report must be a .html or .md file")
    if not run_dirs:
        raise ConfigError("give at least one run folder")
    runs = [load_run(p) for p in run_dirs]
    title = title or ("neuralab report: " + ", ".join(r.name for r in runs[:3])
                      + (" ..." if len(runs) > 3 else ""))
    if output.parent and not output.parent.exists():
        output.parent.mkdir(parents=True, exist_ok=True)
    if output.suffix.lower() == ".md":
        text, extra = markdown_report(runs, output, title)
        for path, data in extra.items():
            atomic_write_bytes(path, data)
    else:
        text = html_report(runs, title)
    atomic_write_text(output, text)
    return output


__all__ = ["comparison_rows", "html_report", "markdown_report", "write_report"]
