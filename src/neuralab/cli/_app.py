"""The typer application object and the one-line error convention shared by every command."""

from __future__ import annotations

import csv
import errno
import importlib
import io
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


STDOUT_CLOSED = ("standard output is closed (>&-), so this command's output has nowhere to go; "
                 "redirect it to a file or /dev/null")


class _ClosedOutput(io.RawIOBase):
    """The bytes under ``sys.stdout`` when the command started with stdout closed: a write
    fails (one line, exit 1) unless the command said its output is files."""

    discard = False  # set by stdout_optional()

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        if self.discard or not len(data):
            return len(data)
        raise OSError(errno.EBADF, STDOUT_CLOSED)


def stdout_optional() -> None:
    """Say that this command's results are files (a run folder, a report, predictions): with
    stdout closed (``>&-``) its closing lines are dropped instead of failing the command."""
    raw = getattr(getattr(sys.stdout, "buffer", None), "raw", getattr(sys.stdout, "buffer", None))
    if isinstance(raw, _ClosedOutput):
        raw.discard = True


def _guard_standard_fds() -> io.TextIOWrapper | None:
    """Point a closed fd 0, 1 or 2 at /dev/null, so the next file this command opens (a
    checkpoint, a metrics.csv) never becomes fd 1 or 2 and receives what is written there.
    With stdout closed, returns the ``sys.stdout`` stand-in whose writes fail (see
    :func:`stdout_optional`); else None."""
    closed = []
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            closed.append(fd)
    for fd in closed:
        _to_null(fd)
    if 1 not in closed and sys.stdout is not None:
        return None
    return io.TextIOWrapper(_ClosedOutput(), encoding="utf-8", write_through=True)  # type: ignore[arg-type]


def run(argv: list[str]) -> int:
    """Run ``app`` on ``argv``: every error ends as one line ``neuralab: error: ...`` with exit
    code 2 (input) or 1 (environment, or a bug); ``NEURALAB_DEBUG=1`` adds the traceback.
    A closed stdout is an error for a command whose output is stdout (exit 1); a reader
    that leaves early (``| head``) ends the command quietly (exit 1)."""
    saved = sys.stdout
    stand_in = _guard_standard_fds()
    if stand_in is not None:
        sys.stdout = stand_in
    try:
        return _run(argv)
    finally:
        if stand_in is not None:
            stand_in.buffer.discard = True  # type: ignore[attr-defined]  # nothing left to fail
            sys.stdout = saved


def _run(argv: list[str]) -> int:
    try:
        result = app(args=argv, prog_name="neuralab", standalone_mode=False)
        _flush_stdout()  # a closed pipe or stdout: an error here, not at interpreter exit
        if isinstance(result, int) and not isinstance(result, bool):
            return result  # click returns typer.Exit(code)'s code when not standalone
    except _EXITS as exc:  # --help, typer.Exit
        try:
            _flush_stdout()
        except BrokenPipeError:
            return _broken_pipe()
        except OSError as err:
            return _error_line(err)
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
        return _broken_pipe()
    except Exception as exc:  # the one place where every error becomes one line
        if debug():
            traceback.print_exc()
        return _error_line(exc)
    return 0


def _flush_stdout() -> None:
    if sys.stdout is not None:
        sys.stdout.flush()


def _to_null(fd: int) -> None:
    """Point file descriptor ``fd`` at /dev/null."""
    null = os.open(os.devnull, os.O_RDWR)
    if null != fd:
        os.dup2(null, fd)
        os.close(null)


def _broken_pipe() -> int:
    """The reader of stdout left (``| head -1``): exit 1 quietly, like ``head``'s writers;
    what is still buffered goes to /dev/null instead of a second error at exit."""
    _to_null(1)
    return EXIT_ENVIRONMENT


def _error_line(exc: BaseException) -> int:
    """``exc`` as the one line ``neuralab: error: ...`` on stderr; returns its exit code."""
    message, code = _classify(exc)
    print(f"neuralab: error: {_one_line(message)}", file=sys.stderr)
    return code
