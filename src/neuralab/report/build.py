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

from neuralab._atomic import output_file, read_confined
from neuralab.report.runs import MAX_IMAGE_BYTES, RunInfo, load_run

# In this order in a report: what a reader looks at first (the boundary, the curves, a
# regression's fit) before the diagnostics.
PLOT_TITLES = {
    "decision_boundary": "Decision boundary",
    "curves": "Loss and accuracy curves",
    "fit": "Fitted line or surface",
    "predicted_vs_true": "Predicted vs true, residuals",
    "confusion": "Confusion matrix",
    "class_errors": "Per-class error",
    "hidden_activations": "Hidden neurons' activations",
    "first_layer_weights": "First-layer weights",
    "conv_filters": "First-layer filters",
    "feature_maps": "Feature maps of one input",
}
PLOT_ORDER = {name: i for i, name in enumerate(PLOT_TITLES)}
# Settings never compared: where and how a run was saved, and its name (its own column).
NOT_SETTINGS = ("output.",)
CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;
max-width:1100px;padding:0 1rem;color:#222;line-height:1.45}
h1{font-size:1.6rem;overflow-wrap:anywhere}
h2{border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2.2rem;overflow-wrap:anywhere}
table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem;max-width:100%}
th,td{border:1px solid #ccc;padding:.25rem .6rem;text-align:left}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
table.compare{font-size:.8rem}table.compare th,table.compare td{padding:.2rem .35rem}
table.compare td{overflow-wrap:anywhere}table.compare th{font-weight:600}
table.compare th.differs{background:#fff3cd}table.compare td.differs{background:#fffbea}
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


def run_labels(runs: Sequence[RunInfo]) -> list[str]:
    """A name per run that tells runs apart: the run's name, and for names that several runs
    share, the rest of the folder name (its time stamp) or, failing that, its folder path."""
    names = [r.name for r in runs]
    labels = list(names)
    for i, run in enumerate(runs):
        if names.count(run.name) > 1:
            folder = run.path.name
            rest = folder[len(run.name) + 1:] if folder.startswith(run.name + "-") else folder
            labels[i] = f"{run.name} ({rest})"
    first = list(labels)
    for i, run in enumerate(runs):
        if first.count(first[i]) > 1:  # same folder name under different parents
            labels[i] = f"{run.name} ({run.path.parent.name}/{run.path.name})"
    second = list(labels)
    return [f"{lab} #{i + 1}" if second.count(lab) > 1 else lab
            for i, lab in enumerate(second)]


def _setting(value: Any) -> str | None:
    """A config value as written in a config (lr 1e-05, not the metrics' 0.0000)."""
    if value is None:
        return None
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return ", ".join(_setting(v) or "" for v in value)
    return str(value).lower() if isinstance(value, bool) else str(value)


def _flat(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"optim": {"lr": 0.1}}`` → ``{"optim.lr": 0.1}``."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def settings(runs: Sequence[RunInfo]) -> tuple[list[str], dict[str, Any]]:
    """``(differ, same)``: the config keys whose values differ between the runs (in config
    order; a key a run lacks counts as different), and the keys every run shares with their
    one value."""
    flats = [{k: v for k, v in _flat(r.config).items() if not k.startswith(NOT_SETTINGS)}
             for r in runs]
    keys = list(dict.fromkeys(k for f in flats for k in f))
    missing = object()
    differ, same = [], {}
    for k in keys:
        values = [f.get(k, missing) for f in flats]
        if all(v == values[0] for v in values[1:]) and values[0] is not missing:
            same[k] = values[0]
        else:
            differ.append(k)
    return differ, same


def comparison_rows(runs: Sequence[RunInfo]) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of the comparison table (one row per run): the run, then the settings
    that differ between the runs, then epochs and the final and best metrics."""
    differ, _ = settings(runs)
    flats = [_flat(r.config) for r in runs]
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
    header = ["run", *differ, "epochs", *metric_keys,
              *[f"best {k} (epoch)" for k in best_keys], "converged epoch", "train s"]
    rows = []
    for run, label, flat in zip(runs, run_labels(runs), flats, strict=True):
        s = run.summary
        best = s.get("best") or {}
        rows.append([label, *[_setting(flat.get(k)) for k in differ], s.get("epochs_trained"),
                     *[run.final.get(k) for k in metric_keys],
                     *[f"{_fmt(best[k]['value'])} ({best[k]['epoch']})" if k in best else None
                       for k in best_keys],
                     s.get("converged_epoch"), s.get("train_seconds")])
    return header, rows


def comparison_figures(runs: Sequence[RunInfo]) -> dict[str, Any]:
    """The runs' accuracy and loss curves side by side (matplotlib Figures: one axes with the
    legend outside for up to 6 runs, one small panel per run above)."""
    from neuralab.viz import plot_compare

    out = {}
    # the columns themselves (never a dict per row: a run may have millions of rows)
    sources = {f"{i + 1}. {label}": r.metrics for i, (r, label) in
               enumerate(zip(runs, run_labels(runs), strict=True))
               if len(next(iter(r.metrics.values()), ())) and "classifier" not in r.columns}
    if len(sources) < 2:
        return out
    for metric in ("acc", "loss"):
        if not any(any(c.endswith(f"_{metric}") for c in r.columns) for r in runs):
            continue
        out[metric] = plot_compare(sources, metric=metric)
    return out


def _overlay_pngs(runs: Sequence[RunInfo]) -> dict[str, bytes]:
    """:func:`comparison_figures` as PNG bytes."""
    out = {}
    for metric, fig in comparison_figures(runs).items():
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=100)
        out[metric] = buf.getvalue()
    return out


# -- HTML --------------------------------------------------------------------------------------
def _table(header: Sequence[str], rows: Sequence[Sequence[Any]], *, css: str = "",
           marked: Sequence[int] = ()) -> str:
    """An HTML table; columns in ``marked`` get the class "differs"."""
    e = html.escape

    def cls(j: int, num: bool) -> str:
        names = " ".join(n for n, on in (("num", num), ("differs", j in marked)) if on)
        return f' class="{names}"' if names else ""

    def head_text(h: str) -> str:  # may break after each dot of a key (data.options.noise)
        return ".<wbr>".join(e(part) for part in str(h).split("."))

    head = "".join(f"<th{cls(j, False)}>{head_text(h)}</th>" for j, h in enumerate(header))
    body = "".join(
        "<tr>" + "".join(
            f"<td{cls(j, isinstance(v, (int, float)) and not isinstance(v, bool))}>"
            f"{e(_fmt(v))}</td>" for j, v in enumerate(row)) + "</tr>"
        for row in rows)
    attr = f' class="{css}"' if css else ""
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _comparison_html(runs: Sequence[RunInfo]) -> list[str]:
    """The comparison section: the table (settings that differ first, highlighted), the
    settings every run shares, and the curves."""
    e = html.escape
    differ, same = settings(runs)
    header, rows = comparison_rows(runs)
    parts = ["<h2>Comparison</h2>"]
    if differ:
        parts.append(f'<p class="muted">Highlighted: the {len(differ)} setting(s) that differ '
                     "between the runs.</p>")
    else:
        parts.append('<p class="muted">Every run has the same settings.</p>')
    parts.append(_table(header, rows, css="compare", marked=range(1, 1 + len(differ))))
    if same:
        items = "".join(f"<li><code>{e(k)}</code> = {e(_setting(v) or '–')}</li>"
                        for k, v in same.items())
        parts.append(f"<details><summary>Settings every run shares ({len(same)})</summary>"
                     f'<ul class="muted">{items}</ul></details>')
    for metric, png in _overlay_pngs(runs).items():
        name = "accuracy" if metric == "acc" else "loss"
        parts.append(_img(png, f"{name} curves of every run", f"{name} of every run "
                          "(solid train, dashed val, dotted test)"))
    return parts


def _img(png: bytes, alt: str, caption: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def _plots_in_order(run: RunInfo) -> list[tuple[str, Path]]:
    """The run's plots, the boundary and curves first (:data:`PLOT_TITLES`' order)."""
    return sorted(run.plots.items(), key=lambda item: (PLOT_ORDER.get(item[0], len(PLOT_ORDER)),
                                                       item[0]))


def _network_rows(network: Any) -> list[list[Any]]:
    """summary.json's ``network`` (a CNN run's layers) as table rows; [] for anything else
    (a run folder may come from anyone: only strings and whole numbers are shown)."""
    if not isinstance(network, list) or len(network) > 1000:
        return []
    rows = []
    for item in network:
        if not isinstance(item, dict):
            return []
        layer, shape, n = item.get("layer"), item.get("output_shape"), item.get("parameters")
        if not (isinstance(layer, str) and isinstance(shape, list) and isinstance(n, int)
                and all(isinstance(d, int) for d in shape)):
            return []
        rows.append([layer[:200], " × ".join(map(str, shape)), n])
    return rows


NETWORK_HEADER = ["layer", "output shape", "parameters"]


def _network_table(summary: dict[str, Any]) -> list[list[Any]]:
    """A CNN run's layer rows and their total ([] for other runs): the report's Network
    table, in HTML and Markdown."""
    rows = _network_rows(summary.get("network"))
    return [*rows, ["total", "", sum(row[2] for row in rows)]] if rows else []


def _plot_title(name: str) -> str:
    return PLOT_TITLES.get(name, name.replace("_", " "))


def _run_section(run: RunInfo, index: int, label: str | None = None) -> str:
    e = html.escape
    s = run.summary
    info = [(k.replace("_", " "), s.get(k)) for k in SUMMARY_KEYS if k in s]
    info += list(_metrics(run).items())
    per_class = s.get("per_class_error") or {}
    parts = [f'<section id="run-{index}"><h2>{index}. {e(label or run.name)}</h2>',
             f'<p class="muted">{e(str(run.path))}</p>']
    plots = _plots_in_order(run)
    if plots:  # the pictures first: what a reader came for
        parts.append("<h3>Plots</h3>")
        for name, path in plots:
            # read again through the check: the folder may have changed since load_run
            png = read_confined(run.path, f"plots/{path.name}", MAX_IMAGE_BYTES) or b""
            parts.append(_img(png, f"{run.name}: {name}", _plot_title(name)))
    parts += ["<h3>Summary</h3>", _table(["", "value"], info)]
    network = _network_table(s)
    if network:
        parts += ["<h3>Network</h3>", _table(NETWORK_HEADER, network)]
    if per_class:
        split = s.get("split", "test")
        rates = s.get("binary_error_rates") or {}
        header = ["class", f"error within class ({split})"] + (
            ["one-vs-rest binary error"] if rates else [])
        rows = [[k, v, *([rates.get(k)] if rates else [])] for k, v in per_class.items()]
        parts += ["<h3>Per class</h3>", _table(header, rows)]
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
        parts += _comparison_html(runs)
    for i, (run, label) in enumerate(zip(runs, run_labels(runs), strict=True), 1):
        parts.append(_run_section(run, i, label))
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
        differ, same = settings(runs)
        lines += ["## Comparison", ""]
        if differ:
            lines += [f"Settings that differ: {', '.join(f'`{k}`' for k in differ)}.", ""]
        lines += [*_md_table(header, rows), ""]
        if same:
            lines += ["Settings every run shares: "
                      + ", ".join(f"`{k}` = {_md_cell(_setting(v))}" for k, v in same.items())
                      + ".", ""]
        for metric, png in _overlay_pngs(runs).items():
            img = output.with_name(f"{output.stem}-{'accuracy' if metric == 'acc' else 'loss'}.png")
            extra[img] = png
            lines += [f"![{metric} of every run]({img.name})", ""]
    for i, (run, label) in enumerate(zip(runs, run_labels(runs), strict=True), 1):
        s = run.summary
        lines += [f"## {i}. {label}", "", f"Run folder: `{run.path}`", ""]
        for name, path in _plots_in_order(run):
            rel = os.path.relpath(path.resolve(), output.resolve().parent)
            lines += [f"![{_plot_title(name)}]({Path(rel).as_posix()})", ""]
        info = [(k.replace("_", " "), s.get(k)) for k in SUMMARY_KEYS if k in s]
        lines += [*_md_table(["", "value"], info + list(_metrics(run).items())), ""]
        network = _network_table(s)
        if network:
            lines += ["### Network", "", *_md_table(NETWORK_HEADER, network), ""]
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
    output = output_file(output, create=True)  # a file where its folder should be: refused
    title = title or ("neuralab report: " + ", ".join(r.name for r in runs[:3])
                      + (" ..." if len(runs) > 3 else ""))
    if output.suffix.lower() == ".md":
        text, extra = markdown_report(runs, output, title)
        for path, data in extra.items():
            atomic_write_bytes(path, data)
    else:
        text = html_report(runs, title)
    atomic_write_text(output, text)
    return output


__all__ = ["comparison_figures", "comparison_rows", "html_report", "markdown_report",
           "run_labels", "settings", "write_report"]
