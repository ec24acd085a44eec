"""Running catalogue entries: each entry's study (or studies, one per variant), its verdicts,
and a folder per entry under ``reproductions/``.

``<out>/<id>/`` (``<out>/<id>-quick/`` for ``--quick``) holds ``entry.toml`` (the entry as
run), ``verdicts.json`` and one study folder per variant (``neuralab study``'s folder,
``<study name>-<stamp>/``). Running an entry again reuses a finished study whose
``study.toml`` is the same, and resumes an unfinished one (the study resume: only missing
chunks run), so a killed ``neuralab reproduce --all`` continues where it stopped.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from neuralab.reproduce.catalogue import (
    DATA_SETS,
    VARIANT,
    Entry,
    download_commands,
    entry_study,
    variant_names,
)
from neuralab.reproduce.verdict import Verdict, claim_verdict, exact_verdict, summary
from neuralab.viz.studies import StudyFolder, read_study_folder

OUT = "reproductions"
VERDICTS = "verdicts.json"


class NeedsData(ValueError):
    """An entry needs data files and no data folder was given."""


@dataclass
class EntryResult:
    """One entry's run: its folder, study folders (variant -> folder), runs and verdicts."""

    entry: Entry
    folder: Path
    quick: bool
    studies: dict[str | None, Path] = field(default_factory=dict)
    runs: Any = None  # the runs of every study (a ``variant`` column when there are several)
    verdicts: list[Verdict] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def status(self) -> str:
        return summary(self.verdicts)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.entry.id, "quick": self.quick, "status": self.status,
                "seconds": round(self.seconds, 3),
                "studies": {("" if k is None else k): v.name for k, v in self.studies.items()},
                "verdicts": [v.to_dict() for v in self.verdicts]}


def entry_folder(entry: Entry | str, out: str | os.PathLike = OUT, *, quick: bool = False
                 ) -> Path:
    name = entry if isinstance(entry, str) else entry.id
    return Path(out) / (f"{name}-quick" if quick else name)


def command(entry: Entry, *, quick: bool = False, data_dir: str | None = None) -> str:
    """The command that re-runs ``entry``."""
    parts = ["neuralab", "reproduce", entry.id]
    if quick:
        parts.append("--quick")
    if entry.needs:
        parts += ["--data-dir", data_dir or "~/data"]
    return " ".join(parts)


def missing_data(entry: Entry, data_dir: str | os.PathLike) -> list[str]:
    """The data sets ``entry`` needs whose file or folder ``data_dir`` does not hold."""
    folder = Path(data_dir).expanduser()
    return [n for n in entry.needs if not os.path.lexists(folder / DATA_SETS[n]["at"])]


def needs_data_message(entry: Entry, data_dir: str | os.PathLike | None = None) -> str:
    """What to do when ``entry``'s files are missing: no ``data_dir`` given, or files
    missing from the one given."""
    if data_dir is None:
        cmds = "; ".join(download_commands(entry))
        return (f"{entry.id} needs {', '.join(entry.needs)} files: download them ({cmds}) and "
                "give --data-dir ~/data")
    folder = Path(data_dir).expanduser()
    names = missing_data(entry, data_dir)
    cmds = "; ".join(download_commands(entry, shlex.quote(str(data_dir)), names))
    return (f"{entry.id} needs {' and '.join(str(folder / DATA_SETS[n]['at']) for n in names)}"
            f", which --data-dir does not hold: download {'them' if len(names) > 1 else 'it'} "
            f"there ({cmds})")


def _find_study(parent: Path, study: Any) -> Path | None:
    """A study folder under ``parent`` made from the same study (same ``study.toml``)."""
    if not parent.is_dir():
        return None
    want = study.to_toml()
    for folder in sorted(parent.glob(f"{study.name}-*"), reverse=True):
        toml = folder / "study.toml"
        if folder.is_dir() and not folder.is_symlink() and toml.is_file():
            text = toml.read_text(encoding="utf-8")
            if text.endswith(want):  # after the header comment
                return folder
    return None


def _finished(folder: Path) -> StudyFolder | None:
    """The study folder read back (as ``neuralab report`` reads it: bounded, inside the
    folder, checked) when its study finished; None otherwise."""
    try:
        study = read_study_folder(folder)
    except ValueError:
        return None
    return study if study.summary.get("status") == "finished" else None


