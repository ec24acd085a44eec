"""Running a study: cells × seeds as vectorized ensembles, chunk by chunk, resumable.

The plan. Cells whose configs differ only in per-member hyper-parameters (``optim.lr``,
``optim.momentum``, ``optim.weight_decay``: the rows of the hyper-parameter table marked
``per_member``) form one *group* and train as one ensemble, one member per (cell, seed); a
group's members are cut into *chunks* of at most ``CHUNK`` members (``CHUNK_SMALL_BATCH`` at
small mini-batches). A chunk is a task: it runs anywhere (this process, a local Dask worker,
a remote cluster) and returns per-member metrics and curves. Chunk names hash what they
hold, so the same study file always makes the same chunks, whatever the backend — which is
what lets ``--resume`` skip finished ones.

Member ``i`` of a chunk is built with ``random_state=[run seeds]``: it equals the single
model ``neuralab train <cell config> --seed <its run seed>`` trains (the ensemble contract,
``docs/engine.md``). With ``vary = "data"`` the seed also draws the data and the split, so
members share no batch: a chunk then trains its members one after another.

The folder: ``study.toml`` (resolved), ``manifest.json`` (finished chunks), ``chunks/``
(one ``.npz`` per finished chunk, written atomically as it arrives), and, once every chunk
is in, ``runs.csv`` (+ ``runs.parquet`` with pyarrow), ``cells.csv``, ``compare-<key>.csv``,
``curves.npz``, ``summary.json`` and ``plots/``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from neuralab.experiments.config import (
    ConfigError,
    ExperimentConfig,
    default_name,
    dump_toml,
    format_validation_error,
    parse_config,
    read_toml,
)
from neuralab.models.hyperparams import HYPERPARAMS
from neuralab.studies.backends import (
    ClusterError,
    check_backend,
    run_tasks,
    scheduler_client,
)
from neuralab.studies.spec import Cell, StudySpec, counted
from neuralab.train.callbacks import Callback

#: config keys an ensemble can give one value per member (one group trains them together)
PER_MEMBER_KEYS = tuple(h.config for h in HYPERPARAMS.values() if h.per_member and h.config)
CHUNK = 64  # members per task: big enough to amortise Python per step, small enough to spread
#: members per task at mini-batches of at most SMALL_BATCH rows: a step there costs mostly
#: Python (~90 µs) and little per member (~1.5 µs at batch 1), so one task trains up to this
#: many members at about the price of 64, and they share one tail of late stoppers
CHUNK_SMALL_BATCH, SMALL_BATCH = 256, 64
#: members per task when seeds vary the data: they train one by one (no shared batch), so
#: small tasks only spread them over the workers and save finished work sooner
CHUNK_SEPARATE = 8
SETS = ("train", "val", "test")
#: the config keys a run's seed also sets when the seeds vary the data (``vary = "data"``)
DATA_SEED_KEYS = ("data.seed", "data.split.seed")
STUDY_FILE, MANIFEST, CHUNKS, CELLS = "study.toml", "manifest.json", "chunks", "cells"


# -- the plan ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Member:
    """One run: a cell, a seed index and the run's seed (``train.seed``)."""

    cell: int
    seed_index: int
    seed: int


@dataclass
class Chunk:
    name: str
    config: dict[str, Any]  # the group's config (per-member keys set per member)
    members: list[Member]
    per_member: dict[str, list[Any]]  # per-member key -> one value per member
    vary: str
    separate: bool  # members train one by one (their data differ, or the model cannot stack)

    def task(self) -> dict[str, Any]:
        return {"config": self.config, "members": [(m.cell, m.seed_index, m.seed)
                                                   for m in self.members],
                "per_member": self.per_member, "vary": self.vary, "separate": self.separate}


def _set_key(data: dict[str, Any], key: str, value: Any) -> None:
    node = data
    parts = key.split(".")
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"{'.'.join(parts[:-1])} is a value, not a table")
        node = child
    node[parts[-1]] = value


def _get_key(data: dict[str, Any], key: str) -> Any:
    node: Any = data
    for part in key.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _as_list(value: Any) -> Any:
    """A tuple, range or array as a list (what the study's TOML gives); anything else as it
    is, for the spec's validation to name (a lone string is a value, not a list of letters)."""
    if isinstance(value, (tuple, range, np.ndarray)):
        return list(value.tolist() if isinstance(value, np.ndarray) else value)
    if isinstance(value, np.integer):  # seeds=np.int64(3)
        return int(value)
    return value


def _zip_groups(groups: Any) -> Any:
    """Zip groups as a list of ``{key: values}``; one dict is one group."""
    groups = [groups] if isinstance(groups, dict) else _as_list(groups)
    return [_lists(g) for g in groups] if isinstance(groups, list) else groups


def _lists(axes: Any) -> Any:
    """``{key: values}`` with each ``values`` through :func:`_as_list`."""
    return {k: _as_list(v) for k, v in axes.items()} if isinstance(axes, dict) else axes


