"""Feature scalers fitted on the training set only, then applied to every other set.

Each works on arrays (n, ...) or on a :class:`Dataset` (its ``X``), per feature over axis 0,
and saves to / loads from a JSON-ready dict (``to_dict`` / :func:`scaler_from_dict`).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from neuralab._checks import check_choice, check_positive
from neuralab.data.dataset import Dataset


class Scaler:
    """Base class: ``fit(train)``, ``transform(x)``, ``inverse_transform(x)``, ``to_dict()``."""

    kind: ClassVar[str] = ""
    _state: ClassVar[tuple[str, ...]] = ()  # fitted attribute names, saved by to_dict

    def fit(self, data: np.ndarray | Dataset) -> Scaler:
        """Learn the statistics of ``data`` (the training set); returns self."""
        self._fit(np.asarray(_features(data), dtype=np.float64))
        return self

    def transform(self, data: np.ndarray | Dataset) -> np.ndarray | Dataset:
        """``data`` scaled with the statistics learned by :meth:`fit`."""
        return self._apply(data, self._forward)

    def inverse_transform(self, data: np.ndarray | Dataset) -> np.ndarray | Dataset:
        """Undo :meth:`transform`."""
        return self._apply(data, self._backward)

    def fit_transform(self, data: np.ndarray | Dataset) -> np.ndarray | Dataset:
        """``fit(data)`` then ``transform(data)``."""
        return self.fit(data).transform(data)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description: ``{"kind": ..., <params and fitted statistics>}``."""
        state = {k: _jsonable(getattr(self, k, None)) for k in self._state}
        return {"kind": self.kind, **self._params(), **state}

    # -- for subclasses -----------------------------------------------------------------------
    def _fit(self, X: np.ndarray) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _forward(self, X: np.ndarray) -> np.ndarray:  # pragma: no cover - overridden
        raise NotImplementedError

    def _backward(self, X: np.ndarray) -> np.ndarray:  # pragma: no cover - overridden
        raise NotImplementedError

    def _params(self) -> dict[str, Any]:
        return {}

    def _apply(self, data, fn):
        missing = [k for k in self._state if getattr(self, k, None) is None]
        if missing:
            raise ValueError(f"{type(self).__name__} is not fitted yet; call fit(train) first")
        X = np.asarray(_features(data))
        dtype = X.dtype if np.issubdtype(X.dtype, np.floating) else np.float32
        out = fn(X.astype(np.float64)).astype(dtype)
        return data.replace(X=out) if isinstance(data, Dataset) else out

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self._params().items())
        return f"{type(self).__name__}({params})"


def _features(data: np.ndarray | Dataset) -> np.ndarray:
    return data.X if isinstance(data, Dataset) else data


def _jsonable(value: Any) -> Any:
    return value.tolist() if isinstance(value, np.ndarray) else value


def _safe(scale: np.ndarray) -> np.ndarray:
    """Constant features have zero spread: divide them by 1 instead."""
    return np.where(scale > 0, scale, 1.0)


class Standardize(Scaler):
    """(x - mean) / std per feature, with the training mean and std (std 0 → 1)."""

    kind = "standardize"
    _state = ("mean_", "scale_")

    def _fit(self, X: np.ndarray) -> None:
        self.mean_ = X.mean(axis=0)
        self.scale_ = _safe(X.std(axis=0))

    def _forward(self, X: np.ndarray) -> np.ndarray:
        return (X - self.mean_) / self.scale_

    def _backward(self, X: np.ndarray) -> np.ndarray:
        return X * self.scale_ + self.mean_


class MinMax(Scaler):
    """Maps each feature's training [min, max] linearly onto ``feature_range`` (default [0, 1])."""

    kind = "minmax"
    _state = ("min_", "max_")

    def __init__(self, feature_range: tuple[float, float] = (0.0, 1.0)) -> None:
        low, high = (float(v) for v in feature_range)
        if not low < high:
            raise ValueError(f"feature_range={feature_range!r} is not allowed; it must be "
                             "(low, high) with low < high")
        self.feature_range = (low, high)

    def _fit(self, X: np.ndarray) -> None:
        self.min_, self.max_ = X.min(axis=0), X.max(axis=0)

    def _unit(self) -> tuple[float, float, np.ndarray]:
        low, high = self.feature_range
        return low, high - low, _safe(np.asarray(self.max_) - self.min_)

    def _forward(self, X: np.ndarray) -> np.ndarray:
        low, width, span = self._unit()
        return low + width * (X - self.min_) / span

    def _backward(self, X: np.ndarray) -> np.ndarray:
        low, width, span = self._unit()
        return (X - low) / width * span + self.min_

    def _params(self) -> dict[str, Any]:
        return {"feature_range": list(self.feature_range)}


