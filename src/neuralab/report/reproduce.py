"""The report of a reproduction: every catalogue entry's claims, verdicts and plots.

One self-contained HTML page (or Markdown): a table with one row per claim (entry, the
report's figure, neuralab's figure with its interval and number of seeds, the verdict),
then a section per entry with the report's quote beside the study's plots, the settings the
report gives and leaves out, the explanation of a disagreement, and the exact command that
re-runs it. Entries that need data and were not run are listed with the download command.
"""

from __future__ import annotations

import html
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from neuralab._atomic import atomic_file, output_file
from neuralab.report.build import _img, _md_cell
from neuralab.report.study import CSP, STUDY_CSS, _build, _render
from neuralab.reproduce.catalogue import Entry, download_commands
from neuralab.reproduce.runner import OUT, EntryResult, command, load_result
from neuralab.reproduce.verdict import Verdict, fmt, is_percent

CSS = STUDY_CSS + """
.agrees{color:#1a7f37;font-weight:600}.disagrees{color:#b42318;font-weight:600}
.undecided{color:#9a6700;font-weight:600}
.side{display:grid;grid-template-columns:minmax(16rem,1fr) 2fr;gap:1rem;align-items:start}
blockquote{border-left:3px solid #bbb;margin:0;padding:.3rem .8rem;color:#333}
@media (max-width:900px){.side{grid-template-columns:1fr}}
"""
EXPLAIN = ("A value agrees when the report's figure lies inside neuralab's 95 % interval over "
           "seeds (Wilson for rates, bootstrap for means), or, for a single run in the "
           "report, inside the seeds' 2.5–97.5 % range; a direction agrees when the 95 % "
           "interval of the difference excludes zero in that direction; exact claims are "
           "computed. n is the number of seeds (cases for an exact claim).")


def report_figure(entry: Entry, index: int) -> str:
    """The report's figure of claim ``index`` as text (as many digits as the report gave)."""
    claim = entry.claims[index]
    if claim.kind == "value":
        x = claim.report_value
        text = f"{100 * x:.4g} %" if is_percent(claim.metric) else f"{x:.4g}"
        return text + (" (one run)" if claim.single_run else "")
    if claim.kind == "direction":
        vs = "the other" if claim.worse is not None else fmt(claim.than,
                                                             is_percent(claim.metric))
        return f"{claim.metric}: {claim.sense} than {vs}"
    if claim.kind == "same":
        return f"about the same (±{claim.tolerance:g})"
    return str(claim.expected)


def neuralab_figure(v: Verdict) -> str:
    """neuralab's figure: estimate [interval] (n), in the verdict's units."""
    if v.kind == "exact":
        return f"{v.computed} ({v.n} case{'s' if v.n != 1 else ''})"
    if v.estimate is None:
        return f"n/a (n={v.n})"
    if v.kind == "value":
        p = v.percent
        return (f"{fmt(v.estimate, p)} [{fmt(v.low, p)}, {fmt(v.high, p)}] n={v.n}"
                + (" (seed range)" if v.method == "seed range" else ""))
    scale, unit = (100, " pp") if v.percent else (1, "")
    return (f"{scale * v.estimate:+.4g}{unit} [{scale * v.low:+.4g}, "
            f"{scale * v.high:+.4g}]{unit} n={v.n}")


def _rows(entries: Sequence[Entry], results: dict[str, EntryResult | None]
          ) -> list[tuple[Entry, int, Verdict | None]]:
    rows = []
    for e in entries:
        res = results.get(e.id)
        for i in range(len(e.claims)):
            v = res.verdicts[i] if res is not None and i < len(res.verdicts) else None
            rows.append((e, i, v))
    return rows


def _status(entry: Entry, res: EntryResult | None, data_dir: str | None) -> str:
    if res is not None:
        return res.status + (" (quick)" if res.quick else "")
    if entry.needs and data_dir is None:
        return "needs data: " + "; ".join(download_commands(entry))
    return "not run"


