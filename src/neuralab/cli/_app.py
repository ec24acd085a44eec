"""The typer application object and the one-line error convention shared by every command."""

from __future__ import annotations

import sys
from typing import NoReturn

import click
import typer

from neuralab.exceptions import NeuralabError

app = typer.Typer(
    name="neuralab",
    help="neuralab: neural networks from scratch — train, compare, plot, report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_USAGE = 2


class UsageError(Exception):
    """Raised by commands for a problem the user can fix; printed as one line, exit code 2."""


def fail(message: str) -> NoReturn:
    """Stop the command with one line on stderr and exit code 2."""
    raise UsageError(message)


def _one_line(message: str) -> str:
    return " ".join(str(message).split())


def run(argv: list[str]) -> int:
    """Run ``app`` on ``argv``; user errors become ``neuralab: error: ...`` and exit code 2."""
    try:
        app(args=argv, prog_name="neuralab", standalone_mode=False)
    except click.exceptions.Exit as exc:  # --help, typer.Exit
        return int(exc.exit_code or 0)
    except click.exceptions.Abort:
        print("neuralab: interrupted", file=sys.stderr)
        return 130
    except click.UsageError as exc:  # bad flags, missing arguments, unknown commands
        print(f"neuralab: error: {_one_line(exc.format_message())}", file=sys.stderr)
        return EXIT_USAGE
    except (UsageError, NeuralabError, ValueError, FileNotFoundError, IsADirectoryError,
            PermissionError) as exc:
        print(f"neuralab: error: {_one_line(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("neuralab: interrupted", file=sys.stderr)
        return 130
    return 0
