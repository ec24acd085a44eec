"""The ``neuralab`` command line.

Each command group lives in its own module and registers itself on :data:`app`; a module is
imported only when one of its commands runs (``neuralab --help`` lists the commands from
:data:`COMMANDS` without importing the engine, so it starts in a fraction of a second).
Errors a user can fix print one line on stderr and exit with code 2, never a traceback.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import typer

from neuralab.cli._app import UsageError, app, fail
from neuralab.cli._command import SHORT_HELP, Group

# Each command, in the order `neuralab --help` lists them, and the module that registers it.
COMMANDS = {"train": "neuralab.cli.experiments", "report": "neuralab.cli.experiments",
            "eval": "neuralab.cli.experiments", "predict": "neuralab.cli.experiments",
            "study": "neuralab.cli.studies", "reproduce": "neuralab.cli.reproduce",
            "playground": "neuralab.cli.playground",
            "data": "neuralab.cli.data",
            "config": "neuralab.cli.experiments"}
COMMAND_MODULES = tuple(dict.fromkeys(COMMANDS.values()))


def _load_commands(modules: tuple[str, ...] = COMMAND_MODULES) -> None:
    for name in modules:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a command group not written yet, or an extra missing
            if exc.name == name:
                continue
            raise


class LazyGroup(Group):
    """The root command: imports a command's module when that command is asked for."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in COMMANDS and cmd_name not in self.commands:
            _load_commands((COMMANDS[cmd_name],))
            self.commands.update(typer.main.get_group(app).commands)
        return self.commands.get(cmd_name)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] not in COMMANDS and not args[0].startswith("-"):
            import difflib

            close = difflib.get_close_matches(args[0], list(COMMANDS), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            fail(f"unknown command {args[0]!r}{hint}; the commands are "
                 f"{', '.join(COMMANDS)}")
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:  # typer would end with a silent exit code 130
            print(f"neuralab: {exc or 'interrupted'}", file=sys.stderr)
            raise typer.Exit(130) from None

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, SHORT_HELP[name]) for name in COMMANDS])


app.info.cls = LazyGroup


@app.callback()
def _root() -> None:
    # A callback makes typer build the root as a group even before any command module is
    # imported; the help text is the Typer's own.
    pass


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and map user errors to one line + exit code 2."""
    from neuralab._malloc import keep_large_allocations
    from neuralab.cli._app import run

    keep_large_allocations()  # this process is ours: no page faults on large temporaries

    return run(argv if argv is not None else sys.argv[1:])


__all__ = ["COMMANDS", "LazyGroup", "UsageError", "app", "fail", "main"]
