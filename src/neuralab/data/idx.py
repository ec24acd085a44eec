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

import numpy as np

from neuralab._atomic import atomic_file
from neuralab.exceptions import DataError

# IDX type code -> big-endian dtype
IDX_TYPES = {0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"),
             0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801


def _is_gzip(path: Path, raw: bytes) -> bool:
    return path.suffix == ".gz" or raw[:2] == b"\x1f\x8b"


def read_bytes(path: str | os.PathLike) -> bytes:
    """The content of ``path``, gunzipped when it is a .gz file (DataError if the gzip is bad)."""
    path = Path(path)
    raw = path.read_bytes()
    if not _is_gzip(path, raw):
        return raw
    try:
        # zlib with wbits=31 reads the gzip container in one call (faster than gzip.open)
        d = zlib.decompressobj(31)
        data = d.decompress(raw)
        if not d.eof:
            raise DataError(f"{path} is truncated: the gzip stream ends early "
                            f"(file is {len(raw)} bytes); download it again")
        return data
    except zlib.error as exc:
        raise DataError(f"{path} is not a valid gzip file ({exc})") from None


def parse_idx(data: bytes, path: str | os.PathLike = "<bytes>", *,
              expect_magic: int | None = None) -> np.ndarray:
    """The array held by IDX ``data`` (read-only view); ``path`` names it in errors."""
    if len(data) < 4:
        raise DataError(f"{path} is truncated: {len(data)} bytes, too short for an IDX header")
    magic = int.from_bytes(data[:4], "big")
    type_code, ndim = data[2], data[3]
    if data[:2] != b"\x00\x00" or type_code not in IDX_TYPES or ndim == 0 or (
            expect_magic is not None and magic != expect_magic):
        want = f"0x{expect_magic:08X}" if expect_magic is not None else "0x0000TTNN"
        raise DataError(f"{path} has a wrong magic number: expected {want}, found "
                        f"0x{magic:08X}; it is not an IDX file of the expected kind")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path} is truncated: the header needs {header} bytes, found "
                        f"{len(data)}")
    shape = tuple(int(s) for s in np.frombuffer(data, ">u4", count=ndim, offset=4))
    dtype = IDX_TYPES[type_code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found = len(data) - header
    if found != expected:
        what = "truncated" if found < expected else "longer than its header says"
        raise DataError(f"{path} is {what}: expected {expected} bytes of data for shape "
                        f"{shape}, found {found}")
    return np.frombuffer(data, dtype, offset=header).reshape(shape)


def read_idx(path: str | os.PathLike, *, expect_magic: int | None = None) -> np.ndarray:
    """Read an IDX file (``.gz`` or raw) into an array with its native shape.

    ``expect_magic`` (e.g. :data:`IMAGES_MAGIC`) rejects files of another type or rank.
    Multi-byte types come back in native byte order.
    """
    arr = parse_idx(read_bytes(path), path, expect_magic=expect_magic)
    return arr if arr.dtype.itemsize == 1 else arr.astype(arr.dtype.newbyteorder("="))


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
