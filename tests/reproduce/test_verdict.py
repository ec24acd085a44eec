"""Verdicts on constructed cases: inside / outside an interval, a single run's seed range,
directions with zero inside the interval or the wrong way round, "same", exact."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neuralab.reproduce.catalogue import parse_entry
from neuralab.reproduce.verdict import (
    claim_verdict,
    direction_verdict,
    exact_verdict,
    same_verdict,
    summary,
    value_verdict,
)
from neuralab.studies import stats


def test_rate_inside_and_outside_the_wilson_interval() -> None:
    converged = np.r_[np.ones(146, bool), np.zeros(54, bool)]  # 146/200 = 73 %
    ci = stats.wilson_interval(146, 200)
    inside = value_verdict(converged, 0.70, rate=True)
    outside = value_verdict(converged, 0.80, rate=True)
    assert inside.outcome == "agrees" and outside.outcome == "disagrees"
    assert inside.n == 200 and inside.method == "wilson"
    assert (inside.low, inside.high) == pytest.approx((ci.low, ci.high))
    assert "inside" in inside.text and "outside" in outside.text and "n=200" in inside.text
    # the interval's edges decide, not a fixed tolerance
    assert value_verdict(converged, ci.low + 1e-9, rate=True).agrees
    assert not value_verdict(converged, ci.low - 1e-6, rate=True).agrees


def test_mean_uses_the_bootstrap_interval() -> None:
    rng = np.random.default_rng(1)
    acc = rng.normal(0.9, 0.01, 40)
    iv = stats.bootstrap_interval(acc, "mean", rng=0)
    v = value_verdict(acc, float(acc.mean()))
    assert v.agrees and v.method in ("BCa", "percentile")
    assert (v.low, v.high) == pytest.approx((iv.low, iv.high))
    assert not value_verdict(acc, iv.high + 0.005).agrees  # 0.5 points above: outside


def test_single_run_compares_with_the_seed_range_not_the_interval_of_the_mean() -> None:
    acc = np.linspace(0.80, 0.90, 101)  # 2.5-97.5 % range: [0.8025, 0.8975]
    # 0.81 is far outside the interval of the mean (~0.85) but a plausible single run
    assert not value_verdict(acc, 0.81).agrees
    single = value_verdict(acc, 0.81, single_run=True)
    assert single.agrees and single.method == "seed range"
    assert single.low == pytest.approx(0.8025) and single.high == pytest.approx(0.8975)
    assert not value_verdict(acc, 0.80, single_run=True).agrees  # below the 2.5 % point


def test_direction_agrees_only_when_the_interval_excludes_zero_that_way() -> None:
    rng = np.random.default_rng(2)
    high = rng.normal(0.95, 0.01, 30)
    low = rng.normal(0.90, 0.01, 30)
    same = rng.normal(0.95, 0.01, 30)
    ok = direction_verdict(high, low, sense="higher")
    assert ok.outcome == "agrees" and ok.low > 0 and ok.n == 60
    wrong = direction_verdict(low, high, sense="higher")
    assert wrong.outcome == "disagrees" and "opposite" in wrong.text and wrong.high < 0
    flat = direction_verdict(high, same, sense="higher")
    assert flat.outcome == "disagrees" and "zero is inside" in flat.text
    assert flat.low < 0 < flat.high
    # "lower is better" (epochs to converge) flips the side
    assert direction_verdict(low, high, sense="lower").agrees


def test_direction_of_rates_and_against_a_fixed_value() -> None:
    a = np.r_[np.ones(180, bool), np.zeros(20, bool)]  # 90 %
    b = np.r_[np.ones(100, bool), np.zeros(100, bool)]  # 50 %
    v = direction_verdict(a, b, rate=True)
    assert v.agrees and v.estimate == pytest.approx(0.4) and "pp" in v.text
    gap = np.full(30, 0.1) + np.random.default_rng(3).normal(0, 0.01, 30)
    assert direction_verdict(gap, than=0.05).agrees  # the gap is above 5 points
    assert not direction_verdict(gap, than=0.2).agrees


def test_same_within_tolerance() -> None:
    rng = np.random.default_rng(4)
    a, b = rng.normal(0.95, 0.005, 40), rng.normal(0.951, 0.005, 40)
    assert same_verdict(a, b, 0.01).agrees
    assert not same_verdict(a, b + 0.03, 0.01).agrees


def test_too_few_seeds_is_undecided_not_a_verdict() -> None:
    assert value_verdict([0.9], 0.9).outcome == "undecided"
    assert direction_verdict([0.9, 0.91], [0.8]).outcome == "undecided"
    # two seeds ran on each side, but one never reached the target (no epoch count): the
    # reason counts the values, not the seeds
    censored = direction_verdict([12.0, np.nan], [30.0, 31.0], sense="lower")
    assert censored.outcome == "undecided" and "with a value in a cell (1 and 2)" in censored.text
    assert summary([value_verdict([0.9], 0.9)]).startswith("undecided")


def test_exact() -> None:
    assert exact_verdict([3, 2], [3, 2]).agrees
    assert not exact_verdict([3, 2], [2, 3]).agrees
    assert exact_verdict(0.1 + 0.2, 0.3, tolerance=1e-12).agrees
    assert not exact_verdict(False, True).agrees
    assert exact_verdict(0, 0, cases=100).n == 100


def _entry(claims: list[dict]) -> object:
    return parse_entry({
        "id": "cs324-000-test", "report": "000", "course": "c", "where": "w", "quote": "q",
        "claims": claims,
        "config": {"model": {"kind": "mlp"}, "study": {"seeds": 3,
                                                        "grid": {"model.activation": ["relu",
                                                                                      "tanh"]}}}})


def test_claims_select_cells_of_a_runs_table() -> None:
    runs = pd.DataFrame({"model.activation": ["relu"] * 30 + ["tanh"] * 30,
                         "final_test_acc": np.r_[np.full(30, 0.9), np.full(30, 0.8)]
                         + np.random.default_rng(5).normal(0, 0.005, 60),
                         "converged": [True] * 25 + [False] * 5 + [True] * 10 + [False] * 20})
    entry = _entry([
        {"kind": "value", "text": "relu acc", "metric": "final_test_acc",
         "cell": {"model.activation": "relu"}, "report_value": 0.9},
        {"kind": "direction", "text": "relu beats tanh", "metric": "success_rate",
         "better": {"model.activation": "relu"}, "worse": {"model.activation": "tanh"}},
        {"kind": "value", "text": "gap", "metric": "1 - final_test_acc",
         "cell": {"model.activation": "tanh"}, "report_value": 0.2}])
    verdicts = [claim_verdict(c, runs) for c in entry.claims]
    assert [v.outcome for v in verdicts] == ["agrees", "agrees", "agrees"]
    assert verdicts[0].n == 30 and verdicts[1].n == 60
    with pytest.raises(ValueError, match="no runs in the cell"):
        claim_verdict(_entry([{"kind": "value", "text": "x", "metric": "final_test_acc",
                               "cell": {"model.activation": "gelu"},
                               "report_value": 0.9}]).claims[0], runs)
    with pytest.raises(ValueError, match=r"not a runs\.csv column"):
        claim_verdict(_entry([{"kind": "value", "text": "x", "metric": "__import__('os')",
                               "report_value": 0.9}]).claims[0], runs)


def test_curve_metrics_on_constructed_curves() -> None:
    from neuralab.reproduce.runner import curve_metric

    nan = np.nan
    curves = {"epoch": np.arange(1, 7),
              "val_acc": np.array([[0.5, nan, 0.9, nan, 0.8, 0.8],     # best at epoch 3
                                   [0.5, 0.6, 0.7, 0.8, 0.9, 1.0]]),  # best at the end
              "train_loss": np.array([[1.0, 0.5, 0.4, 0.3, 0.2, 0.1],
                                      [1.0, 0.5, 0.4, 0.45, 0.5, 0.6]])}
    assert curve_metric("epoch_best_val_acc", curves).tolist() == [3, 6]
    # mean |change| between consecutive evaluations (NaN epochs were not evaluated)
    assert curve_metric("jitter_val_acc", curves) == pytest.approx([(0.4 + 0.1 + 0) / 3, 0.1])
    assert curve_metric("jitter_val_acc@4", curves) == pytest.approx([0.0, 0.1])
    assert curve_metric("change_train_loss@3", curves) == pytest.approx([-0.3, 0.2])
    assert curve_metric("abs_change_train_loss@3", curves) == pytest.approx([0.3, 0.2])
    assert curve_metric("jitter_test_acc", curves) is None  # no such curve
    assert curve_metric("final_val_acc", curves) is None  # not a curve metric