#: metrics computed from a study's per-epoch curves (curves.npz) when a claim names them:
#: ``epoch_best_val_acc`` (the epoch of the best value), ``jitter_val_acc`` (the mean
#: absolute change between consecutive evaluations: how much the curve oscillates), either
#: with ``@E`` to look only at epochs after E (``jitter_val_acc@200``); and
#: ``change_train_loss@E`` / ``abs_change_train_loss@E``: the last value minus the value at
#: epoch E (the last evaluation up to E), signed or absolute
CURVE_METRIC = re.compile(
    r"^(epoch_best|jitter|change|abs_change)_((?:train|val|test)_(?:acc|loss))(?:@(\d+))?$")


def curve_metric(name: str, curves: dict[str, np.ndarray]) -> np.ndarray | None:
    """One value per run of the curve metric ``name`` (see :data:`CURVE_METRIC`), or None
    when ``name`` is not one or the study has no such curve."""
    m = CURVE_METRIC.match(name)
    if m is None or m.group(2) not in curves:
        return None
    kind, key, after = m.group(1), m.group(2), int(m.group(3) or 0)
    values = np.asarray(curves[key], dtype=float)
    epochs = np.asarray(curves.get("epoch", np.arange(1, values.shape[1] + 1)))
    out = np.full(len(values), np.nan)
    for i, row in enumerate(values):
        finite = np.isfinite(row)
        if kind in ("change", "abs_change"):
            before = finite & (epochs <= after)
            if before.any() and finite.any():
                delta = row[finite][-1] - row[before][-1]
                out[i] = abs(delta) if kind == "abs_change" else delta
            continue
        keep = finite & (epochs > after)
        v, e = row[keep], epochs[keep]
        if kind == "epoch_best" and len(v):
            out[i] = e[int(np.argmax(v) if key.endswith("acc") else np.argmin(v))]
        elif kind == "jitter" and len(v) > 1:
            out[i] = float(np.mean(np.abs(np.diff(v))))
    return out


def _with_curve_metrics(entry: Entry, runs: Any, curves: dict[str, np.ndarray]) -> Any:
    """``runs`` with a column for each curve metric the entry's claims name."""
    names = {c.metric for c in entry.claims if c.kind != "exact"}
    extra = {}
    for name in names:
        if name in runs.columns:
            continue
        values = curve_metric(name, curves)
        if values is not None and len(values) == len(runs):
            extra[name] = values
    return runs.assign(**extra) if extra else runs


def run_study(study: Any, parent: Path, *, workers: int | None = None,
              scheduler: str | None = None, quiet: bool = True, plots: bool = True,
              progress: Callable[[Any], None] | None = None) -> StudyFolder:
    """Run ``study`` under ``parent`` (reusing or resuming a folder of the same study);
    returns the finished folder read back (runs.csv, curves.npz on demand)."""
    from neuralab.studies.runner import resume_study

    parent.mkdir(parents=True, exist_ok=True)
    found = _find_study(parent, study)
    done = None if found is None else _finished(found)
    if done is not None:
        return done
    if found is not None:
        result = resume_study(found, workers=workers, scheduler=scheduler, quiet=quiet,
                              plots=plots, progress=progress)
    else:
        result = study.run(workers=workers, scheduler=scheduler, out=parent, quiet=quiet,
                           plots=plots, progress=progress)
    return read_study_folder(result.folder)


def exact_verdicts(entry: Entry) -> list[Verdict]:
    from neuralab.reproduce.exact import run_check

    out = []
    for claim in entry.claims:
        if claim.kind != "exact":
            continue
        value, cases, detail = run_check(claim.check, claim.args)
        out.append(exact_verdict(value, claim.expected, tolerance=claim.tolerance,
                                 cases=cases, claim=claim.text, detail=detail))
    return out


