"""Writing configs as TOML: one ``[section]`` per table, short arrays and tables inline.

>>> print(dump_toml({"optim": {"lr": 0.1, "betas": [0.9, 0.999]}}))
[optim]
lr = 0.1
betas = [0.9, 0.999]
<BLANKLINE>
"""

from __future__ import annotations

import re
from typing import Any


def _toml_value(value: Any) -> str:
    import tomli_w

    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) \
            + "}"
    return tomli_w.dumps({"v": value})[4:].rstrip("\n")


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml_value(key)


def dump_toml(data: dict[str, Any], header: str = "") -> str:
    """TOML with one ``[section]`` per table, short arrays inline (tomli_w formats values)."""
    lines: list[str] = [header] if header else []

    def table(name: str, body: dict[str, Any]) -> None:
        scalars = {k: v for k, v in body.items() if not isinstance(v, dict)}
        tables = {k: v for k, v in body.items() if isinstance(v, dict) and v}
        if scalars or not tables:
            lines.append(f"[{name}]")
            lines.extend(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in scalars.items())
            lines.append("")
        for key, sub in tables.items():
            table(f"{name}.{_toml_key(key)}", sub)

    for name, body in data.items():
        table(_toml_key(name), body)
    return "\n".join(lines)


def drop_none(obj: Any) -> Any:
    """``obj`` without None values in its dicts (TOML has no null)."""
    if isinstance(obj, dict):
        return {k: drop_none(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        return [drop_none(v) for v in obj]
    return obj


__all__ = ["drop_none", "dump_toml"]