class Study:
    """A base config, a grid of config keys and seeds (see :class:`StudySpec`).

    >>> study = Study({"model": {"kind": "mlp", "hidden": [8]}, "train": {"epochs": 5}},
    ...               grid={"model.activation": ["relu", "tanh"]}, seeds=4)
    >>> len(study.cells), len(study.chunks())
    (2, 2)
    """

    def __init__(self, base: ExperimentConfig | dict[str, Any] | str | os.PathLike,
                 grid: dict[str, Sequence[Any]] | None = None,
                 seeds: int | Sequence[int] | None = None, *,
                 target: dict[str, float] | None = None,
                 zip: Sequence[dict[str, Sequence[Any]]] | dict[str, Sequence[Any]] | None = None,
                 vary: str | None = None, seed: int | None = None,
                 name: str | None = None) -> None:
        """``base``: an ExperimentConfig, a dict of config sections or a TOML path. A study
        file's ``[study]`` table gives what is not passed here (a grid passed here adds to
        or replaces the file's keys); otherwise 30 seeds, vary "init", study seed 0."""
        given: dict[str, Any] = {}
        if isinstance(base, (str, os.PathLike)):
            base, given, _ = _read_study_file(base)
        self._setup(base, given, grid=grid, seeds=seeds, target=target, zip=zip, vary=vary,
                    seed=seed, name=name)

    def _setup(self, base: Any, given: dict[str, Any], *,
               grid: dict[str, Sequence[Any]] | None = None,
               seeds: int | Sequence[int] | None = None,
               target: dict[str, float] | None = None,
               zip: Sequence[dict[str, Sequence[Any]]] | dict[str, Sequence[Any]] | None = None,
               vary: str | None = None, seed: int | None = None,
               name: str | None = None) -> None:
        """Validate and resolve: ``base`` (config sections, or an ExperimentConfig), the
        ``[study]`` table ``given`` (from a file, or {}) and the arguments, which win."""
        if isinstance(base, ExperimentConfig):
            base = base.to_dict()
        if not isinstance(base, dict):
            raise ValueError(f"base={type(base).__name__} is not allowed; give an "
                             "ExperimentConfig, a dict of config sections or a TOML path")
        if grid is not None:
            grid = _lists(grid)
            given["grid"] = {**given.get("grid", {}), **grid} if isinstance(grid, dict) else grid
        for key, value in (("seeds", _as_list(seeds)), ("target", target),
                           ("zip", None if zip is None else _zip_groups(zip)),
                           ("vary", vary), ("seed", seed), ("name", name)):
            if value is not None:
                given[key] = value
        if given.get("grid") == {} and not given.get("zip"):
            # grid={} (or an empty [study.grid]) is a slip, not a request for seeds of the
            # base config alone: that study is asked for with no grid at all
            raise ConfigError("study.grid is empty; give at least one config key with a list "
                              "of values (grid={'optim.lr': [0.1, 1.0]}), or leave the grid "
                              "out to run the base config alone over its seeds")
        self.spec = _spec(given)
        self.base = parse_config(copy.deepcopy(base))  # the base alone must be valid
        self.base_dict = self.base.to_dict()
        self.name = self.spec.name or default_name(self.base)
        self.cells = self.spec.cells()
        self.cell_configs = [self._cell_config(c) for c in self.cells]
        self._check_model()

    @classmethod
    def from_file(cls, path: str | os.PathLike, **overrides: Any) -> Study:
        """A study file: config sections plus a ``[study]`` table (``overrides`` win; a
        ``grid`` adds to the file's keys). A plain config file needs a grid or seeds."""
        base, given, has_table = _read_study_file(path)  # read and parsed once
        if not overrides.get("grid") and overrides.get("seeds") is None and not has_table:
            raise ConfigError(f"{path} has no [study] table; add one (grid, seeds, target) or "
                              "give --grid / --seeds")
        study = cls.__new__(cls)
        study._setup(base, given, **overrides)
        return study

    # -- cells ------------------------------------------------------------------------------
    def _cell_config(self, cell: Cell) -> ExperimentConfig:
        data = copy.deepcopy(self.base_dict)
        for key, value in cell.values.items():
            _set_key(data, key, value)
        for metric, value in self.spec.target.items():
            if metric == "train_acc":
                _set_key(data, "train.target_accuracy", value)
        try:
            return parse_config(data)
        except ConfigError as exc:
            raise ConfigError(f"study cell {cell.label}: {exc}") from None

    def _check_model(self) -> None:
        kind = self.base.model.kind
        if kind == "linear" and self.base.model.solver == "lstsq":
            raise ConfigError("model.kind='linear' with solver='lstsq' has nothing random to "
                              "vary between seeds; use model.solver='gd'")

    # -- chunks -----------------------------------------------------------------------------
    def _group_key(self, cfg: ExperimentConfig) -> str:
        data = cfg.to_dict()
        data.pop("output", None)
        for key in PER_MEMBER_KEYS:
            section, leaf = key.split(".")
            data.get(section, {}).pop(leaf, None)
        return json.dumps(data, sort_keys=True, default=str)

    def chunks(self) -> list[Chunk]:
        """The tasks of this study, in a stable order (same file, same chunks)."""
        groups: dict[str, list[Cell]] = {}
        for cell, cfg in zip(self.cells, self.cell_configs, strict=True):
            key = self._group_key(cfg) if self.spec.vary == "init" else cell.key
            groups.setdefault(key, []).append(cell)
        out: list[Chunk] = []
        for key, cells in groups.items():
            members = [Member(c.index, i, s) for c in cells
                       for i, s in zip(self.spec.seed_indices(), self.spec.run_seeds(c),
                                       strict=True)]
            first = self.cell_configs[cells[0].index]
            config = first.to_dict()
            config.pop("output", None)
            digest = hashlib.sha256(key.encode()).hexdigest()[:10]
            # Equal parts of at most CHUNK members: 200 seeds are 4 × 50, not 64 + 64 + 64 + 8.
            separate = self.spec.vary == "data" or not _stacks(first)
            limit = CHUNK_SEPARATE if separate else _chunk_limit(first)
            n_parts = -(-len(members) // limit)
            size = -(-len(members) // n_parts)
            for k in range(0, len(members), size):
                part = members[k:k + size]
                cell_cfg = {m.cell: self.cell_configs[m.cell].to_dict() for m in part}
                per_member = {p: [_get_key(cell_cfg[m.cell], p) for m in part]
                              for p in PER_MEMBER_KEYS}
                ids = ",".join(f"{m.cell}:{m.seed}" for m in part)
                name = f"{digest}-{hashlib.sha256(ids.encode()).hexdigest()[:8]}"
                out.append(Chunk(name, config, part, per_member, self.spec.vary,
                                 separate))
        return out

    def quick(self) -> Study:
        """A smoke-test version: at most 3 seeds, 5 epochs and a few hundred samples."""
        from neuralab.experiments.config import quick

        spec = self.spec
        seeds = spec.seed_indices()[:3]
        return Study(quick(self.base), grid=spec.grid, seeds=seeds, target=spec.target,
                     zip=spec.zip, vary=spec.vary, seed=spec.seed, name=self.name)

    def n_runs(self) -> int:
        return len(self.cells) * len(self.spec.seed_indices())

    def describe(self) -> str:
        """``"leaky-relu: 4 cells x 200 seeds"``."""
        return (f"{self.name}: {counted(len(self.cells), 'cell')} x "
                f"{counted(len(self.spec.seed_indices()), 'seed')}")

    def __repr__(self) -> str:
        keys = ", ".join(self.spec.keys()) or "no grid"
        return f"Study({self.describe()} = {self.n_runs()} runs; {keys})"

    # -- files ------------------------------------------------------------------------------
    def to_toml(self) -> str:
        """The resolved study: the base config and the [study] table."""
        data = dict(self.base_dict)
        data.pop("output", None)
        study = self.spec.model_dump(exclude_none=True)
        study["name"] = self.name
        study = {k: v for k, v in study.items() if v not in ({}, [])}
        data["study"] = study
        return dump_toml(data)

    def check_data(self) -> None:
        """Raise ConfigError when a cell's data file or folder is missing, or its data would
        not fit in memory: checked before a study folder is made, as ``neuralab train``
        does, so a study that cannot start leaves nothing behind."""
        from neuralab.experiments.prepare import check_data_files, check_data_memory

        for data in _data_configs(self):
            check_data_files(data)
            check_data_memory(data)

    def run(self, *, workers: int | None = None, scheduler: str | None = None,
            out: str | os.PathLike = "studies", quiet: bool = True,
            progress: Callable[[Progress], None] | None = None,
            plots: bool = True) -> StudyResult:
        """Run every chunk into a new folder ``<out>/<name>-<stamp>``; returns the result.

        ``plots=False`` leaves the figures to ``neuralab report <folder>``, which draws the
        missing ones."""
        check_backend(workers, scheduler)
        from neuralab._lock import lock_folder

        # a scheduler is checked (and connected to, once) before anything is written
        with scheduler_client(scheduler) as client:
            self.check_data()
            folder = _new_study_folder(out, self)
            with lock_folder(folder, what="study folder"):  # one process at a time
                return _execute(self, folder, workers=workers, scheduler=scheduler,
                                quiet=quiet, progress=progress, plots=plots, client=client)


def _data_configs(study: Study) -> list[Any]:
    """The distinct data configs of a study's cells (most studies have one)."""
    seen: dict[str, Any] = {}
    for cfg in study.cell_configs:
        seen.setdefault(cfg.data.model_dump_json(), cfg.data)
    return list(seen.values())


def _new_study_folder(out: str | os.PathLike, study: Study) -> Path:
    """``<out>/<name>-<stamp>`` with its ``study.toml``, appearing at once: it is made under
    a hidden name and renamed, so a study killed while it starts leaves no folder that
    ``--resume`` cannot read."""
    from neuralab._atomic import atomic_file
    from neuralab.experiments.run import new_run_dir

    def write_study_file(folder: Path) -> None:
        with atomic_file(folder / STUDY_FILE) as f:
            f.write(_header(study).encode() + study.to_toml().encode())
        # each cell's config, so any run can be trained again on its own (its seed is in
        # runs.csv): the same numbers as in the study
        if study.spec.vary == "data":  # the run's seed draws the data and the split too
            again = ("# one of its runs again, S its seed in runs.csv (which draws the data "
                     "and the split too):\n#   neuralab train <this file> --seed S "
                     + " ".join(f"--set {k}=S" for k in DATA_SEED_KEYS) + "\n")
        else:
            again = ("# one of its runs again: neuralab train <this file> --seed <the run's "
                     "seed in runs.csv>\n")
        for cell, cfg in zip(study.cells, study.cell_configs, strict=True):
            with atomic_file(folder / CELLS / f"cell-{cell.index}.toml") as f:
                f.write((f"# cell {cell.index} of study {study.name!r}: {cell.label}\n"
                         + again + "\n" + cfg.to_toml()).encode())

    return new_run_dir(out, study.name, subdirs=(CHUNKS, "plots", CELLS), setting="--out",
                       first=write_study_file)


def _read_study_file(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, Any], bool]:
    """A study file read once: ``(config sections, its [study] table or {}, whether it has
    one)``; the table's name defaults to the file's (``leaky-relu.study.toml``)."""
    base = read_toml(path)
    table = base.pop("study", None)
    if table is not None and not isinstance(table, dict):
        raise ConfigError("study must be a table ([study] followed by key = value lines)")
    given = dict(table or {})
    if given.get("name") is None and _name_from(path):
        given["name"] = _name_from(path)
    return base, given, table is not None


def _spec(given: dict[str, Any]) -> StudySpec:
    from pydantic import ValidationError

    try:
        return StudySpec.model_validate(given)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, prefix=("study",), root=StudySpec,
                                                  data=given)) from None


