"""The training pieces a checked ``cfg`` asks for: member seeds and generators, optimizer,
learning-rate schedule, weight penalties and stopping callbacks."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from neuralab._checks import suggest
from neuralab.nn.module import Module
from neuralab.nn.penalties import L1, L2, Penalty
from neuralab.optim import OPTIMIZERS, SCHEDULES, Optimizer
from neuralab.rng import as_generator, as_seed_sequence
from neuralab.train.stopping import EarlyStopping, TargetAccuracy

DEFAULT_SCHEDULE_PARAMS = {"step": {"step_size": 30, "gamma": 0.1},
                           "exponential": {"gamma": 0.95}, "cosine": {"eta_min": 0.0}}


def member_seeds(seed: Any, n: int) -> list[np.random.SeedSequence]:
    """The E child seeds of an ensemble: ``SeedSequence(seed).spawn(E)``, without advancing a
    SeedSequence the caller passed in (so refitting and ``member(i)`` see the same children);
    a list of E ints gives ``SeedSequence(seed[i])``, the seed of ``random_state=seed[i]``."""
    if isinstance(seed, (list, tuple, np.ndarray)):  # one seed per member, given
        return [np.random.SeedSequence(int(s)) for s in seed]
    ss = as_seed_sequence(seed)
    fresh = np.random.SeedSequence(ss.entropy, spawn_key=ss.spawn_key, pool_size=ss.pool_size)
    return fresh.spawn(n)


def make_generators(seed: Any, cfg: dict[str, Any]) -> list[np.random.Generator]:
    """One generator for a single model, E (from :func:`member_seeds`) for an ensemble."""
    if cfg["n_models"] is None:
        return [as_generator(seed)]
    return [np.random.default_rng(s) for s in member_seeds(seed, cfg["n_models"])]


def make_optimizer(net: Module, cfg: dict[str, Any]) -> Optimizer:
    name, lr = cfg["optimizer"], cfg["lr"]
    if name == "sgd":
        return OPTIMIZERS["sgd"](net, lr, momentum=cfg["momentum"], nesterov=cfg["nesterov"],
                                 weight_decay=cfg["weight_decay"])
    if name == "adam":
        return OPTIMIZERS["adam"](net, lr, betas=cfg["betas"],
                                  weight_decay=cfg["weight_decay"])
    return OPTIMIZERS["rmsprop"](net, lr, momentum=cfg["momentum"],
                                 weight_decay=cfg["weight_decay"])


def schedule_keys(name: str) -> list[str]:
    """The ``schedule_params`` keys schedule ``name`` takes (its constructor's arguments)."""
    return [k for k in inspect.signature(SCHEDULES[name]).parameters if k != "optimizer"]


def make_scheduler(opt: Optimizer, cfg: dict[str, Any]) -> Any:
    """The per-epoch schedule of ``cfg["schedule"]`` (None for a constant rate)."""
    name = cfg["schedule"]
    if name is None:
        return None
    allowed = schedule_keys(name)
    for key in cfg["schedule_params"]:
        if key not in allowed:
            raise ValueError(f"schedule_params={cfg['schedule_params']!r} is not allowed for "
                             f"schedule={name!r}: {key!r} is not one of "
                             f"{', '.join(map(repr, allowed))}{suggest(key, allowed)}")
    kwargs = {**DEFAULT_SCHEDULE_PARAMS[name], **cfg["schedule_params"]}
    if name == "cosine":
        kwargs.setdefault("T_max", cfg["epochs"])
    try:
        return SCHEDULES[name](opt, **kwargs)
    except TypeError as exc:
        raise ValueError(f"schedule_params={cfg['schedule_params']!r} does not fit "
                         f"schedule={name!r}: {exc}") from None


def make_penalties(cfg: dict[str, Any]) -> list[Penalty]:
    penalties: list[Penalty] = []
    if cfg["l1"]:
        penalties.append(L1(cfg["l1"]))
    if cfg["l2"]:
        penalties.append(L2(cfg["l2"]))
    return penalties


def make_stoppers(cfg: dict[str, Any]) -> dict[str, Any]:
    """``{"target": TargetAccuracy, "early": EarlyStopping}``, each only when asked for."""
    members = cfg["n_models"] or 1
    stoppers: dict[str, Any] = {}
    if cfg.get("target_accuracy") is not None:
        stoppers["target"] = TargetAccuracy(cfg["target_accuracy"], n_members=members,
                                            stop=cfg.get("target_stop", True))
    if cfg["early_stopping"]:
        stoppers["early"] = EarlyStopping(cfg["monitor"], cfg["patience"], cfg["min_delta"],
                                          cfg["restore_best_weights"], members)
    return stoppers
