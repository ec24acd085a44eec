"""MaxPool / AvgPool 1-D and 2-D: gradient checks (float64, rel. error <= 1e-6), the tie
rule (the whole gradient of a window goes to its first maximum), padding, dtypes."""

from __future__ import annotations

import numpy as np
import pytest

from neuralab import nn
from neuralab.gradcheck import check_module

TOL = 1e-6
POOLS_2D = [  # kernel, stride, padding, input size: overlapping, odd, padded, non-square
    (2, None, 0, (6, 6)), (2, None, 0, (7, 5)), (3, 2, 1, (7, 6)),
    ((2, 3), (1, 2), (1, 0), (5, 7)), (3, 1, 0, (5, 5)),
]
POOLS_1D = [(2, None, 0, 8), (3, 2, 1, 9), (4, 1, 2, 5)]


@pytest.mark.parametrize("cls", [nn.MaxPool2d, nn.AvgPool2d])
@pytest.mark.parametrize(("k", "s", "p", "size"), POOLS_2D, ids=str)
def test_pool2d_gradients(cls, k, s, p, size) -> None:
    x = np.random.default_rng(0).normal(size=(2, 3, *size))  # no ties in random data
    res = check_module(cls(k, s, p), x)
    assert res.max_error <= TOL, res


@pytest.mark.parametrize("cls", [nn.MaxPool1d, nn.AvgPool1d])
@pytest.mark.parametrize(("k", "s", "p", "size"), POOLS_1D, ids=str)
def test_pool1d_gradients(cls, k, s, p, size) -> None:
    x = np.random.default_rng(1).normal(size=(3, 2, size))
    res = check_module(cls(k, s, p), x)
    assert res.max_error <= TOL, res


def test_maxpool_ties_send_the_gradient_to_the_first_maximum() -> None:
    x = np.array([[[[1.0, 5.0, 2.0, 2.0],
                    [5.0, 0.0, 2.0, 2.0]]]])
    pool = nn.MaxPool2d(2)
    np.testing.assert_array_equal(pool.forward(x), [[[[5.0, 2.0]]]])
    g = pool.backward(np.array([[[[10.0, 7.0]]]]))
    # row-major window order: (0, 1) comes before (1, 0); (0, 2) is the first of four 2s
    np.testing.assert_array_equal(g, [[[[0, 10, 7, 0], [0, 0, 0, 0]]]])


def test_maxpool_overlapping_windows_add_their_gradients() -> None:
    x = np.array([[[0.0, 9.0, 1.0, 2.0]]])
    pool = nn.MaxPool1d(2, stride=1)
    np.testing.assert_array_equal(pool.forward(x), [[[9.0, 9.0, 2.0]]])
    np.testing.assert_array_equal(pool.backward(np.ones((1, 1, 3))), [[[0, 2, 0, 1]]])


def test_padding_never_wins_the_max_and_counts_in_the_mean() -> None:
    x = -np.ones((1, 1, 2, 2))
    assert np.all(nn.MaxPool2d(2, stride=1, padding=1).forward(x) == -1)
    avg = nn.AvgPool2d(2, stride=1, padding=1).forward(x)  # corner windows see 1 of 4 values
    assert avg[0, 0, 0, 0] == -0.25 and avg[0, 0, 1, 1] == -1.0


def test_avgpool_is_the_window_mean() -> None:
    x = np.random.default_rng(2).normal(size=(2, 3, 6, 4))
    out = nn.AvgPool2d((3, 2)).forward(x)
    ref = x.reshape(2, 3, 2, 3, 2, 2).mean(axis=(3, 5))
    np.testing.assert_allclose(out, ref, rtol=1e-13)


@pytest.mark.parametrize("cls", [nn.MaxPool2d, nn.AvgPool2d])
def test_pools_keep_a_float_dtype_and_turn_ints_into_float64(cls) -> None:
    x32 = np.ones((1, 2, 4, 4), np.float32)
    pool = cls(2)
    assert pool.forward(x32).dtype == np.float32
    assert pool.backward(np.ones((1, 2, 2, 2), np.float32)).dtype == np.float32
    assert pool.forward(np.ones((1, 2, 4, 4), int)).dtype == np.float64


def test_repr() -> None:
    assert repr(nn.MaxPool2d(2)) == "MaxPool2d(kernel_size=2)"
    assert repr(nn.AvgPool1d(3, 2, 1)) == "AvgPool1d(kernel_size=3, stride=2, padding=1)"
