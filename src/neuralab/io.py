"""Model files: named NumPy arrays plus a JSON header in one ``.npz`` archive, and the safe,
bounded reading of ``.npz`` archives, JSON text and regular files that every reader uses.

``save_arrays(path, header, arrays)`` writes atomically (a temporary file in the same folder,
then ``os.replace``), so a crash never leaves half a file. ``load_arrays(path)`` reads with
:func:`read_npz`: nothing a file contains is ever executed (no pickles), and every number in
the file that sizes work is checked against :data:`LIMITS` *before* memory is allocated or
data decompressed. Every error names the file.

>>> import tempfile, os, numpy as np
>>> p = os.path.join(tempfile.mkdtemp(), "m.npz")
>>> save_arrays(p, {"kind": "demo"}, {"w": np.eye(2)})
>>> header, arrays = load_arrays(p)
>>> header["kind"], arrays["w"].shape
('demo', (2, 2))
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
import struct
import tokenize
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from neuralab import __version__
from neuralab._atomic import atomic_file
from neuralab.exceptions import ModelFileError, NeuralabError

FORMAT = "neuralab-arrays"
FORMAT_VERSION = 1
HEADER_KEY = "__header__"

MiB = 2**20
GiB = 2**30


@dataclass(frozen=True)
class Limits:
    """What reading one file may cost, checked from the file's own declarations (zip
    directory, ``.npy`` headers, IDX dimensions) before anything is allocated or
    decompressed. ``docs/models.md`` ("Reading files safely") lists them for users."""

    max_file_bytes: int = 4 * GiB  # one archive or data file on disk
    max_total_bytes: int = 2 * GiB  # all arrays of one file, uncompressed
    small_bytes: int = 64 * MiB  # up to this much, any compression ratio is believed
    max_ratio: int = 100  # beyond small_bytes: uncompressed <= max_ratio x compressed size
    max_members: int = 10_000  # arrays in one .npz archive
    max_ndim: int = 32  # dimensions of one array
    max_text_chars: int = 16 * MiB  # one JSON text (model header, preprocess.json, ...)
    max_json_depth: int = 64  # nesting of lists and objects in that JSON

    def allowed_total(self, compressed: int) -> int:
        """How many uncompressed bytes a file of ``compressed`` bytes may declare."""
        return min(self.max_total_bytes, max(self.small_bytes, self.max_ratio * compressed))


LIMITS = Limits()
# Deflate cannot expand data more than 1032:1; a zip member claiming more lies about its size.
DEFLATE_MAX_RATIO = 1032
_CHUNK = 1 * MiB  # decompression step: memory beyond the declared array stays this small
_MAX_NPY_HEADER = 10_000  # characters of one .npy header (NumPy's own default)
_NUMERIC_TEXT = "biufU"  # what a model file may hold: bool, ints, floats, text
_KIND_NAMES = {"c": "complex numbers", "M": "dates", "m": "time spans", "V": "raw records",
               "S": "bytes", "O": "Python objects", "U": "text"}


# -- regular files ------------------------------------------------------------------------
def _a(what: str) -> str:
    """``what`` with its article: "a model file", "an IDX file"."""
    return ("an " if what[:1].lower() in "aeiou" or what.startswith(("IDX", "NPZ", "MNIST"))
            else "a ") + what


def what_is(path: str | os.PathLike) -> str:
    """What ``path`` is, as the end of a sentence naming it: "does not exist", "is a loop of
    symbolic links", "is a FIFO (named pipe)", "is a folder", "is a file"..."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "is a loop of symbolic links"
        if os.path.islink(path):
            return "is a symbolic link to something that does not exist"
        return "does not exist" if exc.errno in (errno.ENOENT, errno.ENOTDIR) else (
            f"cannot be examined ({exc.strerror})")
    return ("is a folder" if stat.S_ISDIR(mode) else "is a file" if stat.S_ISREG(mode) else
            "is a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "is a socket"
            if stat.S_ISSOCK(mode) else "is a device" if stat.S_ISCHR(mode)
            or stat.S_ISBLK(mode) else "is not a regular file")


