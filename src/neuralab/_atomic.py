"""Safe file access: atomic writes, appends that never follow a link, reads kept inside a folder.

- :func:`atomic_file`: a crash or Ctrl-C leaves the old file or the new one, never half of one.
- :func:`append_line`: one ``write`` per line, opened with ``O_NOFOLLOW``.
- :func:`confined`, :func:`read_confined`, :func:`check_links`: a run or study folder is
  something people mail to each other; nothing in it may make neuralab read or write outside
  it, so a symbolic link whose target leaves the folder is refused with one line.
- :func:`output_file`: an output the user named goes into a folder that exists.
- :func:`remove_stale_temps`: the temporary files a killed writer left behind.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

# What tempfile.mkstemp names atomic_file's temporaries: ".<name>.<8 random chars><suffix>".
TEMP_RE = re.compile(r"\..+\.[a-z0-9_]{8}\.(tmp|part)\Z")


def _umask_mode() -> int:
    """The mode a plain ``open()`` would give a new file (``mkstemp`` makes 0600 files)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_SPECIAL = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a device"),
            (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket"))


def _not_replaceable(mode: int, name: str) -> None:
    """A ValueError when ``mode`` is a FIFO's, a device's or a socket's: writing ``name``
    atomically would replace it (``/dev/null`` itself, as root) with a plain file."""
    for test, kind in _SPECIAL:
        if test(mode):
            raise ValueError(f"{name} is {kind}, not a file: neuralab writes a new file and "
                             "renames it into place, which would replace it; give a file name")


@contextmanager
def atomic_file(path: str | os.PathLike, *, suffix: str = ".tmp") -> Iterator[BinaryIO]:
    """Yield a binary file beside ``path``; on a clean exit fsync it and ``os.replace`` it onto
    ``path``, on any exception (KeyboardInterrupt included) delete it and re-raise. A FIFO,
    a device or a socket at ``path`` is a ValueError: it would be replaced, not written.

    An ``OSError`` (disk full, file too large) names ``path``, not the temporary file.
    """
    path = Path(path)
    try:
        _not_replaceable(os.lstat(path).st_mode, str(path))  # a link itself is replaced
    except (FileNotFoundError, NotADirectoryError):
        pass
    folder = path.parent if str(path.parent) else Path(".")
    folder.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=folder)
    except OSError as exc:  # a read-only folder: named as the file the user asked for
        exc.filename = str(path)
        raise
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _umask_mode())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.filename in (None, tmp):
            exc.filename = str(path)  # the user knows the file, not its temporary name
        raise


def append_line(path: str | os.PathLike, line: str) -> None:
    """Append one line with a single ``write`` call (``O_APPEND``), never through a link."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ValueError(f"{path} is a symbolic link; neuralab does not write through "
                             "links (replace it with a plain file)") from None
        raise
    try:
        os.write(fd, (line.rstrip("\n") + "\n").encode("utf-8"))
    finally:
        os.close(fd)


def _resolve(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a link loop (RuntimeError before Python 3.13)
        raise ValueError(f"{path} is a loop of symbolic links") from None


def _check_inside(root: Path, path: Path, what: str) -> Path:
    """``path``'s real path, which must lie inside ``root`` (already resolved)."""
    real = _resolve(path)
    if real != root and root not in real.parents:
        raise ValueError(f"{path} is a symbolic link to {real}, outside the {what} {root}; "
                         "neuralab never reads or writes through a link out of it")
    return real


def confined(folder: str | os.PathLike, name: str, limit: int | None = None, *,
             what: str = "run folder") -> Path | None:
    """``folder / name`` as a regular file inside ``folder`` (of at most ``limit`` bytes).

    None when nothing is there. A link is followed only when its target stays inside the
    folder; a link out of it, a broken link, a directory, a FIFO or a file over ``limit`` is a
    ValueError naming the file.
    """
    path = Path(folder) / name
    if not os.path.lexists(path):
        return None
    real = _check_inside(_resolve(Path(folder)), path, what)
    if not real.exists():
        raise ValueError(f"{path} is a broken symbolic link")
    info = real.stat()
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"{path} is not a regular file")
    if limit is not None and info.st_size > limit:
        raise ValueError(f"{path} is {info.st_size:,} bytes; at most {limit:,} are read")
    return path


def read_confined(folder: str | os.PathLike, name: str, limit: int, *,
                  what: str = "run folder") -> bytes | None:
    """The bytes of :func:`confined` ``(folder, name)``, at most ``limit``; None when absent."""
    path = confined(folder, name, limit, what=what)
    return None if path is None else read_bounded(path, limit)


def read_bounded(path: str | os.PathLike, limit: int) -> bytes:
    """The bytes of ``path``, at most ``limit`` (a ValueError past it: the file may have
    grown since it was checked)."""
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"{path} is over {limit:,} bytes; at most {limit:,} are read")
    return data


def _entries(folder: Path) -> Iterator[Path]:
    """``folder``'s entries and those of its sub-folders (one level: checkpoints/, plots/)."""
    for entry in os.scandir(folder):
        yield Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            yield from (Path(e.path) for e in os.scandir(entry.path))


def check_links(folder: str | os.PathLike, *, what: str = "run folder") -> None:
    """Refuse (ValueError) a folder holding a link whose target lies outside it: neuralab
    would read or write through it (an appended log.txt, a symlinked checkpoints/)."""
    root = _resolve(Path(folder))
    for path in _entries(Path(folder)):
        if path.is_symlink():
            _check_inside(root, path, what)


def output_file(path: str | os.PathLike, flag: str = "-o", *, create: bool = False) -> Path:
    """``path`` as a file to write: its folder must exist (``create=True``: it is made when
    missing). A file where a folder should be is a ValueError naming ``flag``.

    Outputs are written by :func:`atomic_file` (a new file renamed into place), so ``path``
    must be a regular file or nothing: a FIFO, a device (``/dev/null``) or a socket would be
    replaced by a plain file, and is refused. A symbolic link is kept: the file it points
    to is written."""
    path = Path(path).expanduser()
    if path.is_symlink():
        path = _resolve(path)  # a loop: a ValueError naming it
    if os.path.lexists(path):
        _not_replaceable(path.stat().st_mode, f"{flag} {path}")
    folder = path.parent
    if create and not folder.exists():
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            pass  # a file on the way: said below
    if not folder.is_dir():
        what = "does not exist" if not os.path.lexists(folder) else "is not a folder"
        raise ValueError(f"{flag} {path}: {folder} {what}"
                         + ("" if create else "; write into an existing folder"))
    if path.is_dir():
        raise ValueError(f"{flag} {path} is a folder; give a file name")
    return path


def remove_stale_temps(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporary files of :func:`atomic_file` that a killed process left in
    ``folder`` and its sub-folders; returns them. Call it only while holding the folder's
    lock (:mod:`neuralab._lock`): another writer's temporary file is not stale."""
    removed = []
    for path in _entries(Path(folder)):
        if TEMP_RE.match(path.name) and stat.S_ISREG(path.lstat().st_mode):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed
