"""``neuralab reproduce``: the seed reports' findings, re-run over many seeds, with verdicts.

    neuralab reproduce --list
    neuralab reproduce cs324-000-leaky-relu
    neuralab reproduce --all --quick
    neuralab reproduce jhu-003 --data-dir ~/data
    neuralab reproduce --all -o reproductions.html
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from neuralab.cli._app import app, fail, stdout_optional
from neuralab.cli._command import SHORT_HELP, Command, Scheduler, Workers


@app.command("reproduce", cls=Command, short_help=SHORT_HELP["reproduce"])
def reproduce_cmd(
    ids: Annotated[list[str] | None, typer.Argument(
        metavar="ID", help="Catalogue entries: an id, or a prefix such as jhu-003.",
        show_default=False)] = None,
    list_: Annotated[bool, typer.Option(
        "--list", help="List every entry: report, figure, claim, status.")] = False,
    all_: Annotated[bool, typer.Option(
        "--all", help="Every entry (those needing data only with --data-dir).")] = False,
    quick: Annotated[bool, typer.Option(
        "--quick", help="Few seeds and epochs (a smoke test; verdicts indicative only).")
                     ] = False,
    data_dir: Annotated[Path | None, typer.Option(
        "--data-dir", metavar="DIR",
        help="Folder with the MNIST / OCTMNIST files (DIR/mnist, DIR/octmnist.npz).",
        show_default=False)] = None,
    workers: Workers = None,
    scheduler: Scheduler = None,
    out: Annotated[str, typer.Option(
        "--out", metavar="DIR", help="Parent folder of the entries' folders.")
                   ] = "reproductions",
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", metavar="FILE",
        help="Also write the report: FILE.html (self-contained) or FILE.md.",
        show_default=False)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines.")] = False,
    no_plots: Annotated[bool, typer.Option(
        "--no-plots", help="Skip the studies' figures (--quick skips them; the report "
        "draws what it shows).")] = False,
) -> None:
    """Re-run the seed reports' findings over many seeds and set each beside the report."""
    stdout_optional()  # the results are files (docs/cli.md)
    from neuralab.reproduce import catalogue, runner

    entries = catalogue.load()
    data = str(data_dir) if data_dir is not None else None
    if output is not None and output.suffix.lower() not in (".html", ".htm", ".md"):
        fail(f"-o {output} is not allowed; give a file ending in .html or .md")
    if list_:
        if ids or all_:
            fail("--list lists every entry; give it alone (or with --out / --data-dir)")
        _print_list(entries, out, data)
        return
    if not ids and not all_:
        fail("give an entry id (or a prefix such as jhu-003), --all, or --list")
    if ids and all_:
        fail("give entry ids or --all, not both")
    if data_dir is not None and not data_dir.expanduser().is_dir():
        fail(f"--data-dir {data_dir} is not a folder")
    try:
        chosen = entries if all_ else catalogue.select(entries, list(ids or []))
    except ValueError as exc:
        fail(str(exc))
    if not all_ and data is None:
        missing = [e for e in chosen if e.needs]
        if missing:
            fail(runner.needs_data_message(missing[0]))
    results: list[Any] = []
    waiting: list[Any] = []
    failed: list[str] = []
    for i, entry in enumerate(chosen, 1):
        if entry.needs and data is None:
            waiting.append(entry)
            typer.echo(f"[{i}/{len(chosen)}] {entry.id}: needs data (then --data-dir ~/data)")
            for cmd in catalogue.download_commands(entry):
                typer.echo(f"  {cmd}")
            continue
        if not quiet:
            print(f"[{i}/{len(chosen)}] {entry.id} ({entry.where})", file=sys.stderr, flush=True)
        try:
            result = runner.run_entry(entry, out=out, quick=quick, data_dir=data,
                                      workers=workers, scheduler=scheduler, quiet=quiet,
                                      plots=not (no_plots or quick))
        except KeyboardInterrupt:  # the same command resumes the entry's study
            raise KeyboardInterrupt(f"interrupted in {entry.id}; its finished runs are "
                                    "saved, and the same command continues") from None
        except ValueError as exc:  # a data file missing or malformed: the others still run
            if not all_:
                raise
            failed.append(entry.id)
            typer.echo(f"{entry.id}: not run: {exc}")
            continue
        results.append(result)
        _print_result(result, data)
    ran = sum(1 for _ in results)
    agree = sum(1 for r in results if r.status.startswith("agrees"))
    typer.echo(f"{ran} {'entry' if ran == 1 else 'entries'} run ({agree} agree), "
               f"{len(waiting)} need data; folders under {out}/")
    if output is not None:
        from neuralab.report.reproduce import write_reproduce_report

        path = write_reproduce_report(chosen, output, out=out, data_dir=data)
        typer.echo(f"report: {path}")
    if failed:
        fail(f"{len(failed)} entries could not run ({', '.join(failed)}); see the lines above")


def _print_result(result: Any, data_dir: str | None = None) -> None:
    """The entry's verdicts, wrapped to the terminal (a claim under its outcome, its figures
    indented below it)."""
    import shutil
    import textwrap

    from neuralab.reproduce.runner import command

    width = max(40, shutil.get_terminal_size().columns - 1)

    def say(text: str, first: str, rest: str) -> None:
        typer.echo(textwrap.fill(text, width, initial_indent=first, subsequent_indent=rest,
                                 break_on_hyphens=False, break_long_words=False))

    say(f"{result.entry.id}: {result.status} ({result.seconds:.1f} s, {result.folder})",
        "", "  ")
    for v in result.verdicts:
        say(v.claim, f"  {v.outcome:<9} ", " " * 12)
        say(v.text, " " * 12, " " * 12)
    typer.echo(f"  re-run: {command(result.entry, quick=result.quick, data_dir=data_dir)}")


def _print_list(entries: list[Any], out: str, data_dir: str | None) -> None:
    """Every entry in a table (rich wraps it to the terminal, 80 columns included)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from neuralab.reproduce.runner import read_status

    table = Table(title=f"{len(entries)} catalogue entries", title_justify="left",
                  show_lines=True)
    width = max(len(e.id) for e in entries)
    table.add_column("entry: figure, claim", min_width=width, ratio=3)  # ids never broken
    table.add_column("report", no_wrap=True)
    table.add_column("status", ratio=1)
    for e in entries:
        more = f" (+{len(e.claims) - 1} more)" if len(e.claims) > 1 else ""
        cell = Text(e.id, style="bold")
        cell.append(f"\n{e.where}: {e.claims[0].text}{more}", style="dim")
        table.add_row(cell, e.report, read_status(e, out, data_dir=data_dir))
    Console(soft_wrap=False).print(table)
    needs = sorted({n for e in entries for n in e.needs})
    if needs and data_dir is None:
        from neuralab.reproduce.catalogue import DATA_SETS

        typer.echo("needs data: download the files, then neuralab reproduce ID "
                   "--data-dir ~/data")
        for n in needs:
            typer.echo("  " + DATA_SETS[n]["get"].format(dir="~/data"))
