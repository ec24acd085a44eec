"""Every figure function returns a matplotlib Figure and saves PNG + SVG atomically."""

from __future__ import annotations

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
from matplotlib.figure import Figure  # noqa: E402

from neuralab import viz  # noqa: E402
from neuralab.data import moons  # noqa: E402
from neuralab.models import (  # noqa: E402
    LinearRegression,
    LogisticRegression,
    MLPClassifier,
    OneVsRest,
    Perceptron,
)


@pytest.fixture(scope="module")
def data():
    ds = moons(n=120, noise=0.2, seed=0)
    return ds.X, ds.y


@pytest.fixture(scope="module")
def mlp(data):
    return MLPClassifier(hidden=(6, 5), lr=0.2, epochs=15, eval_every=3, random_state=0).fit(*data)


def test_curves_from_history_rows_and_file(mlp, tmp_path):
    assert isinstance(viz.plot_curves(mlp.history_), Figure)
    rows = [{"epoch": 1, "train_loss": 0.7, "train_acc": 0.5},
            {"epoch": 2, "train_loss": 0.5, "train_acc": 0.8}]
    fig = viz.plot_curves(rows, title="t")
    assert len(fig.axes) == 2
    csv = tmp_path / "metrics.csv"
    csv.write_text("step,epoch,train_loss\n1,1,0.5\n2,2,0.4\n")
    assert len(viz.plot_curves(csv).axes) == 1  # no accuracy column: one panel
    both = viz.plot_compare({"a": rows, "b": rows})
    assert len(both.axes[0].lines) == 2


def _legend_labels(fig) -> list[str]:
    return [t.get_text() for leg in [*fig.legends, *(a.get_legend() for a in fig.axes)]
            if leg is not None for t in leg.get_texts()]


def test_decision_boundary_marks_mistakes_and_draws_the_perceptron_line(data, mlp):
    X, y = data
    fig = viz.plot_decision_boundary(mlp, X, y, X[:20], y[:20])
    labels = _legend_labels(fig)
    assert any(lab.startswith("misclassified") for lab in labels)
    p = Perceptron(epochs=5, random_state=0).fit(X, y)
    fig = viz.plot_decision_boundary(p, X, y)
    assert "w·x + b = 0" in _legend_labels(fig)
    with pytest.raises(ValueError, match="2-D inputs"):
        viz.plot_decision_boundary(p, np.zeros((3, 3)), y[:3])


def test_confusion_and_class_errors(data, mlp):
    X, y = data
    fig = viz.plot_confusion(y, mlp.predict(X), ["a", "b"])
    assert "accuracy" in fig.axes[0].get_title()
    fig = viz.plot_class_errors([0.0215, 0.0055, 0.027], ["0", "1", "2"])
    assert len(fig.axes[0].patches) == 3


def test_weights_as_images_and_activation_maps(mlp, data):
    rng = np.random.default_rng(0)
    X = rng.random((60, 16))
    y = rng.integers(0, 3, 60)
    ovr = OneVsRest(LogisticRegression(epochs=3)).fit(X, y)
    fig = viz.plot_first_layer_weights(ovr, (4, 4), titles=["0", "1", "2"], scale="unit")
    assert [t.get_text() for t in fig.axes[0].texts] == ["0", "1", "2"]  # one tile each
    with pytest.raises(ValueError, match="pixels"):
        viz.plot_first_layer_weights(ovr, (5, 5))
    fig = viz.plot_hidden_activations(mlp, data[0], resolution=20)
    assert isinstance(fig, Figure)


def test_save_figure_writes_png_and_svg(tmp_path, mlp):
    paths = viz.save_figure(viz.plot_curves(mlp.history_), tmp_path / "curves")
    assert [p.name for p in paths] == ["curves.png", "curves.svg"]
    assert paths[0].read_bytes()[:4] == b"\x89PNG"
    assert b"<svg" in paths[1].read_bytes()[:500]
    assert not list(tmp_path.glob("*.tmp"))


def test_decision_boundary_is_a_smooth_line_with_the_legend_off_the_data(data, mlp):
    X, y = data
    name = "moons-mlp-with-a-very-long-run-name-that-a-title-would-cut-off-at-the-edge"
    fig = viz.plot_decision_boundary(mlp, X, y, title=name)
    ax = fig.axes[0]
    # the p = 0.5 contour, drawn over the filled regions: a line of many vertices, not steps
    assert "decision boundary (p = 0.5)" in _legend_labels(fig)
    (line,) = [c for c in ax.collections if hasattr(c, "get_paths") and
               c.get_edgecolor().size and tuple(c.get_edgecolor()[0][:3]) == (0, 0, 0)
               and not c.get_facecolor().size][:1]
    xy = np.vstack([p.vertices for p in line.get_paths()])
    steps = np.diff(xy, axis=0)
    # a pixel-stepped outline moves along one axis at a time; a contour moves diagonally
    assert np.mean((np.abs(steps) > 1e-9).all(axis=1)) > 0.5
    assert viz.legend_overlaps(fig) == []
    assert ax.get_title().replace("\n", "") == name  # wrapped, never cut
    assert "\n" in ax.get_title()


