"""The scikit-learn parameter protocol without scikit-learn: ``get_params``, ``set_params``,
``__repr__`` and (when scikit-learn is installed) ``__sklearn_tags__``.

The constructor of every estimator only stores its arguments; this base reads their names
from the signature, as scikit-learn's ``BaseEstimator`` does.
"""

from __future__ import annotations

import functools
import inspect
import sys
from typing import Any, ClassVar

import numpy as np

from neuralab._checks import suggest
from neuralab.exceptions import NeuralabError
from neuralab.rng import seed_sequence_from_json


class NotFittedError(NeuralabError, ValueError, AttributeError):
    """The estimator is used before ``fit`` (a ValueError and an AttributeError, like
    scikit-learn's, so ``hasattr(est, "coef_")`` is False before fitting)."""


_SK_NOT_FITTED: dict[type, type] = {}


def not_fitted(message: str) -> NotFittedError:
    """A NotFittedError; also scikit-learn's NotFittedError when scikit-learn is loaded
    (its checks look for that class; neuralab never imports scikit-learn just for this)."""
    sk = sys.modules.get("sklearn.exceptions")
    if sk is None:
        return NotFittedError(message)
    base = sk.NotFittedError
    if base not in _SK_NOT_FITTED:
        _SK_NOT_FITTED[base] = type("NotFittedError", (NotFittedError, base), {})
    return _SK_NOT_FITTED[base](message)


def store_params(est: Any, params: dict[str, Any]) -> None:
    """Set every constructor argument as an attribute (scikit-learn's rule: ``__init__`` only
    stores). Call as ``store_params(self, locals())``."""
    for name, value in params.items():
        if name not in ("self", "__class__"):
            setattr(est, name, value)


class Params:
    """get/set parameters by constructor name; short repr of the non-default ones."""

    _estimator_type: ClassVar[str | None] = None  # "classifier" or "regressor"
    _multi_output: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # every estimator's constructor also takes a parameter's former name (RENAMED: the
        # first snippets of the project wrote ``MLPClassifier(..., seed=0)``) and stores it
        # under the current one; inspect.signature still shows the real signature
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is None or hasattr(init, "__wrapped__"):
            return

        @functools.wraps(init)
        def __init__(self: Any, *args: Any, **params: Any) -> None:
            try:
                init(self, *args, **renamed_params(type(self), params))
            except TypeError:  # Python's "unexpected keyword": name what is allowed
                unknown = unknown_param(type(self), params)
                if unknown is None:
                    raise
                raise TypeError(unknown) from None

        cls.__init__ = __init__  # type: ignore[method-assign]

    @classmethod
    def _get_param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return sorted(p.name for p in sig.parameters.values() if p.name != "self"
                      and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self._get_param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update((f"{name}__{k}", v) for k, v in value.get_params().items())
            out[name] = value
        return out

    def set_params(self, **params: Any) -> Params:
        names = self._get_param_names()
        nested: dict[str, dict[str, Any]] = {}
        for key, value in params.items():
            name, _, sub = key.partition("__")
            if name not in names and not sub and RENAMED.get(name) in names:
                name = RENAMED[name]
                if name in params:
                    raise ValueError(renamed_twice(key, params[key], name, params[name]))
            if name not in names:
                raise ValueError(f"{type(self).__name__} has no parameter {name!r}"
                                 f"{suggest(name, names)}; its parameters are {', '.join(names)}")
            if sub:
                nested.setdefault(name, {})[sub] = value
            else:
                setattr(self, name, value)
        for name, sub_params in nested.items():
            getattr(self, name).set_params(**sub_params)
        return self

    def __repr__(self) -> str:
        defaults = {p.name: p.default for p in
                    inspect.signature(type(self).__init__).parameters.values()}
        shown = []
        for name in self._get_param_names():
            value = getattr(self, name, None)
            default = defaults.get(name, inspect.Parameter.empty)
            try:
                same = default is not inspect.Parameter.empty and bool(
                    np.all(value == default)) and type(value) is type(default)
            except (ValueError, TypeError):
                same = False
            if not same:
                shown.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import ClassifierTags, InputTags, RegressorTags, Tags, TargetTags

        kind = self._estimator_type
        return Tags(
            estimator_type=kind,
            target_tags=TargetTags(required=True, multi_output=self._multi_output,
                                   single_output=True),
            transformer_tags=None,
            classifier_tags=ClassifierTags() if kind == "classifier" else None,
            regressor_tags=RegressorTags() if kind == "regressor" else None,
            input_tags=InputTags(),
        )


def clone(est: Any) -> Any:
    """A new unfitted estimator with the same parameters (nested estimators cloned too)."""
    params = {k: clone(v) if isinstance(v, Params) else v
              for k, v in est.get_params(deep=False).items()}
    return type(est)(**params)


# -- parameters as JSON (model files and checkpoints) -------------------------------------
def params_to_json(params: dict[str, Any]) -> dict[str, Any]:
    return {k: _encode(v) for k, v in params.items() if k != "callbacks"}


def _encode(v: Any) -> Any:
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, (np.bool_,)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v)
    if isinstance(v, np.random.SeedSequence):
        return {"__seed_sequence__": {"entropy": v.entropy, "spawn_key": list(v.spawn_key),
                                      "pool_size": v.pool_size}}
    if isinstance(v, np.random.Generator):
        return None  # a live generator cannot be stored; the file records no seed
    if isinstance(v, type) or isinstance(v, np.dtype):
        return np.dtype(v).name
    if isinstance(v, Params):
        return {"__estimator__": type(v).__name__,
                "params": params_to_json(v.get_params(deep=False))}
    if isinstance(v, dict):
        return {str(k): _encode(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, np.ndarray)):
        return {"__tuple__": [_encode(x) for x in v]} if isinstance(v, tuple) else \
            [_encode(x) for x in np.asarray(v).tolist()] if isinstance(v, np.ndarray) else \
            [_encode(x) for x in v]
    raise ValueError(f"parameter value {v!r} ({type(v).__name__}) cannot be stored in a "
                     "model file")


