"""Statistics of studies: how sure are we, from many seeds, that one setting is better?

Every number comes from scipy (no hand-written intervals or tests):

- success rates with Wilson score intervals (``scipy.stats.binomtest``);
- means, medians and interquartile means with bootstrap intervals (``scipy.stats.bootstrap``,
  BCa, falling back to percentile intervals where BCa is degenerate);
- "epochs to converge" as right-censored data: Kaplan–Meier curves of the fraction converged
  by each epoch and the median epoch with its interval (``scipy.stats.ecdf``);
- pairwise comparisons along one grid key: differences with bootstrap intervals, exact tests
  of rates, Mann–Whitney tests, the probability of improvement and Benjamini–Hochberg
  adjusted p-values (``scipy.stats.false_discovery_control``).

The input of the table functions is a runs DataFrame with one row per (cell, seed): grid
columns (config keys such as ``model.activation``), metric columns, and optionally a bool
``converged``, the ``epoch_converged`` (NaN when the target was not reached) and the
``epochs_budget``. ``docs/studies.md`` explains each statistic in a student's words.
"""

from __future__ import annotations

import hashlib
import itertools
import warnings
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from neuralab._checks import check_choice, check_in_range, check_positive, suggest
from neuralab.rng import SeedLike, as_generator, as_seed_sequence

# Columns of a runs DataFrame that describe the run, not a metric to summarise.
RUN_COLUMNS = ("seed", "converged", "epoch_converged", "epochs_budget", "diverged")

# 2,000 resamples put the Monte Carlo error of a 95 % endpoint well below the interval's own
# width for the 5–200 seeds of a cell, and keep a 10-cell table at a fraction of a second.
N_RESAMPLES = 2000

# A Kaplan–Meier curve is a product of fractions, so "exactly half" can land a rounding error
# above 0.5; this tolerance keeps 3 of 6 seeds converged counting as the median.
_HALF = 0.5 + 1e-9


def _median(s: np.ndarray) -> np.ndarray:
    """Median of values sorted along the last axis: the middle one, or the mean of two."""
    n = s.shape[-1]
    return (s[..., (n - 1) // 2] + s[..., n // 2]) / 2


def _iqm(s: np.ndarray) -> np.ndarray:
    """Interquartile mean of sorted values: the mean of the middle 50 %, exactly as
    ``scipy.stats.trim_mean(x, 0.25)`` cuts (``int(0.25 n)`` values from each end)."""
    n = s.shape[-1]
    cut = int(0.25 * n)
    return s[..., cut:n - cut].mean(axis=-1)


# Each statistic reads values sorted along the last axis (the mean, in any order): a bootstrap
# evaluates all 2,000 resamples at once, and one sort serves the median and the IQM (numpy's
# median and scipy's trim_mean each partition again, ~5× slower on (2000, 200) resamples).
# The tests check them against np.mean, np.median and scipy.stats.trim_mean.
STATISTICS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "mean": lambda s: s.mean(axis=-1),
    "median": _median,
    "iqm": _iqm,
}


def _statistic(names: Sequence[str]) -> Callable[..., np.ndarray]:
    """``f(x, axis)`` → the named statistics stacked on a leading axis, (len(names), ...)."""
    order = any(name != "mean" for name in names)  # the mean needs no sort

    def f(x: np.ndarray, axis: int = -1) -> np.ndarray:
        s = np.moveaxis(x, axis, -1)
        s = np.sort(s, axis=-1) if order else s
        return np.stack([STATISTICS[name](s) for name in names])

    return f


# Exact tests of "the two success rates are equal" on the 2×2 table [[k_a, n_a − k_a], …].
# Fisher's is the default: ~1 ms, where Boschloo's (more powerful) takes ~0.2 s at n = 200.
RATE_TESTS: dict[str, Callable[[np.ndarray], float]] = {
    "fisher": lambda table: stats.fisher_exact(table).pvalue,
    "barnard": lambda table: stats.barnard_exact(table).pvalue,
    "boschloo": lambda table: stats.boschloo_exact(table).pvalue,
}

# Tests of "the two settings give the same metric". Mann–Whitney is the default: seed
# distributions are often skewed or bimodal, and its U is also the probability of improvement.
METRIC_TESTS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "mannwhitneyu": lambda x, y: stats.mannwhitneyu(x, y).pvalue,
    "welch": lambda x, y: stats.ttest_ind(x, y, equal_var=False).pvalue,
}

