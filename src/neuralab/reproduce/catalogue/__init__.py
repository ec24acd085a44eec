"""The catalogue: one TOML file per finding of a seed report, validated by :class:`Entry`.

The format is written down, with an example, in ``catalogue/README.md`` (shipped with the
package). ``load()`` reads every entry; ``entry_study(entry)`` turns an entry's ``[config]``
into a :class:`~neuralab.studies.runner.Study` (with ``--quick`` overrides and a data
folder applied).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import tomllib
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from neuralab._checks import suggest

#: the seed reports, by number (the ``report`` field)
REPORTS = {
    "000": "SUSTech CS324 Deep Learning, Assignment 1 (student 12312710)",
    "001": "SUSTech CS324 Deep Learning, Assignment 1 (a second student)",
    "002": "IST Deep Learning Homework 1 (Mantinhas & Silveira, 2023)",
    "003": "JHU 520.638 Deep Learning Homework 2 (Hinke, 2022)",
    "004": "Tsinghua 2025 Fall AI Assignment 1 (Chen)",
}

#: data sets that need files, with where an entry's config finds them under ``--data-dir``
#: and the command that downloads them there
DATA_SETS: dict[str, dict[str, str]] = {
    "mnist": {"key": "data.root", "at": "mnist",
              "get": "neuralab data get mnist --root {dir}/mnist"},
    "octmnist": {"key": "data.path", "at": "octmnist.npz",
                 "get": "neuralab data get octmnist --root {dir}"},
}

ID_RE = re.compile(r"^[a-z0-9]+-00[0-4](-[a-z0-9.]+)+$")
KEY_RE = re.compile(r"^[a-z_]+(\.[A-Za-z_][A-Za-z0-9_]*)+$")  # a dotted config key

Selector = dict[str, Any]  # grid key (or "variant") -> the cell's value; {} is every run
VARIANT = "variant"  # the runs column naming an entry's variant
SECTIONS = ("data", "model", "optim", "train")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False)


class ValueClaim(_Strict):
    """The report gives a number; neuralab's interval over seeds should contain it."""

    kind: Literal["value"]
    text: str = Field(min_length=1)  # the report's figure in words ("ReLU: 73.0 %")
    metric: str = Field(min_length=1)  # "success_rate", a runs.csv column or an expression
    cell: Selector = Field(default_factory=dict)
    report_value: float  # in the metric's units (accuracies as fractions)
    statistic: Literal["mean", "median"] = "mean"
    single_run: bool = False  # the report shows one run: compare with the seed range


class DirectionClaim(_Strict):
    """One setting beats another (or a metric lies above / below ``than``)."""

    kind: Literal["direction"]
    text: str = Field(min_length=1)
    metric: str = Field(min_length=1)
    better: Selector = Field(default_factory=dict)
    worse: Selector | None = None  # None: compare ``better``'s metric with ``than``
    than: float = 0.0
    sense: Literal["higher", "lower"] = "higher"  # the better cell's metric is higher/lower
    statistic: Literal["mean", "median"] = "mean"


class SameClaim(_Strict):
    """Two settings perform about the same: the difference lies within ±``tolerance``."""

    kind: Literal["same"]
    text: str = Field(min_length=1)
    metric: str = Field(min_length=1)
    a: Selector = Field(default_factory=dict)
    b: Selector = Field(default_factory=dict)
    tolerance: float = Field(gt=0)
    statistic: Literal["mean", "median"] = "mean"


class ExactClaim(_Strict):
    """Arithmetic neuralab computes exactly (``neuralab.reproduce.exact.CHECKS[check]``)."""

    kind: Literal["exact"]
    text: str = Field(min_length=1)
    check: str = Field(min_length=1)
    args: dict[str, Any] = Field(default_factory=dict)
    expected: Any
    tolerance: float = Field(default=0.0, ge=0)


Claim = Annotated[ValueClaim | DirectionClaim | SameClaim | ExactClaim,
                  Field(discriminator="kind")]


class Tried(_Strict):
    settings: dict[str, Any]
    result: str = Field(min_length=1)


class Explanation(_Strict):
    """What was measured about a disagreement (filled by whoever measured it)."""

    text: str = ""
    reproduces: dict[str, Any] = Field(default_factory=dict)  # settings that reproduce it
    tried: list[Tried] = Field(default_factory=list)


