"""Config errors: :class:`ConfigError` and pydantic errors turned into one line with a hint.

>>> from pydantic import ValidationError
>>> from neuralab.experiments.schema import ExperimentConfig
>>> try:
...     ExperimentConfig.model_validate({"train": {"bach_size": 3}})
... except ValidationError as exc:
...     print(format_validation_error(exc))  # doctest: +ELLIPSIS
unknown key train.bach_size in [train] (did you mean 'batch_size'?); valid keys: epochs, ...
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ValidationError

from neuralab._checks import suggest


class ConfigError(ValueError):
    """A config problem, worded as one line that names the key (``train.batch_size``)."""


def fmt_value(value: Any) -> str:
    """``repr(value)``, cut to 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _section_at(root: type[BaseModel], loc: tuple[Any, ...], data: Any) -> type[BaseModel] | None:
    """The pydantic model class that owns the last key of ``loc`` (for suggestions)."""
    from neuralab.experiments.schema import MODELS, ExperimentConfig, model_tag

    cls: Any = root
    for part in loc[:-1]:
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
            return None
        if cls is ExperimentConfig and part == "model":
            kind = model_tag(data.get("model", {}) if isinstance(data, dict) else {})
            cls = MODELS.get(kind or "", None)
            continue
        field = cls.model_fields.get(str(part))
        if field is None:
            return None
        cls = field.annotation
    return cls if isinstance(cls, type) and issubclass(cls, BaseModel) else None


def _clean_loc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    from neuralab.experiments.schema import MODELS

    out = []
    for i, part in enumerate(loc):
        if i == 1 and loc[0] == "model" and part in MODELS:
            continue  # the discriminator tag pydantic inserts
        if isinstance(part, str) and part.startswith(("function-", "literal[", "constrained-")):
            continue
        if part in ("int", "float", "str", "bool", "list[...]", "json-or-python[json=int,"
                    "python=int]", "lax-or-strict[lax=union[json-or-python[json=float,"
                    "python=float],int],strict=json-or-python[json=float,python=float]]"):
            continue
        out.append(part)
    return tuple(out)


def format_validation_error(exc: ValidationError, *, prefix: tuple[Any, ...] = (),
                            root: type[BaseModel] | None = None, data: Any = None) -> str:
    """One line for the first problem: the key path, the value seen and what is allowed.

    ``root`` is the model that was validated (default: the whole ``ExperimentConfig``)."""
    from neuralab.experiments.schema import MODELS, ExperimentConfig

    if root is None:
        root = ExperimentConfig
    errors = exc.errors(include_url=False)
    err = errors[0]
    loc = _clean_loc(tuple(err["loc"]))
    path = ".".join(str(p) for p in (*prefix, *loc)) or "(config)"
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    kind = err["type"]
    if kind == "extra_forbidden":
        owner = _section_at(root, loc, data)
        allowed = list(owner.model_fields) if owner is not None else []
        head = ".".join(str(p) for p in (*prefix, *loc[:-1]))
        where = f"in [{head}]" if head else "at the top level"
        hint = suggest(str(loc[-1]), allowed)
        valid = f"; valid keys: {', '.join(allowed)}" if allowed else ""
        return f"unknown key {path} {where}{hint}{valid}{more}"
    if kind == "model_kind":
        model = data.get("model") if isinstance(data, dict) else None
        value = model.get("kind") if isinstance(model, dict) else None
        return (f"model.kind={fmt_value(value)} is not a model kind; choose one of "
                f"{', '.join(MODELS)}{suggest(str(value), list(MODELS))}{more}")
    original = (err.get("ctx") or {}).get("error")
    if isinstance(original, ConfigError):
        return f"{original}{more}"
    msg = err["msg"]
    for lead in ("Value error, ", "Assertion failed, "):
        if msg.startswith(lead):
            msg = msg[len(lead):]
    if kind == "missing":
        return f"{path} is required{more}"
    if kind == "literal_error":
        owner_value = err.get("input")
        allowed = re.findall(r"'([^']*)'", msg)
        return (f"{path}={fmt_value(owner_value)} is not allowed; {msg[0].lower() + msg[1:]}"
                f"{suggest(str(owner_value), allowed)}{more}")
    if "input" in err and kind not in ("assertion_error",):
        return f"{path}={fmt_value(err['input'])} is not allowed: {msg}{more}"
    return f"{path}: {msg}{more}"


__all__ = ["ConfigError", "fmt_value", "format_validation_error"]