def _claim_figures(entry: Entry, res: EntryResult) -> list[tuple[str, Any]]:
    """(caption, make) of one figure per measured metric of the claims, every cell (and
    variant) of the entry side by side: success rates with their Wilson intervals, other
    metrics one point per seed."""
    from functools import partial

    from neuralab.reproduce.catalogue import VARIANT
    from neuralab.reproduce.verdict import RATE, metric_values
    from neuralab.studies import stats
    from neuralab.viz.studies import metric_distributions, success_rates

    runs = res.runs
    by = [c for c in runs.columns if "." in str(c)] + (
        [VARIANT] if VARIANT in runs.columns else [])
    by = by or ["cell"]
    out: list[tuple[str, Any]] = []
    seen: set[str] = set()
    for claim in entry.claims:
        if claim.kind == "exact" or claim.metric in seen:
            continue
        seen.add(claim.metric)
        if claim.metric == RATE:
            if by == ["cell"]:
                runs = runs.assign(cell=0)
            cells = stats.cell_table(runs, grid=by, metrics=[])
            out.append((f"{claim.metric} per cell (Wilson interval)",
                        partial(success_rates, cells, by=by)))
            continue
        try:
            values = metric_values(runs, claim.metric)
        except ValueError:
            continue
        # the figure puts accuracies on a 0-1 axis by their name: an epoch is not one
        name = claim.metric if is_percent(claim.metric) or not claim.metric.endswith(
            "_acc") else f"{claim.metric} (epoch)"
        frame = runs.assign(**{name: values})
        if by == ["cell"] and "cell" not in frame.columns:
            frame = frame.assign(cell=0)
        marks = [c.report_value for c in entry.claims
                 if c.kind == "value" and c.metric == claim.metric]
        caption = f"{name}: one point per seed" + (
            "; dashed: the report's figures" if marks else "")
        out.append((caption, partial(_marked, partial(metric_distributions, frame, name,
                                                      by=by), marks)))
    return out


def _marked(make: Any, marks: list[float]) -> Any:
    """The figure ``make()`` draws, with a dashed line at each of the report's values."""
    fig = make()
    for x in marks:
        fig.axes[0].axvline(x, color="black", ls="--", lw=1)
    return fig


def _plots(entry: Entry, res: EntryResult) -> list[tuple[str, bytes]]:
    """(caption, PNG): a figure per claim metric, then each study's curves (its study
    report's figures, reused from its plots/ folder when there)."""
    out = []
    if res.runs is not None:
        out += [(cap, _render(make)) for cap, make in _claim_figures(entry, res)]
    for variant, folder in res.studies.items():
        if not (folder / "runs.csv").is_file():
            continue
        rep = _build(folder, None, None, ("mean",), True)
        for name, caption, png, make in rep.plots:
            if not (name.startswith("curve_") or name == "convergence"):
                continue
            label = f"{variant}: {caption}" if variant else caption
            out.append((label, png.read_bytes() if png is not None else _render(make)))
    return out


def _explanation(entry: Entry) -> list[str]:
    ex = entry.explanation
    lines = [ex.text] if ex.text else []
    if ex.reproduces:
        lines.append("reproduces it: " + ", ".join(f"{k} = {v}" for k, v in
                                                   ex.reproduces.items()))
    lines += [f"tried {', '.join(f'{k} = {v}' for k, v in t.settings.items())}: {t.result}"
              for t in ex.tried]
    return lines


