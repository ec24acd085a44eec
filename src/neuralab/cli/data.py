"""``neuralab data``: list the datasets, picture one, download one into the cache."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from neuralab.cli._app import app, fail

data_app = typer.Typer(help="Datasets: list them, show one as a picture, download one.",
                       no_args_is_help=True)
app.add_typer(data_app, name="data")

RootOpt = Annotated[Path | None, typer.Option(
    "--root", help="Folder holding the files (default: $NEURALAB_DATA or ~/.cache/neuralab).")]
OfflineOpt = Annotated[bool, typer.Option("--offline", help="Never touch the network.")]


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


@data_app.command("list")
def list_cmd(root: RootOpt = None) -> None:
    """Every dataset with its kind, classes, input shape, sizes and offline availability."""
    from rich.console import Console
    from rich.table import Table

    from neuralab.data import registry

    table = Table(title="neuralab datasets")
    for col in ("name", "kind", "classes", "input", "sizes", "offline"):
        table.add_column(col)
    for name in registry.available():
        info = registry.info(name)
        classes = "regression" if info.task == "regression" else str(info.n_classes or "any")
        shape = "x".join(map(str, info.input_shape)) if info.input_shape else "any"
        if not info.remotes:
            offline = "yes"
        else:
            offline = "cached" if info.is_offline(root) else f"no: neuralab data get {name}"
        table.add_row(name, info.kind, classes, shape, _sizes(info), offline)
    Console(width=140 if not Console().is_terminal else None).print(table)


@data_app.command("show")
def show_cmd(
    name: Annotated[str, typer.Argument(help="Dataset name (see `neuralab data list`).")],
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="Picture file: .png, .svg or .pdf (default NAME.png).")] = None,
    n: Annotated[int | None, typer.Option(help="Number of points (synthetic sets).")] = None,
    noise: Annotated[float | None, typer.Option(help="Noise level (synthetic sets).")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (synthetic sets).")] = None,
    settings: Annotated[list[str] | None, typer.Option(
        "--set", help="Any other option as key=value, e.g. --set factor=0.5; repeatable.")
    ] = None,
    split: Annotated[str, typer.Option(help="Which split to show for image sets.")] = "train",
    path: Annotated[Path | None, typer.Option(help="Your file (csv, npz, MedMNIST .npz).")
                    ] = None,
    root: RootOpt = None,
    offline: OfflineOpt = False,
) -> None:
    """Save a picture of a dataset: a scatter for 2-D sets, an image grid for images."""
    from neuralab.data import plot, registry

    info = registry.info(name)
    options = dict(parse_setting(s) for s in settings or [])
    given = {"n": n, "noise": noise, "seed": seed, "path": path, "root": root}
    options.update({k: v for k, v in given.items() if v is not None})
    if offline and "download" in info.options:
        options["download"] = False
    loaded = registry.load(info.name, **options)
    ds = loaded[split] if hasattr(loaded, "train") else loaded
    output = output or Path(f"{info.name}.png")
    if output.suffix.lower() not in plot.FORMATS:
        fail(f"-o {output}: the picture must be a {', '.join(plot.FORMATS)} file")
    plot.save_figure(plot.plot_dataset(ds), output)
    typer.echo(f"wrote {output} ({ds.name}, {len(ds)} samples)")


@data_app.command("get")
def get_cmd(
    name: Annotated[str, typer.Argument(help="Dataset to download (mnist, octmnist, ...).")],
    root: RootOpt = None,
    offline: OfflineOpt = False,
    mirror: Annotated[str | None, typer.Option(
        help="Fetch from this base URL instead (also $NEURALAB_MIRROR).")] = None,
) -> None:
    """Download a dataset's files into the cache (checksum-verified), or check they are there."""
    from neuralab.data import registry

    paths = registry.get(name, root, download=not offline, mirror=mirror)
    for p in paths:
        typer.echo(f"ok  {p}")
