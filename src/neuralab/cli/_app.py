"""The typer application object and the one-line error convention shared by every command."""

from __future__ import annotations

import csv
import errno
import importlib
import os
import re
import sys
import traceback
from typing import NoReturn

import typer

from neuralab.exceptions import NeuralabError

app = typer.Typer(
    name="neuralab",
    help="neuralab: neural networks from scratch — train, compare, plot, report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help (click's): it wraps to the terminal and never cuts an option's name, where
    # rich's panels cut `--dnn-hidden-units` at 80 and 100 columns; it also skips importing
    # rich for --help. Each command group passes rich_markup_mode=None too (the width is
    # inherited).
    rich_markup_mode=None,
    context_settings={"max_content_width": 100},
)

# optional packages (top-level import names) and the pyproject extra that installs them
EXTRA_OF = {"pandas": "studies", "scipy": "studies", "dask": "studies",
            "distributed": "studies", "fastapi": "playground", "uvicorn": "playground",
            "matplotlib": "cli", "sklearn": "cli", "rich": "cli", "pydantic": "cli",
            "tomli_w": "cli", "threadpoolctl": "bench"}
EXIT_USAGE = 2  # the input: a flag, a config, a file given
EXIT_ENVIRONMENT = 1  # the machine: a full disk, a file-size limit; or a bug
DEBUG_ENV = "NEURALAB_DEBUG"


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


# errno values that mean the command named a bad path (exit code 2); any other OSError is the
# machine's (a full disk, a quota, a file-size limit, an I/O error: exit code 1).
_INPUT_ERRNOS = {errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.ENAMETOOLONG, errno.EACCES,
                 errno.EPERM, errno.ELOOP, errno.EEXIST, errno.ENOTEMPTY, errno.EROFS}
_SPACE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
MAX_LINE = 1000  # characters of one error line (a value can be any size)


# What a terminal would act on rather than show: control characters (ESC starts the ANSI
# sequences that recolour, clear or retitle a terminal; BEL, backspace, NUL, C1 codes) and the
# bidirectional overrides that make text read in another order than it is stored. A key or
# value from someone else's file is echoed in the error line: these are shown escaped (\x1b).
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _one_line(message: str) -> str:
    text = " ".join(str(message).split())
    text = _UNPRINTABLE.sub(lambda m: ascii(m.group())[1:-1], text)
    return text if len(text) <= MAX_LINE else text[:MAX_LINE - 3] + "..."


def _os_error(exc: OSError) -> tuple[str, int]:
    """The line and exit code of an OSError: input (2) or environment (1)."""
    if exc.strerror is None:  # raised with a message of its own
        text = str(exc)
    else:
        names = [str(n) for n in (exc.filename, exc.filename2) if n is not None]
        text = f"{' -> '.join(names)}: {exc.strerror}" if names else exc.strerror
    if exc.errno in _SPACE_ERRNOS:
        text += " (free some space, or raise the file-size limit, and try again)"
    return text, EXIT_USAGE if exc.errno in _INPUT_ERRNOS else EXIT_ENVIRONMENT


def _classify(exc: BaseException) -> tuple[str, int]:
    """The one line and exit code of an error a command raised (see docs/cli.md)."""
    if isinstance(exc, (UsageError, ValueError)):
        return str(exc), EXIT_USAGE
    if isinstance(exc, OSError):  # before NeuralabError: an environment fault may be both
        return _os_error(exc)
    if isinstance(exc, NeuralabError):
        return str(exc), getattr(exc, "exit_code", EXIT_USAGE)
    if isinstance(exc, RecursionError):
        return ("the input is nested too deeply to read (a list or table inside itself "
                "hundreds of times)"), EXIT_USAGE
    if isinstance(exc, MemoryError):
        detail = f" ({exc})" if str(exc) else ""
        return f"out of memory{detail}; ask for less data or a smaller model", EXIT_USAGE
    if isinstance(exc, OverflowError):
        return f"a number is too large: {exc}", EXIT_USAGE
    if isinstance(exc, csv.Error):
        return f"malformed CSV: {exc}", EXIT_USAGE
    if isinstance(exc, ModuleNotFoundError) and exc.name in EXTRA_OF:
        package = exc.name
        return (f"this command needs {package}, which is not installed: "
                f"pip install 'neuralab[{EXTRA_OF[package]}]'"), EXIT_ENVIRONMENT
    return (f"internal error ({type(exc).__name__}: {exc}); this is a bug in neuralab: rerun "
            f"with {DEBUG_ENV}=1 to see the traceback, and report it"), EXIT_ENVIRONMENT


def debug() -> bool:
    """Whether ``NEURALAB_DEBUG`` asks for tracebacks."""
    return os.environ.get(DEBUG_ENV, "").strip() not in ("", "0")


def run(argv: list[str]) -> int:
    """Run ``app`` on ``argv``: every error ends as one line ``neuralab: error: ...`` with exit
    code 2 (input) or 1 (environment, or a bug); ``NEURALAB_DEBUG=1`` adds the traceback."""
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
    except KeyboardInterrupt:
        print("neuralab: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `neuralab data list | head`: the reader left; say nothing
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_ENVIRONMENT
    except Exception as exc:  # the one place where every error becomes one line
        if debug():
            traceback.print_exc()
        message, code = _classify(exc)
        print(f"neuralab: error: {_one_line(message)}", file=sys.stderr)
        return code
    return 0