def test_legend_overlaps_sees_a_legend_on_the_axes():
    fig = viz.plot_curves([{"epoch": 1, "train_loss": 0.7}, {"epoch": 2, "train_loss": 0.5}])
    assert viz.legend_overlaps(fig) == []
    fig.axes[0].legend(["x"], loc="center")
    assert viz.legend_overlaps(fig)


def test_accuracy_axis_is_not_zoomed_and_epochs_are_whole():
    rows = [{"epoch": e, "train_loss": 1 / e, "train_acc": a}
            for e, a in zip(range(1, 6), (0.994, 1.0, 1.0, 1.0, 1.0), strict=True)]
    fig = viz.plot_curves(rows)
    low, high = fig.axes[1].get_ylim()
    assert low <= 0.5 and 1.0 <= high <= 1.05  # a 0.006 change stays a 0.006 change
    fig.draw_without_rendering()
    ticks = fig.axes[0].get_xticks()
    assert np.allclose(ticks, np.round(ticks))
    rows[0]["train_acc"] = 0.3
    assert viz.plot_curves(rows).axes[1].get_ylim()[0] <= 0.0


def test_a_single_point_curve_is_visible():
    fig = viz.plot_curves([{"epoch": 3, "train_loss": 0.4, "train_acc": 0.8}])
    assert all(line.get_marker() == "o" for ax in fig.axes for line in ax.lines)


def _runs(n: int) -> dict:
    out = {}
    for i in range(n):
        e = np.arange(1, 31)
        acc = 1 - 0.5 * np.exp(-e / (3 + i))
        out[f"{i + 1}. run-{i}-with-a-rather-long-name-lr{0.01 * (i + 1):.2f}"] = {
            "epoch": e, "train_acc": acc, "val_acc": acc - 0.02, "train_loss": 1 - acc}
    return out


@pytest.mark.parametrize("n", [4, 12])
def test_compare_stays_readable_for_many_runs(n):
    fig = viz.plot_compare(_runs(n))
    shown = [ax for ax in fig.axes if ax.get_visible()]
    if n <= 6:  # one axes, one colour per run, the legend outside
        assert len(shown) == 1 and len(shown[0].lines) == 2 * n
        assert len(_legend_labels(fig)) == n + 2  # n runs + train, val
    else:  # small multiples: one panel per run, titled with its name
        assert len(shown) == n
        assert [ax.get_title().replace("\n", "") for ax in shown] == list(_runs(n))
    assert viz.legend_overlaps(fig) == []
    with pytest.raises(ValueError, match="layout='side' is not allowed"):
        viz.plot_compare(_runs(2), layout="side")


def test_confusion_numbers_are_readable_and_digit_labels_upright(data, mlp):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 500)
    fig = viz.plot_confusion(y, np.where(rng.random(500) < 0.8, y, rng.integers(0, 10, 500)))
    ax = fig.axes[0]
    assert all(t.get_rotation() == 0 for t in ax.get_xticklabels())
    assert len(ax.texts) == 100 and min(t.get_fontsize() for t in ax.texts) >= 9
    fig = viz.plot_class_errors([0.1, 0.2], ["cat", "dog"])
    assert fig.axes[0].get_xlabel() == "class"


def test_weights_and_activations_have_a_colour_bar_and_labels(mlp, data):
    rng = np.random.default_rng(0)
    net = MLPClassifier(hidden=(12,), epochs=2, random_state=0).fit(rng.random((40, 16)),
                                                                     rng.integers(0, 2, 40))
    fig = viz.plot_first_layer_weights(net, (4, 4))
    assert len(fig.axes) == 2 and fig.axes[1].get_ylabel() == "weight"  # image + colour bar
    assert [t.get_text() for t in fig.axes[0].texts] == [f"unit {i}" for i in range(12)]
    assert min(t.get_fontsize() for t in fig.axes[0].texts) >= 8
    fig = viz.plot_hidden_activations(mlp, data[0], resolution=20)
    bar = fig.axes[1]
    assert "activation" in (bar.get_ylabel() + bar.get_xlabel())
    assert len(fig.axes[0].texts) == 6 + 5  # one label per hidden unit of (6, 5)


