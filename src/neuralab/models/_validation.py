"""Input checks at the estimator boundary, worded like scikit-learn's where its test-suite
expects a phrase ("Reshape your data", "X has 3 features, but ... is expecting 4")."""

from __future__ import annotations

import sys
import warnings
from typing import Any

import numpy as np


class DataConversionWarning(UserWarning):
    """A column vector y was given where a 1-D array is expected."""


def _conversion_warning() -> type[Warning]:
    """scikit-learn's DataConversionWarning when scikit-learn is loaded (its checks look for
    that class), else neuralab's own; scikit-learn is never imported just for this."""
    sk = sys.modules.get("sklearn.exceptions")
    return sk.DataConversionWarning if sk is not None else DataConversionWarning


class UnscaledPixelsWarning(UserWarning):
    """X arrived as uint8 with values above 1: raw pixels, most likely, which the default
    learning rate cannot train on."""


#: rows of X that :func:`warn_raw_pixels` looks at for whole-number images (a bounded cost)
PIXEL_SAMPLE_ROWS = 1000


def warn_raw_pixels(X: Any, owner: str, *, images: bool = False) -> None:
    """Warn when ``X`` is a uint8 array with values above 1 (MNIST as it is stored): an MLP
    or CNN fed 0…255 with the default learning rate stays at chance (digits: 10 % against
    78 % scaled, measured), which a student cannot tell from a bug. A uint8 array is pixels
    in practice; other dtypes are left alone (a feature may well reach 255) — except for a
    network that reads images (``images``, a CNN): there whole numbers from 0 up to more
    than 1 in any dtype are pixel counts too (scikit-learn's digits are float 0…16: LeNet-5
    stays at chance on them, 98 % scaled), judged on the first PIXEL_SAMPLE_ROWS rows."""
    if not isinstance(X, np.ndarray) or not X.size:
        return
    if X.dtype == np.uint8:
        top = int(X.max())
    elif images and X.dtype.kind in "iuf":
        sample = X[:PIXEL_SAMPLE_ROWS]
        with np.errstate(invalid="ignore"):
            top = sample.max()
            whole = sample.min() >= 0 and bool(np.all(sample == np.floor(sample)))
        if not (whole and np.isfinite(top)):
            return
        top = int(top)
    else:
        return
    if top > 1:
        warnings.warn(f"{owner}: X is {X.dtype} with whole values up to {top} (raw pixels?); "
                      f"scale it to [0, 1] first (X / {top}): unscaled, "
                      "the default learning rate trains to chance", UnscaledPixelsWarning,
                      stacklevel=4)


def _as_array(name: str, value: Any) -> np.ndarray:
    if value is None:
        raise ValueError(f"{name} is None; an array is needed")
    if hasattr(value, "toarray") and hasattr(value, "nnz"):
        raise TypeError(f"{name} is a sparse matrix; neuralab needs dense arrays (use "
                        f"{name}.toarray())")
    arr = np.asarray(value)
    if np.iscomplexobj(arr):
        raise ValueError(f"Complex data not supported: {name} has dtype {arr.dtype}")
    return arr


def check_X(X: Any, *, dtype: np.dtype, owner: str, n_features: int | None = None,
            name: str = "X") -> np.ndarray:
    """``X`` as a C-contiguous ``(n, d)`` array of ``dtype`` with only finite values."""
    arr = _as_array(name, X)
    if arr.dtype.kind in "OUS":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{name} could not be converted to numbers: {exc}") from None
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} has dtype {arr.dtype}; numbers are needed")
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array (n_samples, n_features); got shape {arr.shape}. "
            "Reshape your data either using X.reshape(-1, 1) if it has a single feature "
            "or X.reshape(1, -1) if it contains a single sample")
    if arr.shape[1] == 0:
        raise ValueError(f"Found array with 0 feature(s) (shape={arr.shape}) while a minimum "
                         f"of 1 is required ({name} has no features)")
    if arr.shape[0] == 0:
        raise ValueError(f"Found array with 0 sample(s) (shape={arr.shape}) while a minimum "
                         f"of 1 is required ({name} is empty)")
    arr = np.ascontiguousarray(arr, dtype=dtype)
    if not np.isfinite(arr).all():
        bad = int(arr.size - np.isfinite(arr).sum())
        raise ValueError(f"{name} contains {bad} NaN or inf value(s); clean or impute them "
                         "before training")
    if n_features is not None and arr.shape[1] != n_features:
        raise ValueError(f"{name} has {arr.shape[1]} features, but {owner} is expecting "
                         f"{n_features} features as input")
    return arr


def check_y(y: Any, n: int, *, owner: str, classifier: bool, name: str = "y") -> np.ndarray:
    """Targets: (n,) labels for classifiers (a column vector is flattened with a warning);
    (n,) or (n, m) finite floats for regressors."""
    if y is None:
        raise ValueError(f"{owner} requires y to be passed, but the target y is None")
    arr = _as_array(name, y)
    if arr.ndim == 0:
        raise ValueError(f"{name} must be an array of length {n}; got a scalar")
    if len(arr) != n:
        raise ValueError(f"X has {n} samples but {name} has {len(arr)}; they must match")
    if classifier:
        if arr.ndim == 2 and arr.shape[1] == 1:
            warnings.warn(_conversion_warning()(
                "A column-vector y was passed when a 1d array was expected. Please change "
                "the shape of y to (n_samples, ), for example using ravel()."), stacklevel=3)
            arr = arr.ravel()
        if arr.ndim != 1:
            raise ValueError(f"{name} must be 1-D class labels for {owner}; got shape "
                             f"{arr.shape}")
        if arr.dtype.kind == "f":
            if not np.isfinite(arr).all():
                raise ValueError(f"Input {name} contains NaN or inf")
            if not np.all(arr == np.round(arr)):
                raise ValueError(f"Unknown label type: continuous. {owner} is a classifier "
                                 f"and needs discrete labels; {name} holds non-integer values "
                                 "(use a regressor for continuous targets)")
        if arr.dtype.kind == "O":
            arr = arr.astype(str) if all(isinstance(v, str) for v in arr) else arr
        return arr
    if arr.ndim not in (1, 2):
        raise ValueError(f"{name} must be (n,) or (n, n_outputs); got shape {arr.shape}")
    try:
        arr = arr.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} could not be converted to numbers: {exc}") from None
    if not np.isfinite(arr).all():
        raise ValueError(f"Input {name} contains NaN or inf")
    return arr