def open_regular(path: str | os.PathLike, error: type[NeuralabError] = ModelFileError,
                 what: str = "model file", *, max_bytes: int | None = None) -> IO[bytes]:
    """``path`` opened for binary reading, after checking it is a regular file of at most
    ``max_bytes``. A missing file, a symlink loop, a FIFO or a folder each get their own
    accurate message (``error`` naming the file); opening never blocks on a FIFO."""
    path = Path(path)
    max_bytes = LIMITS.max_file_bytes if max_bytes is None else max_bytes
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        broken = os.path.islink(path)
        raise error(f"{path}: no such {what} (" + ("a symbolic link to a file that does "
                                                   "not exist)" if broken else
                                                   "it does not exist)")) from None
    except IsADirectoryError:
        raise error(f"{path} is a folder, not {_a(what)}") from None
    except PermissionError:
        raise error(f"{path}: permission denied; this {what} cannot be read") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise error(f"{path} is a loop of symbolic links, not {_a(what)}") from None
        raise error(f"{path} cannot be opened as {_a(what)}: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = ("a folder" if stat.S_ISDIR(st.st_mode) else
                    "a FIFO (named pipe)" if stat.S_ISFIFO(st.st_mode) else
                    "a socket" if stat.S_ISSOCK(st.st_mode) else
                    "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
                    else "not a regular file")
            raise error(f"{path} is {kind}, not {_a(what)}")
        if st.st_size > max_bytes:
            raise error(f"{path} is {st.st_size:,} bytes; {_a(what)} may be at most "
                        f"{max_bytes:,} bytes")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_text(path: str | os.PathLike, error: type[NeuralabError], what: str, *,
              max_chars: int | None = None) -> str:
    """The UTF-8 text of regular file ``path`` (at most ``max_chars``, default
    ``LIMITS.max_text_chars``)."""
    limit = LIMITS.max_text_chars if max_chars is None else max_chars
    with open_regular(path, error, what, max_bytes=4 * limit) as f:
        raw = f.read(4 * limit + 1)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"{path} is not UTF-8 text (byte {exc.start}); {_a(what)} is JSON "
                    "text") from None
    if len(text) > limit:
        raise error(f"{path} holds {len(text):,} characters; {_a(what)} may hold at most "
                    f"{limit:,}")
    return text


# -- text lines ---------------------------------------------------------------------------
def bounded_lines(f: IO[str], where: str | os.PathLike | None, error: type[Exception], *,
                  max_line: int, max_chars: int | None = None,
                  what: str = "a CSV row neuralab reads") -> Iterator[str]:
    """The lines of text file ``f``, each read with a bound: iterating a file, or the csv
    module, would read a line of gigabytes whole before anything could count it. At most
    ``max_chars`` characters in all: a file someone is still writing may grow past the size
    checked when it was opened. ``error`` names ``where`` (the file; None where the caller
    names it) and the line."""
    at = "" if where is None else f"{where}, "
    number = total = 0
    while line := f.readline(max_line + 1):
        number += 1
        total += len(line)
        if len(line) > max_line:
            raise error(f"{at}line {number} is longer than {max_line:,} characters; it "
                        f"is not {what}")
        if max_chars is not None and total > max_chars:
            raise error(f"{where or 'the file'} grew past {max_chars:,} bytes while it was "
                        f"read (line {number}); it may be at most that size: read it once it "
                        "is complete")
        yield line


