"""What a study is: a base config, a grid of config keys, seeds, a target — and its cells.

A *cell* is one point of the grid (``{"model.activation": "relu", "optim.lr": 0.1}``);
a *run* is one (cell, seed). Every run's seed is derived from the study seed, the cell's
coordinates and the seed's index, so adding a grid value or more seeds never changes the
runs that existed, and a run is reproduced by ``neuralab train`` of its cell's config with
``--seed <run seed>``.

>>> spec = StudySpec(grid={"model.activation": ["relu", "leaky_relu"]}, seeds=3)
>>> [c.label for c in spec.cells()]
['model.activation=relu', 'model.activation=leaky_relu']
>>> len(spec.run_seeds(spec.cells()[0]))
3
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from neuralab._checks import suggest

#: Metrics a target can name: the training loop stops a member once it reaches the value.
TARGET_METRICS = ("train_acc",)
MAX_SEEDS = 100_000
MAX_CELLS = 10_000
_KEY_RE = re.compile(r"^[a-z_]+(\.[A-Za-z_][A-Za-z0-9_]*)+$")


@dataclass(frozen=True)
class Cell:
    """One point of the grid: ``values`` maps config keys to this cell's values."""

    index: int
    values: dict[str, Any]

    @property
    def label(self) -> str:
        """``key=value, key=value`` (the settings that make this cell)."""
        return ", ".join(f"{k}={_text(v)}" for k, v in self.values.items()) or "base"

    @property
    def key(self) -> str:
        """The cell's coordinates as canonical JSON (order of keys does not matter)."""
        return json.dumps(sorted(self.values.items()), separators=(",", ":"), default=str)


def _text(value: Any) -> str:
    return json.dumps(value) if isinstance(value, (list, dict)) else str(value)