class Entry(_Strict):
    """One finding of one report, its claims, and the study that checks them."""

    id: str = Field(pattern=ID_RE.pattern)
    report: Literal["000", "001", "002", "003", "004"]
    course: str = Field(min_length=1)
    where: str = Field(min_length=1)  # section / table / figure
    quote: str = Field(min_length=1)  # the report's sentence or row
    needs: list[Literal["mnist", "octmnist"]] = Field(default_factory=list)
    claims: list[Claim] = Field(min_length=1)
    given: dict[str, Any] = Field(default_factory=dict)  # settings the report states
    unknown: dict[str, list[Any]] = Field(default_factory=dict)  # left out -> choices
    config: dict[str, Any] | None = None  # a study file's tables ([study] included)
    # named changes to [config], each run as a study of its own (cells that a grid cannot
    # express: another model kind, a layer list); claims select them with {variant = name}
    variants: dict[str, dict[str, Any]] = Field(default_factory=dict)
    quick: dict[str, Any] = Field(default_factory=dict)  # dotted key -> value for --quick
    explanation: Explanation = Field(default_factory=Explanation)

    @model_validator(mode="after")
    def _consistent(self) -> Entry:
        studied = [c for c in self.claims if c.kind != "exact"]
        if studied and self.config is None:
            raise ValueError(f"claims of kind {studied[0].kind!r} need a [config] (a study)")
        if self.config is not None and not isinstance(self.config.get("study"), dict):
            raise ValueError("config needs a [config.study] table (seeds, grid, target)")
        for key in self.quick:
            if not KEY_RE.match(key):
                raise ValueError(f"quick key {key!r} is not a dotted config key such as "
                                 "'train.epochs' or 'study.seeds'")
        if (self.quick or self.variants) and self.config is None:
            raise ValueError("quick overrides and variants need a [config]")
        for name, changes in self.variants.items():
            if not re.match(r"^[a-z0-9][a-z0-9_.-]*$", name):
                raise ValueError(f"variant name {name!r} must be lower-case letters, digits, "
                                 "'_', '.' or '-'")
            for key in changes:
                if not (KEY_RE.match(key) or key in SECTIONS):
                    raise ValueError(f"variants.{name} key {key!r} is not a dotted config key "
                                     f"('model.hidden') nor a section ({', '.join(SECTIONS)})")
        return self

    @property
    def offline(self) -> bool:
        return not self.needs

    @property
    def studied(self) -> bool:
        return self.config is not None


class CatalogueError(ValueError):
    """A catalogue file that does not validate (named, with the key at fault)."""


def _format(exc: ValidationError, name: str) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "unknown key (README.md in the catalogue lists the fields)"
    return f"catalogue entry {name}: {loc + ': ' if loc else ''}{msg}"


def parse_entry(data: dict[str, Any], name: str = "<entry>") -> Entry:
    """Validate one entry (a TOML document as a dict); one-line :class:`CatalogueError`."""
    try:
        return Entry.model_validate(data)
    except ValidationError as exc:
        raise CatalogueError(_format(exc, name)) from None


def read_entry(path: str | Path) -> Entry:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"catalogue entry {path.name}: {exc}") from None
    entry = parse_entry(data, path.name)
    if entry.id != path.stem:
        raise CatalogueError(f"catalogue entry {path.name}: id {entry.id!r} differs from the "
                             f"file name; name the file {entry.id}.toml")
    return entry


@lru_cache(maxsize=1)
def _load_packaged() -> tuple[Entry, ...]:
    folder = resources.files(__name__)
    entries = [read_entry(Path(str(f))) for f in folder.iterdir()
               if f.name.endswith(".toml")]
    return tuple(sorted(entries, key=lambda e: (e.report, e.id)))


def load(folder: str | Path | None = None) -> list[Entry]:
    """Every entry of the catalogue (the packaged one, or the TOML files of ``folder``)."""
    if folder is None:
        return list(_load_packaged())
    entries = [read_entry(p) for p in sorted(Path(folder).glob("*.toml"))]
    return sorted(entries, key=lambda e: (e.report, e.id))


def select(entries: list[Entry], ids: list[str]) -> list[Entry]:
    """Entries named by ``ids``: an exact id, or a prefix (``jhu-003``, ``cs324``).

    An id that matches nothing raises ``ValueError`` listing the close matches."""
    chosen: dict[str, Entry] = {}
    names = [e.id for e in entries]
    for wanted in ids:
        hits = [e for e in entries if e.id == wanted] or [
            e for e in entries if e.id.startswith(wanted)]
        if not hits:
            import difflib

            close = difflib.get_close_matches(wanted, names, n=5, cutoff=0.5)
            hint = (f"close matches: {', '.join(close)}" if close
                    else "`neuralab reproduce --list` shows every id")
            raise ValueError(f"no catalogue entry {wanted!r}; {hint}")
        chosen.update({e.id: e for e in hits})
    return list(chosen.values())


