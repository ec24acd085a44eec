"""``neuralab study``: a grid of settings × many seeds, with statistics, in one command.

    neuralab study examples/cs324/000-leaky-relu.study.toml
    neuralab study examples/cs324/000-mlp-bgd.toml --grid model.activation=relu,leaky_relu \\
        --seeds 200 --target train_acc=1.0 --workers 2
    neuralab study --resume studies/leaky-relu-20261201-101500
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from neuralab.cli._app import app, fail, stdout_optional
from neuralab.cli._command import SHORT_HELP, Command, Scheduler, Workers


def split_values(text: str) -> list[str]:
    """``relu,leaky_relu`` or ``[20],[20,20]``: split at the commas outside brackets."""
    parts, depth, current = [], 0, []
    for ch in text:
        if ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts]


def parse_grid(items: list[str]) -> dict[str, list[Any]]:
    """``--grid KEY=V1,V2`` flags as a grid (each value a TOML literal, else text)."""
    from neuralab.experiments.config import parse_value

    grid: dict[str, list[Any]] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            fail(f"--grid {item!r} is not KEY=V1,V2 (e.g. --grid optim.lr=0.01,0.1)")
        values = split_values(raw)
        if any(v == "" for v in values):
            fail(f"--grid {item!r} has an empty value; give values separated by commas")
        if key in grid:
            fail(f"--grid {key} is given twice; list all its values in one flag")
        grid[key] = [parse_value(v) for v in values]
    return grid


def parse_target(text: str) -> dict[str, float]:
    metric, sep, raw = text.partition("=")
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not sep or value != value:
        fail(f"--target {text!r} is not METRIC=VALUE (e.g. --target train_acc=1.0)")
    return {metric.strip(): value}


@app.command("study", cls=Command,
             short_help=SHORT_HELP["study"])
def study_cmd(
    config: Annotated[Path | None, typer.Argument(
        metavar="STUDY",
        help="A study file (config + [study] table) or a plain config with --grid/--seeds.",
        show_default=False)] = None,
    grid: Annotated[list[str] | None, typer.Option(
        "--grid", metavar="KEY=V1,V2",
        help="A config key and its values; repeat for a product.",
        show_default=False)] = None,
    seeds: Annotated[int | None, typer.Option("--seeds", metavar="N", help="Seeds per cell.",
                                              show_default=False)] = None,
    target: Annotated[str | None, typer.Option(
        "--target", metavar="METRIC=VALUE", help="Stop a run there, e.g. train_acc=1.0.",
        show_default=False)] = None,
    vary: Annotated[str | None, typer.Option(
        "--vary", metavar="WHAT", help="What seeds vary: init (default) or data.",
        show_default=False)] = None,
    workers: Workers = None,
    scheduler: Scheduler = None,
    resume: Annotated[Path | None, typer.Option(
        "--resume", metavar="STUDY_DIR",
        help="Finish the study in this folder (skips finished chunks).",
        show_default=False)] = None,
    out: Annotated[str, typer.Option("--out", metavar="DIR",
                                     help="Parent folder of study folders.")] = "studies",
    quick: Annotated[bool, typer.Option(
        "--quick", help="Smoke test: 3 seeds, at most 5 epochs, a few hundred samples.")
                     ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines.")] = False,
    no_plots: Annotated[bool, typer.Option(
        "--no-plots", help="Skip the figures (`neuralab report` draws them later).")
                        ] = False,
) -> None:
    """Run a study: every cell of a grid over many seeds, with intervals and comparisons."""
    stdout_optional()  # the results are files (docs/cli.md)
    from neuralab.studies.runner import Study, resume_study

    if resume is not None:
        if config is not None or grid or seeds is not None or target or vary or quick:
            fail("--resume finishes a study as it was defined; give only --workers or "
                 "--scheduler with it")
        result = resume_study(resume, workers=workers, scheduler=scheduler, quiet=quiet,
                              plots=not no_plots)
    else:
        if config is None:
            fail("give a study file, or a config file with --grid / --seeds")
        overrides: dict[str, Any] = {"grid": parse_grid(grid or []) or None, "seeds": seeds,
                                     "target": parse_target(target) if target else None,
                                     "vary": vary}
        if quick:
            overrides["seeds"] = min(seeds or 3, 3)
        study = Study.from_file(config, **overrides)
        if quick:
            study = study.quick()
        result = study.run(workers=workers, scheduler=scheduler, out=out, quiet=quiet,
                           plots=not no_plots)
    table = result.table()
    _print_table(result, table)
    # short lines, as `neuralab train` ends: each fits 80 columns unless the path is long
    drawn = " (draws the figures too)" if no_plots else ""
    typer.echo(f"report{drawn}:\n  neuralab report {result.folder} -o {result.study.name}.html")
    typer.echo(f"wrote {result.folder}")


def _print_table(result: Any, table: Any) -> None:
    """The cell table (``CellTable``'s short form; rich wraps it to the terminal's width,
    80 columns included), titled with the study's description when every cell has the
    same seeds."""
    from rich.console import Console

    short = table.short()
    console = Console(soft_wrap=False)
    title = (result.study.describe() if short.count_head is None
             else f"{result.study.name}: {len(table)} cells")
    console.print(short.rich(console.width, title=title))
