"""The IDX file format of MNIST, Fashion-MNIST and KMNIST: read and write, gzip or raw.

Layout: a 4-byte magic number ``0x00 0x00 <type> <ndim>``, then ``ndim`` big-endian int32
sizes, then the values in C order, big-endian. Images are type 0x08 (uint8) with 3 dims
(magic 0x00000803); labels are uint8 with 1 dim (magic 0x00000801).
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path
from typing import IO, Any

import numpy as np

from neuralab._atomic import atomic_file
from neuralab.exceptions import DataError
from neuralab.io import LIMITS, Limits, open_regular

# IDX type code -> big-endian dtype
IDX_TYPES = {0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"),
             0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801
_CHUNK = 2**20  # bytes decompressed per step


class _Gunzip:
    """A gzip stream read with a bound: ``read(n)`` never decompresses more than ``n``
    bytes, so a small file declaring little cannot expand into gigabytes."""

    def __init__(self, f: IO[bytes]) -> None:
        self.f, self.d, self.tail = f, zlib.decompressobj(31), b""

    def read(self, n: int) -> bytes:
        out = bytearray()
        while len(out) < n and not self.d.eof:
            data = self.tail or self.f.read(_CHUNK)
            if not data:
                break
            out += self.d.decompress(data, n - len(out))
            self.tail = self.d.unconsumed_tail
        return bytes(out)


def _read_exact(stream: Any, n: int, path: Path, what: str) -> bytes:
    data = stream.read(n)
    if len(data) < n:
        raise DataError(f"{path} is truncated: {what} needs {n} bytes, found {len(data)}")
    return data


def read_idx(path: str | os.PathLike, *, expect_magic: int | None = None,
             expect_shape: tuple[int | None, ...] | None = None,
             limits: Limits = LIMITS) -> np.ndarray:
    """Read an IDX file (``.gz`` or raw) into an array with its native shape.

    ``expect_magic`` (e.g. :data:`IMAGES_MAGIC`) rejects files of another type or rank;
    ``expect_shape`` (None for a free dimension, e.g. ``(None, 28, 28)``) rejects other
    shapes before any data is read. The declared size is checked against ``limits`` and,
    for gzip, against the file's size; decompression stops at the declared size.
    Multi-byte types come back in native byte order.
    """
    path = Path(path)
    with open_regular(path, DataError, "IDX file", max_bytes=limits.max_file_bytes) as f:
        size = os.fstat(f.fileno()).st_size
        gz = path.suffix == ".gz" or f.read(2) == b"\x1f\x8b"
        f.seek(0)
        stream: Any = _Gunzip(f) if gz else f
        try:
            return _read_idx(path, stream, size, gz, expect_magic, expect_shape, limits)
        except zlib.error as exc:
            raise DataError(f"{path} is not a valid gzip file ({exc})") from None


def _read_idx(path: Path, stream: Any, size: int, gz: bool, expect_magic: int | None,
              expect_shape: tuple[int | None, ...] | None, limits: Limits) -> np.ndarray:
    head = stream.read(4)
    if len(head) < 4:
        raise DataError(f"{path} is truncated: {len(head)} bytes, too short for an IDX header")
    magic = int.from_bytes(head, "big")
    type_code, ndim = head[2], head[3]
    if head[:2] != b"\x00\x00" or type_code not in IDX_TYPES or ndim == 0 or (
            expect_magic is not None and magic != expect_magic):
        want = f"0x{expect_magic:08X}" if expect_magic is not None else "0x0000TTNN"
        raise DataError(f"{path} has a wrong magic number: expected {want}, found "
                        f"0x{magic:08X}; it is not an IDX file of the expected kind")
    dims = _read_exact(stream, 4 * ndim, path, "the header")
    shape = tuple(int.from_bytes(dims[i:i + 4], "big") for i in range(0, 4 * ndim, 4))
    if expect_shape is not None and (len(shape) != len(expect_shape) or any(
            e is not None and d != e for d, e in zip(shape, expect_shape, strict=False))):
        want = tuple("n" if e is None else e for e in expect_shape)
        raise DataError(f"{path} has the wrong shape: {shape}, expected {want}")
    dtype = IDX_TYPES[type_code]
    count = 1
    for d in shape:  # Python ints: a product of 255 dimensions must not wrap around
        count *= d
    expected = count * dtype.itemsize
    header = 4 + 4 * ndim
    if not gz and expected != size - header:
        what = "truncated" if expected > size - header else "longer than its header says"
        raise DataError(f"{path} is {what}: expected {expected} bytes of data for shape "
                        f"{shape}, found {size - header}")
    allowed = limits.allowed_total(size) if gz else limits.max_total_bytes
    if expected > allowed:
        raise DataError(f"{path} declares shape {shape} ({expected} bytes) in a file of "
                        f"{size:,} bytes; at most {allowed:,} are read (limits: "
                        f"{limits.max_total_bytes:,} bytes, {limits.max_ratio}:1 gzip "
                        f"compression beyond {limits.small_bytes:,}); refusing a possible "
                        "decompression bomb")
    flat = np.empty(count, dtype=dtype)
    view, pos = flat.view(np.uint8), 0
    while pos < expected:
        chunk = stream.read(min(_CHUNK, expected - pos))
        if not chunk:
            what = "the gzip stream ends early" if gz else "the file ends early"
            raise DataError(f"{path} is truncated: {what}: expected {expected} bytes of "
                            f"data for shape {shape}, found {pos}; download it again")
        view[pos:pos + len(chunk)] = np.frombuffer(chunk, np.uint8)
        pos += len(chunk)
    if stream.read(1):
        raise DataError(f"{path} is longer than its header says: expected {expected} "
                        f"bytes of data for shape {shape}")
    if gz and not stream.d.eof:
        raise DataError(f"{path} is truncated: the gzip stream ends early (file is "
                        f"{size:,} bytes); download it again")
    arr = flat.reshape(shape)
    return arr if dtype.itemsize == 1 else arr.astype(dtype.newbyteorder("="))


def write_idx(path: str | os.PathLike, array: np.ndarray) -> Path:
    """Write ``array`` as IDX to ``path`` (gzip-compressed when the name ends in .gz)."""
    path = Path(path)
    arr = np.asarray(array)
    codes = {dt.newbyteorder("=") if dt.itemsize > 1 else dt: code
             for code, dt in IDX_TYPES.items()}
    native = arr.dtype.newbyteorder("=") if arr.dtype.itemsize > 1 else arr.dtype
    if native not in codes or arr.ndim == 0 or arr.ndim > 255:
        raise ValueError(f"write_idx cannot store dtype {arr.dtype} with shape {arr.shape}; "
                         "use uint8, int8, int16, int32, float32 or float64, 1 to 255 dims")
    code = codes[native]
    header = bytes([0, 0, code, arr.ndim]) + np.asarray(arr.shape, ">u4").tobytes()
    body = np.ascontiguousarray(arr, dtype=IDX_TYPES[code]).tobytes()
    payload = header + body
    if path.suffix == ".gz":
        payload = gzip.compress(payload, compresslevel=6, mtime=0)
    with atomic_file(path) as f:
        f.write(payload)
    return path
