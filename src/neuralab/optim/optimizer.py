"""The optimizer contract: walk ``(name, param, grad)`` of a network and update params in place.

Hyper-parameters may be a float (all models) or an array ``(E,)`` giving each member of an
ensemble its own value; :func:`per_member` broadcasts it against a parameter ``(E, …)``.
An optimizer reads ``lr`` at every step and never changes it: a schedule's ``step()`` or the
training loop writes it, never both (see :mod:`neuralab.optim.schedules`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from neuralab._checks import check_positive
from neuralab.nn.module import Module

Hyper = float | np.ndarray


# Per-member hyper-parameters are read at every step for every parameter: a read-only
# (E,) array (what check_hyper and the Trainer hand over) cannot change in place, so its
# reshaped copies and its "all zero" answer are kept, keyed by the array itself (held here,
# so its id is not reused). Writeable arrays are converted afresh each time.
_PREPARED: dict[int, tuple[np.ndarray, dict[Any, Any]]] = {}


def _memo(value: np.ndarray) -> dict[Any, Any] | None:
    if value.flags.writeable:
        return None
    entry = _PREPARED.get(id(value))
    if entry is None or entry[0] is not value:
        if len(_PREPARED) >= 64:
            _PREPARED.clear()
        entry = _PREPARED[id(value)] = (value, {})
    return entry[1]


def frozen(value: Hyper) -> Hyper:
    """A float as it is; an array as a read-only float64 copy (see :func:`per_member`)."""
    if np.ndim(value) == 0:
        return value
    arr = np.array(value, dtype=float)
    arr.flags.writeable = False
    return arr


def per_member(value: Hyper, param: np.ndarray) -> Any:
    """A scalar as a scalar of ``param``'s dtype; an ``(E,)`` array reshaped to ``(E, 1, …)``."""
    if isinstance(value, float):
        return param.dtype.type(value)
    memo = _memo(value) if isinstance(value, np.ndarray) else None
    key = (param.dtype, param.ndim, param.shape[:1])
    if memo is not None and key in memo:
        return memo[key]
    if np.ndim(value) == 0:
        return param.dtype.type(value)
    arr = np.asarray(value, dtype=param.dtype)
    if arr.ndim != 1 or param.ndim < 1 or arr.shape[0] != param.shape[0]:
        raise ValueError(
            f"a per-member hyper-parameter of shape {arr.shape} does not fit a parameter of "
            f"shape {param.shape}; give one value per ensemble member"
        )
    out = arr.reshape((-1,) + (1,) * (param.ndim - 1))
    if memo is not None:
        memo[key] = out
    return out


def is_zero(value: Hyper) -> bool:
    """True when a hyper-parameter is 0 for every member (a plain float costs no NumPy call)."""
    if isinstance(value, (int, float)):
        return value == 0
    memo = _memo(value) if isinstance(value, np.ndarray) else None
    if memo is None:
        return not np.any(value)
    if "zero" not in memo:
        memo["zero"] = not np.any(value)
    return memo["zero"]


def check_hyper(
    name: str, value: Hyper, *, strict: bool = True, upper: float | None = None
) -> Hyper:
    """Validate a scalar or per-member hyper-parameter (all > 0, or >= 0, and < upper)."""
    values = np.atleast_1d(np.asarray(value, dtype=float))
    for v in values:
        check_positive(name, float(v), strict=strict)
        if upper is not None and v >= upper:
            raise ValueError(f"{name}={float(v)!r} is not allowed; it must be < {upper}")
    return frozen(value)


class Optimizer:
    """Base class. ``step()`` updates every parameter of ``net`` from its gradient."""

    def __init__(self, net: Module, lr: Hyper) -> None:
        if not isinstance(net, Module):
            raise ValueError(
                f"optimizer needs a neuralab.nn.Module to walk; got {type(net).__name__}"
            )
        self.net = net
        self.lr = check_hyper("lr", lr)
        self.state: dict[str, dict[str, np.ndarray]] = {}
        self.steps = 0

    def parameters(self) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
        return self.net.named_parameters()

    def step(self) -> None:
        self.steps += 1
        for name, param, grad in self.parameters():
            self.update(param, grad, self.state.setdefault(name, {}))

    def update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray]) -> None:
        raise NotImplementedError

    def zero_grad(self) -> None:
        self.net.zero_grad()

    # -- checkpointing ------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Arrays keyed ``"<param>/<slot>"`` plus ``"lr"`` and ``"steps"`` (for checkpoints)."""
        out: dict[str, Any] = {f"{p}/{k}": v.copy() for p, s in self.state.items()
                               for k, v in s.items()}
        out["lr"] = np.asarray(self.lr, dtype=float)
        out["steps"] = np.asarray(self.steps)
        return out

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.state = {}
        for key, value in state.items():
            if key in ("lr", "steps"):
                continue
            pname, slot = key.rsplit("/", 1)
            self.state.setdefault(pname, {})[slot] = np.array(value)
        lr = np.asarray(state["lr"], dtype=float)
        self.lr = float(lr) if lr.ndim == 0 else frozen(lr)
        self.steps = int(state["steps"])

    def __repr__(self) -> str:
        return f"{type(self).__name__}(lr={self.lr})"
