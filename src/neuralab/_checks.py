"""Input validation with messages that name the parameter, the value seen and what is allowed."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

import numpy as np


def suggest(name: str, allowed: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the closest allowed name, or ''."""
    close = difflib.get_close_matches(str(name), list(allowed), n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_choice(name: str, value: Any, allowed: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``allowed``, else raise ValueError naming both."""
    allowed = list(allowed)
    if value not in allowed:
        raise ValueError(
            f"{name}={value!r} is not allowed; choose one of {', '.join(map(repr, allowed))}"
            + suggest(str(value), allowed)
        )
    return value


def check_positive(name: str, value: Any, *, strict: bool = True, integer: bool = False) -> Any:
    """Require a finite number > 0 (or >= 0 with ``strict=False``); ints only if ``integer``."""
    if integer:
        ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
        kind = "an integer"
    else:
        ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
            value, bool
        )
        kind = "a number"
    bound = "> 0" if strict else ">= 0"
    if not ok or not np.isfinite(value) or (value <= 0 if strict else value < 0):
        raise ValueError(f"{name}={value!r} is not allowed; it must be {kind} {bound}")
    return value


def check_in_range(name: str, value: Any, low: float, high: float, *, closed: str = "left") -> Any:
    """Require ``low <= value < high`` (``closed`` = 'left', 'right', 'both' or 'neither')."""
    lb = "[" if closed in ("left", "both") else "("
    rb = "]" if closed in ("right", "both") else ")"
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if ok:  # (a string would raise Python's bare TypeError at the comparison)
        lo_ok = value >= low if closed in ("left", "both") else value > low
        hi_ok = value <= high if closed in ("right", "both") else value < high
        ok = bool(np.isfinite(value) and lo_ok and hi_ok)
    if not ok:
        raise ValueError(f"{name}={value!r} is not allowed; it must lie in {lb}{low}, {high}{rb}")
    return value


def check_array(
    name: str,
    X: Any,
    *,
    ndim: int | tuple[int, ...] = 2,
    dtype: Any = np.float64,
    allow_empty: bool = False,
) -> np.ndarray:
    """Convert to an array of ``dtype`` and check its rank, emptiness and finiteness."""
    try:
        arr = np.asarray(X, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} could not be converted to numbers: {exc}") from None
    ndims = (ndim,) if isinstance(ndim, int) else ndim
    if arr.ndim not in ndims:
        want = " or ".join(f"{d}-D" for d in ndims)
        raise ValueError(f"{name} must be a {want} array; got shape {arr.shape}")
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} is empty (shape {arr.shape}); at least one sample is needed")
    if np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
        bad = int(np.size(arr) - np.isfinite(arr).sum())
        raise ValueError(f"{name} contains {bad} NaN or infinite value(s); clean or impute them")
    return arr
