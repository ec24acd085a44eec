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

# typer >= 0.2x parses with its own vendored copy of click, whose exceptions are not click's:
# catch both families so a bad flag is always one line and exit code 2, never a traceback.
try:
    from typer._click import exceptions as _typer_click
except ImportError:  # pragma: no cover - older typer uses click itself
    _typer_click = click.exceptions
_EXITS = (click.exceptions.Exit, typer.Exit)
_ABORTS = (click.exceptions.Abort, typer.Abort)
_NO_ARGS = tuple(getattr(m, "NoArgsIsHelpError", ()) for m in (click.exceptions, _typer_click)
                 if hasattr(m, "NoArgsIsHelpError"))
_USAGE = (click.UsageError, _typer_click.UsageError)
_CLICK = (click.ClickException, _typer_click.ClickException)


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
        result = app(args=argv, prog_name="neuralab", standalone_mode=False)
        if isinstance(result, int) and not isinstance(result, bool):
            return result  # click returns typer.Exit(code)'s code when not standalone
    except _EXITS as exc:  # --help, typer.Exit
        return int(getattr(exc, "exit_code", 0) or 0)
    except _ABORTS:
        print("neuralab: interrupted", file=sys.stderr)
        return 130
    except _NO_ARGS:  # `neuralab` alone: the help was printed
        return 0
    except _USAGE as exc:  # bad flags, missing arguments, unknown commands
        print(f"neuralab: error: {_one_line(exc.format_message())}", file=sys.stderr)
        return EXIT_USAGE
    except _CLICK as exc:  # e.g. an unreadable file argument
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
