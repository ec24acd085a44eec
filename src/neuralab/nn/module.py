"""The layer contract: ``forward`` caches what ``backward`` needs; parameters live in dicts.

Every layer keeps ``params`` and ``grads`` dicts keyed ``"weight"``/``"bias"`` (same shapes),
and ``buffers`` for non-trained state (batch-norm running statistics). ``backward`` *writes*
the gradients of the last ``forward`` into ``grads`` (it does not accumulate) and returns the
gradient with respect to the layer's input. Optimizers read ``grads`` and update ``params``
in place; layers never update themselves (PyTorch's split of Module and Optimizer).

Shapes follow the last axes: a single model sees ``(B, features)``; an *ensemble* of E models
stacks its parameters on a leading axis and sees ``(E, B, features)`` through the same code.

dtypes (docs/engine.md, "dtypes"): a layer with parameters computes in its parameters' dtype
and casts its input to it (only when needed); a layer without parameters keeps a float input's
dtype and turns integers into float64 (:func:`as_float`).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from neuralab._checks import suggest

_REAL_KINDS = "biuf"  # bool, signed and unsigned integers, floats: what becomes a float array


def _not_numbers(who: str, arr_or_exc: Any) -> ValueError:
    what = (f"dtype {arr_or_exc.dtype}" if isinstance(arr_or_exc, np.ndarray)
            else f"a value that is not an array of numbers ({arr_or_exc})")
    return ValueError(f"{who} got {what}; real numbers (bool, int or float) are needed")


def _as_real_array(x: Any, who: str) -> np.ndarray:
    """``np.asarray(x)``, refusing anything that is not real numbers (complex, text, objects)."""
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError) as exc:  # ragged lists, unconvertible objects
        raise _not_numbers(who, exc) from None
    if arr.dtype.kind not in _REAL_KINDS:
        raise _not_numbers(who, arr)
    return arr


def as_dtype(x: Any, dtype: np.dtype, owner: Module | str) -> np.ndarray:
    """``x`` as an array of ``dtype``, copied only when its dtype differs.

    How a layer with parameters takes its input (float64 data into a float32 layer, or ints).
    Callers test ``x.dtype is dtype`` first, so the common case costs no call.
    """
    who = owner if isinstance(owner, str) else f"{describe(owner)}.forward"
    return _as_real_array(x, who).astype(dtype, copy=False)


def as_float(x: Any, owner: Module | str) -> np.ndarray:
    """``x`` unchanged if it is a float array; integers and bools become float64.

    How a layer without parameters (activations, dropout, softmax) and a loss take input.
    """
    if type(x) is np.ndarray and x.dtype.kind == "f":
        return x
    who = owner if isinstance(owner, str) else f"{describe(owner)}.forward"
    arr = _as_real_array(x, who)
    return arr if arr.dtype.kind == "f" else arr.astype(np.float64)


def check_float_dtype(dtype: Any, name: str = "dtype") -> np.dtype:
    """``np.dtype(dtype)`` if it is a float dtype (float32, float64), else a ValueError."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.kind != "f":
        raise ValueError(f"{name}={dtype!r} is not allowed; use a float dtype such as "
                         "np.float32 or np.float64")
    return dt


def describe(module: Module) -> str:
    """``"Linear(2, 4, init='he')"``: how error messages name a layer."""
    try:
        return f"{type(module).__name__}({module.extra_repr()})"
    except AttributeError:  # a half-built layer (its __init__ has not finished)
        return type(module).__name__