def _stacks(cfg: ExperimentConfig) -> bool:
    """Whether the cell's estimator trains many seeds as one stacked ensemble (``n_models``;
    a CNN does not: its members then train one by one, still in parallel chunks)."""
    from neuralab.experiments.config import estimator_class

    return getattr(estimator_class(cfg), "stacks_members", True)


def _chunk_limit(cfg: ExperimentConfig) -> int:
    """Members per chunk for a group trained as one ensemble (see CHUNK_SMALL_BATCH)."""
    bs = cfg.train.batch_size
    return CHUNK_SMALL_BATCH if isinstance(bs, int) and bs <= SMALL_BATCH else CHUNK


def _name_from(path: str | os.PathLike) -> str | None:
    from neuralab.experiments.config import NAME_RE

    stem = Path(path).name.removesuffix(".toml").removesuffix(".study")
    return stem if NAME_RE.match(stem) else None


def _header(study: Study) -> str:
    return (f"# neuralab study {study.name!r}: {counted(len(study.cells), 'cell')} x "
            f"{counted(len(study.spec.seed_indices()), 'seed')}\n"
            "# rerun: neuralab study study.toml; "
            "continue: neuralab study --resume <this folder>\n\n")


# -- one chunk (runs on any worker) ------------------------------------------------------------
@lru_cache(maxsize=4)
def _prepared(config_json: str) -> Any:
    """The prepared data of a config (cached per process: every chunk of a group shares it)."""
    from neuralab.experiments import prepare_experiment

    return prepare_experiment(parse_config(json.loads(config_json)), offline=True)


