"""Inside a CNN: first-layer filters and one input's feature maps; the report's layer table."""

from __future__ import annotations

import numpy as np
import pytest

from neuralab import nn, viz
from neuralab.report.build import _network_rows
from neuralab.viz.cnn import conv_filters, feature_maps


@pytest.fixture(scope="module")
def net():
    rng = np.random.default_rng(0)
    return nn.Sequential(nn.Conv2d(1, 4, kernel_size=3, padding=1, rng=rng), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Conv2d(4, 6, kernel_size=3, rng=rng), nn.ReLU(),
                         nn.Flatten(), nn.Linear(6 * 2 * 2, 3, rng=rng))


def test_filters_are_the_first_convolutions_kernels(net):
    W = conv_filters(net)
    np.testing.assert_array_equal(W, net[0].params["weight"])
    fig = viz.plot_conv_filters(net)
    assert "3×3" in fig._suptitle.get_text()


def test_feature_maps_follow_each_convolution_and_its_activation(net):
    x = np.random.default_rng(1).random((1, 8, 8))  # float64, one image (C, H, W)
    maps = feature_maps(net, x)
    assert [name for name, _ in maps] == ["0: Conv2d + ReLU", "3: Conv2d + ReLU"]
    assert maps[0][1].shape == (4, 8, 8) and maps[1][1].shape == (6, 2, 2)
    expected = np.maximum(net[0].forward(x[None].astype(np.float32)), 0)[0]
    np.testing.assert_allclose(maps[0][1], expected, rtol=1e-6)
    assert viz.plot_feature_maps(net, x, layer=1) is not None
    with pytest.raises(ValueError, match="layer=2 is not allowed; this network has 2"):
        viz.plot_feature_maps(net, x, layer=2)


def test_a_network_without_convolutions_is_refused():
    dense = nn.Sequential(nn.Linear(4, 2, rng=np.random.default_rng(0)))
    with pytest.raises(ValueError, match="no Conv2d or Conv1d"):
        conv_filters(dense)


def test_the_reports_layer_table_shows_only_well_formed_rows():
    good = [{"layer": "Conv2d(1, 6)", "output_shape": [6, 28, 28], "parameters": 156}]
    assert _network_rows(good) == [["Conv2d(1, 6)", "6 × 28 × 28", 156]]
    for hostile in ("x", [1], [{"layer": 1}], [{"layer": "a", "output_shape": "no",
                                                "parameters": 1}], [{}] * 2000):
        assert _network_rows(hostile) == []


def test_feature_maps_figure_shows_the_input_first_and_its_class(net):
    """The input the maps are of comes first (when it has their size), and the title names
    its class; a later layer's smaller maps leave it out."""
    x = np.random.default_rng(2).random((1, 8, 8))
    fig = viz.plot_feature_maps(net, x, label="7")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts[:2] == ["input", "map 0"] and len(texts) == 5
    assert fig._suptitle.get_text() == ("feature maps of one input (class 7) after layer "
                                        "0: Conv2d + ReLU")
    later = viz.plot_feature_maps(net, x, layer=1)
    assert later.axes[0].texts[0].get_text() == "map 0"


def test_a_1d_networks_maps_and_filters_are_one_row_per_channel():
    """Conv1d: the maps of one signal are one image, a row per channel (not 1-pixel strips
    in a mosaic, unreadable), under a line plot of the input; the filters a row each."""
    rng = np.random.default_rng(0)
    net = nn.Sequential(nn.Conv1d(1, 5, kernel_size=3, stride=2, rng=rng), nn.ReLU(),
                        nn.Flatten(), nn.Linear(5 * 19, 3, rng=rng))
    x = rng.standard_normal((1, 40))
    fig = viz.plot_feature_maps(net, x, label="2")
    signal_ax, maps_ax = fig.axes[:2]
    np.testing.assert_allclose(signal_ax.lines[0].get_ydata(), x[0])
    shown = maps_ax.images[0].get_array()
    np.testing.assert_allclose(shown, feature_maps(net, x)[0][1][:, 0], rtol=1e-6)
    assert shown.shape == (5, 19) and maps_ax.get_ylabel() == "channel"
    assert fig._suptitle.get_text() == ("feature maps of one input (class 2) after layer "
                                        "0: Conv1d + ReLU")
    filters = viz.plot_conv_filters(net)
    np.testing.assert_allclose(filters.axes[0].images[0].get_array(),
                               net[0].params["weight"][:, 0])
