"""One process at a time in a run or study folder: an exclusive ``flock`` on ``<folder>/.lock``.

The lock belongs to the open file, so the kernel releases it when the process ends, however
it ends (Ctrl-C, SIGKILL, a crash): a stale lock cannot outlive its process, and there is no
pid file to clean up. Two ``neuralab train --resume`` of one run would otherwise both append
to metrics.csv; the second is refused with one line instead.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from neuralab._atomic import check_links, remove_stale_temps

LOCK_FILE = ".lock"


class FolderBusy(ValueError):
    """Another process holds the folder's lock (one line; exit code 2 in the CLI)."""


@contextmanager
def lock_folder(folder: str | os.PathLike, *, what: str = "run folder") -> Iterator[Path]:
    """Hold ``folder`` exclusively for the ``with`` block; yields the folder.

    Once the lock is held, a link out of the folder is refused (ValueError) and the
    temporary files a killed process left are removed. Where ``fcntl`` is missing (Windows)
    the folder is used without a lock.
    """
    folder = Path(folder)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        fcntl = None  # type: ignore[assignment]
    try:
        fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EISDIR):
            raise ValueError(f"{folder / LOCK_FILE} is not a plain file; remove it") from None
        raise
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise FolderBusy(f"{what} {folder} is in use by another neuralab process; "
                                 "wait for it to finish (or stop it), then try again") from None
        check_links(folder, what=what)
        remove_stale_temps(folder)
        yield folder
    finally:
        os.close(fd)  # releases the lock


__all__ = ["LOCK_FILE", "FolderBusy", "lock_folder"]