class ParamDict(dict):
    """A layer's ``params`` (or ``buffers``): a dict that keeps what is stored in it usable.

    Replacing an entry, ``layer.params["weight"] = W`` (the course skeletons' way of setting
    weights), must keep the gradient buffer ``grads["weight"]`` valid, so the new value needs
    the old one's shape; it is stored as a C-contiguous array of the layer's dtype (converted
    from any real dtype, copied only when needed, so a float32 ``W`` for a float32 layer *is*
    the layer's weight afterwards, as in the skeletons). A value of another shape, of complex,
    text or object dtype, or with NaN/inf is refused with a ValueError naming the layer, the
    key, what was given and what is needed.

    A *sealed* dict (the built-in layers seal theirs after construction) also refuses new or
    removed keys, so a typo such as ``params["W"]`` is an error instead of a parameter nobody
    reads. An unsealed dict (a student's own Module subclass) takes new keys as float arrays.
    ``Module.astype`` is the way to change a network's dtype.
    """

    __slots__ = ("_kind", "_owner", "sealed")

    def __init__(self, owner: Module, kind: str, values: Mapping[str, Any] | None = None,
                 sealed: bool = False) -> None:
        super().__init__()
        # a weak reference (used for messages only): no cycle keeps a dropped network alive
        self._owner, self._kind, self.sealed = weakref.ref(owner), kind, False
        for key, value in (values or {}).items():
            self[key] = value
        self.sealed = sealed

    def _name(self) -> str:
        owner = self._owner()
        return "a deleted layer" if owner is None else describe(owner)

    def _where(self, key: str) -> str:
        return f"{self._name()}.{self._kind}[{key!r}]"

    def __setitem__(self, key: str, value: Any) -> None:
        old = self.get(key)
        if old is None:
            if self.sealed:
                names = list(self)
                raise ValueError(
                    f"{self._name()} has no {self._kind} entry {key!r}; its "
                    f"{self._kind} are {names}{suggest(key, names)}"
                )
            arr = _as_real_array(value, f"{self._where(key)} = ...")
            dtype = arr.dtype if arr.dtype.kind == "f" else np.dtype(np.float64)
            dict.__setitem__(self, key, np.asarray(arr, dtype=dtype, order="C"))
            return
        dict.__setitem__(self, key, self._checked(key, value, old))

    def _checked(self, key: str, value: Any, old: np.ndarray) -> np.ndarray:
        """``value`` as a replacement for ``old``: same shape, stored in ``old``'s dtype."""
        need = f"it needs shape {old.shape} (any real dtype; stored as {old.dtype})"
        where = self._where(key)
        try:
            arr = np.asarray(value)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{where} cannot take {type(value).__name__} ({exc}); "
                             f"{need}") from None
        given = f"an array of shape {arr.shape} and dtype {arr.dtype}"
        if arr.dtype.kind not in _REAL_KINDS or arr.shape != old.shape:
            raise ValueError(f"{where} cannot take {given}; {need}")
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
            raise ValueError(f"{where} cannot take {given} with {bad} NaN or infinite "
                             f"value(s); {need} and finite values")
        out = np.asarray(arr, dtype=old.dtype, order="C")
        # optimizers update parameters in place, so a read-only array (np.broadcast_to,
        # a memory map opened read-only) is copied
        return out if out.flags.writeable else out.copy()

    # every way of writing goes through __setitem__ (dict's own methods would bypass it)
    def update(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def __ior__(self, other: Any) -> ParamDict:  # type: ignore[override]
        self.update(other)
        return self

    def setdefault(self, key: str, default: Any = None) -> np.ndarray:  # type: ignore[override]
        if key not in self:
            self[key] = default
        return self[key]

    def _refuse_removal(self, what: str) -> None:
        if self.sealed:
            raise ValueError(f"{self._name()}.{self._kind}: {what} is not allowed; "
                             f"the layer needs {list(self)}")

    def __delitem__(self, key: str) -> None:
        self._refuse_removal(f"removing {key!r}")
        dict.__delitem__(self, key)

    def pop(self, key: str, *default: Any) -> Any:  # type: ignore[override]
        if key in self:
            self._refuse_removal(f"removing {key!r}")
        return dict.pop(self, key, *default)

    def popitem(self) -> tuple[str, np.ndarray]:
        self._refuse_removal("popitem()")
        return dict.popitem(self)

    def clear(self) -> None:
        self._refuse_removal("clear()")
        dict.clear(self)

    def _retype(self, dtype: np.dtype) -> None:
        """Convert every entry to ``dtype`` (``Module.astype``; the one way to change it)."""
        for key, value in self.items():
            dict.__setitem__(self, key, np.asarray(value, dtype=dtype, order="C"))

    def replaced_by(self, values: Mapping[str, Any]) -> ParamDict:
        """A new dict for ``layer.params = values``: a sealed one must keep its keys."""
        if not isinstance(values, Mapping):
            raise ValueError(f"{self._name()}.{self._kind} must be a dict of arrays; "
                             f"got {type(values).__name__}")
        if not self.sealed:
            return ParamDict(self._owner(), self._kind, values)
        if set(values) != set(self):
            raise ValueError(
                f"{self._name()}.{self._kind} = a dict with keys {sorted(values)} is "
                f"not allowed; the layer needs exactly {sorted(self)}"
            )
        new = ParamDict(self._owner(), self._kind, sealed=False)
        for key, value in values.items():
            dict.__setitem__(new, key, self._checked(key, value, self[key]))
        new.sealed = True
        return new

    def __reduce__(self) -> tuple:
        # pickle and copy.deepcopy fill a dict subclass through __setitem__ *before* its
        # slots are restored; rebuild it in one go instead
        return (_rebuild_param_dict, (self._owner(), self._kind, self.sealed, dict(self)))


def _rebuild_param_dict(owner: Module, kind: str, sealed: bool,
                        values: dict[str, np.ndarray]) -> ParamDict:
    d = ParamDict(owner, kind)
    dict.update(d, values)
    d.sealed = sealed
    return d


class Module:
    """Base class of every layer and container."""

    #: True for layers whose training-mode forward differs from eval mode (dropout, batch
    #: norm); a network without any computes the same outputs in both
    mode_dependent = False

    def __init__(self) -> None:
        self._params = ParamDict(self, "params")
        self.grads: dict[str, np.ndarray] = {}
        self._buffers = ParamDict(self, "buffers")
        self.training = True

    # -- parameters and buffers: dicts that check replacements (see ParamDict) ------------
    @property
    def params(self) -> ParamDict:
        """Trainable arrays by name (``"weight"``, ``"bias"``); replacing one keeps its shape
        and the layer's dtype (:class:`ParamDict`)."""
        return self._params

    @params.setter
    def params(self, values: Mapping[str, Any]) -> None:
        current = self.__dict__.get("_params")  # absent before Module.__init__ ran
        self._params = (ParamDict(self, "params", values) if current is None
                        else current.replaced_by(values))

    @property
    def buffers(self) -> ParamDict:
        """Non-trained state by name (batch norm's ``"running_mean"``, ``"running_var"``)."""
        return self._buffers

    @buffers.setter
    def buffers(self, values: Mapping[str, Any]) -> None:
        current = self.__dict__.get("_buffers")  # absent before Module.__init__ ran
        self._buffers = (ParamDict(self, "buffers", values) if current is None
                         else current.replaced_by(values))

    # -- the contract -------------------------------------------------------------------
    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        raise NotImplementedError

    def backward_params(self, grad_out: np.ndarray) -> None:
        """Write the parameter gradients of the last ``forward``; the input gradient is not
        wanted (``Sequential`` calls this on its first trainable layer). Layers override it
        when skipping the input gradient saves work (``Linear`` saves a GEMM)."""
        self.backward(grad_out)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    # -- tree walking -------------------------------------------------------------------
    def children(self) -> list[Module]:
        """Direct sub-modules (containers override)."""
        return []

    def modules(self) -> Iterator[Module]:
        """This module and all its descendants, depth first."""
        yield self
        for child in self.children():
            yield from child.modules()

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
        """``(name, param, grad)`` for every trainable array, e.g. ``("0.weight", W, dW)``."""
        for key, value in self._params.items():
            yield f"{prefix}{key}", value, self.grads[key]
        for i, child in enumerate(self.children()):
            yield from child.named_parameters(f"{prefix}{i}.")

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray]]:
        for key, value in self._buffers.items():
            yield f"{prefix}{key}", value
        for i, child in enumerate(self.children()):
            yield from child.named_buffers(f"{prefix}{i}.")

    # -- modes and bookkeeping ----------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Training mode: dropout drops, batch norm uses batch statistics."""
        for m in self.modules():
            m.training = mode
        return self

    def eval(self) -> Module:
        """Evaluation mode: dropout is the identity, batch norm uses running statistics."""
        return self.train(False)

    def zero_grad(self) -> None:
        for _, _, grad in self.named_parameters():
            grad.fill(0)

    @property
    def dtype(self) -> np.dtype | None:
        """The dtype of the first parameter or buffer (None for a module without any)."""
        for m in self.modules():
            for d in (m.params, m.buffers):
                for value in d.values():
                    return value.dtype
        return None

    def astype(self, dtype: Any) -> Module:
        """Convert every parameter, gradient and buffer to the float ``dtype``, in place.

        ``net.astype(np.float64)`` turns a float32 network into a float64 one (for gradient
        checks or parity tests). Build the optimizer afterwards: its state keeps the dtype it
        was created with. Returns ``self``.
        """
        dt = check_float_dtype(dtype)
        for m in self.modules():
            m.params._retype(dt)
            m.buffers._retype(dt)
            m.grads = {k: np.asarray(g, dtype=dt, order="C") for k, g in m.grads.items()}
        return self

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of all parameters and buffers, keyed by dotted name."""
        state = {name: p.copy() for name, p, _ in self.named_parameters()}
        state.update({name: b.copy() for name, b in self.named_buffers()})
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy arrays into this module's parameters and buffers in place (shapes must match)."""
        targets = {name: p for name, p, _ in self.named_parameters()}
        targets.update(dict(self.named_buffers()))
        missing = sorted(set(targets) - set(state))
        unexpected = sorted(set(state) - set(targets))
        if missing or unexpected:
            raise ValueError(
                f"state does not fit this network: missing {missing}, unexpected {unexpected}"
            )
        for name, target in targets.items():
            value = np.asarray(state[name])
            if value.shape != target.shape:
                raise ValueError(
                    f"state[{name!r}] has shape {value.shape}; this network needs {target.shape}"
                )
            target[...] = value

    def n_parameters(self) -> int:
        return int(sum(p.size for _, p, _ in self.named_parameters()))

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        kids = self.children()
        if not kids:
            return f"{type(self).__name__}({self.extra_repr()})"
        body = "\n".join(f"  ({i}): " + repr(k).replace("\n", "\n  ") for i, k in enumerate(kids))
        return f"{type(self).__name__}(\n{body}\n)"


def member_shape(n_models: int | None, *shape: int) -> tuple[int, ...]:
    """``shape`` for one model, or ``(E, *shape)`` for an ensemble of ``E`` models."""
    return shape if n_models is None else (n_models, *shape)