def rows_per_chunk(n_columns: int, max_rows: int, max_cells: int) -> int:
    """How many rows of ``n_columns`` text cells a reader holds before parsing them into
    numbers: ``max_rows``, fewer for wide rows (at most ``max_cells`` cells, each some
    50 bytes while it is text)."""
    return max(1, min(max_rows, max_cells // max(n_columns, 1)))


# -- JSON ---------------------------------------------------------------------------------
def parse_json(text: str, where: str, error: type[NeuralabError] = ModelFileError,
               *, max_depth: int | None = None) -> Any:
    """``text`` parsed as JSON, at most ``max_depth`` levels of nesting; ``error`` (naming
    ``where``) for bad JSON, too deep nesting or too long text."""
    depth_limit = LIMITS.max_json_depth if max_depth is None else max_depth
    if len(text) > LIMITS.max_text_chars:
        raise error(f"{where} holds {len(text):,} characters of JSON; at most "
                    f"{LIMITS.max_text_chars:,} are read")
    try:
        value = json.loads(text)
    except RecursionError:
        raise error(f"{where} is JSON nested too deeply (more than {depth_limit} "
                    "levels)") from None
    except ValueError as exc:  # JSONDecodeError, and integers of too many digits
        raise error(f"{where} is not valid JSON: {exc}") from None
    if json_depth(value) > depth_limit:
        raise error(f"{where} is JSON nested too deeply (more than {depth_limit} levels)")
    return value


def json_depth(value: Any) -> int:
    """Nesting depth of lists and dicts in ``value`` (0 for a number or a string)."""
    if not isinstance(value, (list, dict)):
        return 0
    deepest, stack = 1, [(value, 1)]
    while stack:  # iterative: a recursive walk would hit Python's recursion limit first
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        children = item.values() if isinstance(item, dict) else item
        stack.extend((x, depth + 1) for x in children if isinstance(x, (list, dict)))
    return deepest


def json_text(obj: Any) -> np.ndarray:
    """``obj`` as JSON in a 0-d text array (how generator states travel in checkpoints)."""
    return np.array(json.dumps(obj))


def from_json_text(arr: np.ndarray, where: str = "a model file's JSON text") -> Any:
    """The JSON held by a 0-d text array (:class:`ModelFileError` if it is not one)."""
    arr = np.asarray(arr)
    if arr.dtype.kind != "U" or arr.ndim != 0:
        raise ModelFileError(f"{where} should be one JSON text; found an array of dtype "
                             f"{arr.dtype} and shape {arr.shape}")
    return parse_json(str(arr), where)


# -- .npz archives ------------------------------------------------------------------------
def read_npz(path: str | os.PathLike, *, error: type[NeuralabError] = ModelFileError,
             what: str = "model file", kinds: str = _NUMERIC_TEXT,
             limits: Limits = LIMITS) -> dict[str, np.ndarray]:
    """Every array of the ``.npz`` archive ``path`` (name → array, native byte order).

    Never unpickles. Before reading any data it checks the zip directory (member count,
    compression methods, declared sizes against :class:`Limits` and against the file's
    size) and each ``.npy`` header (dtype kind in ``kinds``, shape consistent with the bytes
    stored); data is then decompressed into the declared array with a bound, and the CRC
    checked. Raises ``error`` naming the file for anything else.
    """
    path = Path(path)
    with open_regular(path, error, what, max_bytes=limits.max_file_bytes) as f:
        size = os.fstat(f.fileno()).st_size
        start = f.read(8)
        f.seek(0)
        if start.startswith(b"\x93NUMPY"):
            raise error(f"{path} is a bare .npy array, not a .npz archive ({what})")
        if not start.startswith(b"PK"):
            hint = (" (it looks like a Python pickle; neuralab never loads pickles)"
                    if start[:1] == b"\x80" else "")
            raise error(f"{path} is not a .npz archive (it does not start like a zip file)"
                        f"{hint}; {_a(what)} is a .npz archive")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # numpy's note on Python-2 headers
                return _read_members(path, f, size, error, kinds, limits)
        except NeuralabError:
            raise
        except RecursionError:
            raise error(f"{path} has an array header nested too deeply; it is not a valid "
                        f"{what}") from None
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, TypeError,
                NotImplementedError, struct.error, OverflowError, UnicodeError,
                RuntimeError, KeyError, IndexError, SyntaxError) as exc:
            detail = " ".join(str(exc).split())[:200]
            raise error(f"{path} is truncated or corrupt, not a valid .npz archive "
                        f"({type(exc).__name__}: {detail})") from None


def _read_members(path: Path, f: IO[bytes], size: int, error: type[NeuralabError],
                  kinds: str, limits: Limits) -> dict[str, np.ndarray]:
    zf = zipfile.ZipFile(f)
    infos = zf.infolist()
    if len(infos) > limits.max_members:
        raise error(f"{path} holds {len(infos):,} members; at most {limits.max_members:,} "
                    "arrays are read from one file")
    total = packed = 0
    seen: set[str] = set()
    for info in infos:
        name = info.filename
        if not name.endswith(".npy") or info.is_dir():
            raise error(f"{path} holds {name!r}, which is not a NumPy array (.npy)")
        if name in seen:
            raise error(f"{path} holds two arrays named {name[:-4]!r}; it is corrupt")
        seen.add(name)
        if info.flag_bits & 0x1:
            raise error(f"{path} holds an encrypted member {name!r}; it cannot be read")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise error(f"{path} uses compression method {info.compress_type} for {name!r}; "
                        "neuralab reads .npz archives that are stored or deflated (what "
                        "numpy.savez and savez_compressed write)")
        stored = info.compress_type == zipfile.ZIP_STORED
        if (stored and info.file_size != info.compress_size) or (
                info.file_size > DEFLATE_MAX_RATIO * info.compress_size + 1024):
            raise error(f"{path}: member {name!r} declares {info.file_size:,} bytes from "
                        f"{info.compress_size:,} compressed, more than its compression can "
                        "give; the file is corrupt or a decompression bomb")
        total += info.file_size
        packed += info.compress_size
    allowed = limits.allowed_total(size)
    if total > allowed:
        raise error(f"{path} declares {total:,} bytes of arrays in a file of {size:,} bytes; "
                    f"at most {allowed:,} are read (limits: {limits.max_total_bytes:,} bytes "
                    f"in all, {limits.max_ratio}:1 compression beyond "
                    f"{limits.small_bytes:,}); refusing a possible decompression bomb")
    if packed > size:
        raise error(f"{path}: its members overlap ({packed:,} compressed bytes in a file of "
                    f"{size:,}); the file is corrupt or a decompression bomb")
    out: dict[str, np.ndarray] = {}
    for info in infos:
        with zf.open(info) as member:
            out[info.filename[:-4]] = _read_npy(path, info, member, error, kinds, limits)
    return out


def _read_npy(path: Path, info: zipfile.ZipInfo, member: IO[bytes],
              error: type[NeuralabError], kinds: str, limits: Limits) -> np.ndarray:
    """One member: its header checked, then exactly its declared bytes read into place."""
    fmt = np.lib.format
    name = info.filename[:-4]
    try:
        version = fmt.read_magic(member)
        if version not in ((1, 0), (2, 0)):
            raise error(f"{path}: array {name!r} uses .npy format {version}; neuralab reads "
                        "versions 1.0 and 2.0")
        read_header = (fmt.read_array_header_1_0 if version == (1, 0)
                       else fmt.read_array_header_2_0)
        # NumPy parses the header with ast.literal_eval (never eval), up to 10,000 chars
        shape, fortran, dtype = read_header(member, max_header_size=_MAX_NPY_HEADER)
    except (ValueError, SyntaxError, RecursionError, MemoryError, TypeError,
            tokenize.TokenError) as exc:  # TokenError: NumPy's fallback for Python-2 headers
        if isinstance(exc, NeuralabError):
            raise
        detail = " ".join(str(exc).split())
        if "Header info length" in detail:
            detail = f"longer than {_MAX_NPY_HEADER:,} characters"
        raise error(f"{path}: array {name!r} has an invalid .npy header "
                    f"({re.sub(r' at 0x[0-9a-f]+', '', detail)[:160]}); the file is "
                    "corrupt") from None
    if dtype.hasobject:
        raise error(f"{path} holds pickled Python objects (object arrays such as {name!r}); "
                    "neuralab refuses to load them (a file may contain numbers and text "
                    "only, nothing that runs)")
    if dtype.names is not None or dtype.subdtype is not None or dtype.kind not in kinds:
        what = ("records (a structured dtype)" if dtype.names is not None or dtype.subdtype
                is not None else _KIND_NAMES.get(dtype.kind, f"dtype {dtype}"))
        allowed = "real numbers and text" if "U" in kinds else "real numbers"
        raise error(f"{path}: array {name!r} holds {what} (dtype {dtype}); only {allowed} "
                    "are read")
    if len(shape) > limits.max_ndim or any(d < 0 for d in shape):
        raise error(f"{path}: array {name!r} declares shape {shape}; at most "
                    f"{limits.max_ndim} non-negative dimensions are allowed")
    count = 1
    for d in shape:
        count *= d
    nbytes = count * dtype.itemsize
    held = info.file_size - member.tell()
    if nbytes != held:
        raise error(f"{path}: array {name!r} declares shape {shape} of {dtype} "
                    f"({nbytes:,} bytes) but its member holds {held:,} bytes; the file is "
                    "corrupt")
    flat = np.empty(count, dtype=dtype)
    if nbytes:
        view = flat.view(np.uint8)
        pos = 0
        while pos < nbytes:
            chunk = member.read(min(_CHUNK, nbytes - pos))
            if not chunk:
                raise error(f"{path}: array {name!r} is truncated ({pos:,} of {nbytes:,} "
                            "bytes)")
            view[pos:pos + len(chunk)] = np.frombuffer(chunk, np.uint8)
            pos += len(chunk)
    if member.read(1):  # also reaches the member's end, where zipfile checks the CRC
        raise error(f"{path}: array {name!r} holds more bytes than its shape {shape}")
    arr = flat.reshape(shape, order="F" if fortran else "C")
    if not dtype.isnative:
        arr = arr.astype(dtype.newbyteorder("="))
    return arr


# -- model files --------------------------------------------------------------------------
def save_arrays(path: str | os.PathLike, header: dict[str, Any], arrays: dict[str, Any]) -> None:
    """Write ``arrays`` (name → array) and a JSON-serialisable ``header`` to ``path``.

    Object arrays are refused (they could only be stored pickled).
    """
    path = Path(path)
    payload: dict[str, np.ndarray] = {}
    for name, value in arrays.items():
        if not isinstance(name, str) or not name or name == HEADER_KEY:
            raise ValueError(f"array name {name!r} is not allowed in a model file")
        arr = np.asarray(value)
        if arr.dtype.hasobject:
            raise ValueError(f"array {name!r} holds Python objects (dtype object); model files "
                             "store numbers and text only")
        payload[name] = arr
    full_header = {"format": FORMAT, "format_version": FORMAT_VERSION,
                   "neuralab_version": __version__, **header}
    payload[HEADER_KEY] = json_text(full_header)
    with atomic_file(path) as f:
        np.savez(f, **payload)


def load_arrays(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read a file written by :func:`save_arrays`; returns ``(header, arrays)``.

    Raises :class:`~neuralab.exceptions.ModelFileError` (naming the file) when the file is
    missing, corrupt, too large for :data:`LIMITS`, not a neuralab archive, or holds pickled
    objects, complex numbers, dates or records.
    """
    path = Path(path)
    arrays = read_npz(path)
    raw = arrays.pop(HEADER_KEY, None)
    if raw is None or raw.dtype.kind != "U" or raw.ndim != 0:
        raise ModelFileError(f"{path} has no neuralab header; it was not written by neuralab")
    header = parse_json(str(raw), f"{path}'s header")
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        found = header.get("format") if isinstance(header, dict) else None
        raise ModelFileError(f"{path} is not a neuralab model file (format {found!r})")
    version = header.get("format_version", FORMAT_VERSION)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ModelFileError(f"{path} has format_version {version!r}; it must be a whole "
                             f"number from 1 (this neuralab reads up to {FORMAT_VERSION})")
    if version > FORMAT_VERSION:
        raise ModelFileError(f"{path} uses format version {version}; this "
                             f"neuralab ({__version__}) reads up to {FORMAT_VERSION}")
    return header, arrays
