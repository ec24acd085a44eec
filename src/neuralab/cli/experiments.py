"""``neuralab train``, ``report``, ``eval``, ``predict`` and ``config show``.

The flags of ``train`` mirror the CS324 skeleton's (``--dnn_hidden_units``,
``--learning_rate``, ``--max_steps``, ``--eval_freq``, ``--batch_size`` are accepted), so a
student can switch without relearning; with no config file they build the same config a
file would (``neuralab config show`` prints it).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from neuralab.cli._app import app, fail, stdout_optional
from neuralab.cli._command import SHORT_HELP, Command, Group
from neuralab.models.hyperparams import MODEL_KINDS, flag_help

config_app = typer.Typer(help=SHORT_HELP["config"], cls=Group,
                         no_args_is_help=True, rich_markup_mode=None)
app.add_typer(config_app, name="config")

SetOpt = Annotated[list[str] | None, typer.Option(
    "--set", metavar="KEY=VALUE",
    help="Override any key: --set train.batch_size=16 (TOML value); repeatable.")]

# The flag that sets each config key, to name in errors: the user typed the flag.
FLAGS = {"data.name": "--data", "data.path": "--path", "data.root": "--root",
         "model.kind": "--model", "model.hidden": "--hidden", "model.activation": "--activation",
         "optim.optimizer": "--optimizer", "optim.lr": "--lr", "optim.momentum": "--momentum",
         "train.epochs": "--epochs", "train.eval_every": "--eval-every",
         "train.train_metrics": "--train-metrics", "train.batch_size": "--batch-size",
         "train.seed": "--seed", "train.dtype": "--dtype", "output.name": "--name",
         "output.dir": "--out", "output.plots": "--no-plots"}


def _hidden(text: str) -> list[int]:
    text = text.strip()
    if text in ("", "none", "[]"):
        return []
    try:
        sizes = [int(p) for p in text.replace(" ", "").strip("[]").split(",") if p != ""]
    except ValueError:
        fail(f"--hidden {text!r}: give layer sizes separated by commas, e.g. --hidden 20,20")
    return sizes


def _batch(text: str) -> int | str:
    if text.strip().lower() == "full":
        return "full"
    try:
        size = int(text)
    except ValueError:
        size = 0
    if size < 1:
        fail(f"--batch-size {text!r} is not allowed; give an integer >= 1 or 'full'")
    return size


def _flag_words(message: str, flags: dict[str, Any], sets: list[str]) -> str:
    """``message`` with each config key the user set by a flag named as that flag
    (``optim.lr=-1.0 is not allowed`` → ``--lr -1.0 is not allowed``); a key a ``--set``
    gives keeps its name (``--set`` wins over the flag)."""
    model = f"--model {flags['model.kind']}" if flags.get("model.kind") else "this model"
    by_set = {s.partition("=")[0].strip() for s in sets}
    for key, flag in FLAGS.items():
        if flags.get(key) is None or key in by_set:
            continue
        if message.startswith(f"unknown key {key} in "):  # "...; valid keys: a, b"
            valid = message.partition("valid keys:")[2].strip()
            message = f"{flag} does not apply to {model}" + (
                f" (its [{key.split('.')[0]}] settings: {valid})" if valid else "")
        message = re.sub(rf"(?<![\w.-]){re.escape(key)}=", f"{flag} ", message)
    return message


def _config(config: Path | None, sets: list[str] | None, flags: dict[str, Any]) -> Any:
    from neuralab.experiments.config import ConfigError, load_config

    overrides = {k: v for k, v in flags.items() if v is not None}
    try:
        return load_config(config, sets or [], overrides)
    except ConfigError as exc:
        fail(_flag_words(str(exc), flags, sets or []))


@app.command("train", cls=Command,
             short_help=SHORT_HELP["train"])
def train_cmd(
    config: Annotated[Path | None, typer.Argument(
        metavar="CONFIG", show_default=False,
        help="Config file (TOML). Without one, the flags (or the defaults) describe the run."
    )] = None,
    sets: SetOpt = None,
    data: Annotated[str | None, typer.Option(
        "--data", metavar="NAME", help="Dataset name (neuralab data list).")] = None,
    path: Annotated[str | None, typer.Option(
        "--path", metavar="FILE", help="Data file (e.g. octmnist.npz, a CSV file).")] = None,
    root: Annotated[str | None, typer.Option(
        "--root", metavar="DIR", help="Data folder (MNIST IDX files).")] = None,
    model: Annotated[str | None, typer.Option(
        "--model", metavar="KIND",
        help=f"{', '.join(MODEL_KINDS)} or ovr.")] = None,
    hidden: Annotated[str | None, typer.Option(
        "--hidden", "--dnn_hidden_units", "--dnn-hidden-units", metavar="SIZES",
        help=flag_help("hidden") + " E.g. 20,20.")] = None,
    activation: Annotated[str | None, typer.Option(
        "--activation", metavar="NAME", help=flag_help("activation"))] = None,
    optimizer: Annotated[str | None, typer.Option(
        "--optimizer", metavar="NAME", help=flag_help("optimizer"))] = None,
    lr: Annotated[float | None, typer.Option(
        "--lr", "--learning_rate", "--learning-rate", metavar="X", help=flag_help("lr"))
    ] = None,
    momentum: Annotated[float | None, typer.Option(
        "--momentum", metavar="X", help=flag_help("momentum"))] = None,
    epochs: Annotated[int | None, typer.Option(
        "--epochs", "--max_steps", "--max-steps", metavar="N", help=flag_help("epochs"))
    ] = None,
    eval_every: Annotated[int | None, typer.Option(
        "--eval-every", "--eval_every", "--eval_freq", "--eval-freq", metavar="N",
        help=flag_help("eval_every"))] = None,
    train_metrics: Annotated[str | None, typer.Option(
        "--train-metrics", metavar="MODE", help=flag_help("train_metrics"))] = None,
    batch_size: Annotated[str | None, typer.Option(
        "--batch-size", "--batch_size", metavar="N|full", help=flag_help("batch_size"))
    ] = None,
    seed: Annotated[int | None, typer.Option(
        "--seed", metavar="N", help=flag_help("seed"))] = None,
    dtype: Annotated[str | None, typer.Option(
        "--dtype", metavar="TYPE", help=flag_help("dtype"))] = None,
    name: Annotated[str | None, typer.Option(
        "--name", metavar="NAME", help="Run name (folder prefix).")] = None,
    out: Annotated[str | None, typer.Option(
        "--out", metavar="DIR", help="Parent folder of run folders (default runs).")] = None,
    resume: Annotated[Path | None, typer.Option(
        "--resume", metavar="RUN",
        help="Continue the run in this folder from its last checkpoint.")] = None,
    quick: Annotated[bool, typer.Option("--quick", help="Smoke test: at most 5 epochs and a "
                                        "few hundred samples.")] = False,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="No progress; print only the final metrics and the run folder."
    )] = False,
    offline: Annotated[bool, typer.Option("--offline", help="Never download data.")] = False,
    no_plots: Annotated[bool, typer.Option("--no-plots", help="Skip the figures.")] = False,
) -> None:
    """Train a model: a config file, flags, or both (flags and --set win over the file)."""
    stdout_optional()  # the results are files (docs/cli.md)
    from neuralab.experiments.config import quick as make_quick
    from neuralab.experiments.run import RunInterrupted, resume_run, run_experiment

    flags = {"data.name": data, "data.path": path, "data.root": root, "model.kind": model,
             "model.hidden": None if hidden is None else _hidden(hidden),
             "model.activation": activation, "optim.optimizer": optimizer, "optim.lr": lr,
             "optim.momentum": momentum, "train.epochs": epochs,
             "train.eval_every": eval_every, "train.train_metrics": train_metrics,
             "train.batch_size": None if batch_size is None else _batch(batch_size),
             "train.seed": seed, "train.dtype": dtype, "output.name": name, "output.dir": out,
             "output.plots": False if no_plots else None}
    try:
        if resume is not None:
            given = [k for k, v in flags.items() if v is not None and k != "train.epochs"]
            if config is not None or sets or given or quick:
                what = "a config file" if config is not None else (
                    "--set" if sets else ("--quick" if quick else FLAGS[given[0]]))
                fail(f"--resume continues a run as it was configured; {what} cannot be given "
                     "with it (only --epochs, to train longer)")
            result = resume_run(resume, quiet=quiet, epochs=epochs, offline=offline)
        else:
            cfg = _config(config, sets, flags)
            if quick:
                cfg = make_quick(cfg)
            result = run_experiment(cfg, quiet=quiet, offline=offline)
    except RunInterrupted as exc:
        print(f"neuralab: {exc}", file=sys.stderr)
        raise typer.Exit(130) from None
    summary = result.summary
    report = result.run_dir / "report.html"
    if summary.get("status") == "finished" and summary.get("plots") and not report.exists():
        _write_run_report(result.run_dir, report)
    _print_result(result.run_dir, summary, quiet)


def _write_run_report(run_dir: Path, report: Path) -> None:
    """The run's own report.html (its plots and tables in one file); a report that cannot be
    written is said on stderr and never fails the finished run."""
    from neuralab.report import write_report

    try:
        write_report([run_dir], report, None)
    except Exception as exc:  # the run is saved; its report is a convenience
        print(f"neuralab: report.html not written ({type(exc).__name__}: {exc}); make it "
              f"with: neuralab report {run_dir} -o {report}", file=sys.stderr)


def _print_result(run_dir: Path, summary: dict[str, Any], quiet: bool) -> None:
    """stdout after a run, the run folder always last. With --quiet: the final metrics and
    the folder. Otherwise the metrics were the last progress line (stderr), so stdout says
    where the plots and the report are and how to compare this run with others."""
    final = summary.get("final") or {}
    if quiet:
        if final:
            typer.echo(" ".join(f"{k}={v:.4f}" for k, v in final.items()))
        typer.echo(str(run_dir))
        return
    plots, report = summary.get("plots") or [], run_dir / "report.html"
    if plots:
        typer.echo(f"plots:   {run_dir / 'plots'}{os.sep}  ({len(plots)} figures)")
    if report.is_file():
        line, hint = f"report:  {report}", "  (open it in a browser)"
        # the hint only where it fits: a long run name must not wrap the line
        fits = len(line) + len(hint) <= shutil.get_terminal_size().columns
        typer.echo(line + (hint if fits else ""))
    others = shlex.quote(str(run_dir.parent)) + "/*"  # pasted into a shell as it is
    typer.echo(f"compare: neuralab report {others} -o compare.html")
    typer.echo(str(run_dir))


@config_app.command("show", cls=Command, short_help=SHORT_HELP["config show"])
def config_show(
    config: Annotated[Path | None, typer.Argument(
        metavar="CONFIG", help="Config file (TOML); none: defaults.", show_default=False)
    ] = None,
    sets: SetOpt = None,
) -> None:
    """Print the resolved config: the file with every default filled in and --set applied."""
    cfg = _config(config, sets, {})
    typer.echo(cfg.to_toml(), nl=False)


@app.command("report", cls=Command,
             short_help=SHORT_HELP["report"])
def report_cmd(
    runs: Annotated[list[Path], typer.Argument(
        metavar="RUN", help="Run folders (runs/* for all), or one study folder.",
        show_default=False)],
    output: Annotated[Path, typer.Option(
        "-o", "--output", metavar="FILE",
        help="report.html (self-contained) or report.md.")] = Path("report.html"),
    title: Annotated[str | None, typer.Option(
        "--title", metavar="TEXT", help="The report's title.")] = None,
) -> None:
    """One report of one or several runs (a comparison for several), or of a study folder."""
    stdout_optional()  # the results are files (docs/cli.md)
    from neuralab.report import write_report

    if len(runs) == 1 and (runs[0] / "study.toml").is_file():
        from neuralab.report.study import write_study_report

        path = write_study_report(runs[0], output, title=title)
        typer.echo(f"wrote {path} (study {runs[0].name})")
        return
    path = write_report(runs, output, title)
    typer.echo(f"wrote {path} ({len(runs)} run{'s' if len(runs) != 1 else ''})")


@app.command("eval", cls=Command,
             short_help=SHORT_HELP["eval"])
def eval_cmd(
    run: Annotated[Path, typer.Argument(metavar="RUN", help="Run folder.",
                                        show_default=False)],
    data: Annotated[str | None, typer.Option(
        "--data", metavar="NAME", help="Dataset (default: the run's).")] = None,
    path: Annotated[str | None, typer.Option("--path", metavar="FILE", help="Data file.")
                    ] = None,
    root: Annotated[str | None, typer.Option("--root", metavar="DIR", help="Data folder.")
                    ] = None,
    split: Annotated[str, typer.Option("--split", metavar="SPLIT",
                                       help="train, val or test.")] = "test",
    offline: Annotated[bool, typer.Option("--offline", help="Never download data.")] = False,
) -> None:
    """Evaluate a run's model on a split; prints the metrics, writes eval-SPLIT.json."""
    stdout_optional()  # the results are files (docs/cli.md)
    from neuralab.experiments.evaluate import eval_run

    if split not in ("train", "val", "test"):
        fail(f"--split {split!r} is not allowed; choose train, val or test")
    if data is not None:
        from neuralab.data import registry

        registry.info(data)  # an unknown name: one line with the closest names
    result = eval_run(run, data=data, path=path, root=root, split=split, offline=offline)
    shown = {k: v for k, v in result.items() if k in ("accuracy", "mse", "r2")}
    typer.echo(f"{result['data']} {split} (n={result['n']}): "
               + " ".join(f"{k}={v:.4f}" for k, v in shown.items()))


@app.command("predict", cls=Command,
             short_help=SHORT_HELP["predict"])
def predict_cmd(
    model: Annotated[Path, typer.Argument(metavar="MODEL", help="model.npz (or its run "
                                          "folder).", show_default=False)],
    points: Annotated[Path, typer.Argument(metavar="POINTS", help="CSV of input points with "
                                           "a header row.", show_default=False)],
    output: Annotated[Path, typer.Option(
        "-o", "--output", metavar="FILE", help="Where to write the predictions (CSV)."
    )] = Path("predictions.csv"),
) -> None:
    """Predict a label (and class probabilities) for each point of a CSV file."""
    stdout_optional()  # the results are files (docs/cli.md)
    from neuralab.experiments.evaluate import predict_file

    n = predict_file(model, points, output)
    typer.echo(f"wrote {output} ({n} points)")