def html_reproduce_report(entries: Sequence[Entry], results: dict[str, EntryResult | None], *,
                          data_dir: str | None = None, plots: bool = True,
                          title: str = "Reproductions of the seed reports") -> str:
    e = html.escape
    parts = ["<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
             f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{e(title)}</title><style>{CSS}</style></head><body>",
             f"<h1>{e(title)}</h1>",
             f'<p class="muted">{len(entries)} entries; generated '
             f'{e(time.strftime("%Y-%m-%d %H:%M"))} by neuralab</p>',
             f'<p class="muted">{e(EXPLAIN)}</p>',
             "<table><thead><tr><th>entry</th><th>claim</th><th>report</th>"
             "<th>neuralab [95 % interval]</th><th>verdict</th></tr></thead><tbody>"]
    for entry, i, v in _rows(entries, results):
        outcome = v.outcome if v is not None else _status(entry, results.get(entry.id),
                                                          data_dir)
        cls = v.outcome if v is not None else "muted"
        parts.append(
            f'<tr><td><a href="#{e(entry.id)}">{e(entry.id)}</a><br>'
            f'<span class="muted">{e(entry.where)}</span></td>'
            f"<td>{e(entry.claims[i].text)}</td><td>{e(report_figure(entry, i))}</td>"
            f"<td>{e(neuralab_figure(v)) if v is not None else '–'}</td>"
            f'<td class="{e(cls)}">{e(outcome)}</td></tr>')
    parts.append("</tbody></table>")
    for entry in entries:
        res = results.get(entry.id)
        parts += [f'<h2 id="{e(entry.id)}">{e(entry.id)}</h2>',
                  f'<p class="muted">seed {e(entry.report)} · {e(entry.course)} · '
                  f"{e(entry.where)} · {e(_status(entry, res, data_dir))}</p>",
                  '<div class="side"><div>',
                  f"<blockquote>{e(entry.quote)}</blockquote>"]
        if entry.given:
            parts.append("<p><b>The report gives</b>: " + e(", ".join(
                f"{k} = {v}" for k, v in entry.given.items())) + "</p>")
        if entry.unknown:
            parts.append("<p><b>It leaves out</b>:</p><ul>" + "".join(
                f"<li>{e(k)}: {e(', '.join(map(str, v)))}</li>"
                for k, v in entry.unknown.items()) + "</ul>")
        if res is not None:
            parts.append("<ul>" + "".join(
                f'<li><span class="{e(v.outcome)}">{e(v.outcome)}</span> {e(v.claim)}: '
                f"{e(v.text)}</li>" for v in res.verdicts) + "</ul>")
        expl = _explanation(entry)
        if expl:
            parts.append("<p><b>Explanation</b></p><ul>" + "".join(
                f"<li>{e(x)}</li>" for x in expl) + "</ul>")
        parts.append("<p><b>Re-run</b></p><pre>" + e(command(entry)) + "</pre></div><div>")
        if plots and res is not None:
            parts += [_img(png, f"{entry.id}: {cap}", cap) for cap, png in _plots(entry, res)]
        parts.append("</div></div>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _md(value: Any) -> str:
    return html.escape(_md_cell(value), quote=False)


def markdown_reproduce_report(entries: Sequence[Entry], results: dict[str, EntryResult | None],
                              output: Path, *, data_dir: str | None = None,
                              plots: bool = True,
                              title: str = "Reproductions of the seed reports"
                              ) -> tuple[str, dict[Path, bytes]]:
    """Markdown text and the images to write beside ``output``."""
    extra: dict[Path, bytes] = {}
    lines = [f"# {_md(title)}", "", EXPLAIN, "",
             "| entry | claim | report | neuralab [95 % interval] | verdict |",
             "|---|---|---|---|---|"]
    for entry, i, v in _rows(entries, results):
        outcome = v.outcome if v is not None else _status(entry, results.get(entry.id),
                                                          data_dir)
        lines.append(f"| {_md(entry.id)} ({_md(entry.where)}) | {_md(entry.claims[i].text)} "
                     f"| {_md(report_figure(entry, i))} | "
                     f"{_md(neuralab_figure(v)) if v is not None else '–'} | {_md(outcome)} |")
    lines.append("")
    for entry in entries:
        res = results.get(entry.id)
        lines += [f"## {_md(entry.id)}", "",
                  f"_seed {entry.report} · {_md(entry.course)} · {_md(entry.where)} · "
                  f"{_md(_status(entry, res, data_dir))}_", "",
                  "> " + _md(entry.quote), ""]
        if res is not None:
            lines += [f"- **{v.outcome}** {_md(v.claim)}: {_md(v.text)}" for v in res.verdicts]
            lines.append("")
        expl = _explanation(entry)
        if expl:
            lines += ["**Explanation**", "", *[f"- {_md(x)}" for x in expl], ""]
        lines += ["```bash", command(entry), "```", ""]
        if plots and res is not None:
            for k, (cap, png) in enumerate(_plots(entry, res)):
                path = output.with_name(f"{output.stem}-{entry.id}-{k}.png")
                extra[path] = png
                lines += [f"![{_md(cap)}]({path.name})", ""]
    return "\n".join(lines), extra


def write_reproduce_report(entries: Sequence[Entry], out_path: str | os.PathLike, *,
                           out: str | os.PathLike = OUT, data_dir: str | None = None,
                           plots: bool = True) -> Path:
    """Write the report of ``entries`` (their last recorded runs under ``out``) to
    ``out_path`` (.html or .md); returns its path."""
    output = Path(out_path)
    if output.suffix.lower() not in (".html", ".htm", ".md"):
        raise ValueError(f"out_path={str(output)!r}: the report must be a .html or .md file")
    results = {e.id: load_result(e, out) for e in entries}
    output = output_file(output, create=True)
    if output.suffix.lower() == ".md":
        text, extra = markdown_reproduce_report(entries, results, output, data_dir=data_dir,
                                                plots=plots)
        for path, data in extra.items():
            _write(path, data)
    else:
        text = html_reproduce_report(entries, results, data_dir=data_dir, plots=plots)
    _write(output, text.encode("utf-8"))
    return output


def _write(path: Path, data: bytes) -> None:
    with atomic_file(path) as f:
        f.write(data)


__all__ = ["html_reproduce_report", "markdown_reproduce_report", "neuralab_figure",
           "report_figure", "write_reproduce_report"]
