"""Reading a config: the TOML file, the no-file flags, ``--set`` overrides, then validation.

>>> cfg = parse_config({"model": {"kind": "mlp", "hidden": [20, 20]}, "optim": {"lr": 0.1}})
>>> cfg.model.hidden, cfg.optim.lr, cfg.train.batch_size
([20, 20], 0.1, 'full')
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from neuralab._checks import suggest
from neuralab.experiments.errors import ConfigError, fmt_value, format_validation_error
from neuralab.experiments.schema import ALIASES, NAME_RE, SECTIONS, ExperimentConfig

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


def parse_config(data: dict[str, Any]) -> ExperimentConfig:
    """Validate a config dict; raises :class:`ConfigError` with one line on a problem."""
    if not isinstance(data, dict):
        raise ConfigError("the config must be a table of sections (data, model, optim, train, "
                          "output)")
    for section in SECTIONS:
        if section in data and not isinstance(data[section], dict):
            raise ConfigError(f"{section} = {fmt_value(data[section])}: {section} must be a "
                              f"table ([{section}] followed by key = value lines)")
    try:
        return ExperimentConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, data=data)) from None
    except ConfigError:
        raise
    except ValueError as exc:  # a check raised outside pydantic's wrapping
        raise ConfigError(" ".join(str(exc).split())) from None


def read_toml(path: str | Path) -> dict[str, Any]:
    """The TOML file at ``path`` as a dict; errors name the file (and line)."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"config file {path} does not exist")
    if not path.is_file():
        raise ConfigError(f"config file {path} is not a file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None


def parse_value(raw: str) -> Any:
    """A ``--set`` value: a TOML literal (``0.1``, ``true``, ``[20, 20]``, ``"x"``), else text."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def apply_set(data: dict[str, Any], assignment: str) -> None:
    """Apply ``--set a.b.c=value`` to the nested dict ``data`` in place."""
    key, sep, raw = assignment.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--set {assignment!r} is not KEY=VALUE (e.g. --set optim.lr=0.1)")
    parts = key.split(".")
    if any(not p.strip() for p in parts):
        raise ConfigError(f"--set {assignment!r}: {key!r} is not a dotted key such as "
                          "train.batch_size")
    if parts[0] not in SECTIONS:
        raise ConfigError(f"--set {key}: unknown section {parts[0]!r}{suggest(parts[0], SECTIONS)}"
                          f"; sections are {', '.join(SECTIONS)}")
    node = data
    for i, part in enumerate(parts[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"--set {key}: {'.'.join(parts[:i + 1])} is a value, not a table")
        node = child
    node[parts[-1]] = parse_value(raw.strip())


def load_config(path: str | Path | None = None, sets: list[str] | tuple[str, ...] = (),
                overrides: dict[str, Any] | None = None) -> ExperimentConfig:
    """Read ``path`` (or start empty), apply flag ``overrides`` then ``--set`` assignments,
    validate. ``overrides`` maps dotted keys to values (what the no-file flags give)."""
    data = read_toml(path) if path is not None else {}
    for key, value in (overrides or {}).items():
        if key == "model.kind":
            model = data.get("model")
            old = model.get("kind", "mlp") if isinstance(model, dict) else None
            if not isinstance(model, dict) or ALIASES.get(old, old) != ALIASES.get(value, value):
                data["model"] = {}
        section, *rest = key.split(".")
        node = data.setdefault(section, {})
        if not isinstance(node, dict):
            raise ConfigError(f"[{section}] in the config is a value, not a table")
        for part in rest[:-1]:
            node = node.setdefault(part, {})
        node[rest[-1]] = value
    for assignment in sets:
        apply_set(data, assignment)
    if path is not None and "output" in data and isinstance(data["output"], dict):
        data["output"].setdefault("name", Path(path).stem if NAME_RE.match(Path(path).stem)
                                  else None)
        if data["output"]["name"] is None:
            del data["output"]["name"]
    elif path is not None and NAME_RE.match(Path(path).stem):
        data.setdefault("output", {})["name"] = Path(path).stem
    cfg = parse_config(data)
    return cfg


__all__ = ["apply_set", "load_config", "parse_config", "parse_value", "read_toml"]
