"""Issue 11's bad-input bar tried as a user coming from Keras would: channels-last input to
a convolution or BatchNorm2d is named, with the transpose that fixes it."""

from __future__ import annotations

import numpy as np
import pytest

from neuralab import nn


@pytest.mark.parametrize(("layer", "shape", "fix"), [
    (nn.Conv2d(1, 6, 5), (4, 28, 28, 1), "x.transpose(0, 3, 1, 2)"),
    (nn.Conv2d(3, 6, 5), (4, 32, 32, 3), "x.transpose(0, 3, 1, 2)"),
    (nn.Conv1d(3, 6, 5), (4, 40, 3), "x.transpose(0, 2, 1)"),
    (nn.BatchNorm2d(3), (4, 8, 8, 3), "x.transpose(0, 3, 1, 2)"),
])
def test_channels_last_input_is_named_with_its_transpose(layer, shape, fix):
    with pytest.raises(ValueError) as info:
        layer.forward(np.zeros(shape))
    msg = str(info.value)
    assert msg.startswith(f"{layer!r} got input of shape {shape}; it needs ")
    assert msg.endswith(f"(channels last? move them first: {fix})")
    # and the transpose it names is what the layer takes
    axes = tuple(int(a) for a in fix[len("x.transpose("):-1].split(", "))
    assert layer.forward(np.zeros(shape).transpose(axes)).shape[0] == shape[0]


def test_a_wrong_channel_count_that_is_not_channels_last_has_no_such_hint():
    with pytest.raises(ValueError) as info:
        nn.Conv2d(3, 6, 5).forward(np.zeros((4, 5, 28, 28)))
    assert str(info.value).endswith("it needs (B, C, H, W) with C = 3")
