"""``Sequential.backward`` computes no gradient with respect to the network's input unless
asked for (PyTorch skips it too: data does not require grad). The loop a student writes,
``net.backward(loss_fn.backward()); opt.step()``, so saves the first Linear layer's
``g @ Wᵀ`` (one GEMM per step) and gives the same parameter updates as before.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import neuralab.nn.linear as linear_module
from neuralab import nn, optim


class _CountingNumpy:
    """Stands in for ``np`` inside ``neuralab.nn.linear``: records every product."""

    def __init__(self) -> None:
        self.products: list[tuple[np.ndarray, ...]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(np, name)

    def dot(self, a: Any, b: Any, out: Any = None) -> Any:
        self.products.append((a, b))
        return np.dot(a, b, out=out)

    def matmul(self, a: Any, b: Any, out: Any = None) -> Any:
        self.products.append((a, b))
        return np.matmul(a, b, out=out)

    def with_operand(self, W: np.ndarray) -> int:
        """How many products read ``W`` (``x @ W`` forward, ``g @ Wᵀ`` input gradient)."""
        return sum(any(np.shares_memory(op, W) for op in ops) for ops in self.products)


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> _CountingNumpy:
    spy = _CountingNumpy()
    monkeypatch.setattr(linear_module, "np", spy)
    return spy


def _net(**kwargs: Any) -> nn.Sequential:
    return nn.Sequential(nn.Linear(5, 8, rng=0), nn.ReLU(), nn.Linear(8, 3, rng=1), **kwargs)


def _batch(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(16, 5)), rng.integers(0, 3, size=16)


def test_the_natural_loop_skips_the_first_layers_input_gradient(
        counting: _CountingNumpy) -> None:
    net, lf = _net(), nn.SoftmaxCrossEntropy()
    X, y = _batch()
    lf.forward(net.forward(X), y)
    counting.products.clear()
    assert net.backward(lf.backward()) is None
    W0, W2 = net[0].params["weight"], net[2].params["weight"]
    assert counting.with_operand(W0) == 0  # no g @ W0ᵀ
    assert counting.with_operand(W2) == 1  # the second layer still passes its gradient back
    assert len(counting.products) == 5  # dW0, db0, dW2, db2, and g @ W2ᵀ
    counting.products.clear()
    grad_in = net.backward(lf.backward(), input_grad=True)
    assert counting.with_operand(W0) == 1 and grad_in.shape == X.shape


def test_the_same_parameter_updates_with_and_without_the_input_gradient() -> None:
    """Bit for bit: skipping the input gradient changes no parameter gradient."""
    X, y = _batch(1)
    nets = [_net(), _net(input_grad=True)]
    opts = [optim.SGD(n, lr=0.1, momentum=0.9) for n in nets]
    lf = nn.SoftmaxCrossEntropy()
    for step in range(20):
        rows = slice(step % 4, None)
        for net, opt in zip(nets, opts, strict=True):
            lf.forward(net.forward(X[rows]), y[rows])
            net.backward(lf.backward())
            opt.step()
    for a, b in zip(nets[0].named_parameters(), nets[1].named_parameters(), strict=True):
        np.testing.assert_array_equal(a[1], b[1], err_msg=a[0])
        np.testing.assert_array_equal(a[2], b[2], err_msg=a[0])


def test_asking_for_the_input_gradient() -> None:
    """Per call (``input_grad=True``) or for every call (``Sequential(input_grad=True)``);
    the result is the chain rule through every layer."""
    X, y = _batch(2)
    lf = nn.SoftmaxCrossEntropy()
    per_call, flagged = _net(), _net(input_grad=True)
    lf.forward(per_call.forward(X), y)
    g = lf.backward()
    by_hand = per_call[0].backward(per_call[1].backward(per_call[2].backward(g)))
    a = per_call.backward(g, input_grad=True)
    flagged.forward(X)
    b = flagged.backward(g)
    assert a.dtype == np.float32
    np.testing.assert_array_equal(a, by_hand)
    np.testing.assert_array_equal(b, by_hand)
    assert flagged.backward(g, input_grad=False) is None  # the call overrides the flag


def test_a_single_layer_keeps_returning_its_input_gradient() -> None:
    layer = nn.Linear(5, 3, rng=0)
    x = _batch()[0]
    out = layer.forward(x)
    grad_in = layer.backward(np.ones_like(out))
    np.testing.assert_allclose(grad_in, np.ones((16, 3)) @ layer.params["weight"].T, rtol=1e-6)
    skip = nn.Linear(5, 3, rng=0, input_grad=False)
    skip.forward(x)
    assert skip.backward(np.ones_like(out)) is None  # estimators build their first layer so


def _flat_and_nested(first: bool) -> tuple[nn.Sequential, nn.Sequential]:
    flat = nn.Sequential(nn.Linear(5, 8, rng=0), nn.Tanh(), nn.Linear(8, 6, rng=1), nn.ReLU(),
                         nn.Linear(6, 3, rng=2))
    if first:
        nested = nn.Sequential(nn.Sequential(nn.Linear(5, 8, rng=0), nn.Tanh()),
                               nn.Linear(8, 6, rng=1), nn.ReLU(), nn.Linear(6, 3, rng=2))
    else:
        nested = nn.Sequential(nn.Linear(5, 8, rng=0), nn.Tanh(),
                               nn.Sequential(nn.Linear(8, 6, rng=1), nn.ReLU()),
                               nn.Linear(6, 3, rng=2))
    return flat, nested


@pytest.mark.parametrize("first", [True, False], ids=["nested-first", "nested-middle"])
def test_a_nested_sequential_gets_what_it_needs(first: bool, counting: _CountingNumpy) -> None:
    """In the middle it hands back its input gradient; first, it skips it too."""
    flat, nested = _flat_and_nested(first)
    X, y = _batch(3)
    lf = nn.SoftmaxCrossEntropy()
    grads = []
    for net in (flat, nested):
        lf.forward(net.forward(X), y)
        counting.products.clear()
        assert net.backward(lf.backward()) is None
        first_W = next(net.named_parameters())[1]
        assert counting.with_operand(first_W) == 0
        grads.append([g.copy() for _, _, g in net.named_parameters()])
    for a, b in zip(*grads, strict=True):
        np.testing.assert_array_equal(a, b)


def test_layers_before_the_first_trainable_layer_are_not_run_backward() -> None:
    calls = []

    class Spy(nn.Identity):
        def backward(self, grad_out: np.ndarray) -> np.ndarray:
            calls.append(grad_out.shape)
            return grad_out

    net = nn.Sequential(Spy(), nn.Dropout(0.5, rng=0), nn.Linear(5, 3, rng=0), Spy())
    lf = nn.MSE()
    X = _batch()[0]
    lf.forward(net.forward(X), np.zeros((16, 3)))
    assert net.backward(lf.backward()) is None
    assert calls == [(16, 3)]  # the last Spy only
    assert np.any(net[2].grads["weight"] != 0)
    grad_in = net.backward(lf.backward(), input_grad=True)
    assert calls == [(16, 3), (16, 3), (16, 5)] and grad_in.shape == X.shape


def test_a_network_without_parameters() -> None:
    net = nn.Sequential(nn.ReLU(), nn.Tanh())
    x = np.array([[-1.0, 0.5]])
    net.forward(x)
    assert net.backward(np.ones((1, 2))) is None
    np.testing.assert_allclose(net.backward(np.ones((1, 2)), input_grad=True),
                               [[0.0, 1 - np.tanh(0.5) ** 2]])
    empty = nn.Sequential()
    assert empty.backward(np.ones(2)) is None
    np.testing.assert_array_equal(empty.backward(np.ones(2), input_grad=True), np.ones(2))


def test_a_linear_subclass_with_its_own_backward_is_respected_first() -> None:
    """A student's Linear subclass overriding ``backward`` is called even as the first layer
    (where the built-in one would compute its parameter gradients only)."""

    class HalfBias(nn.Linear):
        def backward(self, grad_out: np.ndarray) -> np.ndarray | None:
            grad_in = super().backward(grad_out)
            self.grads["bias"] *= 0.5
            return grad_in

    net = nn.Sequential(HalfBias(5, 3, rng=0), nn.Tanh())
    ref = nn.Sequential(nn.Linear(5, 3, rng=0), nn.Tanh())
    X = _batch()[0]
    for n in (net, ref):
        n.forward(X)
        n.backward(np.ones((16, 3)))
    np.testing.assert_array_equal(net[0].grads["bias"], 0.5 * ref[0].grads["bias"])


def test_skipping_the_input_gradient_in_the_middle_is_an_error() -> None:
    net = nn.Sequential(nn.Linear(5, 4, rng=0), nn.ReLU(),
                        nn.Linear(4, 3, rng=1, input_grad=False))
    net.forward(_batch()[0])
    with pytest.raises(ValueError, match=r"layer 2 \(Linear\) computes no input gradient"):
        net.backward(np.ones((16, 3)))
    first_only = nn.Sequential(nn.Linear(5, 4, rng=0, input_grad=False), nn.ReLU())
    first_only.forward(_batch()[0])
    assert first_only.backward(np.ones((16, 4)), input_grad=True) is None
