"""Verdicts: does neuralab's figure over many seeds agree with the report's?

- a **value** agrees when it lies inside neuralab's 95 % interval over seeds (Wilson for a
  rate, bootstrap for a mean or median); when the report shows a single run, inside the
  2.5–97.5 % range of the seeds' values (one run is one draw, not an average);
- a **direction** agrees when the interval of the difference (better − worse) excludes zero
  in that direction; zero inside the interval is "not shown", the other side "opposite";
- **same** agrees when the interval of the difference lies within ±tolerance;
- **exact** agrees when neuralab's computed value equals the report's (within tolerance).

Every verdict carries the number of seeds, the interval and a one-line text. The
statistics are :mod:`neuralab.studies.stats` (scipy); nothing is hand-written here.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from neuralab.studies import stats

OUTCOMES = ("agrees", "disagrees", "undecided")
RATE = "success_rate"
_EXPR_RE = re.compile(r"^[A-Za-z0-9_.+\-*/() ]+$")  # column names, numbers, arithmetic


@dataclass(frozen=True)
class Verdict:
    """One claim's verdict. ``low``/``high`` bound neuralab's figure (an interval over seeds,
    the seeds' 2.5–97.5 % range for a single-run claim, or the difference's interval)."""

    claim: str
    kind: str
    outcome: str  # agrees / disagrees / undecided (too few seeds for an interval)
    n: int  # seeds behind neuralab's figure (both cells for a difference; cases if exact)
    estimate: float | None
    low: float | None
    high: float | None
    method: str  # wilson / BCa / percentile / seed range / exact
    report: Any  # the report's figure
    text: str
    percent: bool = False  # the figures are shares (shown in % / percentage points)
    computed: Any = None  # an exact claim's computed value

    @property
    def agrees(self) -> bool:
        return self.outcome == "agrees"

    def to_dict(self) -> dict[str, Any]:
        return {k: _jsonable(v) for k, v in asdict(self).items()}


def _jsonable(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, np.generic):
        return v.item()
    return v


def fmt(x: float | None, percent: bool = False) -> str:
    """A figure as text: ``73.0 %`` for a rate or accuracy, else 4 significant digits."""
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{100 * x:.1f} %" if percent else f"{x:.4g}"


def _interval(values: np.ndarray, *, rate: bool, statistic: str, level: float
              ) -> stats.Interval:
    if rate:
        return stats.wilson_interval(int(values.sum()), len(values), level)
    return stats.bootstrap_interval(values, statistic, confidence_level=level, rng=0)


def _undecided(claim: str, kind: str, n: int, report: Any, why: str) -> Verdict:
    return Verdict(claim, kind, "undecided", n, None, None, None, "none", report,
                   f"undecided: {why}")


def value_verdict(values: Any, report_value: float, *, claim: str = "", rate: bool = False,
                  single_run: bool = False, statistic: str = "mean", percent: bool = False,
                  level: float = 0.95) -> Verdict:
    """The report's ``report_value`` against the seeds' ``values`` (booleans for a rate)."""
    v = np.asarray(values, dtype=float).reshape(-1)
    v = v[np.isfinite(v)]
    n = len(v)
    percent = percent or rate
    if n == 0 or (n < 2 and not rate):
        return _undecided(claim, "value", n, report_value, f"{n} seed(s) measured")
    if single_run and not rate:
        low, high = (float(q) for q in np.quantile(v, [(1 - level) / 2, (1 + level) / 2]))
        est = float(np.median(v)) if statistic == "median" else float(np.mean(v))
        method = "seed range"
        where = f"the {n} seeds' {100 * (1 - level) / 2:g}–{100 * (1 + level) / 2:g} % range"
    else:
        iv = _interval(v, rate=rate, statistic=statistic, level=level)
        est, low, high, method = iv.estimate, iv.low, iv.high, iv.method
        if not (math.isfinite(low) and math.isfinite(high)):
            return _undecided(claim, "value", n, report_value, "no interval")
        what = "rate" if rate else statistic
        where = f"the {what}'s {100 * level:g} % interval ({method}, n={n})"
    inside = low <= report_value <= high
    text = (f"report {fmt(report_value, percent)} is {'inside' if inside else 'outside'} "
            f"{where}: neuralab {fmt(est, percent)} [{fmt(low, percent)}, "
            f"{fmt(high, percent)}]")
    return Verdict(claim, "value", "agrees" if inside else "disagrees", n, est, low, high,
                   method, report_value, text, percent)


def _difference(a: np.ndarray, b: np.ndarray | None, than: float, *, rate: bool,
                statistic: str, level: float) -> stats.Interval:
    if b is None:  # one cell against a fixed value
        iv = _interval(a, rate=rate, statistic=statistic, level=level)
        return stats.Interval(iv.estimate - than, iv.low - than, iv.high - than, iv.method)
    # a rate is the mean of 0/1 outcomes: the same bootstrap as studies.stats.compare
    return stats.bootstrap_difference(a, b, "mean" if rate else statistic,
                                      confidence_level=level, rng=0)


def _clean(values: Any) -> np.ndarray:
    v = np.asarray(values, dtype=float).reshape(-1)
    return v[np.isfinite(v)]


def _too_few(a: np.ndarray, b: np.ndarray | None) -> str:
    """Why no interval: a side with fewer than 2 values (seeds that ran but gave no number,
    e.g. never reached the target, are not values)."""
    counts = " and ".join(str(len(v)) for v in (a, b) if v is not None)
    return f"fewer than 2 seeds with a value in a cell ({counts})"


def direction_verdict(better: Any, worse: Any | None = None, *, than: float = 0.0,
                      sense: str = "higher", claim: str = "", rate: bool = False,
                      statistic: str = "mean", percent: bool = False,
                      level: float = 0.95) -> Verdict:
    """Does ``better`` beat ``worse`` (or ``than``) in the ``sense`` direction?"""
    if sense not in ("higher", "lower"):
        raise ValueError(f"sense={sense!r} is not allowed; use 'higher' or 'lower'")
    a = _clean(better)
    b = None if worse is None else _clean(worse)
    n = len(a) + (0 if b is None else len(b))
    percent = percent or rate
    if len(a) < 2 or (b is not None and len(b) < 2):
        return _undecided(claim, "direction", n, sense, _too_few(a, b))
    iv = _difference(a, b, than, rate=rate, statistic=statistic, level=level)
    if not (math.isfinite(iv.low) and math.isfinite(iv.high)):
        return _undecided(claim, "direction", n, sense, "no interval")
    sign = 1.0 if sense == "higher" else -1.0
    lo, hi = sorted((sign * iv.low, sign * iv.high))
    vs = "the other setting" if b is not None else fmt(than, percent)
    if lo > 0:
        outcome, says = "agrees", f"{sense} than {vs}"
    elif hi < 0:
        outcome, says = "disagrees", f"opposite: {'lower' if sense == 'higher' else 'higher'}"
    else:
        outcome, says = "disagrees", "not shown: zero is inside the interval"
    unit = " pp" if percent else ""
    scale = 100 if percent else 1
    text = (f"{says}; difference {scale * iv.estimate:+.4g}{unit} "
            f"[{scale * iv.low:+.4g}, {scale * iv.high:+.4g}]{unit} ({iv.method}, n={n})")
    return Verdict(claim, "direction", outcome, n, iv.estimate, iv.low, iv.high, iv.method,
                   sense, text, percent)


def same_verdict(a: Any, b: Any, tolerance: float, *, claim: str = "", rate: bool = False,
                 statistic: str = "mean", percent: bool = False,
                 level: float = 0.95) -> Verdict:
    """Are ``a`` and ``b`` within ±``tolerance`` of each other (the whole interval)?"""
    x, y = _clean(a), _clean(b)
    n = len(x) + len(y)
    percent = percent or rate
    if len(x) < 2 or len(y) < 2:
        return _undecided(claim, "same", n, tolerance, _too_few(x, y))
    iv = _difference(x, y, 0.0, rate=rate, statistic=statistic, level=level)
    if not (math.isfinite(iv.low) and math.isfinite(iv.high)):
        return _undecided(claim, "same", n, tolerance, "no interval")
    inside = -tolerance <= iv.low and iv.high <= tolerance
    scale, unit = (100, " pp") if percent else (1, "")
    text = (f"difference {scale * iv.estimate:+.4g}{unit} [{scale * iv.low:+.4g}, "
            f"{scale * iv.high:+.4g}]{unit} ({iv.method}, n={n}) is "
            f"{'within' if inside else 'not within'} ±{scale * tolerance:g}{unit}")
    return Verdict(claim, "same", "agrees" if inside else "disagrees", n, iv.estimate,
                   iv.low, iv.high, iv.method, tolerance, text, percent)


def exact_verdict(computed: Any, expected: Any, *, tolerance: float = 0.0, cases: int = 1,
                  claim: str = "", detail: str = "") -> Verdict:
    """neuralab's computed value against the report's (numbers within ``tolerance``)."""
    same = _equal(computed, expected, tolerance)
    text = (f"neuralab computes {computed!r}, the report {expected!r}"
            f"{f' (within {tolerance:g})' if tolerance else ''}: "
            f"{'equal' if same else 'different'}"
            f"{f' over {cases} cases' if cases > 1 else ''}{f'; {detail}' if detail else ''}")
    est = float(computed) if isinstance(computed, (int, float)) and not isinstance(
        computed, bool) else None
    return Verdict(claim, "exact", "agrees" if same else "disagrees", cases, est, est, est,
                   "exact", _jsonable(expected), text, computed=_jsonable(computed))


def _equal(a: Any, b: Any, tol: float) -> bool:
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_equal(x, y, tol) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k], tol) for k in a)
    if isinstance(a, bool) or isinstance(b, bool) or isinstance(a, str) or isinstance(b, str):
        return a == b
    try:
        return abs(float(a) - float(b)) <= tol
    except (TypeError, ValueError):
        return a == b


# -- claims against a study's runs ---------------------------------------------------------
def select_cell(runs: Any, selector: dict[str, Any]) -> Any:
    """The rows of ``runs`` (runs.csv) in the cell ``selector`` names (``{}``: every row)."""
    mask = np.ones(len(runs), dtype=bool)
    for key, value in selector.items():
        if key not in runs.columns:
            raise ValueError(f"cell selector key {key!r} is not a column of the runs table")
        want = tuple(value) if isinstance(value, list) else value
        col = runs[key]
        mask &= np.array([_same_value(v, want) for v in col], dtype=bool)
    rows = runs[mask]
    if len(rows) == 0:
        raise ValueError(f"no runs in the cell {selector}; the study's cells are "
                         f"{sorted(set(map(str, runs.get('cell', []))))}")
    return rows


def _same_value(v: Any, want: Any) -> bool:
    if isinstance(v, str) and isinstance(want, tuple):
        return v == str(want)
    if isinstance(want, float) or isinstance(v, float):
        try:
            return math.isclose(float(v), float(want), rel_tol=1e-12, abs_tol=0.0)
        except (TypeError, ValueError):
            return False
    return v == want or str(v) == str(want)


def metric_values(rows: Any, metric: str) -> np.ndarray:
    """``metric`` of each run: ``success_rate`` (reached the target), a runs.csv column, or
    arithmetic of columns (``best_val_acc - final_val_acc``)."""
    if metric == RATE:
        if "converged" not in rows.columns:
            raise ValueError("metric 'success_rate' needs a study with a target "
                             "([config.study] target = {train_acc = 1.0})")
        return rows["converged"].astype(bool).to_numpy()
    if metric in rows.columns:
        return rows[metric].to_numpy(dtype=float)
    if not _EXPR_RE.match(metric):
        raise ValueError(f"metric {metric!r} is not a runs.csv column nor arithmetic of "
                         "columns (names, numbers, + - * / and parentheses)")
    try:
        return np.asarray(rows.eval(metric, engine="python"), dtype=float)
    except Exception as exc:  # pandas raises several kinds for a bad expression
        from neuralab._checks import suggest

        raise ValueError(f"metric {metric!r} cannot be computed from runs.csv ({exc})"
                         f"{suggest(metric, rows.columns)}") from None


def is_percent(metric: str) -> bool:
    """Whether ``metric`` is a share shown in percent (a rate, an accuracy or its change;
    not the epoch at which an accuracy peaked)."""
    base = metric.split("@")[0]
    return metric == RATE or (base.endswith("_acc") and not base.startswith("epoch_best"))


def claim_verdict(claim: Any, runs: Any, *, level: float = 0.95) -> Verdict:
    """The verdict of one non-exact catalogue claim on a study's runs table."""
    rate = claim.metric == RATE
    pct = is_percent(claim.metric)
    if claim.kind == "value":
        values = metric_values(select_cell(runs, claim.cell), claim.metric)
        return value_verdict(values, claim.report_value, claim=claim.text, rate=rate,
                             single_run=claim.single_run, statistic=claim.statistic,
                             percent=pct, level=level)
    if claim.kind == "direction":
        better = metric_values(select_cell(runs, claim.better), claim.metric)
        worse = (None if claim.worse is None
                 else metric_values(select_cell(runs, claim.worse), claim.metric))
        return direction_verdict(better, worse, than=claim.than, sense=claim.sense,
                                 claim=claim.text, rate=rate, statistic=claim.statistic,
                                 percent=pct, level=level)
    if claim.kind == "same":
        return same_verdict(metric_values(select_cell(runs, claim.a), claim.metric),
                            metric_values(select_cell(runs, claim.b), claim.metric),
                            claim.tolerance, claim=claim.text, rate=rate,
                            statistic=claim.statistic, percent=pct, level=level)
    raise ValueError(f"claim kind {claim.kind!r} is not measured on runs")


def summary(verdicts: list[Verdict]) -> str:
    """``agrees (3/3)``, ``disagrees (1/3 agree)`` or ``undecided``."""
    if not verdicts:
        return "not run"
    ok = sum(v.agrees for v in verdicts)
    if any(v.outcome == "disagrees" for v in verdicts):
        return f"disagrees ({ok}/{len(verdicts)} agree)"
    if all(v.agrees for v in verdicts):
        return f"agrees ({ok}/{len(verdicts)})"
    return f"undecided ({ok}/{len(verdicts)} agree)"


__all__ = ["OUTCOMES", "Verdict", "claim_verdict", "direction_verdict", "exact_verdict",
           "fmt", "is_percent", "metric_values", "same_verdict", "select_cell", "summary",
           "value_verdict"]
