"""Tests of the gradient checker itself: it must pass correct gradients and catch wrong ones."""

from __future__ import annotations

import numpy as np
import pytest

from neuralab import nn
from neuralab.gradcheck import (
    GradCheckResult,
    check_loss,
    check_module,
    numerical_gradient,
    rel_error,
    roundoff_floor,
)


def test_numerical_gradient_of_known_functions_and_restores_x() -> None:
    x = np.array([[0.3, -1.2], [2.0, 0.7]])
    before = x.copy()
    g = numerical_gradient(lambda: np.sum(np.sin(x) * x**2), x)
    np.testing.assert_allclose(g, np.cos(x) * x**2 + 2 * x * np.sin(x), rtol=1e-8)
    np.testing.assert_array_equal(x, before)


def test_rel_error_cs231n_definition() -> None:
    assert rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    assert rel_error(np.array([1.0]), np.array([3.0])) == pytest.approx(0.5)
    assert rel_error(np.array([0.0]), np.array([1e-3])) == 1.0
    # both below atol: exact (a gradient that is zero by construction)
    assert rel_error(np.array([1e-12]), np.array([-3e-11])) == 0.0
    with pytest.raises(ValueError, match="shapes"):
        rel_error(np.zeros((2, 3)), np.zeros(3))


def test_roundoff_floor_forgives_noise_but_not_errors() -> None:
    floor = roundoff_floor(1.0)
    assert 1e-9 < floor < 1e-8
    assert roundoff_floor(100.0) == pytest.approx(100 * floor)
    g = np.array([1e-5, 0.3, -2.0])
    assert rel_error(g, g + 1e-10) > 1e-6  # strict: noise on a small element looks big
    assert rel_error(g, g + 1e-10, floor=floor) == 0.0
    assert rel_error(g, g * (1 + 1e-4), floor=floor) == pytest.approx(5e-5, rel=1e-3)
    assert rel_error(g, np.array([0.0, 0.3, -2.0]), floor=floor) == 1.0


class _WrongSigmoid(nn.Sigmoid):
    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out * self._out * (1 - self._out) * (1 + 1e-4)


class _WrongLinear(nn.Linear):
    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        grad_in = super().backward(grad_out)
        self.grads["bias"] *= 0.5
        return grad_in


def test_check_module_passes_correct_and_catches_wrong_gradients() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 3))
    assert check_module(nn.Sigmoid(), x).max_error < 1e-6
    assert check_module(_WrongSigmoid(), x).max_error > 1e-5
    bad = check_module(_WrongLinear(3, 2, rng=rng, dtype=np.float64, init="uniform"), x)
    assert bad.errors["bias"] > 0.1 and bad.errors["weight"] < 1e-6
    assert "bias" in str(bad) and isinstance(bad, GradCheckResult)


def test_check_module_with_a_loss_and_check_loss() -> None:
    rng = np.random.default_rng(1)
    net = nn.Sequential(nn.Linear(3, 4, rng=rng, dtype=np.float64), nn.Tanh())
    res = check_module(net, rng.normal(size=(6, 3)), nn.SoftmaxCrossEntropy(),
                       rng.integers(0, 4, size=6))
    assert set(res.errors) == {"input", "0.weight", "0.bias"}
    assert res.max_error < 1e-6
    assert check_loss(nn.MSE(), rng.normal(size=(4, 2)), rng.normal(size=(4, 2))).max_error < 1e-6


def test_check_module_asks_a_sequential_for_its_input_gradient() -> None:
    """``Sequential.backward`` skips the input gradient unless asked; the checker asks, so a
    wrong backward in front of the first Linear layer is still caught."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(5, 3))
    good = nn.Sequential(nn.Sigmoid(), nn.Linear(3, 2, rng=rng, dtype=np.float64))
    bad = nn.Sequential(_WrongSigmoid(), nn.Linear(3, 2, rng=rng, dtype=np.float64))
    assert set(check_module(good, x).errors) == {"input", "1.weight", "1.bias"}
    assert check_module(good, x).max_error < 1e-6
    assert check_module(bad, x).errors["input"] > 1e-5
    skip = nn.Sequential(nn.Linear(3, 2, rng=rng, dtype=np.float64, input_grad=False))
    assert set(check_module(skip, x).errors) == {"0.weight", "0.bias"}


def test_check_module_leaves_parameters_untouched() -> None:
    rng = np.random.default_rng(2)
    layer = nn.Linear(3, 2, rng=rng, dtype=np.float64)
    before = layer.state_dict()
    check_module(layer, rng.normal(size=(4, 3)))
    for k, v in layer.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_check_module_refuses_a_float32_layer_by_name() -> None:
    """A default (float32) layer would report a relative error near 1 that is pure round-off:
    a student must be told to use float64, not shown a 'wrong' gradient."""
    x = np.random.default_rng(0).normal(size=(2, 2, 6, 6))
    with pytest.raises(ValueError, match=r"check_module: Conv2d has float32 .*float64"):
        check_module(nn.Conv2d(2, 3, 3, rng=0), x)
    assert check_module(nn.Conv2d(2, 3, 3, rng=0).astype(np.float64), x).max_error < 1e-6
    assert check_module(nn.ReLU(), x + 0.5).max_error < 1e-6  # no parameters: x's float64


def test_check_in_range_names_a_value_that_is_not_a_number() -> None:
    from neuralab._checks import check_in_range

    for bad in ("0.5", None, [0.5]):
        with pytest.raises(ValueError, match=r"p=.* is not allowed; it must lie in \[0, 1\)"):
            check_in_range("p", bad, 0, 1)
    assert check_in_range("p", 0.5, 0, 1) == 0.5