class DivideBy(Scaler):
    """x / c for a constant c (e.g. 255 or 256 for pixels); fitting learns nothing."""

    kind = "divide"

    def __init__(self, c: float = 255.0) -> None:
        self.c = float(check_positive("c", c))

    def _fit(self, X: np.ndarray) -> None:
        pass

    def _forward(self, X: np.ndarray) -> np.ndarray:
        return X / self.c

    def _backward(self, X: np.ndarray) -> np.ndarray:
        return X * self.c

    def _params(self) -> dict[str, Any]:
        return {"c": self.c}


SCALERS: dict[str, type[Scaler]] = {cls.kind: cls for cls in (Standardize, MinMax, DivideBy)}


def scaler_from_dict(state: dict[str, Any]) -> Scaler:
    """Rebuild a scaler saved with :meth:`Scaler.to_dict`.

    The dict may come from a file (``preprocess.json``), so it is checked: a known kind,
    only that kind's parameters, and fitted statistics that are 1-D lists of finite numbers
    of one length (spreads > 0, max >= min). ValueError names what is wrong."""
    if not isinstance(state, dict):
        raise ValueError(f"a saved scaler must be a JSON object; found {type(state).__name__}")
    kind = check_choice("kind", state.get("kind"), list(SCALERS))
    cls = SCALERS[kind]
    params = {k: v for k, v in state.items() if k != "kind" and k not in cls._state}
    allowed = {"minmax": {"feature_range"}, "divide": {"c"}}.get(kind, set())
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ValueError(f"saved {kind} scaler has unknown key(s) {unknown}; its keys are "
                         f"{sorted({'kind', *allowed, *cls._state})}")
    if "feature_range" in params:
        fr = params["feature_range"]
        if not isinstance(fr, (list, tuple)) or len(fr) != 2 or not all(
                _finite_number(v) for v in fr):
            raise ValueError(f"feature_range={fr!r:.60} is not allowed; it must be [low, high] "
                             "of finite numbers")
    scaler = cls(**params)
    lengths = set()
    for key in cls._state:
        if state.get(key) is None:
            raise ValueError(f"saved {kind} scaler lacks its fitted {key!r}")
        try:
            arr = np.asarray(state[key], dtype=np.float64)
        except (ValueError, TypeError, OverflowError):
            arr = np.full(0, np.nan)
        listed = isinstance(state[key], (list, tuple, np.ndarray))
        if not listed or arr.ndim != 1 or not arr.size or not np.isfinite(arr).all():
            raise ValueError(f"saved {kind} scaler's {key!r} must be a list of finite "
                             "numbers (one per feature)")
        lengths.add(len(arr))
        setattr(scaler, key, arr)
    if len(lengths) > 1:
        raise ValueError(f"saved {kind} scaler's statistics have different lengths "
                         f"{sorted(lengths)}")
    if kind == "standardize" and (scaler.scale_ <= 0).any():
        raise ValueError("saved standardize scaler has a scale_ <= 0; spreads are > 0")
    if kind == "minmax" and (scaler.max_ < scaler.min_).any():
        raise ValueError("saved minmax scaler has max_ < min_")
    return scaler


def _finite_number(v: Any) -> bool:
    if not isinstance(v, (int, float)) or isinstance(v, bool):
        return False
    try:
        return math.isfinite(float(v))
    except OverflowError:  # an int beyond float range
        return False


def n_statistics(scaler: Scaler) -> int | None:
    """How many features a fitted scaler was fitted on (None for one without statistics)."""
    for key in scaler._state:
        return len(getattr(scaler, key))
    return None


def scale(train: Dataset, *others: Dataset, method: str = "standardize",
          **params: Any) -> tuple[Any, ...]:
    """Fit a scaler on ``train`` and apply it to all: ``(train', *others', scaler)``."""
    check_choice("method", method, list(SCALERS))
    scaler = SCALERS[method](**params).fit(train)
    return (*(scaler.transform(ds) for ds in (train, *others)), scaler)