def run_chunk(task: dict[str, Any]) -> dict[str, np.ndarray]:
    """Train a chunk's members; per-member metrics and curves as arrays (picklable).

    The BLAS runs one thread throughout, on every backend: LocalCluster workers are started
    that way, but this process and the workers of a cluster someone else started may have
    more, and on some CPUs (OpenBLAS's Haswell kernels) a product split over two threads
    differs in its last bits from the same product on one (a float32 MNIST-sized layer,
    ``(64, 784) @ (784, 128)``, does). One thread everywhere keeps every backend's numbers
    equal."""
    from neuralab._malloc import keep_large_allocations
    from neuralab.nn._threads import single_blas

    keep_large_allocations()  # ensembles' large temporaries: no page faults per step
    with single_blas():
        return _run_chunk(task)


def _run_chunk(task: dict[str, Any]) -> dict[str, np.ndarray]:
    t0 = time.perf_counter()
    members = task["members"]
    config = task["config"]
    if task["separate"]:
        parts = []
        for k, (_, _, seed) in enumerate(members):
            cfg = copy.deepcopy(config)
            if task["vary"] == "data":
                for key in DATA_SEED_KEYS:
                    _set_key(cfg, key, seed)
            for key, values in task["per_member"].items():
                _set_key(cfg, key, values[k])
            parts.append(_fit(cfg, [seed], {}, single=True))
        out = {key: np.concatenate([p[key] for p in parts], axis=0) for key in parts[0]
               if key != "epoch"}
        out["epoch"] = parts[0]["epoch"]
    else:
        per_member = {k: v for k, v in task["per_member"].items() if len(set(map(str, v))) > 1}
        for key, values in task["per_member"].items():
            if key not in per_member:
                _set_key(config, key, values[0])
        out = _fit(config, [s for _, _, s in members], per_member)
    out["wall_s"] = np.full(len(members), (time.perf_counter() - t0) / len(members))
    return out


_PARAM = {"optim.lr": "lr", "optim.momentum": "momentum", "optim.weight_decay": "weight_decay"}


#: a chunk drops its stopped members from the stacked arrays once they are this share of
#: the members still stacked (each drop costs a checkpoint and a rebuild: a few ms)
COMPACT_SHARE = 0.25


class _Compact(Exception):
    """Raised after a completed epoch: enough members stopped to drop them."""


class _CompactWhenStopped(Callback):
    """A callback (last in line, after the stopping rules) that ends a ``fit`` once at least
    :data:`COMPACT_SHARE` of the stacked members stopped, with epochs left to train."""

    changes_weights = False

    def __init__(self, budget: int) -> None:
        self.budget = budget

    def on_epoch_end(self, est: Any, epoch: int, logs: dict[str, Any]) -> None:
        active = est._trainer.active  # the engine's per-member "still training" mask
        stopped = active.size - int(active.sum())
        if epoch < self.budget and active.any() and stopped >= max(1, COMPACT_SHARE * active.size):
            raise _Compact


@dataclass
class Segment:
    """One ``fit`` of a chunk: the estimator, the chunk positions of its members, and
    whether every one of them diverged."""

    est: Any
    members: np.ndarray
    diverged: bool = False


def fit_members(config: dict[str, Any], seeds: list[int],
                per_member: dict[str, list[Any]] | None = None, *, single: bool = False
                ) -> tuple[list[Segment], Any]:
    """Fit ``config``'s estimator as an ensemble of ``len(seeds)`` members, member i seeded
    with ``seeds[i]`` (or, ``single``, one model): ``(segments, experiment)``.

    Members that stop (a target reached, early stopping, divergence) are dropped from the
    stacked arrays: the ensemble trains until a quarter of its members stopped, then the
    others continue as a smaller ensemble from its checkpoint (:mod:`neuralab.models._members`;
    each member computes exactly what it would have in the full ensemble). Each fit is a
    :class:`Segment`; a member's results are those of the last segment it is in.
    """
    from neuralab.exceptions import TrainingDiverged
    from neuralab.models import clone
    from neuralab.models._members import members_params, members_state

    exp = _prepared(json.dumps(config, sort_keys=True, default=str))
    est = clone(exp.estimator)  # the cached experiment's estimator stays unfitted
    base = getattr(est, "estimator", None)  # OneVsRest wraps the binary model
    params: dict[str, Any] = ({"n_models": None, "random_state": seeds[0]} if single else
                              {"n_models": len(seeds), "random_state": list(seeds)})
    params.update({_PARAM[k]: np.asarray(v, dtype=float)
                   for k, v in (per_member or {}).items()})
    (base if base is not None else est).set_params(**params)
    (X, y), validation, eval_sets = exp.data.fit_sets()
    compact = not single and base is None and len(seeds) > 1
    budget = exp.config.train.epochs
    members, state, segments = np.arange(len(seeds)), None, []
    own = list(est.get_params(deep=False).get("callbacks") or [])
    while True:
        if compact:
            est.set_params(callbacks=[*own, _CompactWhenStopped(budget)])
        try:
            est.fit(X, y, validation=validation, eval_sets=eval_sets, resume=state)
        except TrainingDiverged:
            segments.append(Segment(est, members, diverged=True))
            break
        except _Compact:
            segments.append(Segment(est, members))
            E, keep = len(members), np.flatnonzero(est._trainer.active)
            params = members_params(est.get_params(deep=False), keep, E)
            params["callbacks"] = own or None
            state = members_state(est.checkpoint(), keep, E, params)
            est, members = type(est)(**params), members[keep]
            continue
        segments.append(Segment(est, members))
        break
    return segments, exp