class StudySpec(BaseModel):
    """The ``[study]`` table of a study file (everything else is the base config).

    grid : config key -> values; the cells are the product of the lists.
    zip : groups of keys whose lists advance together (one cell per position), crossed with
        the grid and with each other.
    seeds : a count (seed indices 0..n-1) or a list of seed indices.
    seed : the study seed every run seed is derived from.
    target : ``{"train_acc": 1.0}`` — a member stops once it reaches the value; the epoch is
        its "epochs to target" (censored at the budget when never reached).
    vary : what the seeds vary: "init" (initialisation, batch order, dropout; the data draw
        and split stay those of the base config) or "data" (the data draw and split too).
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    name: str | None = None
    grid: dict[str, list[Any]] = Field(default_factory=dict)
    zip: list[dict[str, list[Any]]] = Field(default_factory=list)
    seeds: Annotated[int, Field(ge=1, le=MAX_SEEDS)] | list[Annotated[int, Field(ge=0)]] = 30
    seed: Annotated[int, Field(ge=0)] = 0
    target: dict[str, float] = Field(default_factory=dict)
    vary: Literal["init", "data"] = "init"

    @field_validator("grid")
    @classmethod
    def _grid(cls, grid: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for key, values in grid.items():
            _check_axis(key, values)
        return grid

    @field_validator("zip")
    @classmethod
    def _zip(cls, groups: list[dict[str, list[Any]]]) -> list[dict[str, list[Any]]]:
        for group in groups:
            if not group:
                raise ValueError("a zip group is empty; give keys with lists of equal length")
            lengths = {len(v) for v in group.values()}
            for key, values in group.items():
                _check_axis(key, values, unique=False)  # a key may repeat within a zip
            if len(lengths) != 1:
                raise ValueError(f"zipped lists must have one length; got "
                                 f"{ {k: len(v) for k, v in group.items()} }")
            rows = [json.dumps([group[k][i] for k in group], default=str)
                    for i in range(lengths.pop())]
            if len(set(rows)) != len(rows):
                raise ValueError(f"zip group {list(group)} repeats a combination of values")
        return groups

    @field_validator("seeds", mode="before")
    @classmethod
    def _seed_count(cls, seeds: Any) -> Any:
        """A count out of range gets one message (not one per branch of int | list)."""
        count = isinstance(seeds, int) and not isinstance(seeds, bool)
        if (count and not 1 <= seeds <= MAX_SEEDS) or not (count or isinstance(seeds, list)):
            raise ValueError(f"give a count from 1 to {MAX_SEEDS} or a list of seed indices")
        return seeds

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, seeds: int | list[int]) -> int | list[int]:
        if isinstance(seeds, list):
            if not seeds:
                raise ValueError("seeds = [] gives no runs; give a count >= 1 or seed indices")
            if len(set(seeds)) != len(seeds):
                raise ValueError(f"seeds {seeds} repeat an index; each run needs its own")
            if len(seeds) > MAX_SEEDS:
                raise ValueError(f"{len(seeds)} seeds is more than the {MAX_SEEDS} allowed")
        return seeds

    @field_validator("target")
    @classmethod
    def _target(cls, target: dict[str, float]) -> dict[str, float]:
        for metric, value in target.items():
            if metric not in TARGET_METRICS:
                raise ValueError(f"target {metric!r} is not supported"
                                 f"{suggest(metric, TARGET_METRICS)}; targets: "
                                 f"{', '.join(TARGET_METRICS)}")
            if not 0 < value <= 1:
                raise ValueError(f"target {metric}={value!r} must lie in (0, 1]")
        return target

    @model_validator(mode="after")
    def _keys_once(self) -> StudySpec:
        seen: set[str] = set()
        for key in [*self.grid, *(k for g in self.zip for k in g)]:
            if key in seen:
                raise ValueError(f"{key} is varied twice (in the grid and a zip group, or in two "
                                 "groups); give it once")
            seen.add(key)
        n = len(self.cells_values())
        if n > MAX_CELLS:
            raise ValueError(f"the grid has {n} cells, more than the {MAX_CELLS} allowed")
        return self

    # -- cells and seeds ------------------------------------------------------------------
    def keys(self) -> list[str]:
        """Every varied config key, grid first, in the order given."""
        return [*self.grid, *(k for g in self.zip for k in g)]

    def compared_keys(self) -> list[str]:
        """The keys :meth:`compare_grid` can compare (:func:`compared_keys`)."""
        return compared_keys(self.grid, self.zip)

    def compare_grid(self, key: str) -> list[str]:
        """The grid columns of a comparison along ``key``: every key but its zip partners,
        which change with it (see :func:`zip_partners`)."""
        return compare_grid(key, self.keys(), self.zip)

    def cells_values(self) -> list[dict[str, Any]]:
        axes: list[list[dict[str, Any]]] = [
            [{key: v} for v in values] for key, values in self.grid.items()]
        for group in self.zip:
            n = len(next(iter(group.values())))
            axes.append([{k: vals[i] for k, vals in group.items()} for i in range(n)])
        return [dict(item for part in combo for item in part.items())
                for combo in itertools.product(*axes)]

    def cells(self) -> list[Cell]:
        """The grid's cells in a stable order (the product, first key slowest)."""
        return [Cell(i, values) for i, values in enumerate(self.cells_values())]

    def seed_indices(self) -> list[int]:
        return list(range(self.seeds)) if isinstance(self.seeds, int) else list(self.seeds)

    def run_seeds(self, cell: Cell) -> list[int]:
        """The ``train.seed`` of each run of ``cell``, one per seed index."""
        return [run_seed(self.seed, cell, i) for i in self.seed_indices()]


def _check_axis(key: str, values: list[Any], *, unique: bool = True) -> None:
    if not _KEY_RE.match(key):
        raise ValueError(f"grid key {key!r} is not a dotted config key such as "
                         "model.activation or optim.lr")
    if key.split(".")[0] not in ("data", "model", "optim", "train"):
        raise ValueError(f"grid key {key!r}: only data.*, model.*, optim.* and train.* keys "
                         "can vary (output.* names the study's own folder)")
    if key in ("train.seed",):
        raise ValueError("train.seed cannot be a grid key: the study derives every run's seed "
                         "(use seeds = N)")
    if not values:
        raise ValueError(f"grid key {key} has no values; give a non-empty list")
    texts = [json.dumps(v, sort_keys=True, default=str) for v in values]
    if unique and len(set(texts)) != len(texts):
        raise ValueError(f"grid key {key} repeats a value: {values}")