def test_regression_figures(tmp_path):
    rng = np.random.default_rng(0)
    X1 = rng.uniform(-2, 2, (80, 1))
    y1 = 3 * X1[:, 0] - 1 + rng.normal(0, 0.1, 80)
    line = LinearRegression(solver="lstsq").fit(X1, y1)
    fig = viz.plot_regression_fit(line, X1, y1, X1[:10], y1[:10])
    assert "ŷ = 2.99·x1 − 1" in fig.axes[0].get_title()  # the fitted equation
    fitted = fig.axes[0].lines[-1].get_ydata()
    assert np.allclose(np.diff(fitted), np.diff(fitted)[0])  # a straight line
    X2 = rng.uniform(-2, 2, (80, 2))
    y2 = X2 @ [1.0, -2.0] + 0.5
    plane = LinearRegression(solver="lstsq").fit(X2, y2)
    fig = viz.plot_regression_fit(plane, X2, y2)
    assert fig.axes[0].name == "3d" and viz.legend_overlaps(fig) == []
    fig = viz.plot_predicted_vs_true(plane, X2, y2, X2[:20], y2[:20])
    left, right = fig.axes
    assert left.get_xlabel() == "true y" and right.get_ylabel() == "residual y − ŷ"
    assert any("R² 1.0000" in lab for lab in _legend_labels(fig))
    with pytest.raises(ValueError, match="1-D or 2-D inputs"):
        viz.plot_regression_fit(plane, rng.random((5, 3)), y2[:5])


def test_a_regression_run_gets_its_fit_and_no_empty_curves(tmp_path):
    from pathlib import Path

    from neuralab.experiments import load_config, run_experiment

    example = Path(__file__).resolve().parents[2] / "examples/tsinghua/q2-linear-regression.toml"
    cfg = load_config(example, [f"output.dir={tmp_path}"])
    plots = run_experiment(cfg, quiet=True).run_dir / "plots"
    names = sorted(p.stem for p in plots.glob("*.png"))
    assert names == ["fit", "predicted_vs_true"]  # closed form: one epoch-0 row, no curve


@pytest.mark.parametrize("epochs", [[5], [1, 2], [1, 2, 3, 4, 5, 6, 7]])
def test_epoch_axes_tick_whole_epochs_even_for_one_evaluated_epoch(epochs):
    """A run evaluated once (a --quick run) used to tick its epoch axis 4.8, 4.9, 5.0 ..."""
    from neuralab.viz._figure import integer_epochs

    fig = Figure()
    ax = fig.add_subplot()
    ax.plot(epochs, np.linspace(0.5, 0.9, len(epochs)), marker="o")
    integer_epochs(ax)
    fig.canvas.draw()
    lo, hi = ax.get_xlim()
    ticks = [t for t in ax.get_xticks() if lo <= t <= hi]
    assert ticks and all(float(t).is_integer() for t in ticks), ticks


def test_curves_of_an_ensemble_show_the_mean_and_the_spread_of_its_models():
    """``viz.plot_curves(ens.history_)`` for ``n_models=5``: its metrics are (epochs, 5);
    they were dropped and the figure was one empty axes. Now each set is the mean line over
    a band from the lowest to the highest model, the legend says so, and a NaN model (a
    diverged member) warns nothing."""
    import warnings

    ds = moons(n=120, noise=0.2, seed=0)
    ens = MLPClassifier(hidden=(5,), epochs=6, n_models=5, random_state=0).fit(
        ds.X, ds.y, validation=(ds.X, ds.y))
    fig = viz.plot_curves(ens.history_)
    loss_ax, acc_ax = fig.axes
    mean = loss_ax.get_lines()[0].get_ydata()
    np.testing.assert_allclose(mean, ens.history_.train_loss.mean(axis=1), rtol=1e-6)
    assert len(loss_ax.collections) == 2 and len(acc_ax.collections) == 2  # train, val bands
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["train (mean of 5)", "val (mean of 5)",
                      "band: lowest to highest of the 5 models"]
    assert acc_ax.get_ylim()[0] <= ens.history_.train_acc.min()  # the band fits the scale
    cols = {"epoch": np.arange(1, 4), "train_loss": np.array([[0.5, np.nan], [0.4, np.nan],
                                                              [np.nan, np.nan]])}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "Mean of empty slice" for the all-NaN epoch
        fig = viz.plot_curves(cols)
    np.testing.assert_allclose(fig.axes[0].get_lines()[0].get_ydata(), [0.5, 0.4, np.nan])
    cmp = viz.plot_compare({"ensemble": ens.history_})  # one line per set: the mean
    assert len(cmp.axes[0].get_lines()) == 2


def test_curves_with_nothing_finite_say_so_instead_of_an_empty_figure():
    with pytest.raises(ValueError, match="every loss and accuracy column is empty"):
        viz.plot_curves({"epoch": np.arange(1, 3), "train_loss": np.full(2, np.nan)})