BOOTSTRAP_METHODS = ("BCa", "percentile", "basic")


@dataclass(frozen=True)
class Interval:
    """A point estimate with its confidence interval and the method that produced it.

    ``method`` is ``"wilson"``, ``"BCa"``, ``"percentile"``, ``"basic"``, ``"kaplan-meier"``,
    or ``"none"`` when there were too few values for an interval (``low``/``high`` are NaN).
    """

    estimate: float
    low: float
    high: float
    method: str


@dataclass(frozen=True)
class ConvergenceCurve:
    """Kaplan–Meier "fraction of seeds converged by epoch" of one cell.

    ``epochs``, ``fraction``, ``low`` and ``high`` are ``(T,)`` step points, starting at epoch 0
    (plot with ``ax.step(epochs, fraction, where="post")``). The band is pointwise; its lower
    edge is NaN where every seed has converged (the formula is undefined there).
    ``median.estimate`` is the first epoch by which half the seeds converged, ``inf`` when
    the curve never reaches 50 % within the budget ("not reached"); so are its bounds.
    """

    n: int
    converged: int
    epochs: np.ndarray
    fraction: np.ndarray
    low: np.ndarray
    high: np.ndarray
    median: Interval


# --------------------------------------------------------------------------- building blocks


def wilson_interval(k: int, n: int, confidence_level: float = 0.95) -> Interval:
    """Success rate ``k / n`` with its Wilson score interval (scipy's ``binomtest``)."""
    check_positive("n", n, integer=True)
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or not 0 <= k <= n:
        raise ValueError(f"k={k!r} is not allowed; it must be an integer in [0, n={n}]")
    _check_level(confidence_level)
    ci = stats.binomtest(int(k), int(n)).proportion_ci(confidence_level, method="wilson")
    return Interval(int(k) / int(n), float(ci.low), float(ci.high), "wilson")


def bootstrap_interval(
    x: Any,
    statistic: str = "mean",
    *,
    confidence_level: float = 0.95,
    n_resamples: int = N_RESAMPLES,
    method: str = "BCa",
    rng: SeedLike = None,
) -> Interval:
    """``statistic`` ("mean", "median" or "iqm") of the values x (n,) with a bootstrap interval.

    BCa by default; where BCa is degenerate (all values equal, or every resample giving the
    same statistic) the percentile interval of the same resamples is used instead, and
    ``method`` says so. Fewer than two values give a NaN interval with method ``"none"``.
    """
    check_choice("statistic", statistic, STATISTICS)
    return bootstrap_intervals(x, (statistic,), confidence_level=confidence_level,
                               n_resamples=n_resamples, method=method, rng=rng)[statistic]


def bootstrap_intervals(
    x: Any,
    statistics: Sequence[str] = ("mean", "median", "iqm"),
    *,
    confidence_level: float = 0.95,
    n_resamples: int = N_RESAMPLES,
    method: str = "BCa",
    rng: SeedLike = None,
) -> dict[str, Interval]:
    """Several statistics of x (n,) from one set of resamples, as {name: Interval}.

    Each interval equals :func:`bootstrap_interval`'s with the same ``rng``: scipy draws the
    same resamples whatever the statistic.
    """
    names = [check_choice("statistics", name, STATISTICS) for name in statistics]
    x = _finite_1d("x", x)
    est, low, high, used = _resampled((x[None, :],), names, confidence_level=confidence_level,
                                      n_resamples=n_resamples, method=method, rng=rng)
    return {name: Interval(float(est[i, 0]), float(low[i, 0]), float(high[i, 0]), used[i, 0])
            for i, name in enumerate(names)}


def bootstrap_difference(
    x: Any,
    y: Any,
    statistic: str = "mean",
    *,
    confidence_level: float = 0.95,
    n_resamples: int = N_RESAMPLES,
    method: str = "BCa",
    rng: SeedLike = None,
) -> Interval:
    """``statistic(x) − statistic(y)`` for independent samples x (n_x,), y (n_y,).

    Each sample is resampled on its own (seeds of two cells are not paired); the fallback
    to percentile intervals is the same as in :func:`bootstrap_interval`.
    """
    names = [check_choice("statistic", statistic, STATISTICS)]
    x, y = _finite_1d("x", x), _finite_1d("y", y)
    est, low, high, used = _resampled((x[None, :], y[None, :]), names,
                                      confidence_level=confidence_level,
                                      n_resamples=n_resamples, method=method, rng=rng)
    return Interval(float(est[0, 0]), float(low[0, 0]), float(high[0, 0]), used[0, 0])


