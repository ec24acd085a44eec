"""``neuralab train``, ``report``, ``eval``, ``predict`` and ``config show``.

The flags of ``train`` mirror the CS324 skeleton's (``--dnn_hidden_units``,
``--learning_rate``, ``--max_steps``, ``--eval_freq``, ``--batch_size`` are accepted), so a
student can switch without relearning; with no config file they build the same config a
file would (``neuralab config show`` prints it).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from neuralab.cli._app import app, fail
from neuralab.models.hyperparams import flag_help

config_app = typer.Typer(help="Experiment configs: print the resolved config.",
                         no_args_is_help=True)
app.add_typer(config_app, name="config")

SetOpt = Annotated[list[str] | None, typer.Option(
    "--set", help="Override any key: --set train.batch_size=16 (TOML value); repeatable.")]


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


def _config(config: Path | None, sets: list[str] | None, flags: dict[str, Any]) -> Any:
    from neuralab.experiments.config import load_config

    overrides = {k: v for k, v in flags.items() if v is not None}
    return load_config(config, sets or [], overrides)


@app.command("train")
def train_cmd(
    config: Annotated[Path | None, typer.Argument(
        help="Config file (TOML). Without one, the flags (or the defaults) describe the run.",
        show_default=False)] = None,
    sets: SetOpt = None,
    data: Annotated[str | None, typer.Option("--data", help="Dataset name (neuralab data "
                                             "list).")] = None,
    path: Annotated[str | None, typer.Option("--path", help="Data file (e.g. octmnist.npz)."
                                             )] = None,
    root: Annotated[str | None, typer.Option("--root", help="Data folder (MNIST IDX files)."
                                             )] = None,
    model: Annotated[str | None, typer.Option(
        "--model", help="perceptron, logistic, linear, mlp, mlp_regressor or ovr.")] = None,
    hidden: Annotated[str | None, typer.Option(
        "--hidden", "--dnn_hidden_units", "--dnn-hidden-units",
        help=flag_help("hidden") + " E.g. 20,20.")] = None,
    activation: Annotated[str | None, typer.Option("--activation",
                                                   help=flag_help("activation"))] = None,
    optimizer: Annotated[str | None, typer.Option("--optimizer", help=flag_help("optimizer"))
                         ] = None,
    lr: Annotated[float | None, typer.Option("--lr", "--learning_rate", "--learning-rate",
                                             help=flag_help("lr"))] = None,
    momentum: Annotated[float | None, typer.Option("--momentum", help=flag_help("momentum"))
                        ] = None,
    epochs: Annotated[int | None, typer.Option("--epochs", "--max_steps", "--max-steps",
                                               help=flag_help("epochs"))] = None,
    eval_every: Annotated[int | None, typer.Option(
        "--eval-every", "--eval_every", "--eval_freq", "--eval-freq",
        help=flag_help("eval_every"))] = None,
    train_metrics: Annotated[str | None, typer.Option(
        "--train-metrics", help=flag_help("train_metrics"))] = None,
    batch_size: Annotated[str | None, typer.Option(
        "--batch-size", "--batch_size", help=flag_help("batch_size"))] = None,
    seed: Annotated[int | None, typer.Option("--seed", help=flag_help("seed"))] = None,
    dtype: Annotated[str | None, typer.Option("--dtype", help=flag_help("dtype"))] = None,
    name: Annotated[str | None, typer.Option("--name", help="Run name (folder prefix).")
                    ] = None,
    out: Annotated[str | None, typer.Option("--out", help="Parent folder of run folders "
                                            "(default runs).")] = None,
    resume: Annotated[Path | None, typer.Option(
        "--resume", help="Continue the run in this folder from its last checkpoint.")] = None,
    quick: Annotated[bool, typer.Option("--quick", help="Smoke test: at most 5 epochs and a "
                                        "few hundred samples.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the result.")
                     ] = False,
    offline: Annotated[bool, typer.Option("--offline", help="Never download data.")] = False,
    no_plots: Annotated[bool, typer.Option("--no-plots", help="Skip the figures.")] = False,
) -> None:
    """Train a model: a config file, flags, or both (flags and --set win over the file)."""
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
                    "--set" if sets else ("--quick" if quick else given[0]))
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
    final = result.summary.get("final") or {}
    if final:
        typer.echo(" ".join(f"{k}={v:.4f}" for k, v in final.items()))
    typer.echo(str(result.run_dir))


@config_app.command("show")
def config_show(
    config: Annotated[Path | None, typer.Argument(help="Config file (TOML); none: defaults.",
                                                  show_default=False)] = None,
    sets: SetOpt = None,
) -> None:
    """Print the resolved config: the file with every default filled in and --set applied."""
    cfg = _config(config, sets, {})
    typer.echo(cfg.to_toml(), nl=False)


@app.command("report")
def report_cmd(
    runs: Annotated[list[Path], typer.Argument(help="Run folders.", show_default=False)],
    output: Annotated[Path, typer.Option("-o", "--output", help="report.html (self-contained)"
                                         " or report.md.")] = Path("report.html"),
    title: Annotated[str | None, typer.Option("--title")] = None,
) -> None:
    """One report of one or several runs (a comparison for several), or of a study folder."""
    from neuralab.report import write_report

    if len(runs) == 1 and (runs[0] / "study.toml").is_file():
        from neuralab.report.study import write_study_report

        path = write_study_report(runs[0], output, title=title)
        typer.echo(f"wrote {path} (study {runs[0].name})")
        return
    path = write_report(runs, output, title)
    typer.echo(f"wrote {path} ({len(runs)} run{'s' if len(runs) != 1 else ''})")


@app.command("eval")
def eval_cmd(
    run: Annotated[Path, typer.Argument(help="Run folder.", show_default=False)],
    data: Annotated[str | None, typer.Option("--data", help="Dataset (default: the run's).")
                    ] = None,
    path: Annotated[str | None, typer.Option("--path", help="Data file.")] = None,
    root: Annotated[str | None, typer.Option("--root", help="Data folder.")] = None,
    split: Annotated[str, typer.Option("--split", help="train, val or test.")] = "test",
    offline: Annotated[bool, typer.Option("--offline")] = False,
) -> None:
    """Evaluate a run's model on a split; prints the metrics, writes eval-SPLIT.json."""
    from neuralab.experiments.evaluate import eval_run

    if split not in ("train", "val", "test"):
        fail(f"--split {split!r} is not allowed; choose train, val or test")
    result = eval_run(run, data=data, path=path, root=root, split=split, offline=offline)
    shown = {k: v for k, v in result.items() if k in ("accuracy", "mse", "r2")}
    typer.echo(f"{result['data']} {split} (n={result['n']}): "
               + " ".join(f"{k}={v:.4f}" for k, v in shown.items()))


@app.command("predict")
def predict_cmd(
    model: Annotated[Path, typer.Argument(help="model.npz (or its run folder).",
                                          show_default=False)],
    points: Annotated[Path, typer.Argument(help="CSV of input points with a header row.",
                                           show_default=False)],
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the "
                                         "predictions (CSV).")] = Path("predictions.csv"),
) -> None:
    """Predict a label (and class probabilities) for each point of a CSV file."""
    from neuralab.experiments.evaluate import predict_file

    n = predict_file(model, points, output)
    typer.echo(f"wrote {output} ({n} points)")