# Parameters renamed since files were first written: old name -> new name.
RENAMED = {"seed": "random_state"}  # scikit-learn's name, so its tools can seed estimators


def renamed_twice(old: str, old_value: Any, new: str, new_value: Any) -> str:
    return (f"{old}={old_value!r} and {new}={new_value!r} name the same setting ({old} is "
            f"the former name of {new}); give {new} only")


def renamed_params(cls: type, params: dict[str, Any]) -> dict[str, Any]:
    """Constructor arguments with former names (``seed``) under their current ones
    (``random_state``); a ValueError when both are given."""
    if not any(old in params for old in RENAMED):
        return params
    out = dict(params)
    names = inspect.signature(cls.__init__).parameters
    for old, new in RENAMED.items():
        if old in out and old not in names and new in names:
            if new in out:
                raise ValueError(renamed_twice(old, out[old], new, out[new]))
            out[new] = out.pop(old)
    return out


def unknown_param(cls: type, params: dict[str, Any]) -> str | None:
    """The message for the first of ``params`` that ``cls``'s constructor does not take
    (None if it takes them all): the closest name and every parameter it has."""
    names = [n for n in inspect.signature(cls.__init__).parameters if n != "self"]
    bad = next((k for k in params if k not in names and k not in RENAMED), None)
    if bad is None:
        return None
    inner = (f" (give it to the estimator it wraps: {cls.__name__}(MLPClassifier({bad}=...)))"
             if "estimator" in names else "")
    return (f"{cls.__name__} has no parameter {bad!r}{suggest(bad, names)}{inner}; its "
            f"parameters are {', '.join(names)}")


def upgrade_params(params: dict[str, Any]) -> dict[str, Any]:
    """Stored parameters under their current names (files written before a rename)."""
    out = dict(params)
    for old, new in RENAMED.items():
        if old in out and new not in out:
            out[new] = out.pop(old)
    return out


def params_from_json(params: dict[str, Any], registry: dict[str, type]) -> dict[str, Any]:
    """Constructor arguments from their JSON form (old parameter names mapped to new).

    The JSON comes from a file, so its shape is checked: a ValueError names what is wrong
    (a stored SeedSequence must be one NumPy writes: see ``rng.seed_sequence_from_json``)."""
    if not isinstance(params, dict):
        raise ValueError(f"stored parameters must be a JSON object; found "
                         f"{type(params).__name__}")
    return {k: _decode(v, registry) for k, v in upgrade_params(params).items()}


def _decode(v: Any, registry: dict[str, type]) -> Any:
    if isinstance(v, list):
        return [_decode(x, registry) for x in v]
    if isinstance(v, dict):
        if "__tuple__" in v:
            if set(v) != {"__tuple__"} or not isinstance(v["__tuple__"], list):
                raise ValueError(f"a stored tuple must be {{'__tuple__': [...]}}; found {v!r:.60}")
            return tuple(_decode(x, registry) for x in v["__tuple__"])
        if "__seed_sequence__" in v:
            return seed_sequence_from_json(v["__seed_sequence__"])
        if "__estimator__" in v:
            cls = registry.get(str(v["__estimator__"]))
            if cls is None or set(v) != {"__estimator__", "params"}:
                raise ValueError(f"unknown estimator {v['__estimator__']!r:.60}")
            return cls(**params_from_json(v["params"], registry))
        return {k: _decode(x, registry) for k, x in v.items()}
    return v
