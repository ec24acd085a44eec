"""Downloads into a cache: checksum-verified, atomic (no partial file ever), with progress.

The cache is ``$NEURALAB_DATA`` if set, else ``~/.cache/neuralab``; each dataset has its
own folder in it. ``NEURALAB_MIRROR`` (or ``mirror=``) replaces the host a file is fetched
from (``<mirror>/<filename>``), and ``NEURALAB_OFFLINE=1`` (or ``download=False``) forbids
the network altogether.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shlex
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from neuralab._atomic import atomic_file
from neuralab.exceptions import DataError

CHUNK = 1 << 16
TIMEOUT_S = 30.0


@dataclass(frozen=True)
class RemoteFile:
    """A published file: its name in the cache, where it lives and its checksum."""

    filename: str
    url: str
    md5: str | None = None
    sha256: str | None = None

    def source_url(self, mirror: str | None = None) -> str:
        """The URL to fetch: ``url``, or ``<mirror>/<filename>`` when a mirror is set."""
        mirror = mirror or os.environ.get("NEURALAB_MIRROR")
        return f"{mirror.rstrip('/')}/{self.filename}" if mirror else self.url


def cache_dir(root: str | os.PathLike | None = None) -> Path:
    """``root`` if given, else ``$NEURALAB_DATA``, else ``~/.cache/neuralab`` (user expanded)."""
    base = root or os.environ.get("NEURALAB_DATA") or Path("~/.cache/neuralab")
    return Path(base).expanduser()


def offline_by_default() -> bool:
    """True when ``NEURALAB_OFFLINE`` is set to a true value (1, true, yes)."""
    return os.environ.get("NEURALAB_OFFLINE", "").strip().lower() in ("1", "true", "yes")


def _hashers(remote: RemoteFile) -> dict:
    algos = {"md5": remote.md5, "sha256": remote.sha256}
    return {a: hashlib.new(a) for a, v in algos.items() if v}


def checksum_problem(path: Path, remote: RemoteFile) -> str | None:
    """None if ``path`` matches the published checksum(s), else what is wrong."""
    hashers = _hashers(remote)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            for h in hashers.values():
                h.update(chunk)
    return _mismatch(hashers, remote)


def _mismatch(hashers: dict, remote: RemoteFile) -> str | None:
    for algo, h in hashers.items():
        want = getattr(remote, algo)
        if h.hexdigest() != want.lower():
            return f"{algo} checksum mismatch: expected {want}, got {h.hexdigest()}"
    return None


@contextmanager
def _progress(total: int | None, label: str, enabled: bool | None) -> Iterator:
    """Yields ``advance(nbytes)``; a rich progress bar on a terminal, silent otherwise."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    try:
        from rich import progress as rp
    except ImportError:  # rich is an optional extra: download silently without it
        enabled = False
    if not enabled:
        yield lambda nbytes: None
        return

    columns = (rp.TextColumn("{task.description}"), rp.BarColumn(), rp.DownloadColumn(),
               rp.TransferSpeedColumn(), rp.TimeRemainingColumn())
    with rp.Progress(*columns, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda nbytes: bar.advance(task, nbytes)


def download(remote: RemoteFile, dest: str | os.PathLike, *, mirror: str | None = None,
             progress: bool | None = None, timeout: float = TIMEOUT_S) -> Path:
    """Fetch ``remote`` to ``dest``: stream to a temp file beside it, verify, then rename.

    On any failure (network error, interrupted transfer, checksum mismatch) the temp file
    is removed and a :class:`DataError` names the file and the cause; ``dest`` is never
    left partial.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    url = remote.source_url(mirror)
    try:
        with atomic_file(dest, suffix=".part") as out:  # never leaves a partial file
            hashers = _hashers(remote)
            received, total = _stream(url, out, hashers, dest.name, progress, timeout)
            if total is not None and received != total:
                raise DataError(f"download of {dest} from {url} was interrupted: received "
                                f"{received} of {total} bytes; try again")
            problem = _mismatch(hashers, remote)
            if problem:
                raise DataError(f"download of {dest} from {url} failed verification: "
                                f"{problem}; the file was not kept")
    except DataError:
        raise
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise DataError(f"could not download {dest.name} from {url}: {reason}; check the "
                        f"network and try again, or put the file into {dest.parent} "
                        "yourself (or use a mirror: --mirror URL / NEURALAB_MIRROR)") from None
    return dest


def _stream(url: str, out, hashers: dict, label: str, progress: bool | None,
            timeout: float) -> tuple[int, int | None]:
    """Copy ``url`` into ``out`` updating ``hashers``; returns (bytes received, Content-Length)."""
    request = urllib.request.Request(url, headers={"User-Agent": "neuralab"})
    received = 0
    with urllib.request.urlopen(request, timeout=timeout) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        with _progress(total, label, progress) as advance:
            while chunk := response.read(CHUNK):
                out.write(chunk)
                for h in hashers.values():
                    h.update(chunk)
                received += len(chunk)
                advance(len(chunk))
    return received, total


def fetch(remote: RemoteFile, folder: str | os.PathLike, *, dataset: str, download_ok: bool,
          mirror: str | None = None, progress: bool | None = None) -> Path:
    """The path of ``remote`` in ``folder``, downloading it first if missing and allowed."""
    dest = Path(folder) / remote.filename
    if dest.is_file():
        return dest
    if not download_ok or offline_by_default():
        # the command that fills this very folder (data get's --root is the folder itself)
        root = ("" if Path(folder) == cache_dir() / dataset
                else f" --root {shlex.quote(str(folder))}")
        raise DataError(
            f"{dataset}: {remote.filename} is not in {Path(folder)} and downloading is off "
            f"(offline); run `neuralab data get {dataset}{root}` with network access, or put "
            f"the file there yourself (from {remote.url})")
    return download(remote, dest, mirror=mirror, progress=progress)
