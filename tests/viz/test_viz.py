"""Every figure function returns a matplotlib Figure and saves PNG + SVG atomically."""

from __future__ import annotations

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
from matplotlib.figure import Figure  # noqa: E402

from neuralab import viz  # noqa: E402
from neuralab.data import moons  # noqa: E402
from neuralab.models import LogisticRegression, MLPClassifier, OneVsRest, Perceptron  # noqa: E402


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


def test_decision_boundary_marks_mistakes_and_draws_the_perceptron_line(data, mlp):
    X, y = data
    fig = viz.plot_decision_boundary(mlp, X, y, X[:20], y[:20])
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert any(lab.startswith("misclassified") for lab in labels)
    p = Perceptron(epochs=5, random_state=0).fit(X, y)
    fig = viz.plot_decision_boundary(p, X, y)
    assert "w·x + b = 0" in fig.axes[0].get_legend_handles_labels()[1]
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
    fig = viz.plot_first_layer_weights(ovr, (4, 4), titles=["0", "1", "2"])
    assert sum(1 for ax in fig.axes if ax.images) == 3
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
