"""How every ``neuralab`` command reads its arguments and prints its usage line.

typer prints a required argument as ``{runs}...``, lets ``--quick true`` read ``true`` as
the next positional argument (a config file named "true") and words a bad number as
"Invalid value for '--epochs' / '--max_steps' / '--max-steps': Input should be a valid
integer, unable to parse string as an integer". :class:`Command` prints usage lines the way
man pages do (``RUN...``, ``[CONFIG]``), refuses a value after a switch and says
``--epochs 'abc' is not an integer``; :class:`Group` prints its help when called alone.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from neuralab.cli._app import _click_classes, fail

# The backend options `neuralab study` and `neuralab reproduce` share (one home)
Workers = Annotated[int | None, typer.Option(
    "--workers", metavar="N", help="Local worker processes (Dask on 127.0.0.1).",
    show_default=False)]
Scheduler = Annotated[str | None, typer.Option(
    "--scheduler", metavar="URL", help="A running Dask scheduler, e.g. "
    "tcp://127.0.0.1:8786.", show_default=False)]

# Each command's line in `neuralab --help` (listed without importing the command's module).
SHORT_HELP = {
    "train": "Train a model: a config file, flags, or both.",
    "report": "An HTML report of a run, a comparison of runs, or a study.",
    "eval": "Evaluate a run's model on a split (writes eval-SPLIT.json).",
    "predict": "Predict a label for each point of a CSV file.",
    "study": "A grid of settings x many seeds, with intervals.",
    "reproduce": "The seed reports' findings, re-run over many seeds.",
    "playground": "TensorFlow Playground's page, on neuralab's engine.",
    "data": "Datasets: list them, show one as a picture, download one.",
    "config": "Experiment configs: print the resolved config.",
    "data list": "Every dataset: classes, input, sizes, offline or not.",
    "data show": "Save a picture of a dataset.",
    "data get": "Download a dataset into the cache (checksum-verified).",
    "config show": "Print the resolved config (TOML), defaults filled in.",
}

_BAD_PARAMETER = _click_classes("BadParameter")  # a value typer could not convert
KINDS = {"integer": "an integer", "number": "a number"}

# Words a user may type after a switch believing it takes a value (``--quick true``).
BOOL_WORDS = frozenset({"true", "false", "yes", "no", "on", "off", "1", "0", "y", "n"})


def _usage_name(param: Any) -> str:
    name = param.metavar or param.name.upper()
    if param.nargs != 1:
        name += "..."
    return name if param.required else f"[{name}]"


class Command(TyperCommand):
    """A typer command with man-page usage lines that refuses ``--switch true``."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        pieces += [_usage_name(p) for p in self.get_params(ctx)
                   if p.param_type_name == "argument"]
        return pieces

    def format_options(self, ctx: Any, formatter: Any) -> None:
        """The Arguments and Options sections; an argument shows as its usage name
        (``RUN...``), without typer's ``<list[Path]>``."""
        args, opts = [], []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if param.param_type_name == "argument":
                args.append((_usage_name(param).strip("[]"), record[1]))
            else:
                opts.append(record)
        for title, rows in (("Arguments", args), ("Options", opts)):
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        switches = {opt for p in self.get_params(ctx) if getattr(p, "is_flag", False)
                    for opt in (*p.opts, *p.secondary_opts)}
        for flag, word in itertools.pairwise(args):
            if flag == "--":
                break
            if flag in switches and word.lower() in BOOL_WORDS and not Path(word).exists():
                fail(f"{flag} is a switch and takes no value: write {flag} alone, not "
                     f"{flag} {word}")
        typed = list(args)  # the parser consumes ``args``
        try:
            return super().parse_args(ctx, args)
        except _BAD_PARAMETER as exc:
            param = getattr(exc, "param", None)
            if param is None or param.param_type_name != "option":
                raise
            flag, value = _typed(param, typed)
            found = re.search(r"valid (integer|number)", str(exc.message))
            if flag is None or found is None:
                raise
            fail(f"{flag} {value!r} is not {KINDS[found.group(1)]}")


class Group(TyperGroup):
    """A command group; alone (``neuralab data``) it prints its help and exits 0."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not args and self.no_args_is_help and not ctx.resilient_parsing:
            # typer raises an error carrying the help, which prints nothing with plain help
            print(ctx.get_help())
            ctx.exit(0)
        return super().parse_args(ctx, args)


def _typed(param: Any, args: list[str]) -> tuple[str | None, str]:
    """The flag the user typed for ``param`` (its last use) and the value given to it."""
    flag, value = None, ""
    for i, arg in enumerate(args):
        for opt in (*param.opts, *param.secondary_opts):
            if arg == opt and i + 1 < len(args):
                flag, value = opt, args[i + 1]
            elif arg.startswith(opt + "="):
                flag, value = opt, arg[len(opt) + 1:]
    return flag, value


__all__ = ["BOOL_WORDS", "SHORT_HELP", "Command", "Group"]
