"""The typer application object and the one-line error convention shared by every command."""

from __future__ import annotations

import importlib
import sys
from typing import NoReturn

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


def _click_classes(name: str) -> tuple[type[BaseException], ...]:
    """Click's exception class ``name`` from every copy present.

    typer >= 0.2x parses with its own vendored click (``typer._click``), whose exceptions are
    not the ``click`` package's; older typer uses ``click`` itself; both may be installed side
    by side. Catching every copy keeps a bad flag one line and exit code 2, never a traceback.
    """
    found = []
    for module in ("typer._click.exceptions", "click.exceptions"):
        try:
            found.append(getattr(importlib.import_module(module), name))
        except (ImportError, AttributeError):
            continue
    return tuple(found)


_EXITS = (typer.Exit, *_click_classes("Exit"))
_ABORTS = (typer.Abort, *_click_classes("Abort"))
_NO_ARGS = _click_classes("NoArgsIsHelpError")
_USAGE = _click_classes("UsageError")
_CLICK = _click_classes("ClickException")


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