def _fit(config: dict[str, Any], seeds: list[int], per_member: dict[str, list[Any]], *,
         single: bool = False) -> dict[str, np.ndarray]:
    segments, exp = fit_members(config, seeds, per_member, single=single)
    budget = exp.config.train.epochs
    if len(segments) == 1:
        seg = segments[0]
        return {**_member_results(seg.est, len(seeds), budget, seg.diverged),
                **_one_vs_rest(seg.est, exp)}
    out: dict[str, np.ndarray] = {}
    for seg in segments:  # later segments overwrite the members they continued
        part = _member_results(seg.est, len(seg.members), budget, seg.diverged)
        for key, value in part.items():
            if key == "epoch":
                out[key] = value
                continue
            if key not in out:
                out[key] = np.full((len(seeds), *value.shape[1:]), np.nan, dtype=value.dtype) \
                    if value.dtype.kind == "f" else np.zeros((len(seeds), *value.shape[1:]),
                                                             dtype=value.dtype)
            out[key][seg.members] = value
    return out


def _member_results(est: Any, E: int, budget: int, diverged_all: bool
                    ) -> dict[str, np.ndarray]:
    """Per-member metrics ``(E,)`` and curves ``(E, epochs)`` from a fitted ensemble."""
    history = getattr(est, "history_", None)
    out: dict[str, np.ndarray] = {}
    epochs = np.arange(1, budget + 1)
    out["epoch"] = epochs
    n = len(history) if history is not None else 0
    stop = np.full(E, n, dtype=np.int64)  # epochs each member actually trained
    conv = getattr(est, "converged_epoch_", None)
    conv = np.full(E, -1) if conv is None else np.asarray(conv, dtype=float).reshape(-1)
    conv = np.where(np.isnan(conv), -1, conv) if conv.dtype.kind == "f" else conv
    converged = conv >= 0
    stop = np.where(converged, conv, stop).astype(np.int64)
    best_epoch = getattr(est, "best_epoch_", None)
    diverged = np.asarray(getattr(est, "diverged_", np.zeros(E, bool)), dtype=bool).reshape(-1)
    if diverged_all:
        diverged = np.ones(E, dtype=bool)
    out["converged"] = converged & ~diverged
    out["epoch_converged"] = np.where(out["converged"], conv, np.nan).astype(float)
    out["epochs_budget"] = np.full(E, budget, dtype=np.int64)
    out["diverged"] = diverged
    out["epochs"] = stop if best_epoch is None else np.minimum(stop, n)
    for s in SETS:
        for metric in ("loss", "acc"):
            key = f"{s}_{metric}"
            if history is None or key not in history:
                continue
            values = np.asarray(history[key], dtype=float).reshape(n, -1)
            values = np.broadcast_to(values, (n, E)).T.copy()  # (E, n)
            after = np.arange(1, n + 1)[None, :] > stop[:, None]
            values[after] = np.nan  # a stopped member's frozen epochs are not its curve
            values[diverged] = np.nan
            curve = np.full((E, budget), np.nan, dtype=np.float32)
            curve[:, :n] = values[:, :budget]
            out[f"curve/{key}"] = curve
            last = np.array([_last_finite(row) for row in values])
            out[f"final_{key}"] = last
            with warnings.catch_warnings():  # a member with no finite value: its best is NaN
                warnings.simplefilter("ignore", RuntimeWarning)
                best = np.nanmax(values, axis=1) if metric == "acc" else np.nanmin(values, axis=1)
            out[f"best_{key}"] = np.where(np.isfinite(best), best, np.nan)
    return out


def _one_vs_rest(est: Any, exp: Any) -> dict[str, np.ndarray]:
    """A one-vs-rest model keeps no history of its own (its classifiers train one after
    another): its final accuracy on each set comes from ``score``, and each classifier's
    error on its own "class k vs the rest" test set is ``final_test_binary_error_<k>``
    (seed 003's per-digit rates), all ``(E,)``. Nothing for other models."""
    if not hasattr(est, "binary_error_rates"):
        return {}
    train, validation, sets = exp.data.fit_sets()
    named = {"train": train, "val": validation, **sets}
    out = {f"final_{name}_acc": np.atleast_1d(np.asarray(est.score(*pair), dtype=float))
           for name, pair in named.items() if name in SETS and pair is not None}
    if "test" in sets:
        rates = np.atleast_2d(est.binary_error_rates(*sets["test"]))  # (E, K)
        out.update({f"final_test_binary_error_{c}": rates[:, k].astype(float)
                    for k, c in enumerate(est.classes_)})
    return out


def _last_finite(row: np.ndarray) -> float:
    finite = np.flatnonzero(np.isfinite(row))
    return float(row[finite[-1]]) if len(finite) else math.nan


# -- running and writing ------------------------------------------------------------------------
@dataclass(repr=False)
class StudyResult:
    """A finished (or partly finished) study: its folder and tables.

    ``runs`` has one row per (cell, seed) with every metric; ``table()`` one row per cell
    with intervals; ``compare(key)`` the pairwise differences along one grid key.
    """

    folder: Path
    study: Study
    runs: Any
    curves: dict[str, np.ndarray] = field(default_factory=dict)
    _cells: Any = field(default=None)

    def __repr__(self) -> str:
        # one line where a notebook echoes the result (the dataclass's own repr printed
        # the runs DataFrame and every curve array)
        return (f"StudyResult({str(self.folder)!r}: {self.study.describe()}, "
                f"{len(self.runs)} runs; .table(), .compare(key), .runs)")

    def table(self, **kwargs: Any) -> Any:
        """One row per cell with intervals (``stats.cell_table``; the default table is
        computed once)."""
        from neuralab.studies import stats
        from neuralab.studies.display import CellTable

        if kwargs or self._cells is None:
            cells = stats.cell_table(self.runs, grid=self.study.spec.keys(),
                                     metrics=self.metrics(), **kwargs)
            if kwargs:
                return cells
            self._cells = cells
        # (a notebook shows it short: the settings that differ and the headline intervals)
        return CellTable.of(self._cells.copy(), self.study.spec.keys(),
                            bool(self.study.spec.target))

    def compare(self, key: str, **kwargs: Any) -> Any:
        """Pairwise differences along grid key ``key`` (``stats.compare``), the other grid
        keys held fixed (a zip group's partners move with it)."""
        from neuralab.studies import stats
        from neuralab.studies.display import CompareTable

        if key not in self.study.spec.keys():
            from neuralab._checks import suggest

            raise ValueError(f"{key!r} is not a grid key of this study"
                             f"{suggest(key, self.study.spec.keys())}; its keys are "
                             f"{', '.join(self.study.spec.keys()) or '(none)'}")
        grid = self.study.spec.compare_grid(key)
        pairs = stats.compare(self.runs, key, grid=grid, metrics=self.metrics(), **kwargs)
        # (a notebook shows it short: a vs b, then a − b [CI], P(a > b), adjusted p)
        return CompareTable.of(pairs, key, [k for k in grid if k != key],
                               bool(self.study.spec.target))

    def metrics(self) -> list[str]:
        return [c for c in self.runs.columns if c.startswith(("final_", "best_"))
                and self.runs[c].notna().any()]


