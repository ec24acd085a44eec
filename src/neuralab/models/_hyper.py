"""Hyper-parameter checks shared by every network-backed estimator: the stored constructor
arguments become the checked ``cfg`` dict that set-up and training read.

Estimators validate in ``fit`` (the constructor only stores its arguments, scikit-learn's
convention); a subclass adds its own entries through ``NetEstimator._validate_extra``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from neuralab._checks import check_choice, check_in_range, check_positive
from neuralab.models import hyperparams as hp
from neuralab.optim.optimizer import check_hyper
from neuralab.rng import as_generator

DTYPES = {"float32": np.float32, "float64": np.float64}


def check_dtype(value: Any) -> type:
    try:
        name = np.dtype(value).name
    except TypeError:
        name = str(value)
    check_choice("dtype", name, DTYPES)
    return DTYPES[name]


def check_random_state(value: Any, n_models: int | None = None) -> Any:
    """``random_state`` (scikit-learn's name for the seed): an int >= 0, a SeedSequence, a
    Generator or None (fresh entropy); for an ensemble also one int per member (member i is
    then the single model seeded with ``random_state[i]``, as a study needs)."""
    if isinstance(value, np.random.Generator):
        return value
    if isinstance(value, (list, tuple, np.ndarray)):
        seeds = list(value)
        if n_models is None or len(seeds) != n_models or not all(
                isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 0
                for s in seeds):
            want = ("n_models ints >= 0" if n_models is None
                    else f"{n_models} ints >= 0 (one per member)")
            raise ValueError(f"random_state={value!r} is not allowed; a list of seeds needs "
                             f"n_models set and {want}")
        return value
    try:
        as_generator(value)
    except ValueError:
        raise ValueError(f"random_state={value!r} is not allowed; use an int >= 0, a numpy "
                         "SeedSequence, a numpy Generator or None") from None
    return value


def check_member_hyper(name: str, value: Any, n_models: int | None, *, strict: bool = True,
                       upper: float | None = None) -> float | np.ndarray:
    """A scalar, or (ensembles only) one value per member."""
    if np.ndim(value) == 0:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer,
                                                             np.floating)):
            raise ValueError(f"{name}={value!r} is not allowed; it must be a number")
        check_positive(name, value, strict=strict)
        if upper is not None and value >= upper:
            raise ValueError(f"{name}={value!r} is not allowed; it must be < {upper}")
        return float(value)
    arr = np.asarray(value, dtype=float)
    if n_models is None or arr.shape != (n_models,):
        want = "a single number" if n_models is None else f"a number or {n_models} numbers"
        raise ValueError(f"{name}={value!r} is not allowed; give {want} (one per member of "
                         "an ensemble with n_models=E)")
    return check_hyper(name, arr, strict=strict, upper=upper)


def check_common_params(p: Callable[..., Any], model: str | None = None) -> dict[str, Any]:
    """The checked ``cfg`` of the parameters every estimator shares; ``p(name, default)``
    reads a stored constructor argument. An estimator without a setting (a perceptron has no
    optimizer) gets the table's default, which is the setting's "off" value."""
    def get(name: str) -> Any:
        return p(name, hp.default(name, model))

    def check(name: str) -> Any:
        return hp.check(name, get(name), model)

    cfg: dict[str, Any] = {name: check(name) for name in (
        "epochs", "eval_every", "train_metrics", "shuffle", "optimizer", "nesterov", "l1", "l2",
        "flooding", "schedule", "early_stopping", "patience", "min_delta", "monitor",
        "restore_best_weights", "target_accuracy")}
    cfg["dtype"] = check_dtype(get("dtype"))
    E = hp.check("n_models", get("n_models"), model)
    cfg["n_models"] = E
    cfg["lr"] = check_member_hyper("lr", get("lr"), E)
    bs = hp.check("batch_size", get("batch_size"), model)
    cfg["batch_size"] = None if bs == "full" else bs
    cfg["momentum"] = check_member_hyper("momentum", get("momentum"), E, strict=False,
                                         upper=1.0)
    cfg["weight_decay"] = check_member_hyper("weight_decay", get("weight_decay"), E,
                                             strict=False)
    if cfg["nesterov"] and (cfg["optimizer"] != "sgd" or np.any(cfg["momentum"] <= 0)):
        raise ValueError("nesterov=True is not allowed here; it needs optimizer='sgd' and "
                         f"momentum > 0 (got optimizer={cfg['optimizer']!r}, "
                         f"momentum={get('momentum')!r})")
    betas = get("betas")
    if np.shape(betas) != (2,):
        raise ValueError(f"betas={betas!r} is not allowed; give two numbers in [0, 1)")
    for b in betas:
        check_in_range("betas", b, 0.0, 1.0)
    cfg["betas"] = (float(betas[0]), float(betas[1]))
    sp = get("schedule_params")
    if sp is not None and not isinstance(sp, dict):
        raise ValueError(f"schedule_params={sp!r} is not allowed; give a dict such as "
                         "{'step_size': 10, 'gamma': 0.5}")
    cfg["schedule_params"] = dict(sp or {})
    check_random_state(get("random_state"), E)
    cbs = get("callbacks")
    if cbs is not None and (not isinstance(cbs, (list, tuple)) or not all(
            hasattr(c, "on_epoch_end") for c in cbs)):
        raise ValueError(f"callbacks={cbs!r} is not allowed; give a list of "
                         "neuralab.train.Callback objects")
    cfg["callbacks"] = list(cbs or [])
    cfg["verbose"] = int(get("verbose") or 0)
    return cfg
