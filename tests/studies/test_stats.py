"""Statistics of studies, checked against scipy, statsmodels and hand-checkable cases."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from neuralab.studies import stats as S


def make_runs(seed: int = 0, n: int = 40) -> pd.DataFrame:
    """A small study: activation × slope, n seeds a cell, a target reached or censored."""
    rng = np.random.default_rng(seed)
    rows = []
    for act, rate in (("relu", 0.6), ("leaky_relu", 0.85), ("tanh", 0.3)):
        for slope in (0.01, 0.1):
            for s in range(n):
                conv = bool(rng.random() < rate)
                rows.append({
                    "model.activation": act,
                    "model.negative_slope": slope,
                    "seed": s,
                    "converged": conv,
                    "epoch_converged": float(rng.integers(5, 90)) if conv else np.nan,
                    "epochs_budget": 100,
                    "diverged": False,
                    "train_acc": 1.0 if conv else float(rng.uniform(0.8, 0.99)),
                    "train_loss": float(rng.gamma(2.0, 0.05)),
                })
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------- Wilson intervals


@pytest.mark.parametrize(("k", "n"), [(0, 10), (10, 10), (146, 200), (3, 7), (0, 1), (1, 1)])
@pytest.mark.parametrize("level", [0.95, 0.9])
def test_wilson_equals_statsmodels(k: int, n: int, level: float) -> None:
    proportion = pytest.importorskip("statsmodels.stats.proportion")
    low, high = proportion.proportion_confint(k, n, alpha=1 - level, method="wilson")
    iv = S.wilson_interval(k, n, level)
    assert iv.estimate == k / n
    assert iv.low == pytest.approx(low, abs=1e-12)
    assert iv.high == pytest.approx(high, abs=1e-12)
    assert iv.method == "wilson"


def test_wilson_covers_the_true_rate_in_95_percent_of_studies() -> None:
    # 1,000 synthetic studies of 200 seeds with a true success rate of 0.73 (seed 000's ReLU).
    # The binomial standard error of the observed coverage is ~0.007, so 0.93–0.97 is ±3 SE.
    p, n, studies = 0.73, 200, 1000
    ks = np.random.default_rng(2024).binomial(n, p, size=studies)
    covered = [(iv := S.wilson_interval(int(k), n)).low <= p <= iv.high for k in ks]
    assert 0.93 <= np.mean(covered) <= 0.97


def test_wilson_rejects_counts_outside_0_n() -> None:
    with pytest.raises(ValueError, match=r"k=11 .*\[0, n=10\]"):
        S.wilson_interval(11, 10)
    with pytest.raises(ValueError, match="n=0"):
        S.wilson_interval(0, 0)
    with pytest.raises(ValueError, match="confidence_level=95"):
        S.wilson_interval(3, 10, 95)


# ---------------------------------------------------------------------------- bootstrap


def _iqm(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return stats.trim_mean(x, 0.25, axis=axis)


@pytest.mark.parametrize(("name", "fn"), [("mean", np.mean), ("median", np.median), ("iqm", _iqm)])
def test_bootstrap_interval_equals_a_direct_scipy_call(name: str, fn) -> None:
    x = np.random.default_rng(1).gamma(2.0, 1.0, size=60)
    iv = S.bootstrap_interval(x, name, n_resamples=999, rng=np.random.default_rng(7))
    ref = stats.bootstrap((x,), fn, n_resamples=999, rng=np.random.default_rng(7))
    assert iv.method == "BCa"
    assert iv.estimate == pytest.approx(fn(x))
    assert iv.low == pytest.approx(ref.confidence_interval.low, rel=1e-12)
    assert iv.high == pytest.approx(ref.confidence_interval.high, rel=1e-12)


def test_bootstrap_difference_equals_a_direct_two_sample_scipy_call() -> None:
    rng = np.random.default_rng(3)
    x, y = rng.normal(1.0, 1.0, 30), rng.normal(0.0, 2.0, 45)
    iv = S.bootstrap_difference(x, y, "median", n_resamples=999, rng=np.random.default_rng(5))
    ref = stats.bootstrap((x, y), lambda a, b, axis: np.median(a, axis) - np.median(b, axis),
                          n_resamples=999, rng=np.random.default_rng(5))
    assert iv.estimate == pytest.approx(np.median(x) - np.median(y))
    assert (iv.low, iv.high) == pytest.approx(tuple(ref.confidence_interval), rel=1e-12)


@pytest.mark.parametrize("n", [1, 2, 7, 8, 200])
def test_statistics_equal_numpy_and_scipy(n: int) -> None:
    # neuralab computes the median and IQM from one sort of the resamples; same numbers.
    x = np.random.default_rng(n).normal(size=(3, n))
    s = np.sort(x, axis=-1)
    np.testing.assert_allclose(S.STATISTICS["mean"](s), np.mean(x, axis=-1), rtol=1e-14)
    np.testing.assert_array_equal(S.STATISTICS["median"](s), np.median(x, axis=-1))
    np.testing.assert_allclose(S.STATISTICS["iqm"](s), stats.trim_mean(x, 0.25, axis=-1),
                               rtol=1e-14)


def test_bootstrap_intervals_share_resamples_and_equal_single_calls() -> None:
    x = np.random.default_rng(2).exponential(size=80)
    many = S.bootstrap_intervals(x, ["median", "iqm"], rng=np.random.default_rng(3))
    for name, iv in many.items():
        one = S.bootstrap_interval(x, name, rng=np.random.default_rng(3))
        assert (iv.low, iv.high) == pytest.approx((one.low, one.high), rel=1e-12)


@pytest.mark.parametrize("name", ["mean", "median", "iqm"])
def test_all_equal_values_fall_back_to_percentile_without_warnings(name: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # scipy's DegenerateDataWarning must not leak
        iv = S.bootstrap_interval(np.ones(50), name, rng=0)
    assert (iv.estimate, iv.low, iv.high, iv.method) == (1.0, 1.0, 1.0, "percentile")


def test_degenerate_median_with_one_outlier_falls_back_to_percentile() -> None:
    # Every resample's median is 1.0 although the data are not all equal: BCa divides by 0.
    x = np.ones(100)
    x[0] = 0.9
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        iv = S.bootstrap_interval(x, "median", rng=0)
        mean = S.bootstrap_interval(x, "mean", rng=0)
    assert (iv.low, iv.high, iv.method) == (1.0, 1.0, "percentile")
    assert mean.method == "BCa" and mean.low < mean.estimate <= mean.high == 1.0


def test_bootstrap_with_fewer_than_two_values_has_no_interval() -> None:
    iv = S.bootstrap_interval([0.5], "mean", rng=0)
    assert iv.estimate == 0.5 and np.isnan(iv.low) and np.isnan(iv.high) and iv.method == "none"


def test_bootstrap_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="statistic='avg'"):
        S.bootstrap_interval([1.0, 2.0], "avg")
    with pytest.raises(ValueError, match=r"method='bca'.*'BCa'"):
        S.bootstrap_interval([1.0, 2.0], method="bca")
    with pytest.raises(ValueError, match="NaN"):
        S.bootstrap_interval([1.0, np.nan])


# ---------------------------------------------------------------- censored epochs (Kaplan–Meier)


def test_km_median_on_a_hand_checkable_case() -> None:
    # Converged at epochs 1, 4, 5; two runs had a budget of 2 epochs and never converged.
    # KM: S(1) = 4/5; at 2 the two censored runs leave the risk set (2 remain);
    # S(4) = 4/5 · 1/2 = 0.4, so 60 % have converged by epoch 4: the median is 4.
    # (Counting the censored runs as "never" would give 2/5 by epoch 4 and a median of 5.)
    c = S.convergence_curve([1, 4, 5, np.nan, np.nan], [1, 1, 1, 0, 0], [10, 10, 10, 2, 2])
    assert c.median.estimate == 4.0
    assert c.n == 5 and c.converged == 3
    np.testing.assert_array_equal(c.epochs, [0, 1, 2, 4, 5])
    np.testing.assert_allclose(c.fraction, [0, 0.2, 0.2, 0.6, 1.0])
    assert c.median.low <= c.median.estimate <= c.median.high


def test_km_median_counts_exactly_half_as_reached() -> None:
    # 3 of 6 seeds by epoch 6, the others censored at the budget: "half converged by 6".
    c = S.convergence_curve([2, 4, 6, np.nan, np.nan, np.nan], [1, 1, 1, 0, 0, 0], 10)
    assert c.median.estimate == 6.0
    assert c.fraction[-1] == pytest.approx(0.5)


def test_km_band_matches_scipy_and_brackets_the_curve() -> None:
    runs = make_runs(n=60)
    cell = runs[(runs["model.activation"] == "relu") & (runs["model.negative_slope"] == 0.1)]
    c = S.convergence_curve(cell["epoch_converged"], cell["converged"], 100)
    conv = cell["converged"].to_numpy()
    res = stats.ecdf(stats.CensoredData(uncensored=cell["epoch_converged"][conv],
                                        right=np.full((~conv).sum(), 100.0)))
    ci = res.sf.confidence_interval(0.95, method="log-log")
    np.testing.assert_allclose(c.fraction[1:], 1 - res.sf.probabilities)
    np.testing.assert_allclose(c.high[1:], 1 - ci.low.probabilities)
    assert (c.low <= c.fraction).all() and (c.fraction <= c.high).all()
    # The success rate equals the curve's last value when every run had the same budget.
    assert c.fraction[-1] == pytest.approx(conv.mean())


@pytest.mark.parametrize("n,high", [(30, 1.0), (6, 1.0), (5, np.inf)])
def test_every_seed_converged_bounds_the_median_exactly(n, high) -> None:
    """Every seed converged at epoch 1: where the log-log band is undefined (S = 0) its
    upper edge is Clopper–Pearson's for 0 of n not converged (scipy's binomtest), so 30
    seeds give 1 [1, 1] — not "not reached" — and 5 seeds, whose bound 1 − 0.025^(1/5) =
    0.52 stays above ½, still cannot bound the median."""
    c = S.convergence_curve([1] * n, [True] * n, 100)
    assert (c.median.estimate, c.median.low, c.median.high) == (1.0, 1.0, high)
    exact = stats.binomtest(0, n).proportion_ci(0.95, method="exact").high
    assert exact == pytest.approx(1 - 0.025 ** (1 / n))
    assert c.low[-1] == pytest.approx(1 - exact) and c.high[-1] == 1.0


def test_all_censored_is_not_reached() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c = S.convergence_curve([np.nan] * 4, [False] * 4, 50)
    assert c.median.estimate == np.inf and c.median.low == np.inf and c.median.high == np.inf
    np.testing.assert_array_equal(c.fraction, 0.0)


def test_converged_run_needs_an_epoch_within_the_budget() -> None:
    with pytest.raises(ValueError, match="run 1 converged but epoch_converged=nan"):
        S.convergence_curve([3, np.nan], [True, True], 10)
    with pytest.raises(ValueError, match=r"epoch_converged=12;.*\[0, epochs_budget=10\]"):
        S.convergence_curve([12], [True], 10)
    with pytest.raises(ValueError, match="converged must hold True/False"):
        S.convergence_curve([3], ["yes"], 10)


# ------------------------------------------------------------- improvement and p-values


def test_probability_of_improvement_equals_the_pairwise_count() -> None:
    rng = np.random.default_rng(4)
    x, y = rng.integers(0, 5, 13).astype(float), rng.integers(0, 5, 9).astype(float)  # ties
    pairs = list(itertools.product(x, y))
    brute = (sum(a > b for a, b in pairs) + 0.5 * sum(a == b for a, b in pairs)) / len(pairs)
    assert S.probability_of_improvement(x, y) == pytest.approx(brute)
    assert S.probability_of_improvement(y, x) == pytest.approx(1 - brute)


def test_adjusted_p_values_are_benjamini_hochberg() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.5, 0.002, np.nan])
    adj = S.adjust_p_values(p)
    # BH by hand: sort, scale p_(i) by m / i, take the running minimum from the top.
    finite = p[:-1]
    order = np.argsort(finite)
    scaled = finite[order] * len(finite) / np.arange(1, len(finite) + 1)
    expected = np.empty_like(finite)
    expected[order] = np.minimum.accumulate(scaled[::-1])[::-1].clip(max=1)
    np.testing.assert_allclose(adj[:-1], expected)
    np.testing.assert_allclose(adj[:-1], stats.false_discovery_control(finite))
    assert np.isnan(adj[-1])
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    np.testing.assert_allclose(adj[:-1], multitest.multipletests(finite, method="fdr_bh")[1])


# ------------------------------------------------------------------------------ cell table


def test_cell_table_rows_match_the_building_blocks() -> None:
    runs = make_runs()
    table = S.cell_table(runs, metrics=["train_loss"])
    assert len(table) == 6
    assert list(table.columns[:2]) == ["model.activation", "model.negative_slope"]
    row = table.iloc[2]
    cell = runs[(runs["model.activation"] == row["model.activation"])
                & (runs["model.negative_slope"] == row["model.negative_slope"])]
    k = int(cell["converged"].sum())
    wilson = S.wilson_interval(k, len(cell))
    assert (row["n"], row["n_converged"], row["n_diverged"]) == (len(cell), k, 0)
    assert (row["success_rate_low"], row["success_rate_high"]) == (wilson.low, wilson.high)
    km = S.convergence_curve(cell["epoch_converged"], cell["converged"], 100).median
    assert row["epochs_median"] == km.estimate and row["epochs_median_high"] == km.high
    assert row["train_loss_iqm"] == pytest.approx(stats.trim_mean(cell["train_loss"], 0.25))
    assert row["train_loss_mean_low"] < row["train_loss_mean"] < row["train_loss_mean_high"]


def test_cell_table_is_deterministic_and_cells_do_not_affect_each_other() -> None:
    runs = make_runs()
    first = S.cell_table(runs, seed=11)
    pd.testing.assert_frame_equal(first, S.cell_table(runs, seed=11))
    other = S.cell_table(runs, seed=12)
    assert not np.allclose(first["train_loss_mean_low"], other["train_loss_mean_low"])
    # A cell's numbers are the same whether or not other cells are in the study.
    relu = S.cell_table(runs[runs["model.activation"] == "relu"], seed=11)
    pd.testing.assert_frame_equal(relu, first.iloc[:2].reset_index(drop=True))


def test_a_metrics_numbers_do_not_depend_on_the_other_metrics_asked_for() -> None:
    runs = make_runs()
    both = S.cell_table(runs, metrics=["train_loss", "train_acc"])
    alone = S.cell_table(runs, metrics=["train_loss"])
    pd.testing.assert_frame_equal(alone, both[alone.columns])
    pairs = S.compare(runs, "model.activation", metrics=["train_loss", "train_acc"])
    single = S.compare(runs, "model.activation", metrics=["train_loss"])
    same = [c for c in single.columns if not c.endswith("_p_adj")]  # the family differs
    pd.testing.assert_frame_equal(single[same], pairs[same])


def test_cell_table_with_every_seed_at_100_percent_has_no_nan() -> None:
    runs = make_runs()
    runs["train_acc"] = 1.0
    runs["converged"] = True
    runs["epoch_converged"] = 40.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = S.cell_table(runs, metrics=["train_acc"])
    numbers = table.select_dtypes("number")
    assert not numbers.isna().any().any()
    assert (table["train_acc_mean_method"] == "percentile").all()
    assert (table["train_acc_mean_low"] == 1.0).all() and (table["success_rate"] == 1.0).all()


def test_cell_table_leaves_out_non_finite_metric_values_and_says_how_many() -> None:
    runs = make_runs()
    runs.loc[[0, 1, 2], "train_loss"] = [np.nan, np.inf, np.inf]  # two diverged, one missing
    table = S.cell_table(runs, metrics=["train_loss"], statistics=["mean"])
    first = runs.iloc[3:40]["train_loss"]
    assert table.loc[0, "train_loss_n"] == 37
    assert table.loc[0, "train_loss_mean"] == pytest.approx(first.mean())


def test_cell_table_without_a_target_has_no_rate_columns() -> None:
    runs = make_runs().drop(columns=["converged", "epoch_converged", "epochs_budget", "diverged"])
    table = S.cell_table(runs, statistics=["median"])
    assert "success_rate" not in table and "epochs_median" not in table
    assert "train_acc_median" in table and "train_loss_median" in table
    assert "seed_median" not in table  # seed is a run column, never a metric


def test_cell_table_rejects_bad_columns() -> None:
    runs = make_runs()
    with pytest.raises(ValueError, match=r"'train_los' is not in runs.*did you mean 'train_loss'"):
        S.cell_table(runs, metrics=["train_los"])
    with pytest.raises(ValueError, match="no grid column"):
        S.cell_table(runs.rename(columns=lambda c: c.replace(".", "_")))
    with pytest.raises(ValueError, match="statistics='mode'"):
        S.cell_table(runs, statistics=["mode"])
    with pytest.raises(ValueError, match="runs must be a pandas DataFrame"):
        S.cell_table(runs.to_dict())


def test_convergence_curves_long_table() -> None:
    runs = make_runs()
    curves = S.convergence_curves(runs)
    assert list(curves.columns) == ["model.activation", "model.negative_slope", "epoch",
                                    "fraction", "low", "high"]
    last = curves.groupby(["model.activation", "model.negative_slope"], sort=False).last()
    rates = runs.groupby(["model.activation", "model.negative_slope"], sort=False)["converged"]
    np.testing.assert_allclose(last["fraction"], rates.mean())


# -------------------------------------------------------------------------------- compare


def test_compare_pairs_values_within_each_setting_of_the_other_keys() -> None:
    runs = make_runs()
    table = S.compare(runs, "model.activation", metrics=["train_loss"])
    # 3 activations → 3 pairs, for each of the 2 slopes.
    assert len(table) == 6
    assert list(table.columns[:3]) == ["model.negative_slope", "a", "b"]
    assert list(table.iloc[:3][["a", "b"]].itertuples(index=False, name=None)) == [
        ("relu", "leaky_relu"), ("relu", "tanh"), ("leaky_relu", "tanh")]
    row = table.iloc[1]
    cell = runs.groupby(["model.negative_slope", "model.activation"])
    a, b = cell.get_group((row["model.negative_slope"], "relu")), \
        cell.get_group((row["model.negative_slope"], "tanh"))
    ka, kb = int(a["converged"].sum()), int(b["converged"].sum())
    assert row["rate_diff"] == pytest.approx(ka / len(a) - kb / len(b))
    assert row["rate_diff_low"] <= row["rate_diff"] <= row["rate_diff_high"]
    table22 = [[ka, len(a) - ka], [kb, len(b) - kb]]
    assert row["rate_p"] == pytest.approx(stats.fisher_exact(table22).pvalue)
    xa, xb = a["train_loss"].to_numpy(), b["train_loss"].to_numpy()
    assert row["train_loss_poi"] == pytest.approx(S.probability_of_improvement(xa, xb))
    assert row["train_loss_p"] == pytest.approx(stats.mannwhitneyu(xa, xb).pvalue)
    assert row["train_loss_mean_diff"] == pytest.approx(xa.mean() - xb.mean())
    logrank = stats.logrank(
        stats.CensoredData(uncensored=a["epoch_converged"].dropna(),
                           right=a["epochs_budget"][~a["converged"]]),
        stats.CensoredData(uncensored=b["epoch_converged"].dropna(),
                           right=b["epochs_budget"][~b["converged"]]))
    assert row["epochs_p"] == pytest.approx(logrank.pvalue)


def test_compare_adjusts_every_p_value_of_the_table_as_one_family() -> None:
    table = S.compare(make_runs(), "model.negative_slope", rate_test="barnard",
                      metric_test="welch")
    p_cols = [c for c in table.columns if c.endswith("_p")]
    assert p_cols == ["rate_p", "epochs_p", "train_acc_p", "train_loss_p"]
    adjusted = S.adjust_p_values(table[p_cols].to_numpy().ravel()).reshape(len(table), -1)
    np.testing.assert_allclose(table[[f"{c}_adj" for c in p_cols]].to_numpy(), adjusted)
    assert (table[[f"{c}_adj" for c in p_cols]].to_numpy() >= table[p_cols].to_numpy()).all()


def test_compare_is_deterministic() -> None:
    runs = make_runs()
    pd.testing.assert_frame_equal(S.compare(runs, "model.activation", seed=3),
                                  S.compare(runs, "model.activation", seed=3))


def test_compare_separates_a_real_difference() -> None:
    # 200 seeds each, success rates 0.5 vs 0.95: the interval excludes 0, p is tiny.
    rng = np.random.default_rng(9)
    runs = pd.DataFrame({
        "model.activation": ["relu"] * 200 + ["leaky_relu"] * 200,
        "converged": np.r_[rng.random(200) < 0.5, rng.random(200) < 0.95],
        "train_loss": np.r_[rng.normal(1.0, 0.1, 200), rng.normal(0.5, 0.1, 200)],
    })
    row = S.compare(runs, "model.activation").iloc[0]
    assert row["rate_diff_high"] < 0 and row["rate_p_adj"] < 1e-6
    assert row["train_loss_mean_diff_low"] > 0 and row["train_loss_poi"] > 0.95


def test_compare_rejects_a_key_that_is_not_a_grid_column() -> None:
    with pytest.raises(ValueError, match=r"key='model\.activaton'.*mean 'model\.activation'"):
        S.compare(make_runs(), "model.activaton")
    one = make_runs()
    with pytest.raises(ValueError, match="never takes two values"):
        S.compare(one[one["model.activation"] == "relu"], "model.activation")
    with pytest.raises(ValueError, match="rate_test='chi2'"):
        S.compare(make_runs(), "model.activation", rate_test="chi2")