def _execute(study: Study, folder: Path, *, workers: int | None, scheduler: str | None,
             quiet: bool, progress: Callable[[Progress], None] | None,
             plots: bool = True, client: Any = None) -> StudyResult:
    from neuralab.experiments.run import atomic_write_json

    chunks = study.chunks()
    manifest_path = folder / MANIFEST
    done: dict[str, dict[str, Any]] = {}
    # every finished chunk's arrays, read once (resume) or kept as they arrive: finish()
    # assembles them without reading the files again
    results: dict[str, dict[str, np.ndarray]] = {}
    if manifest_path.is_file():
        for k, v in _read_manifest(manifest_path).items():
            arrays = _readable_chunk(folder / CHUNKS / f"{k}.npz", quiet)
            if arrays is not None:
                done[k], results[k] = v, arrays
    todo = [c for c in chunks if c.name not in done]
    # a resumed study's wall time adds to what its earlier sessions recorded
    before = _recorded_seconds(folder) if done else 0.0
    total, n_cells = study.n_runs(), len(study.cells)
    per_cell = len(study.spec.seed_indices())
    t0 = time.perf_counter()
    runs_of: dict[int, int] = {}  # cell -> finished runs
    for entry in done.values():
        for cell, _, _ in entry["members"]:
            runs_of[cell] = runs_of.get(cell, 0) + 1
    resumed = sum(runs_of.values())
    report = progress or (_print_progress if not quiet else _notebook_progress(
        Progress(resumed, total, 0, n_cells, 0.0, math.inf)))
    if not quiet:
        chunk_s = "chunk" if len(chunks) == 1 else "chunks"
        print(f"study {study.describe()} = {total} runs in {len(chunks)} {chunk_s} "
              f"({len(todo)} to run)\n  -> {folder}", file=sys.stderr, flush=True)

    trained = [0.0, 0]  # training seconds and runs of the chunks run here (for the ETA)
    began: list[float] = []  # when the first finished chunk began training (cluster ETA)

    def on_result(name: str, result: dict[str, np.ndarray]) -> None:
        chunk = by_name[name]
        _save_chunk(folder / CHUNKS / f"{name}.npz", result)
        results[name] = result
        done[name] = {"members": [[m.cell, m.seed_index, m.seed] for m in chunk.members]}
        atomic_write_json(manifest_path, {"chunks": done})
        for m in chunk.members:
            runs_of[m.cell] = runs_of.get(m.cell, 0) + 1
        chunk_seconds = float(np.sum(result.get("wall_s", 0.0)))
        trained[0] += chunk_seconds
        trained[1] += len(chunk.members)
        now = time.perf_counter()
        if not began:
            began.append(now - chunk_seconds)
        if report is not None:
            runs = sum(runs_of.values())
            seconds = now - t0
            if scheduler is None:
                # the runs left at the training seconds a run took so far, shared by the
                # local workers: Dask's start-up (~2 s) does not stretch the estimate
                eta = (total - runs) * trained[0] / trained[1] / (workers or 1)
            else:
                # a cluster of unknown size: the rate seen since the first finished chunk
                # began training (connecting and the cluster's start-up do not count)
                elapsed = now - began[0]
                rate = (runs - resumed) / elapsed if elapsed > 0 else 0.0
                eta = (total - runs) / rate if rate > 0 else math.inf
            cells = sum(1 for n in runs_of.values() if n >= per_cell)
            report(Progress(runs, total, cells, n_cells, seconds, eta))

    by_name = {c.name: c for c in chunks}
    atomic_write_json(folder / "summary.json", _summary(study, "running", resumed,
                                                        workers, scheduler, before))
    if todo and (scheduler is not None or (workers or 1) > 1):
        _warm_up()
    try:
        run_tasks(run_chunk, [(c.name, c.task()) for c in todo], on_result, workers=workers,
                  scheduler=scheduler, notice=None if quiet else _print_notice, client=client)
        return finish(study, folder, chunks, workers=workers, scheduler=scheduler,
                      seconds=before + time.perf_counter() - t0, plots=plots,
                      results=results)
    except BaseException as exc:
        # Ctrl-C or a stop: "interrupted"; an error in a chunk, a worker or the tables:
        # "failed", with the error's first line. Finished chunks stay; --resume runs the
        # rest (and the tables and figures).
        from neuralab.experiments.run import ENVIRONMENT_ERRNOS, RunFailed, fault_text

        stopped = isinstance(exc, (KeyboardInterrupt, SystemExit))
        saved = sum(runs_of.values())
        summary = _summary(study, "interrupted" if stopped else "failed", saved, workers,
                           scheduler, before + time.perf_counter() - t0)
        if not stopped:
            summary["error"] = f"{type(exc).__name__}: {_first_line(exc)}"
        try:
            atomic_write_json(folder / "summary.json", summary)
        except OSError:  # the disk is full: the manifest still says what is done
            pass
        if isinstance(exc, KeyboardInterrupt) and not isinstance(exc, StudyInterrupted):
            raise StudyInterrupted(folder, saved, total) from None
        if isinstance(exc, ClusterError):  # no worker left, or workers without neuralab
            raise RunFailed(f"{exc}; the study stopped with {saved} of {total} runs saved; "
                            f"continue with: neuralab study --resume {folder}",
                            exit_code=1) from None
        if isinstance(exc, OSError) and exc.errno in ENVIRONMENT_ERRNOS:
            raise RunFailed(f"{fault_text(exc)}; the study stopped with {saved} of {total} "
                            f"runs saved; free some space, then: neuralab study --resume "
                            f"{folder}", exit_code=1) from None
        raise


class StudyInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a study: its finished chunks are saved in ``folder``, and
    ``neuralab study --resume folder`` (:func:`resume_study`) runs the rest."""

    def __init__(self, folder: Path, runs_done: int, runs_total: int) -> None:
        self.folder, self.runs_done, self.runs_total = folder, runs_done, runs_total
        super().__init__(f"interrupted; {runs_done} of {runs_total} runs are saved; continue "
                         f"with: neuralab study --resume {folder}")


@dataclass(frozen=True)
class Progress:
    """Where a running study stands (what ``progress`` callbacks receive)."""

    runs: int
    runs_total: int
    cells: int
    cells_total: int
    seconds: float
    eta: float

    def line(self) -> str:
        eta = "?" if not math.isfinite(self.eta) else f"{self.eta:.0f} s"
        return (f"runs {self.runs}/{self.runs_total}  cells {self.cells}/{self.cells_total}"
                f"  {self.seconds:.1f} s  ETA {eta}")


def _print_progress(progress: Progress) -> None:
    print(progress.line(), file=sys.stderr, flush=True)


def _notebook_progress(start: Progress) -> Callable[[Progress], None] | None:
    """In a Jupyter kernel, ``run()``'s progress (quiet elsewhere): one line updated in place,
    a bar of the runs done with the cells, the time and the ETA; None outside a kernel."""
    from neuralab._jupyter import in_notebook

    if not in_notebook():
        return None
    from IPython.display import display

    from neuralab.train.progress_bar import bar_bundle

    def bundle(p: Progress) -> dict[str, str]:
        page, plain = bar_bundle(p.runs, p.runs_total, p.line())
        return {"text/html": page, "text/plain": plain}

    handle = display(bundle(start), raw=True, display_id=True)
    return lambda p: handle.update(bundle(p), raw=True)


def _print_notice(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _read_manifest(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        chunks = data["chunks"]
        if not isinstance(chunks, dict):
            raise TypeError
        return chunks
    except (OSError, ValueError, KeyError, TypeError):
        raise ConfigError(f"{path} is not a study manifest (JSON with a 'chunks' table); "
                          "delete it to rerun every chunk") from None


def _readable_chunk(path: Path, quiet: bool) -> dict[str, np.ndarray] | None:
    """A finished chunk's arrays, or None when its file is missing or does not read back; a
    damaged one (copied in part, edited) is said and run again rather than stopping the
    study."""
    if not path.is_file():
        return None
    try:
        return _load_chunk(path)
    except (ValueError, OSError) as exc:  # DataError (a bad archive) is a ValueError
        if not quiet:
            print(f"{_first_line(exc) or type(exc).__name__}; it runs again",
                  file=sys.stderr, flush=True)
        return None


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [""])[0]


def _save_chunk(path: Path, result: dict[str, np.ndarray]) -> None:
    from neuralab._atomic import atomic_file

    with atomic_file(path) as f:
        np.savez(f, **{k.replace("/", "__"): np.asarray(v) for k, v in result.items()})


def _load_chunk(path: Path) -> dict[str, np.ndarray]:
    from neuralab.exceptions import DataError
    from neuralab.io import read_npz

    # a study folder travels like a run folder: read its chunks with the bounded reader
    arrays = read_npz(path, error=DataError, what="study chunk")
    return {k.replace("__", "/"): v for k, v in arrays.items()}


def _recorded_seconds(folder: Path) -> float:
    """The wall seconds summary.json records (0 when it is missing or unreadable)."""
    from neuralab.experiments.run import read_summary

    try:  # bounded, and no link out of the folder (as a run's summary is read)
        seconds = read_summary(folder).get("wall_seconds", 0)
    except (OSError, ValueError):  # unreadable, or a link out of the folder
        return 0.0
    ok = isinstance(seconds, (int, float)) and not isinstance(seconds, bool)
    return float(seconds) if ok and math.isfinite(seconds) and seconds >= 0 else 0.0


def _summary(study: Study, status: str, runs_done: int, workers: int | None,
             scheduler: str | None, seconds: float) -> dict[str, Any]:
    backend = scheduler or (f"{workers} local workers" if workers and workers > 1
                            else "in-process")
    return {"name": study.name, "status": status, "n_cells": len(study.cells),
            "n_runs": study.n_runs(), "runs_done": runs_done, "target": study.spec.target,
            "grid": {**study.spec.grid, **{k: v for g in study.spec.zip for k, v in g.items()}},
            "seeds": len(study.spec.seed_indices()), "vary": study.spec.vary,
            "wall_seconds": round(seconds, 3), "backend": backend}


#: what finish() imports (~1 s): while Dask workers train, this process only waits
WARM_UP = ("pandas", "neuralab.studies.stats", "neuralab.viz.studies", "matplotlib.figure",
           "matplotlib.backends.backend_agg")


def _warm_up() -> None:
    """Import :data:`WARM_UP` on a background thread, so the statistics and figures start at
    once when the last chunk arrives (an import that fails here fails again, with its
    message, where it is needed)."""
    import importlib
    import threading

    def load() -> None:
        for name in WARM_UP:
            try:
                importlib.import_module(name)
            except Exception:  # reported by the same import in finish()
                return

    threading.Thread(target=load, name="neuralab-warm-up", daemon=True).start()


def _assemble(study: Study, folder: Path, chunks: list[Chunk],
              results: dict[str, dict[str, np.ndarray]] | None = None) -> tuple[Any, Any]:
    """The runs table (one row per (cell, seed), sorted) and the curves of ``chunks``:
    each chunk's arrays from ``results`` when given there, else read from ``chunks/``."""
    import pandas as pd

    rows: list[dict[str, Any]] = []
    curves: dict[str, list[np.ndarray]] = {}
    order: list[tuple[int, int]] = []
    for chunk in chunks:
        result = (results or {}).get(chunk.name)
        if result is None:
            result = _load_chunk(folder / CHUNKS / f"{chunk.name}.npz")
        for i, m in enumerate(chunk.members):
            row: dict[str, Any] = {"cell": m.cell}
            row.update(study.cells[m.cell].values)
            row.update({"seed_index": m.seed_index, "seed": m.seed})
            for key, values in result.items():
                if key.startswith("curve/") or key == "epoch":
                    continue
                row[key] = values[i].item()
            rows.append(row)
            order.append((m.cell, m.seed_index))
        for key, values in result.items():
            if key.startswith("curve/"):
                curves.setdefault(key[6:], []).append(values)
    runs = pd.DataFrame(rows)
    sort = np.lexsort((np.array([o[1] for o in order]), np.array([o[0] for o in order])))
    runs = runs.iloc[sort].reset_index(drop=True)
    # cells may have different epoch budgets (a grid over train.epochs): the curves are
    # padded with NaN to the longest, as a member that stopped early already is
    longest = max(cfg.train.epochs for cfg in study.cell_configs)
    curve_arrays = {k: np.concatenate([_pad_epochs(a, longest) for a in v], axis=0)[sort]
                    for k, v in curves.items()}
    curve_arrays["epoch"] = np.arange(1, longest + 1)
    for key in study.spec.keys():  # TOML lists become tuples: hashable cell labels
        runs[key] = runs[key].map(lambda v: tuple(v) if isinstance(v, list) else v)
    return runs, curve_arrays


