"""``neuralab data``: list the datasets, picture one, download one into the cache."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from neuralab._atomic import output_file
from neuralab.cli._app import app, fail, stdout_optional
from neuralab.cli._command import SHORT_HELP, Command, Group

data_app = typer.Typer(help=SHORT_HELP["data"], cls=Group,
                       no_args_is_help=True, rich_markup_mode=None)
app.add_typer(data_app, name="data")

RootOpt = Annotated[Path | None, typer.Option(
    "--root", metavar="DIR",
    help="Folder holding the files (default: $NEURALAB_DATA or ~/.cache/neuralab).")]
OfflineOpt = Annotated[bool, typer.Option("--offline", help="Never touch the network.")]


def _check_root(root: Path | None) -> None:
    """--root names a folder, or nothing yet (``data get`` makes it): a file, a FIFO or a
    device given there is said as what it is."""
    folder = root.expanduser() if root is not None else None
    if folder is not None and os.path.lexists(folder) and not folder.is_dir():
        from neuralab.io import what_is

        fail(f"--root {root} {what_is(folder)}, not a folder")


def parse_setting(text: str) -> tuple[str, Any]:
    """``key=value`` → (key, value); the value is read as JSON when it can be (numbers,
    lists, true/false), else kept as text."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        fail(f"--set {text!r} is not key=value (e.g. --set factor=0.5)")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key.strip().replace("-", "_"), value


def _sizes(info) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in info.sizes.items()) or "-"


@data_app.command("list", cls=Command,
                  short_help=SHORT_HELP["data list"])
def list_cmd(root: RootOpt = None) -> None:
    """Every dataset with its kind, classes, input shape, sizes and offline availability."""
    _check_root(root)
    from rich import box
    from rich.console import Console
    from rich.table import Table

    from neuralab.data import registry

    # no side borders and short cells, so 80 columns fit: the name (what one types next) and
    # the short columns are never cut; only the sizes wrap
    table = Table(title="neuralab datasets", box=box.SIMPLE_HEAD, pad_edge=False,
                  collapse_padding=True,
                  caption="offline no: `neuralab data get NAME` downloads it",
                  caption_justify="left")
    names = registry.available()
    table.add_column("name", no_wrap=True, min_width=max(map(len, names)))
    for col in ("kind", "classes", "input"):
        table.add_column(col, no_wrap=True)
    table.add_column("sizes", min_width=15)
    table.add_column("offline", no_wrap=True)
    for name in names:
        info = registry.info(name)
        classes = "regression" if info.task == "regression" else str(info.n_classes or "any")
        shape = "x".join(map(str, info.input_shape)) if info.input_shape else "any"
        if not info.remotes:
            offline = "yes"
        else:
            offline = "cached" if info.is_offline(root) else "no"
        table.add_row(name, info.kind, classes, shape, _sizes(info), offline)
    # a pipe gets wide rows (one per set, for grep) unless COLUMNS gives the width
    wide = not Console().is_terminal and not os.environ.get("COLUMNS", "").strip().isdigit()
    Console(width=140 if wide else None).print(table)


@data_app.command("show", cls=Command,
                  short_help=SHORT_HELP["data show"])
def show_cmd(
    name: Annotated[str, typer.Argument(metavar="NAME",
                                        help="Dataset name (see `neuralab data list`).")],
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", metavar="FILE",
        help="Picture file: .png, .svg or .pdf (default NAME.png).")] = None,
    n: Annotated[int | None, typer.Option(
        metavar="N", help="Number of points (synthetic sets; default: the set's own, as "
        "`neuralab train --data NAME` uses).")] = None,
    noise: Annotated[float | None, typer.Option(
        metavar="X", help="Noise level (synthetic sets; default: the set's own).")] = None,
    seed: Annotated[int | None, typer.Option(
        metavar="N", help="Random seed (synthetic sets; default 0, a run's data.seed, so the "
        "picture shows the points `neuralab train` uses).", show_default=False)] = None,
    settings: Annotated[list[str] | None, typer.Option(
        "--set", metavar="KEY=VALUE",
        help="Any other option, e.g. --set factor=0.5; repeatable.")] = None,
    split: Annotated[str, typer.Option(
        metavar="SPLIT", help="Which split to show for image sets.")] = "train",
    path: Annotated[Path | None, typer.Option(
        metavar="FILE", help="Your file (csv, npz, MedMNIST .npz).")] = None,
    root: RootOpt = None,
    offline: OfflineOpt = False,
) -> None:
    """Save a picture of a dataset: a scatter for 2-D sets, an image grid for images."""
    from neuralab.data import plot, registry

    stdout_optional()  # the picture is the result
    _check_root(root)

    info = registry.info(name)
    options = dict(parse_setting(s) for s in settings or [])
    given = {"n": n, "noise": noise, "seed": seed, "path": path, "root": root}
    options.update({k: v for k, v in given.items() if v is not None})
    if "seed" in info.options:  # a run's data.seed is 0: the data `neuralab train` uses
        options.setdefault("seed", 0)
    if offline and "download" in info.options:
        options["download"] = False
    if split != "train" and not info.splits:
        fail(f"--split {split}: {info.name} has no splits (only image sets such as mnist do)")
    if info.splits and split not in info.splits:
        fail(f"--split {split!r} is not allowed; {info.name} has {', '.join(info.splits)}")
    loaded = registry.load(info.name, **options)
    ds = loaded[split] if hasattr(loaded, "train") else loaded
    output = output or Path(f"{info.name}.png")
    if output.suffix.lower() not in plot.FORMATS:
        fail(f"-o {output}: the picture must be a {', '.join(plot.FORMATS)} file")
    output = output_file(output, create=True)  # never a FIFO or a device replaced
    plot.save_figure(plot.plot_dataset(ds), output)
    typer.echo(f"wrote {output} ({ds.name}, {len(ds)} samples)")


@data_app.command("get", cls=Command,
                  short_help=SHORT_HELP["data get"])
def get_cmd(
    name: Annotated[str, typer.Argument(
        metavar="NAME", help="Dataset to download (mnist, octmnist, ...).")],
    root: RootOpt = None,
    offline: OfflineOpt = False,
    mirror: Annotated[str | None, typer.Option(
        metavar="URL", help="Fetch from this base URL instead (also $NEURALAB_MIRROR).")
    ] = None,
) -> None:
    """Download a dataset's files into the cache (checksum-verified), or check they are there."""
    from neuralab.data import registry

    stdout_optional()  # the files in the cache are the result
    _check_root(root)

    paths = registry.get(name, root, download=not offline, mirror=mirror)
    for p in paths:
        typer.echo(f"ok  {p}")
