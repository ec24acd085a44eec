"""Some members of an ensemble as an estimator of their own: its parameters and checkpoint.

An ensemble's member ``i`` computes exactly what a single model seeded
``member_seeds(random_state, E)[i]`` computes, whatever the other members do: every stacked
operation acts on each member's slice alone. So the members ``idx`` of a checkpoint, cut out
with :func:`members_state`, continue training (``fit(..., resume=state)`` on an estimator
built with :func:`members_params`) exactly as they would have inside the full ensemble. A
study uses this to drop members that reached their target from the stacked arrays, so they
stop costing compute.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neuralab.io import json_text
from neuralab.models._params import params_to_json
from neuralab.models._setup import member_seeds

#: constructor parameters that may hold one value per member
PER_MEMBER = ("lr", "momentum", "weight_decay")


def members_params(params: dict[str, Any], idx: Any, E: int) -> dict[str, Any]:
    """Constructor parameters of members ``idx`` of an ``E``-member ensemble built with
    ``params``: an ensemble of ``len(idx)`` members, or a single model for an int ``idx``."""
    out = dict(params)
    given = params.get("random_state")
    # a list of seeds (one per member) stays a list of seeds; anything else is spawned
    seeds = list(given) if isinstance(given, (list, tuple, np.ndarray)) \
        else member_seeds(given, E)
    single = np.ndim(idx) == 0
    out["n_models"] = None if single else len(idx)
    out["random_state"] = seeds[int(idx)] if single else [seeds[int(i)] for i in idx]
    for name in PER_MEMBER:
        value = out.get(name)
        if value is not None and np.ndim(value) > 0:
            picked = np.asarray(value)[idx]
            out[name] = float(picked) if single else picked
    return out


def members_state(state: dict[str, np.ndarray], idx: Any, E: int,
                  params: dict[str, Any] | None = None) -> dict[str, np.ndarray]:
    """The checkpoint of members ``idx`` (an index array, or an int for a single model) of an
    ``E``-member ensemble checkpoint; ``params`` (from :func:`members_params`) replace the
    recorded constructor parameters so that ``fit(resume=...)`` accepts it.

    Members that are frozen keep no frozen copy: only what a continuing member needs is kept.
    """
    single = np.ndim(idx) == 0
    idx = int(idx) if single else np.asarray(idx, dtype=np.int64)
    pick = (lambda v: v[idx].copy()) if single else (lambda v: v[idx])
    out: dict[str, np.ndarray] = {}
    for key, value in state.items():
        v = np.asarray(value)
        if key.startswith(("net/", "stop/")) or key in ("trainer/active", "trainer/diverged"):
            out[key] = pick(v) if v.ndim and v.shape[0] == E else v
            if single and key.startswith("stop/") and not key.startswith("stop/early/best_state/"):
                out[key] = np.atleast_1d(out[key])  # stopping state stays (1,) per model
        elif key.startswith("opt/"):
            out[key] = pick(v) if v.ndim and v.shape[0] == E and key != "opt/steps" else v
        elif key.startswith("rng/"):
            continue  # renumbered below
        elif key.startswith("history/"):
            out[key] = v[:, idx].copy() if v.ndim == 2 else v
        elif key.startswith("frozen/"):
            continue
        else:
            out[key] = v
    if "trainer/active" in out and single:
        out["trainer/active"] = np.atleast_1d(out["trainer/active"])
        out["trainer/diverged"] = np.atleast_1d(out["trainer/diverged"])
    for j, i in enumerate([idx] if single else idx):
        out[f"rng/{j}"] = state[f"rng/{int(i)}"]
    if params is not None:
        out["meta/params"] = json_text(params_to_json(params))
    return out


__all__ = ["PER_MEMBER", "members_params", "members_state"]