def finish(study: Study, folder: Path, chunks: list[Chunk] | None = None, *,
           workers: int | None = None, scheduler: str | None = None,
           seconds: float = 0.0, plots: bool = True,
           results: dict[str, dict[str, np.ndarray]] | None = None) -> StudyResult:
    """Assemble the finished chunks into runs.csv, cells.csv, curves.npz, summary, plots.

    ``results``: chunk name -> its arrays, for the chunks already in memory (read or run
    by the caller); the others are read from ``chunks/``."""
    from neuralab.experiments.run import atomic_write_json, atomic_write_text

    chunks = study.chunks() if chunks is None else chunks
    runs, curve_arrays = _assemble(study, folder, chunks, results)
    atomic_write_text(folder / "runs.csv", runs.to_csv(index=False))
    try:
        import pyarrow  # noqa: F401

        from neuralab._atomic import atomic_file

        with atomic_file(folder / "runs.parquet") as f:
            runs.astype({k: str for k in study.spec.keys()}).to_parquet(f, index=False)
    except ImportError:
        pass
    from neuralab._atomic import atomic_file

    with atomic_file(folder / "curves.npz") as f:
        np.savez_compressed(f, **curve_arrays)
    result = StudyResult(folder, study, runs, curve_arrays)
    cells = result.table()
    atomic_write_text(folder / "cells.csv", cells.to_csv(index=False))
    for key in study.spec.compared_keys():
        atomic_write_text(folder / f"compare-{key}.csv", result.compare(key).to_csv(
            index=False))
    atomic_write_json(folder / "summary.json",
                      _summary(study, "finished", len(runs), workers, scheduler, seconds))
    if plots:
        from neuralab.studies import stats
        from neuralab.viz.studies import study_plots

        # a study without a grid is one cell, which the figures label by its "cell" column
        by = study.spec.keys() or ["cell"]
        study_plots(folder, cells=cells if study.spec.keys() else cells.assign(cell=0),
                    convergence_table=stats.convergence_curves(
            runs, grid=by) if study.spec.target else None)
    return result


def _pad_epochs(curves: np.ndarray, epochs: int) -> np.ndarray:
    """``curves (members, e)`` as ``(members, epochs)``, NaN after epoch ``e``."""
    if curves.shape[1] >= epochs:
        return curves
    out = np.full((curves.shape[0], epochs), np.nan)
    out[:, :curves.shape[1]] = curves
    return out


def resume_study(folder: str | os.PathLike, *, workers: int | None = None,
                 scheduler: str | None = None, quiet: bool = True,
                 progress: Callable[[Progress], None] | None = None,
                 plots: bool = True) -> StudyResult:
    """Run the chunks of ``folder`` that are not finished yet, then assemble the results."""
    check_backend(workers, scheduler)
    from neuralab._lock import lock_folder

    folder = Path(folder)
    with scheduler_client(scheduler) as client:  # checked before anything is written
        if not (folder / STUDY_FILE).is_file():
            raise ConfigError(f"{folder} is not a study folder (no {STUDY_FILE})")
        # one process at a time; links out of the folder refused; stale temporary files
        # removed
        with lock_folder(folder, what="study folder"):
            study = Study.from_file(folder / STUDY_FILE)
            (folder / CHUNKS).mkdir(exist_ok=True)
            return _execute(study, folder, workers=workers, scheduler=scheduler, quiet=quiet,
                            progress=progress, plots=plots, client=client)


def load_study(folder: str | os.PathLike) -> StudyResult:
    """The result of a finished study folder, read back without running or writing
    anything: ``load_study(folder).table()`` equals the ``table()`` of the ``run()`` that
    made it (the runs come from its chunks, as they did then).

    A study that is not finished (interrupted, failed, still running) is a ValueError that
    says how many runs are done and how to finish it."""
    folder = Path(folder)
    if not (folder / STUDY_FILE).is_file():
        raise ConfigError(f"{folder} is not a study folder (no {STUDY_FILE})")
    study = Study.from_file(folder / STUDY_FILE)
    chunks = study.chunks()
    done = _read_manifest(folder / MANIFEST) if (folder / MANIFEST).is_file() else {}
    missing = [c for c in chunks if c.name not in done]
    if missing:
        runs = sum(len(c.members) for c in chunks if c.name in done)
        raise ConfigError(f"study {folder} is not finished: {runs} of {study.n_runs()} runs "
                          f"are done; finish it with: neuralab study --resume {folder}")
    runs, curves = _assemble(study, folder, chunks)
    return StudyResult(folder, study, runs, curves)


__all__ = ["CHUNK", "PER_MEMBER_KEYS", "Progress", "Study", "StudyInterrupted", "StudyResult",
           "finish", "load_study", "resume_study", "run_chunk"]