def run_entry(entry: Entry, *, out: str | os.PathLike = OUT, quick: bool = False,
              data_dir: str | os.PathLike | None = None, workers: int | None = None,
              scheduler: str | None = None, quiet: bool = True, plots: bool = True,
              progress: Callable[[Any], None] | None = None) -> EntryResult:
    """Run one entry: its studies, then every claim's verdict, into ``<out>/<id>[-quick]``.

    An entry that needs data raises :class:`NeedsData` (naming the download command) unless
    ``data_dir`` is given."""
    from neuralab._atomic import atomic_file
    from neuralab.experiments.run import atomic_write_json

    if entry.needs and data_dir is None:
        raise NeedsData(needs_data_message(entry))
    t0 = time.perf_counter()
    # every study is built and its data found before the entry's folder is made: an entry
    # that cannot start leaves nothing behind
    if data_dir is not None and missing_data(entry, data_dir):
        raise NeedsData(needs_data_message(entry, data_dir))
    studies = [(v, entry_study(entry, v, quick=quick, data_dir=data_dir))
               for v in variant_names(entry)] if entry.studied else []
    for _, study in studies:
        study.check_data()  # a damaged file, or data that would not fit in memory
    folder = entry_folder(entry, out, quick=quick)
    folder.mkdir(parents=True, exist_ok=True)
    result = EntryResult(entry, folder, quick)
    if entry.studied:
        import pandas as pd

        frames = []
        for variant, study in studies:
            done = run_study(study, folder, workers=workers, scheduler=scheduler,
                             quiet=quiet, plots=plots, progress=progress)
            result.studies[variant] = done.path
            runs = _with_curve_metrics(entry, done.runs, done.curves())
            if variant is not None:
                runs = runs.assign(**{VARIANT: variant})
            frames.append(runs)
        result.runs = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    verdicts: list[Verdict] = []
    exact = iter(exact_verdicts(entry))
    for claim in entry.claims:  # in the entry's order
        verdicts.append(next(exact) if claim.kind == "exact"
                        else claim_verdict(claim, result.runs))
    result.verdicts = verdicts
    result.seconds = time.perf_counter() - t0
    with atomic_file(folder / "entry.toml") as f:
        f.write(_entry_text(entry).encode())
    atomic_write_json(folder / VERDICTS, result.to_dict())
    return result


def _entry_text(entry: Entry) -> str:
    from importlib import resources

    packaged = resources.files("neuralab.reproduce.catalogue") / f"{entry.id}.toml"
    try:
        return packaged.read_text(encoding="utf-8")
    except OSError:  # an entry from another folder
        return json.dumps(entry.model_dump(), indent=2, default=str)


def read_status(entry: Entry, out: str | os.PathLike = OUT, *,
                data_dir: str | os.PathLike | None = None) -> str:
    """``needs data`` / ``not run`` / the last run's verdicts (``agrees (2/2)``; a quick run
    says so)."""
    for quick in (False, True):
        path = entry_folder(entry, out, quick=quick) / VERDICTS
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        status = str(info.get("status", "not run"))
        return f"{status}, quick" if quick else status
    if entry.needs and data_dir is None:
        return "needs data"
    return "not run"


def load_result(entry: Entry, out: str | os.PathLike = OUT, *, quick: bool | None = None
                ) -> EntryResult | None:
    """The last recorded run of ``entry`` (full first, else quick; ``None`` if none)."""
    import pandas as pd

    for q in ((False, True) if quick is None else (quick,)):
        folder = entry_folder(entry, out, quick=q)
        try:
            info = json.loads((folder / VERDICTS).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        res = EntryResult(entry, folder, q, seconds=float(info.get("seconds", 0.0)))
        known = {f.name for f in fields(Verdict)}  # a file from another version of neuralab
        res.verdicts = [Verdict(**{k: x for k, x in v.items() if k in known})
                        for v in info.get("verdicts", [])]
        frames = []
        for variant, name in info.get("studies", {}).items():
            path = folder / name
            res.studies[variant or None] = path
            if (path / "runs.csv").is_file():
                done = read_study_folder(path)
                runs = _with_curve_metrics(entry, done.runs, done.curves())
                frames.append(runs.assign(**{VARIANT: variant}) if variant else runs)
        if frames:
            res.runs = pd.concat(frames, ignore_index=True)
        return res
    return None


__all__ = [
    "CURVE_METRIC",
    "OUT",
    "EntryResult",
    "NeedsData",
    "command",
    "curve_metric",
    "entry_folder",
    "exact_verdicts",
    "load_result",
    "needs_data_message",
    "read_status",
    "run_entry",
    "run_study",
]
