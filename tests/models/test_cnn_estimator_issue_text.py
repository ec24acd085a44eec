"""Issue 11 tried from its text as a user would: the errors and hints a CNNClassifier or a
layer list gives for inputs that do not fit (images to a 1-D layer, channels-last images,
a named architecture too large for the data), and the feature maps of one input."""

from __future__ import annotations

import warnings

import matplotlib
import numpy as np
import pytest

from neuralab import data, nn
from neuralab.models import CNNClassifier
from neuralab.models.cnn import check_layers, fit_hint, layer_shapes
from neuralab.viz.cnn import feature_maps, plot_feature_maps

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def digits():
    return data.load_digits(flatten=False)  # X (1797, 1, 8, 8)


@pytest.mark.parametrize(("spec", "shape", "hint"), [
    ({"type": "conv1d", "out": 2, "kernel": 3}, (1, 8, 8), "(images: conv2d takes them)"),
    ({"type": "avgpool1d", "kernel": 2}, (1, 8, 8), "(images: avgpool2d takes them)"),
    ({"type": "conv2d", "out": 2, "kernel": 3}, (1, 40), "(signals: conv1d takes them)"),
    ({"type": "batchnorm2d"}, (1, 40), "(signals, which batchnorm2d does not take)"),
])
def test_a_layer_of_the_other_dimension_is_named_not_called_flat(spec, shape, hint):
    """A conv1d given 1×8×8 images was told "(flat features after a flatten or a linear
    layer?)": there was no flatten, and the features were not flat."""
    with pytest.raises(ValueError) as info:
        layer_shapes(check_layers([spec]), shape)
    assert str(info.value).endswith(hint)
    assert "flat features" not in str(info.value)


def test_flat_features_to_a_convolution_still_suggest_the_flatten():
    with pytest.raises(ValueError, match=r"it gets 64 \(flat features after a flatten"):
        layer_shapes(check_layers([{"type": "flatten"},
                                   {"type": "conv2d", "out": 2, "kernel": 3}]), (1, 8, 8))


def test_the_fit_hint_names_the_architectures_that_fit_and_channels_last_images():
    """One home for the hint (the CLI's config check can use it too)."""
    assert fit_hint("lenet5", (1, 8, 8)) == ("; the architectures that fit 1×8×8 inputs: "
                                             "'onelayer_cnn'")
    assert "channels-last" in fit_hint("lenet5", (28, 28, 1))
    assert fit_hint([{"type": "conv2d", "out": 2, "kernel": 9}], (1, 8, 8)) == ""


def test_channels_last_images_are_named_when_they_do_not_fit(digits):
    X = digits.X.transpose(0, 2, 3, 1)  # (n, 8, 8, 1), as Keras gives images
    with pytest.raises(ValueError) as info, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        CNNClassifier("onelayer_cnn", epochs=1, random_state=0).fit(X, digits.y)
    assert "X.transpose(0, 3, 1, 2)" in str(info.value)
    spec = [{"type": "conv2d", "out": 4, "kernel": 3}, {"type": "maxpool2d", "kernel": 2}]
    with pytest.raises(ValueError, match=r"channels-last images.*X\.transpose\(0, 3, 1, 2\)"
                       ), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        CNNClassifier(spec, epochs=1, random_state=0).fit(X, digits.y)


def test_channels_last_images_that_a_network_can_read_warn(digits):
    """(n, 8, 8, 3) fits onelayer_cnn as 8 channels of 8×3 images: it trained silently."""
    X = np.repeat(digits.X[:100].transpose(0, 2, 3, 1), 3, axis=3)
    with pytest.warns(UserWarning, match=r"CNNClassifier: X is read channels first, but "
                      r"8×8×3 looks like channels-last"):
        CNNClassifier("onelayer_cnn", epochs=1, random_state=0).fit(X, digits.y[:100])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # channels first: no warning
        CNNClassifier("onelayer_cnn", epochs=1, random_state=0).fit(digits.X[:100],
                                                                     digits.y[:100])


@pytest.mark.parametrize("nd", [2, 1])
def test_feature_maps_of_one_input_without_its_channel_axis_or_with_a_batch_of_one(nd):
    """plot_feature_maps(net, x[0, 0]) of a one-channel network (an (H, W) image, an (L,)
    signal) failed with "got input of shape (1, 28, 28) ... add the batch axis", for an
    array the user had given as (28, 28); a batch of one was called an ensemble axis."""
    rng = np.random.default_rng(0)
    conv = nn.Conv2d(1, 3, 3, rng=rng) if nd == 2 else nn.Conv1d(1, 3, 3, rng=rng)
    net = nn.Sequential(conv, nn.ReLU(), nn.Flatten())
    x = rng.random((1,) + (9,) * nd)  # one input (C, H, W) / (C, L)
    want = feature_maps(net, x)
    for same in (x[0], x[None]):  # no channel axis; a batch of one
        got = feature_maps(net, same)
        assert [n for n, _ in got] == [n for n, _ in want]
        np.testing.assert_array_equal(got[0][1], want[0][1])
    plot_feature_maps(net, x[0])  # draws, with the input beside its maps
    with pytest.raises(ValueError, match=r"x of shape \(2, 1, 9.*is not one input of "
                       r"Conv.d\(1, 3, kernel_size=3\): give one (image|signal)"):
        feature_maps(net, np.stack([x, x]))


def test_summary_of_a_fitted_estimator_uses_its_network_and_input_shape(digits):
    """nn.summary(clf) failed with "AttributeError: 'CNNClassifier' object has no attribute
    'modules'"; nn.summary(clf.net_) with the default 28×28 sample failed inside NumPy
    ("cannot reshape array of size 784 into shape (1,1,8,8)")."""
    import io

    clf = CNNClassifier("onelayer_cnn", epochs=1, random_state=0).fit(digits.X[:100],
                                                                       digits.y[:100])
    buf = io.StringIO()
    rows = nn.summary(clf, file=buf)
    assert rows.input_shape == (1, 8, 8) and rows[1].output_shape == (16, 8, 8)
    assert rows.n_params == clf.net_.n_parameters() and buf.getvalue().startswith("input 1 × 8")
    with pytest.raises(ValueError, match=r"^Images\(1, 8, 8\) got input of shape \(1, 1, 28, "
                       r"28\); it needs \(B, 1, 8, 8\) or \(B, 64\)"):
        nn.summary(clf.net_, print_table=False)
    with pytest.raises(ValueError, match="summary: CNNClassifier is not fitted"):
        nn.summary(CNNClassifier())
    with pytest.raises(TypeError, match="summary: net=str is not allowed"):
        nn.summary("lenet5")
