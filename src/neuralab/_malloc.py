"""Keep large NumPy temporaries in the heap instead of fresh ``mmap`` pages (glibc only).

glibc serves allocations above a threshold (128 KiB, adjusted at run time) with ``mmap`` and
returns them to the system on free, so each fresh (E, B, F) array of an ensemble — a few MB
per layer per step — is faulted in page by page again. Training a 50-member ensemble spent
most of its ReLU and Linear time in those page faults: raising the thresholds once made a
study's epochs 2.5x faster (docs/performance.md). Memory stays bounded by the largest
working set, which the process needs anyway.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # <malloc.h>
MMAP_THRESHOLD = 64 * 2**20  # allocations above this still get their own mapping
TRIM_THRESHOLD = 256 * 2**20  # free heap kept before it is given back

_done = False


def keep_large_allocations() -> bool:
    """Raise glibc's mmap and trim thresholds once per process; False where not glibc."""
    global _done
    if _done:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False
    _done = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _done


__all__ = ["keep_large_allocations"]