def download_commands(entry: Entry, data_dir: str = "~/data",
                      names: Sequence[str] | None = None) -> list[str]:
    """The commands that fetch the files ``entry`` needs (or those of ``names`` among them)
    into ``data_dir``."""
    return [DATA_SETS[name]["get"].format(dir=data_dir)
            for name in (entry.needs if names is None else names)]


def variant_names(entry: Entry) -> list[str | None]:
    """The studies an entry runs: one per variant, or ``[None]`` (``[config]`` itself)."""
    return list(entry.variants) or [None]


def study_config(entry: Entry, variant: str | None = None, *, quick: bool = False,
                 data_dir: str | Path | None = None) -> dict[str, Any]:
    """The study file of ``entry`` (of one of its variants) as a dict: ``[config]`` with the
    variant's changes, the quick overrides and the data folder applied (``study.*`` keys
    set the ``[study]`` table)."""
    from neuralab.studies.runner import _set_key  # a dotted key into nested tables

    if entry.config is None:
        raise CatalogueError(f"entry {entry.id} has only exact claims: it runs no study")
    data = copy.deepcopy(entry.config)
    data["study"].setdefault("name", entry.id if variant is None else f"{entry.id}-{variant}")
    if variant is not None:
        if variant not in entry.variants:
            raise CatalogueError(f"entry {entry.id} has no variant {variant!r}"
                                 f"{suggest(variant, entry.variants)}; its variants are "
                                 f"{', '.join(entry.variants) or '(none)'}")
        for key, value in entry.variants[variant].items():
            if key in SECTIONS:
                data[key] = copy.deepcopy(value)
            else:
                _set_key(data, key, copy.deepcopy(value))
    if quick:
        for key, value in entry.quick.items():
            _set_key(data, key, copy.deepcopy(value))
    if data_dir is not None:
        for name in entry.needs:
            spec = DATA_SETS[name]
            _set_key(data, spec["key"], str(Path(data_dir).expanduser() / spec["at"]))
    return data


def entry_study(entry: Entry, variant: str | None = None, *, quick: bool = False,
                data_dir: str | Path | None = None) -> Any:
    """The :class:`~neuralab.studies.runner.Study` of ``entry`` (or of one of its variants),
    with the claims' cell selectors checked against its grid."""
    from neuralab.studies.runner import Study, _spec

    data = study_config(entry, variant, quick=quick, data_dir=data_dir)
    table = data.pop("study")
    spec = _spec(table)
    study = Study(data, grid=spec.grid or None, seeds=spec.seeds, target=spec.target, zip=spec.zip,
                  vary=spec.vary, seed=spec.seed, name=spec.name)
    keys = [*study.spec.keys(), *([VARIANT] if entry.variants else [])]
    for i, claim in enumerate(entry.claims):
        for selector in _selectors(claim):
            for key, value in selector.items():
                if key == VARIANT and value not in entry.variants:
                    raise CatalogueError(
                        f"catalogue entry {entry.id}: claims[{i}] selects variant {value!r}"
                        f"{suggest(str(value), entry.variants)}; the variants are "
                        f"{', '.join(entry.variants) or '(none)'}")
                if key not in keys:
                    raise CatalogueError(
                        f"catalogue entry {entry.id}: claims[{i}] selects {key!r}, which is "
                        f"not a grid key{suggest(key, keys)}; the grid keys are "
                        f"{', '.join(keys) or '(none)'}")
    return study


def _selectors(claim: Any) -> list[Selector]:
    if claim.kind == "value":
        return [claim.cell]
    if claim.kind == "direction":
        return [claim.better] + ([claim.worse] if claim.worse is not None else [])
    if claim.kind == "same":
        return [claim.a, claim.b]
    return []


__all__ = [
    "DATA_SETS",
    "REPORTS",
    "VARIANT",
    "CatalogueError",
    "Claim",
    "DirectionClaim",
    "Entry",
    "ExactClaim",
    "Explanation",
    "SameClaim",
    "Tried",
    "ValueClaim",
    "download_commands",
    "entry_study",
    "load",
    "parse_entry",
    "read_entry",
    "select",
    "study_config",
    "variant_names",
]
