"""A batch of the wrong width into ``nn.Linear`` is a ValueError naming the layer, the shape
it got and what it needs (it was NumPy's bare "shapes (4,5) and (2,3) not aligned")."""

from __future__ import annotations

import numpy as np
import pytest

from neuralab import nn


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_wrong_width_names_layer_shape_and_need(dtype):
    layer = nn.Linear(2, 3, rng=0, dtype=dtype)
    with pytest.raises(ValueError, match=r"^Linear\(2, 3, init='he'\) got input of shape "
                                         r"\(4, 5\); it needs \(B, 2\): 2 features per row$"):
        layer.forward(np.zeros((4, 5)))
    with pytest.raises(RuntimeError, match="before forward"):  # nothing half-cached
        layer.backward(np.ones((4, 3)))
    out = layer.forward(np.ones((4, 2)))  # the layer still works
    assert out.shape == (4, 3) and out.dtype == dtype


def test_inside_a_sequential_and_images_and_ensembles():
    net = nn.Sequential(nn.Linear(2, 3, rng=0), nn.ReLU(), nn.Linear(4, 2, rng=1))
    with pytest.raises(ValueError, match=r"Linear\(4, 2, init='he'\) got input of shape "
                                         r"\(5, 3\); it needs \(B, 4\)"):
        net.forward(np.zeros((5, 2)))
    with pytest.raises(ValueError, match=r"flatten each sample first \(x.reshape\(8, -1\)"):
        nn.Linear(784, 10, rng=0).forward(np.zeros((8, 1, 28, 28)))
    ens = nn.Linear(2, 3, rng=[np.random.default_rng(i) for i in range(4)])
    with pytest.raises(ValueError, match=r"it needs \(B, 2\) or \(4, B, 2\)"):
        ens.forward(np.zeros((4, 6, 5)))
