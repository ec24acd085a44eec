"""Model files: named NumPy arrays plus a JSON header in one ``.npz`` archive.

``save_arrays(path, header, arrays)`` writes atomically (a temporary file in the same folder,
then ``os.replace``), so a crash never leaves half a file. ``load_arrays(path)`` reads with
``allow_pickle=False``: a file holding pickled Python objects is refused, and nothing a
file contains is ever executed. Every error names the file.

>>> import tempfile, os, numpy as np
>>> p = os.path.join(tempfile.mkdtemp(), "m.npz")
>>> save_arrays(p, {"kind": "demo"}, {"w": np.eye(2)})
>>> header, arrays = load_arrays(p)
>>> header["kind"], arrays["w"].shape
('demo', (2, 2))
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from neuralab import __version__
from neuralab._atomic import atomic_file
from neuralab.exceptions import ModelFileError

FORMAT = "neuralab-arrays"
FORMAT_VERSION = 1
HEADER_KEY = "__header__"


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
    missing, corrupt, not a neuralab archive, or holds pickled objects.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such model file")
    try:
        z = np.load(path, allow_pickle=False)
        if not isinstance(z, np.lib.npyio.NpzFile):
            raise ModelFileError(f"{path} is a bare .npy array, not a neuralab model file")
        with z:
            arrays = {name: z[name] for name in z.files}
    except ModelFileError:
        raise
    except ValueError as exc:
        if "pickle" in str(exc).lower() or "object" in str(exc).lower():
            raise ModelFileError(
                f"{path} holds pickled Python objects; neuralab refuses to load them "
                "(a model file may contain numbers and text only, nothing that runs)"
            ) from None
        raise ModelFileError(f"{path} is not a valid neuralab model file: {exc}") from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise ModelFileError(f"{path} is not a valid neuralab model file (corrupt or "
                             f"truncated?): {exc}") from None
    raw = arrays.pop(HEADER_KEY, None)
    if raw is None or raw.dtype.kind != "U" or raw.ndim != 0:
        raise ModelFileError(f"{path} has no neuralab header; it was not written by neuralab")
    try:
        header = json.loads(str(raw))
    except json.JSONDecodeError as exc:
        raise ModelFileError(f"{path} has a corrupt header: {exc}") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not a neuralab model file (format "
                             f"{header.get('format') if isinstance(header, dict) else None!r})")
    if int(header.get("format_version", 0)) > FORMAT_VERSION:
        raise ModelFileError(f"{path} uses format version {header['format_version']}; this "
                             f"neuralab ({__version__}) reads up to {FORMAT_VERSION}")
    return header, arrays


def json_text(obj: Any) -> np.ndarray:
    """``obj`` as JSON in a 0-d text array (how generator states travel in checkpoints)."""
    return np.array(json.dumps(obj))


def from_json_text(arr: np.ndarray) -> Any:
    return json.loads(str(np.asarray(arr)))
