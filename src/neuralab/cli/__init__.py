"""The ``neuralab`` command line.

Each command group lives in its own module and registers itself on :data:`app`.
Errors a user can fix print one line on stderr and exit with code 2, never a traceback.
"""

from __future__ import annotations

import importlib
import sys

from neuralab.cli._app import UsageError, app, fail

# Command groups, each a module that adds its commands to ``app`` when imported.
COMMAND_MODULES = ("neuralab.cli.data", "neuralab.cli.experiments", "neuralab.cli.studies")


def _load_commands() -> None:
    for name in COMMAND_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a command group not written yet, or an extra missing
            if exc.name == name:
                continue
            raise


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and map user errors to one line + exit code 2."""
    _load_commands()
    from neuralab._malloc import keep_large_allocations
    from neuralab.cli._app import run

    keep_large_allocations()  # this process is ours: no page faults on large temporaries

    return run(argv if argv is not None else sys.argv[1:])


__all__ = ["UsageError", "app", "fail", "main"]
