"""Preparing a dataset for training: seeded (stratified) splits and a bias column."""

from __future__ import annotations

import os
from math import comb
from typing import Any

import numpy as np

from neuralab._checks import check_choice
from neuralab.data.dataset import Dataset
from neuralab.exceptions import DataError
from neuralab.io import parse_json, read_text
from neuralab.rng import SeedLike, as_generator


def _size(name: str, value: float | int, n: int) -> int:
    """A split size as a count: a float is a fraction in [0, 1), an int a count in [0, n]."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
            value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name}={value!r} is not allowed; give a fraction in [0, 1) or a "
                         f"count of samples")
    if isinstance(value, (float, np.floating)):
        if not 0.0 <= value < 1.0:
            raise ValueError(f"{name}={value!r} is not allowed; a fraction must lie in [0, 1) "
                             "(give an int for a count of samples)")
        return round(value * n)
    if not 0 <= value <= n:
        raise ValueError(f"{name}={value!r} is not allowed; a count must lie in [0, {n}]")
    return int(value)


def _apportion(total: int, sizes: np.ndarray, caps: np.ndarray) -> np.ndarray:
    """Split ``total`` over groups in proportion to ``sizes`` (largest remainder, ≤ caps)."""
    exact = total * sizes / max(sizes.sum(), 1)
    quota = np.minimum(np.floor(exact).astype(np.int64), caps)
    for i in np.argsort(-(exact - quota), kind="stable"):
        if quota.sum() == total:
            break
        quota[i] += quota[i] < caps[i]
    while quota.sum() < total:  # remainders exhausted by caps: fill wherever room is left
        quota[np.flatnonzero(quota < caps)[0]] += 1
    return quota


def split_indices(
    labels: np.ndarray | None,
    n: int,
    sizes: tuple[int, ...],
    *,
    shuffle: bool = True,
    seed: SeedLike = None,
) -> list[np.ndarray]:
    """Index arrays [rest, *parts] with ``sizes[i]`` samples in part i, stratified by ``labels``.

    Within each class the order is shuffled (or kept), then the parts take its tail in
    turn: the last ``sizes[-1]`` go to the last part. ``labels=None``: no stratification.
    """
    rng = as_generator(seed) if shuffle else None
    if labels is None:
        groups = [np.arange(n)]
    else:  # each class's indices in increasing order, by one stable sort (10⁵ classes: fast)
        order = np.argsort(labels, kind="stable")
        _, starts = np.unique(np.asarray(labels)[order], return_index=True)
        groups = np.split(order, starts[1:])
    counts = np.array([len(g) for g in groups])
    left = counts.copy()
    quotas = []
    for size in sizes:
        quotas.append(_apportion(size, counts, left))
        left = left - quotas[-1]
    parts: list[list[np.ndarray]] = [[] for _ in range(len(sizes) + 1)]
    for g, group in enumerate(groups):
        order = rng.permutation(group) if rng is not None else group
        bounds = np.cumsum([left[g]] + [q[g] for q in quotas])
        for p, piece in enumerate(np.split(order, bounds[:-1])):
            parts[p].append(piece)
    out = [np.concatenate(p) for p in parts]
    return [rng.permutation(idx) if rng is not None else np.sort(idx) for idx in out]


def split(
    ds: Dataset,
    test: float | int = 0.2,
    val: float | int | None = None,
    *,
    stratify: bool | None = None,
    shuffle: bool = True,
    seed: SeedLike = None,
) -> tuple[Dataset, ...]:
    """``(train, test)``, or ``(train, val, test)`` when ``val`` is given.

    ``test``/``val`` are fractions in [0, 1) (a float) or counts (an int); train gets the
    rest. ``stratify`` (default: on for classification) keeps each class's share equal in
    every part, to within one sample. Same ``seed`` → same split.
    """
    n = len(ds)
    sizes = [_size("test", test, n)] if val is None else [_size("val", val, n),
                                                          _size("test", test, n)]
    if isinstance(test, float) and isinstance(val, float) and test + val > 1.0:
        raise ValueError(f"test={test} and val={val} add up to {test + val:g}; the fractions "
                         "must sum to at most 1")
    if sum(sizes) > n:
        raise ValueError(f"test and val take {sum(sizes)} samples but {ds.name} has only {n}")
    if stratify is None:
        stratify = ds.task == "classification"
    elif stratify and ds.task != "classification":
        raise ValueError(f"stratify=True needs class labels; {ds.name} is a regression dataset")
    parts = split_indices(ds.y if stratify else None, n, tuple(sizes), shuffle=shuffle,
                          seed=seed)
    names = ["train", "test"] if val is None else ["train", "val", "test"]
    return tuple(ds.subset(idx, name=f"{ds.name}/{part}")
                 for idx, part in zip(parts, names, strict=True))


def add_bias_column(ds: Dataset, where: str = "last") -> Dataset:
    """``ds`` with a column of ones added to its flat ``X`` (n, d) → (n, d+1).

    ``where="first"`` prepends it (seed 003's 785-vector), ``"last"`` appends it (IST).
    """
    check_choice("where", where, ("first", "last"))
    if ds.X.ndim != 2:
        raise ValueError(f"{ds.name}: a bias column needs flat X (n, d); got {ds.X.shape}")
    ones = np.ones((len(ds), 1), dtype=ds.X.dtype)
    X = np.hstack([ones, ds.X] if where == "first" else [ds.X, ones])
    return ds.replace(X=X, meta={**ds.meta, "bias_column": where})


# -- preprocess.json: how a run maps raw inputs to model inputs ----------------------------
PREPROCESS_KEYS = ("n_inputs", "features", "degree", "scaler")
MAX_DEGREE = 10  # as data.degree in a config


def check_preprocess(pre: Any, where: str = "preprocess",
                     n_features: int | None = None) -> dict[str, Any]:
    """``pre`` if it is a preprocessing description a run writes (``preprocess.json``):
    ``n_inputs`` (int), ``features`` (Playground names) or ``degree`` (1..10) for 2-D
    inputs, ``scaler`` (see ``scaler_from_dict``) fitted on as many features as the map
    gives, and that many equal to ``n_features`` (the model's inputs) when given.
    DataError naming ``where`` otherwise."""
    from neuralab.data.features import PLAYGROUND_FEATURES, PLAYGROUND_IDS
    from neuralab.data.scalers import n_statistics, scaler_from_dict

    def bad(msg: str) -> DataError:
        return DataError(f"{where}: {msg}")

    if not isinstance(pre, dict):
        raise bad(f"must be a JSON object with keys {', '.join(PREPROCESS_KEYS)}; found "
                  f"{type(pre).__name__}")
    unknown = sorted(set(pre) - set(PREPROCESS_KEYS))
    if unknown:
        raise bad(f"unknown key(s) {unknown}; the keys are {', '.join(PREPROCESS_KEYS)}")
    n_inputs, features, degree = pre.get("n_inputs"), pre.get("features"), pre.get("degree")
    for key, value, high in (("n_inputs", n_inputs, 2**31), ("degree", degree, MAX_DEGREE)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or not 1 <= value <= high):
            raise bad(f"{key} is {value!r:.40}; it must be a whole number from 1 to {high}")
    known = {*PLAYGROUND_FEATURES, *PLAYGROUND_IDS}
    if features is not None and (not isinstance(features, list) or not features or len(
            features) > len(known) or not all(isinstance(f, str) and f in known
                                              for f in features)):
        raise bad(f"features is {features!r:.60}; it must be a list of the names "
                  f"{', '.join(PLAYGROUND_FEATURES)}")
    if features and degree:
        raise bad("features and degree are both set; a run has one feature map")
    if (features or degree) and n_inputs not in (None, 2):
        raise bad(f"features and degree map 2 inputs; n_inputs is {n_inputs}")
    mapped = (len(features) if features else comb(2 + degree, 2) - 1 if degree
              else n_inputs)
    if pre.get("scaler") is not None:
        try:
            scaler = scaler_from_dict(pre["scaler"])
        except (ValueError, TypeError) as exc:
            raise bad(f"scaler: {exc}") from None
        stats = n_statistics(scaler)
        if stats is not None and mapped is not None and stats != mapped:
            raise bad(f"the scaler was fitted on {stats} features but the inputs give "
                      f"{mapped}")
        mapped = stats if mapped is None else mapped
    if n_features is not None and mapped is not None and mapped != n_features:
        raise bad(f"gives {mapped} features but the model takes {n_features}")
    return pre


def read_preprocess(path: str | os.PathLike, n_features: int | None = None) -> dict[str, Any]:
    """A ``preprocess.json`` file, read within ``neuralab.io.LIMITS`` and checked with
    :func:`check_preprocess`; DataError naming the file otherwise."""
    text = read_text(path, DataError, "preprocess.json file")
    return check_preprocess(parse_json(text, str(path), DataError), str(path), n_features)