def counted(n: int, noun: str) -> str:
    """``"1 cell"``, ``"4 cells"``: how the study's lines count cells, seeds and runs."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def run_seed(study_seed: int, cell: Cell, index: int) -> int:
    """A 32-bit seed from the study seed, the cell's coordinates and the seed index.

    A hash of the coordinates (not the cell's position) keeps every existing run's seed when
    a grid value is added, and SeedSequence mixes the three into well-spread seeds.
    """
    digest = hashlib.sha256(cell.key.encode()).digest()
    words = np.frombuffer(digest[:8], dtype="<u4").tolist()
    ss = np.random.SeedSequence([int(study_seed), *words, int(index)])
    return int(ss.generate_state(1, dtype=np.uint32)[0])


def zip_partners(key: str, zip_groups: Any) -> set[str]:
    """The keys that move with ``key`` when it is compared: the rest of its zip group, where
    each of its values names one position (batch size 1, 64 with lr 0.01, 0.4). None for a
    grid key, and none where ``key`` repeats a value in its group (activation relu,
    leaky_relu, leaky_relu with slopes 0.01, 0.01, 0.05): moving the partners along would pool
    different cells into one side, so they are held fixed instead.
    ``zip_groups``: the ``zip`` list of a ``[study]`` table (malformed entries ignored)."""
    for group in zip_groups if isinstance(zip_groups, list) else []:
        if isinstance(group, dict) and key in group:
            values = group[key] if isinstance(group[key], list) else [group[key]]
            texts = [json.dumps(v, sort_keys=True, default=str) for v in values]
            return set(group) - {key} if len(set(texts)) == len(texts) else set()
    return set()


def compared_keys(grid: Any, zip_groups: Any) -> list[str]:
    """The keys a study compares (one ``compare-<key>.csv`` and one report table each):
    each grid key with two or more values, and the first key of each zip group with two or
    more positions (its partners change with it: batch size 1 with lr 0.01 against 64 with
    lr 0.4) — or, where that key repeats a value (activation relu, leaky_relu, leaky_relu
    with slopes 0.01, 0.01, 0.05), each key of the group that takes two values with the
    others held fixed.

    ``grid`` and ``zip_groups``: the ``grid`` and ``zip`` of a ``[study]`` table; entries
    that are not lists are ignored (a study folder may come from someone else)."""
    grid = grid if isinstance(grid, dict) else {}
    keys = [k for k, v in grid.items() if isinstance(v, list) and len(v) > 1]
    for group in zip_groups if isinstance(zip_groups, list) else []:
        if not (isinstance(group, dict) and group
                and all(isinstance(v, list) for v in group.values())
                and len({len(v) for v in group.values()}) == 1):
            continue
        first = next(iter(group))
        if zip_partners(first, [group]):
            keys += [first] if len(group[first]) > 1 else []
        else:
            keys += [k for k in group if _varies_alone(group, k)]
    return keys


def _varies_alone(group: dict[str, list[Any]], key: str) -> bool:
    """Whether ``key`` takes two values among positions of ``group`` that agree on every
    other key of the group."""
    seen: dict[str, set[str]] = {}
    for i, value in enumerate(group[key]):
        others = json.dumps([group[k][i] for k in group if k != key], default=str)
        seen.setdefault(others, set()).add(json.dumps(value, default=str))
    return any(len(values) > 1 for values in seen.values())


def compare_grid(key: str, keys: Any, zip_groups: Any) -> list[str]:
    """``keys`` without the zip partners of ``key``: comparing ``key`` holds the others
    fixed, and its partners move with it."""
    partners = zip_partners(key, zip_groups)
    return [k for k in keys if k not in partners]


__all__ = ["MAX_CELLS", "MAX_SEEDS", "TARGET_METRICS", "Cell", "StudySpec", "compare_grid",
           "compared_keys", "run_seed", "zip_partners"]