def probability_of_improvement(x: Any, y: Any) -> float:
    """P(X > Y) + ½ P(X = Y) for a random seed X of x (n_x,) and Y of y (n_y,).

    This is Mann–Whitney's U of x divided by n_x·n_y, as rliable defines it: 0.5 means
    neither setting tends to give larger values; "improvement" means larger, so for a loss
    read ``1 − P``.
    """
    x, y = _finite_1d("x", x), _finite_1d("y", y)
    if x.size == 0 or y.size == 0:
        return np.nan
    u = stats.mannwhitneyu(x, y).statistic
    return float(u / (x.size * y.size))


def adjust_p_values(p: Any) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (scipy's ``false_discovery_control``), shape kept.

    NaN entries (tests that could not be run) stay NaN and do not count in the family.
    """
    p = np.asarray(p, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ((p[ok] < 0) | (p[ok] > 1)).any():
        raise ValueError(f"p-values must lie in [0, 1]; got {p[ok][(p[ok] < 0) | (p[ok] > 1)]}")
    if ok.any():
        out[ok] = stats.false_discovery_control(p[ok], method="bh")
    return out


def convergence_curve(
    epoch_converged: Any,
    converged: Any,
    epochs_budget: Any,
    *,
    confidence_level: float = 0.95,
) -> ConvergenceCurve:
    """Kaplan–Meier fraction converged by epoch, from (n,) runs of one cell.

    A run that did not converge is right-censored at its ``epochs_budget`` (scalar or (n,)):
    all we know is that it needed more epochs than it was given. The band is scipy's
    pointwise log-log (exponential Greenwood) interval (where it is undefined, every seed
    converged: the exact binomial bound); the median's interval is read off where the band
    crosses 50 %, as R's ``survfit`` does.
    """
    _check_level(confidence_level)
    events, censored = _observed(epoch_converged, converged, epochs_budget)
    conv = _as_bool("converged", converged)
    res = stats.ecdf(stats.CensoredData(uncensored=events, right=censored))
    t, s = res.sf.quantiles, res.sf.probabilities
    with warnings.catch_warnings():
        # scipy warns where the log-log band is undefined (S = 0 or 1); handled just below.
        warnings.filterwarnings("ignore", "The confidence interval is undefined", RuntimeWarning)
        ci = res.sf.confidence_interval(confidence_level, method="log-log")
    s_low, s_high = ci.low.probabilities.copy(), ci.high.probabilities.copy()
    # Where no seed has converged yet (S = 1) the band has zero width; where all have
    # (S = 0) the lower edge of survival is 0 and the log-log upper edge is undefined.
    at_one, at_zero = s >= 1.0, s <= 0.0
    s_low[at_one & np.isnan(s_low)], s_high[at_one & np.isnan(s_high)] = 1.0, 1.0
    s_low[at_zero & np.isnan(s_low)] = 0.0
    undefined = at_zero & np.isnan(s_high)
    if undefined.any():
        # S = 0: every seed still at risk converged. The seeds followed that long (every
        # converged one, and those censored no earlier) all converged by then, 0 of n not
        # converged, and its exact (Clopper–Pearson) upper limit is 1 − (α/2)^(1/n): 30
        # seeds all converged by epoch 1 give a median of 1 [1, 1]; 5 seeds cannot bound
        # it (0.52 > ½), which stays "not reached". (Counting only the seeds still at risk
        # on that last step — the 3 slowest of 10 — gave 1 − 0.025^(1/3) = 0.71 and
        # called the median's upper end "not reached" although every seed converged.)
        first = t[undefined][0]
        followed = int(events.size + np.sum(censored >= first))
        bound = stats.binomtest(0, followed).proportion_ci(
            confidence_level, method="exact").high if followed else np.nan
        # survival never rises, so the band's edge just before bounds it here too
        before = np.flatnonzero(undefined)[0] - 1
        if before >= 0 and np.isfinite(s_high[before]):
            bound = np.fmin(bound, s_high[before])
        s_high[undefined] = bound

    def first_at_half(surv: np.ndarray) -> float:
        hit = np.flatnonzero(np.nan_to_num(surv, nan=1.0) <= _HALF)  # NaN: not shown to cross
        return float(t[hit[0]]) if hit.size else np.inf

    median = Interval(first_at_half(s), first_at_half(s_low), first_at_half(s_high),
                      "kaplan-meier")
    start = [] if t.size and t[0] == 0 else [0.0]
    zero = [0.0] * len(start)
    return ConvergenceCurve(
        n=conv.size,
        converged=int(conv.sum()),
        epochs=np.concatenate([start, t]),
        fraction=np.concatenate([zero, 1.0 - s]),
        low=np.concatenate([zero, 1.0 - s_high]),
        high=np.concatenate([zero, 1.0 - s_low]),
        median=median,
    )


# ----------------------------------------------------------------------------- study tables


def cell_table(
    runs: pd.DataFrame,
    grid: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    *,
    statistics: Sequence[str] = ("mean", "median", "iqm"),
    confidence_level: float = 0.95,
    n_resamples: int = N_RESAMPLES,
    method: str = "BCa",
    seed: SeedLike = 0,
) -> pd.DataFrame:
    """One row per cell of ``runs`` (one row per (cell, seed)): how each setting did.

    Parameters
    ----------
    runs : DataFrame with the ``grid`` columns, the ``metrics`` columns and optionally
        ``converged`` (bool), ``epoch_converged`` (NaN when not reached), ``epochs_budget``
        and ``diverged`` (bool).
    grid : the columns that define a cell; default: every column whose name is a dotted
        config key (``model.activation``).
    metrics : numeric columns to summarise; default: every numeric column that is neither
        a grid column nor one of ``RUN_COLUMNS``.
    statistics : any of "mean", "median", "iqm"; all three share one set of resamples.
    confidence_level, n_resamples, method : of the intervals (scipy's names and meanings).
    seed : seeds the bootstraps. The metrics of a cell draw from one stream, derived from
        ``seed`` and the cell's coordinates, so a cell's numbers do not change when other
        cells or metrics are added; the default 0 makes a table reproducible.

    Returns
    -------
    DataFrame with the grid columns, then ``n``; with ``converged`` present, ``n_converged``,
    ``success_rate`` [``_low``, ``_high``] (Wilson); with ``diverged``, ``n_diverged``;
    with ``epoch_converged``, ``epochs_budget`` and ``epochs_median`` [``_low``, ``_high``]
    (Kaplan–Meier; ``inf`` = not reached within the budget); then for each metric ``m`` and
    statistic ``s``: ``m_n`` (finite values used), ``m_s``, ``m_s_low``, ``m_s_high`` and
    ``m_s_method`` (``BCa``, ``percentile`` after a degenerate BCa, or ``none``).
    """
    grid, metrics = _check_runs(runs, grid, metrics)
    for s in statistics:
        check_choice("statistics", s, STATISTICS)
    _check_bootstrap(confidence_level, n_resamples, method)
    statistics = list(statistics)
    base = as_seed_sequence(seed)
    boot = dict(confidence_level=confidence_level, n_resamples=n_resamples, method=method)
    rows = []
    for coords, group in _cells(runs, grid):
        cell = tuple(zip(grid, coords, strict=True))
        row: dict[str, Any] = dict(cell)
        row["n"] = len(group)
        row.update(_outcome_columns(group, confidence_level))
        values = group[metrics].to_numpy(dtype=np.float64)  # (n, M)
        found: dict[int, dict[str, Any]] = {}
        for (keep,), cols in _column_groups(np.isfinite(values)):
            # NaN (not measured) and inf (diverged) values are left out; the stream is named
            # by the rows left out, so it does not depend on which other metrics are asked.
            rng = _stream(base, "cell", cell, _left_out(keep))
            est, low, high, used = _resampled((values[keep][:, cols].T,), statistics, rng=rng,
                                              **boot)
            for j, c in enumerate(cols):
                found[c] = {f"{metrics[c]}_n": int(keep.sum())}
                for i, s in enumerate(statistics):
                    name = f"{metrics[c]}_{s}"
                    found[c].update({name: est[i, j], f"{name}_low": low[i, j],
                                     f"{name}_high": high[i, j], f"{name}_method": used[i, j]})
        for c in range(len(metrics)):
            row.update(found[c])
        rows.append(row)
    return pd.DataFrame(rows)


def convergence_curves(
    runs: pd.DataFrame,
    grid: Sequence[str] | None = None,
    *,
    confidence_level: float = 0.95,
) -> pd.DataFrame:
    """Long table of each cell's :class:`ConvergenceCurve`, ready to plot per cell.

    Columns: the grid columns, ``epoch``, ``fraction``, ``low``, ``high`` (step points).
    """
    grid, _ = _check_runs(runs, grid, ())
    _require(runs, ("converged", "epoch_converged", "epochs_budget"), "convergence curves")
    parts = []
    for coords, group in _cells(runs, grid):
        c = _curve(group, confidence_level)
        part = pd.DataFrame({"epoch": c.epochs, "fraction": c.fraction, "low": c.low,
                             "high": c.high})
        for g, v in reversed(list(zip(grid, coords, strict=True))):
            part.insert(0, g, [v] * len(part))
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def compare(
    runs: pd.DataFrame,
    key: str,
    grid: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    *,
    statistic: str = "mean",
    rate_test: str = "fisher",
    metric_test: str = "mannwhitneyu",
    confidence_level: float = 0.95,
    n_resamples: int = N_RESAMPLES,
    method: str = "BCa",
    seed: SeedLike = 0,
) -> pd.DataFrame:
    """Pairwise comparisons of the values of one grid ``key``, other grid keys held fixed.

    For every pair of values (a, b) of ``key`` (in order of appearance) within each setting
    of the other grid columns, one row: the other grid columns, ``a``, ``b``, ``n_a``, ``n_b``;
    with ``converged``: ``rate_a``, ``rate_b``, ``rate_diff`` = rate_a − rate_b with a
    bootstrap interval [``_low``, ``_high``, ``_method``], ``rate_p`` (``rate_test``: exact
    Fisher / Barnard / Boschloo); with ``epoch_converged``: ``epochs_p`` (log-rank test of
    the censored epochs; NaN when no seed of either cell converged); for each metric ``m``:
    ``m_{statistic}_diff`` (a − b) with a bootstrap interval, ``m_poi`` = P(a > b) + ½P(a = b)
    and ``m_p`` (``metric_test``). Every ``*_p`` has a ``*_p_adj``: Benjamini–Hochberg over
    all p-values of the table together (one family), NaN ones left out.
    """
    grid, metrics = _check_runs(runs, grid, metrics)
    if key not in grid:
        raise ValueError(
            f"key={key!r} is not a grid column; choose one of {', '.join(map(repr, grid))}"
            + suggest(key, grid)
        )
    check_choice("statistic", statistic, STATISTICS)
    rate_p = RATE_TESTS[check_choice("rate_test", rate_test, RATE_TESTS)]
    metric_p = METRIC_TESTS[check_choice("metric_test", metric_test, METRIC_TESTS)]
    _check_bootstrap(confidence_level, n_resamples, method)
    others = [g for g in grid if g != key]
    base = as_seed_sequence(seed)
    boot = dict(confidence_level=confidence_level, n_resamples=n_resamples, method=method)
    rows = []
    for coords, stratum in _cells(runs, others) if others else [((), runs)]:
        fixed = tuple(zip(others, coords, strict=True))
        groups = dict(_cells(stratum, [key]))
        for (a,), (b,) in itertools.combinations(groups, 2):
            ga, gb = groups[(a,)], groups[(b,)]
            row: dict[str, Any] = dict(fixed)
            row.update(a=a, b=b, n_a=len(ga), n_b=len(gb))

            pair = ("compare", fixed, key, a, b)  # names this comparison's bootstrap streams
            if "converged" in runs:
                ca = _as_bool("converged", ga["converged"])
                cb = _as_bool("converged", gb["converged"])
                diff = bootstrap_difference(ca.astype(float), cb.astype(float), "mean",
                                            rng=_stream(base, *pair, "rate"), **boot)
                table = np.array([[ca.sum(), (~ca).sum()], [cb.sum(), (~cb).sum()]])
                row.update(rate_a=ca.mean(), rate_b=cb.mean(), rate_diff=diff.estimate,
                           rate_diff_low=diff.low, rate_diff_high=diff.high,
                           rate_diff_method=diff.method, rate_p=_quiet(rate_p, table))
            if "epoch_converged" in runs:
                row["epochs_p"] = _logrank(ga, gb)
            va = ga[metrics].to_numpy(dtype=np.float64)  # (n_a, M)
            vb = gb[metrics].to_numpy(dtype=np.float64)
            found: dict[int, dict[str, Any]] = {}
            for (ka, kb), cols in _column_groups(np.isfinite(va), np.isfinite(vb)):
                xa, xb = va[ka][:, cols].T, vb[kb][:, cols].T  # (k, n_a'), (k, n_b')
                rng = _stream(base, *pair, _left_out(ka), _left_out(kb))
                est, low, high, used = _resampled((xa, xb), [statistic], rng=rng, **boot)
                for j, c in enumerate(cols):
                    name = f"{metrics[c]}_{statistic}_diff"
                    found[c] = {name: est[0, j], f"{name}_low": low[0, j],
                                f"{name}_high": high[0, j], f"{name}_method": used[0, j],
                                f"{metrics[c]}_poi": probability_of_improvement(xa[j], xb[j]),
                                f"{metrics[c]}_p": _quiet(metric_p, xa[j], xb[j])
                                if xa.shape[1] and xb.shape[1] else np.nan}
            for c in range(len(metrics)):
                row.update(found[c])
            rows.append(row)
    if not rows:
        raise ValueError(
            f"key={key!r} never takes two values within one setting of the other grid "
            f"columns {others}; there is nothing to compare"
        )
    table = pd.DataFrame(rows)
    p_cols = [c for c in table.columns if c.endswith("_p")]
    if p_cols:
        adjusted = adjust_p_values(table[p_cols].to_numpy(dtype=np.float64).ravel())
        adjusted = adjusted.reshape(len(table), len(p_cols))
        for j, c in enumerate(p_cols):
            table.insert(table.columns.get_loc(c) + 1, f"{c}_adj", adjusted[:, j])
    return table


# ---------------------------------------------------------------------------------- helpers


def _resampled(
    samples: tuple[np.ndarray, ...],
    names: Sequence[str],
    *,
    confidence_level: float,
    n_resamples: int,
    method: str,
    rng: SeedLike,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The statistics ``names`` of one sample, or their differences (first − second) for two.

    Each sample is (k, n_i): k metrics of the same seeds, resampled with the same indices
    (one scipy call instead of k). Returns estimate, low, high and method, each
    (len(names), k); with fewer than two values in a sample the interval is NaN ("none").
    """
    _check_bootstrap(confidence_level, n_resamples, method)
    one = _statistic(names)
    fn = one if len(samples) == 1 else _difference(one)
    shape = (len(names), samples[0].shape[0])
    smallest = min(sample.shape[-1] for sample in samples)
    est = fn(*samples) if smallest else np.full(shape, np.nan)
    if smallest < 2:
        return est, np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, "none", object)
    return (est, *_bootstrap(samples, fn, confidence_level, n_resamples, method, rng))


def _difference(fn: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
    """``g(a, b, axis) = fn(a) − fn(b)``: the statistic of a two-sample bootstrap."""
    def difference(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
        return fn(a, axis=axis) - fn(b, axis=axis)

    return difference


def _bootstrap(
    samples: tuple[np.ndarray, ...],
    fn: Callable[..., np.ndarray],
    confidence_level: float,
    n_resamples: int,
    method: str,
    rng: SeedLike,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """scipy's bootstrap interval of every output of ``fn``, BCa → percentile where BCa is
    degenerate. Returns low, high (float) and method (object) arrays of fn's output shape."""
    common = dict(vectorized=True, axis=-1, confidence_level=confidence_level)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = stats.bootstrap(samples, fn, n_resamples=n_resamples, method=method,
                              rng=as_generator(rng), **common)
    low = np.array(res.confidence_interval.low, dtype=np.float64)
    high = np.array(res.confidence_interval.high, dtype=np.float64)
    used = np.full(low.shape, method, dtype=object)
    bad = ~(np.isfinite(low) & np.isfinite(high))
    if method == "BCa" and bad.any():
        # BCa divides by the spread of the jackknife / bootstrap values, which is zero when
        # every resample gives the same value (e.g. all seeds at 100 %). The percentile
        # interval of the same resamples (n_resamples=0 reuses them) is then exact: [v, v].
        pct = stats.bootstrap(samples, fn, n_resamples=0, bootstrap_result=res,
                              method="percentile", **common).confidence_interval
        low[bad], high[bad] = np.asarray(pct.low)[bad], np.asarray(pct.high)[bad]
        used[bad] = "percentile"
        # scipy's DegenerateDataWarning (and the division by zero behind it) is answered.
        caught = [w for w in caught if not issubclass(w.category, RuntimeWarning)]
    for w in caught:  # anything else scipy said is the user's to see
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return low, high, used


def _column_groups(*finite: np.ndarray) -> list[tuple[tuple[np.ndarray, ...], list[int]]]:
    """Group the columns of (n_i, M) finiteness masks that keep the same rows.

    Metrics in one group are bootstrapped together; usually every metric is finite on
    every seed and there is one group.
    """
    groups: dict[tuple[bytes, ...], tuple[tuple[np.ndarray, ...], list[int]]] = {}
    for j in range(finite[0].shape[1]):
        masks = tuple(f[:, j] for f in finite)
        groups.setdefault(tuple(m.tobytes() for m in masks), (masks, []))[1].append(j)
    return list(groups.values())


def _stream(base: np.random.SeedSequence, *key: Hashable) -> np.random.Generator:
    """A Generator for one bootstrap, derived from ``base`` and a stable description of it.

    The key is hashed with SHA-256 (not Python's salted ``hash``), so the same cell gets the
    same stream in every process and whatever other cells exist.
    """
    digest = hashlib.sha256(_stable_text(key).encode()).digest()
    words = tuple(int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4))
    child = np.random.SeedSequence(base.entropy, spawn_key=(*base.spawn_key, *words))
    return np.random.default_rng(child)


def _stable_text(value: Any) -> str:
    """repr that reads the same for NumPy and Python scalars (np.float64(0.1) vs 0.1)."""
    if isinstance(value, tuple):
        return "(" + ",".join(_stable_text(v) for v in value) + ")"
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)


def _cells(frame: pd.DataFrame, columns: Sequence[str]) -> list[tuple[tuple, pd.DataFrame]]:
    """(coordinates, rows) of each distinct setting of ``columns``, in order of appearance
    (no columns: one cell of every row, a study of seeds alone)."""
    if not columns:
        return [((), frame)]
    try:
        grouped = frame.groupby(list(columns), sort=False, dropna=False)
        return [(tuple(k), g) for k, g in grouped]
    except TypeError as exc:  # lists in a grid column are unhashable
        raise ValueError(
            f"grid columns {list(columns)} must hold hashable values (numbers, strings, "
            f"tuples); {exc}"
        ) from None


def _check_runs(
    runs: Any, grid: Sequence[str] | None, metrics: Sequence[str] | None
) -> tuple[list[str], list[str]]:
    """Validate a runs DataFrame; return the grid and metric column lists."""
    if not isinstance(runs, pd.DataFrame):
        raise ValueError(f"runs must be a pandas DataFrame; got {type(runs).__name__}")
    if runs.empty:
        raise ValueError("runs is empty; a study table needs at least one run")
    columns = [str(c) for c in runs.columns]
    if grid is None:
        grid = [c for c in columns if "." in c]
        if not grid:
            raise ValueError(
                "runs has no grid column (a dotted config key such as 'model.activation'); "
                f"pass grid=[...] from its columns {columns}"
            )
    grid = list(grid)
    if metrics is None:
        metrics = [
            c for c in columns
            if c not in grid and c not in RUN_COLUMNS
            and pd.api.types.is_numeric_dtype(runs[c]) and not pd.api.types.is_bool_dtype(runs[c])
        ]
    metrics = list(metrics)
    for name, cols in (("grid", grid), ("metrics", metrics)):
        for c in cols:
            if c not in runs.columns:
                raise ValueError(
                    f"{name} column {c!r} is not in runs; its columns are {columns}"
                    + suggest(c, columns)
                )
    for m in metrics:
        if not pd.api.types.is_numeric_dtype(runs[m]) or pd.api.types.is_bool_dtype(runs[m]):
            raise ValueError(f"metric {m!r} must be a numeric column; it has dtype {runs[m].dtype}")
    if "epoch_converged" in runs:
        _require(runs, ("converged", "epochs_budget"), "epochs to converge")
    return grid, metrics


def _require(runs: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in runs.columns]
    if missing:
        raise ValueError(f"{what} need the column(s) {missing}; runs has {list(runs.columns)}")


def _outcome_columns(group: pd.DataFrame, confidence_level: float) -> dict[str, Any]:
    """Success rate, divergences and the Kaplan–Meier median epoch of one cell."""
    out: dict[str, Any] = {}
    if "converged" in group:
        conv = _as_bool("converged", group["converged"])
        rate = wilson_interval(int(conv.sum()), conv.size, confidence_level)
        out.update(n_converged=int(conv.sum()), success_rate=rate.estimate,
                   success_rate_low=rate.low, success_rate_high=rate.high)
    if "diverged" in group:
        out["n_diverged"] = int(_as_bool("diverged", group["diverged"]).sum())
    if "epoch_converged" in group:
        curve = _curve(group, confidence_level)
        out.update(epochs_budget=float(np.max(group["epochs_budget"])),
                   epochs_median=curve.median.estimate, epochs_median_low=curve.median.low,
                   epochs_median_high=curve.median.high)
    return out


def _curve(group: pd.DataFrame, confidence_level: float) -> ConvergenceCurve:
    return convergence_curve(group["epoch_converged"], group["converged"],
                             group["epochs_budget"], confidence_level=confidence_level)


def _censoring(epoch_converged: Any, converged: Any, epochs_budget: Any) -> stats.CensoredData:
    """Validated censored epochs: a run that did not converge is censored at its budget."""
    events, censored = _observed(epoch_converged, converged, epochs_budget)
    return stats.CensoredData(uncensored=events, right=censored)


def _observed(epoch_converged: Any, converged: Any, epochs_budget: Any
              ) -> tuple[np.ndarray, np.ndarray]:
    """The epochs of the runs that converged and the budgets of those that did not."""
    conv = _as_bool("converged", converged)
    n = conv.size
    if n == 0:
        raise ValueError("converged is empty; at least one run is needed")
    epochs = np.asarray(epoch_converged, dtype=np.float64).reshape(-1)
    budget = np.asarray(epochs_budget, dtype=np.float64)
    if epochs.shape != (n,) or budget.size not in (1, n):
        raise ValueError(f"epoch_converged has shape {epochs.shape} and epochs_budget "
                         f"{budget.shape}; expected ({n},) like converged")
    budget = np.broadcast_to(budget.reshape(-1), (n,))
    if not (np.isfinite(budget) & (budget > 0)).all():
        raise ValueError(f"epochs_budget must be finite and > 0; got {np.unique(budget)}")
    bad = conv & ~(np.isfinite(epochs) & (epochs >= 0) & (epochs <= budget))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"run {i} converged but epoch_converged={epochs[i]:g}; it must be a number in "
            f"[0, epochs_budget={budget[i]:g}]"
        )
    return epochs[conv], budget[~conv]


def _censored(group: pd.DataFrame) -> stats.CensoredData:
    return _censoring(group["epoch_converged"], group["converged"], group["epochs_budget"])


def _logrank(ga: pd.DataFrame, gb: pd.DataFrame) -> float:
    """Log-rank p-value of the two cells' censored epochs; NaN when neither has an event."""
    if not (_as_bool("converged", ga["converged"]).any()
            or _as_bool("converged", gb["converged"]).any()):
        return np.nan
    return _quiet(lambda: stats.logrank(_censored(ga), _censored(gb)).pvalue)


def _quiet(test: Callable[..., float], *args: Any) -> float:
    """A p-value with scipy's degenerate-input warnings silenced (NaN is the answer then)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(test(*args))


def _as_bool(name: str, values: Any) -> np.ndarray:
    """A (n,) bool array from bools or 0/1 numbers; anything else is a ValueError."""
    arr = np.asarray(values).reshape(-1)
    if arr.dtype == bool:
        return arr
    if arr.dtype == object and all(isinstance(v, (bool, np.bool_)) for v in arr):
        return arr.astype(bool)  # e.g. pandas' nullable "boolean" without missing values
    if arr.dtype.kind in "iuf" and np.isin(arr, (0, 1)).all():
        return arr.astype(bool)
    odd = [v for v in arr.tolist() if not isinstance(v, (bool, int, float)) or v not in (0, 1)]
    raise ValueError(f"{name} must hold True/False (or 1/0); got values such as {odd[:3]}")


def _finite_1d(name: str, x: Any) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of values, one per seed; got shape "
                         f"{arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values; drop them first")
    return arr


def _left_out(keep: np.ndarray) -> tuple[int, ...]:
    """Positions of the rows a finiteness mask leaves out (part of a stream's name)."""
    return tuple(np.flatnonzero(~keep).tolist())


def _check_level(confidence_level: float) -> None:
    check_in_range("confidence_level", confidence_level, 0.0, 1.0, closed="neither")


def _check_bootstrap(confidence_level: float, n_resamples: int, method: str) -> None:
    _check_level(confidence_level)
    check_positive("n_resamples", n_resamples, integer=True)
    check_choice("method", method, BOOTSTRAP_METHODS)
