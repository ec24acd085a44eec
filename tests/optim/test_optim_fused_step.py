"""``fused_backward_step`` (backward fused with the SGD update) equals ``backward(); step()``,
applies exactly where it says, and the fast paths of the loss keep its semantics."""

from __future__ import annotations

import os

import numpy as np
import pytest

from neuralab import nn, optim
from neuralab.optim.fused import (
    FUSED_MAX_ROWS,
    blas_single_threaded,
    fused_backward_step,
    fused_step_applies,
)


@pytest.fixture
def one_blas_thread():
    """Single-threaded BLAS, where fused_backward_step fuses (SciPy needed)."""
    pytest.importorskip("scipy")
    threadpoolctl = pytest.importorskip("threadpoolctl")
    import scipy.linalg.blas  # noqa: F401  (loaded before the limit is applied)

    with threadpoolctl.threadpool_limits(1):
        assert blas_single_threaded()
        yield


def test_fused_step_falls_back_with_several_blas_threads():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    import scipy.linalg.blas  # noqa: F401

    with threadpoolctl.threadpool_limits(2):
        if os.cpu_count() > 1:
            assert not blas_single_threaded()
        rng = np.random.default_rng(0)
        X, y = rng.standard_normal((20, 12)), rng.integers(0, 3, 20)
        a, b = _net(np.float64), _net(np.float64)
        sa = _train(a, optim.SGD(a, lr=0.1), X, y, 4, fused=False)
        sb = _train(b, optim.SGD(b, lr=0.1), X, y, 4, fused=True)
        for key in sa:
            np.testing.assert_allclose(sb[key], sa[key], rtol=1e-12, atol=1e-12)


def _net(dtype, seed=1, n_models=None):
    rng = np.random.default_rng(seed) if n_models is None else [
        np.random.default_rng(seed + i) for i in range(n_models)]
    return nn.Sequential(
        nn.Linear(12, 9, rng=rng, dtype=dtype, input_grad=False), nn.ReLU(),
        nn.Sequential(nn.Linear(9, 8, rng=rng, dtype=dtype), nn.Tanh()),
        nn.Linear(8, 3, rng=rng, dtype=dtype))


def _train(net, opt, X, y, batch, fused):
    loss_fn = nn.SoftmaxCrossEntropy()
    for i in range(0, len(X), batch):
        loss_fn.forward(net.forward(X[i:i + batch]), y[i:i + batch])
        if fused:
            assert fused_backward_step(net, opt, loss_fn.backward()) is None
        else:
            net.backward(loss_fn.backward())
            opt.step()
    return net.state_dict()


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 2e-6)])
@pytest.mark.parametrize("batch", [1, 7, 50])
@pytest.mark.parametrize("kwargs", [{}, {"momentum": 0.9}, {"weight_decay": 1e-3},
                                    {"momentum": 0.9, "nesterov": True}])
def test_fused_step_equals_backward_then_step(dtype, tol, batch, kwargs, one_blas_thread):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((50, 12)).astype(dtype), rng.integers(0, 3, 50)
    a, b = _net(dtype), _net(dtype)
    oa, ob = optim.SGD(a, lr=0.1, **kwargs), optim.SGD(b, lr=0.1, **kwargs)
    sa = _train(a, oa, X, y, batch, fused=False)
    sb = _train(b, ob, X, y, batch, fused=True)
    for key in sa:
        np.testing.assert_allclose(sb[key], sa[key], rtol=tol, atol=tol, err_msg=key)
    assert oa.steps == ob.steps
    # momentum buffers live under the same names (plain SGD keeps no state at all)
    assert {k for k, v in oa.state.items() if v} == {k for k, v in ob.state.items() if v}


@pytest.mark.parametrize("lr", [0.1, np.array([0.1, 0.05, 0.2])], ids=["scalar", "per-member"])
def test_fused_step_on_an_ensemble_takes_the_reference_arithmetic(lr, one_blas_thread):
    """Stacked (E, in, out) weights are never fused: member i keeps equalling its twin."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((20, 12)), rng.integers(0, 3, 20)
    a, b = _net(np.float64, n_models=3), _net(np.float64, n_models=3)
    sa = _train(a, optim.SGD(a, lr=lr), X, y, 5, fused=False)
    sb = _train(b, optim.SGD(b, lr=lr), X, y, 5, fused=True)
    for key in sa:
        np.testing.assert_array_equal(sb[key], sa[key], err_msg=key)


def _linear_pair(input_grad=True):
    def make():
        return nn.Sequential(nn.Linear(5, 3, rng=np.random.default_rng(2), dtype=np.float64,
                                       input_grad=input_grad), nn.Tanh(),
                             nn.Linear(3, 2, rng=np.random.default_rng(3), dtype=np.float64))
    return make(), make()


def test_fused_step_never_computes_the_first_layers_input_gradient(one_blas_thread,
                                                                   monkeypatch):
    """At the top level nobody needs the gradient w.r.t. the data, even where the first
    Linear was built with input_grad=True (the library default): no product with W0ᵀ."""
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((4, 5)), rng.integers(0, 2, 4)
    net_a, net_b = _linear_pair(input_grad=True)
    loss_a, loss_b = nn.SoftmaxCrossEntropy(), nn.SoftmaxCrossEntropy()
    loss_a.forward(net_a.forward(x), y)
    net_a.backward(loss_a.backward())
    optim.SGD(net_a, lr=0.1).step()
    loss_b.forward(net_b.forward(x), y)
    W0_shape = net_b[0].params["weight"].T.shape
    products = []
    real_dot = np.dot

    def spy(a, b, *args, **kw):
        products.append(np.shape(b))
        return real_dot(a, b, *args, **kw)

    monkeypatch.setattr(np, "dot", spy)
    assert fused_backward_step(net_b, optim.SGD(net_b, lr=0.1), loss_b.backward()) is None
    monkeypatch.undo()
    assert products and W0_shape not in products  # the second layer's input gradient only
    for key, value in net_a.state_dict().items():
        np.testing.assert_allclose(net_b.state_dict()[key], value, rtol=1e-12, err_msg=key)


def test_fused_step_returns_the_input_gradient_when_the_network_asks(one_blas_thread):
    """As ``net.backward``: ``Sequential(..., input_grad=True)`` gets d loss / d input, with
    the old weights, and a parameter-free first layer is walked through."""
    rng = np.random.default_rng(0)
    x, g = rng.standard_normal((4, 5)), rng.standard_normal((4, 2))

    def make():
        return nn.Sequential(nn.Tanh(), nn.Linear(5, 3, rng=np.random.default_rng(2),
                                                  dtype=np.float64),
                             nn.ReLU(), nn.Linear(3, 2, rng=np.random.default_rng(3),
                                                  dtype=np.float64), input_grad=True)

    a, b = make(), make()
    a.forward(x)
    b.forward(x)
    expected = a.backward(g)
    optim.SGD(a, lr=0.1).step()
    got = fused_backward_step(b, optim.SGD(b, lr=0.1), g)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    for key, value in a.state_dict().items():
        np.testing.assert_allclose(b.state_dict()[key], value, rtol=1e-12, err_msg=key)


def test_fused_step_rejects_a_middle_layer_without_input_gradient(one_blas_thread):
    net = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2, input_grad=False))
    net.forward(np.ones((2, 4), np.float32))
    with pytest.raises(ValueError, match="layer 2 computes no input gradient"):
        fused_backward_step(net, optim.SGD(net, lr=0.1), np.ones((2, 2), np.float32))


class _MySGD(optim.SGD):
    pass


@pytest.mark.parametrize("make, applies", [
    (lambda net: optim.SGD(net, lr=0.1), True),
    (lambda net: optim.SGD(net), True),
    (lambda net: optim.SGD(net, lr=0.1, momentum=0.9), False),
    (lambda net: optim.SGD(net, lr=0.1, weight_decay=1e-4), False),
    (lambda net: optim.SGD(net, lr=np.array([0.1, 0.2])), False),  # per-member lr
    (lambda net: optim.Adam(net), False),
    (lambda net: _MySGD(net, lr=0.1), False),  # a subclass may change update()
], ids=["sgd", "sgd-default", "momentum", "weight-decay", "per-member-lr", "adam", "subclass"])
def test_fused_step_applies_to_plain_sgd_only(make, applies, monkeypatch):
    opt = make(nn.Sequential(nn.Linear(3, 2)))
    assert fused_step_applies(opt) is applies
    monkeypatch.setenv("NEURALAB_FUSED", "0")
    assert fused_step_applies(opt) is False


def test_fused_step_falls_back_exactly_where_it_does_not_apply(one_blas_thread):
    """Momentum (not plain SGD): bit for bit the two-call form, and one optimizer step."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((20, 12)), rng.integers(0, 3, 20)
    a, b = _net(np.float64), _net(np.float64)
    oa, ob = optim.SGD(a, lr=0.1, momentum=0.9), optim.SGD(b, lr=0.1, momentum=0.9)
    sa = _train(a, oa, X, y, 5, fused=False)
    sb = _train(b, ob, X, y, 5, fused=True)
    for key in sa:
        np.testing.assert_array_equal(sb[key], sa[key], err_msg=key)
    assert ob.steps == oa.steps == 4


def test_cross_entropy_rejects_out_of_range_labels():
    with pytest.raises(ValueError, match=r"target labels must be in \[0, 4\)"):
        nn.SoftmaxCrossEntropy().forward(np.zeros((3, 4)), np.array([0, 1, 4]))


@pytest.mark.parametrize("shape", [(3, 5), (300, 10), (4, 200, 2)])
def test_cross_entropy_fast_reductions_match_reference(shape):
    rng = np.random.default_rng(0)
    z = rng.standard_normal(shape) * 10
    y = rng.integers(0, shape[-1], shape[-2])
    loss_fn = nn.SoftmaxCrossEntropy()
    loss, grad = loss_fn.forward(z, y), loss_fn.backward()
    logp = z - z.max(-1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(-1, keepdims=True))
    idx = np.broadcast_to(y, shape[:-1])[..., None]
    np.testing.assert_allclose(loss, -np.take_along_axis(logp, idx, -1)[..., 0].mean(-1),
                               rtol=1e-12)
    onehot = (np.arange(shape[-1]) == idx).astype(float)
    np.testing.assert_allclose(grad, (np.exp(logp) - onehot) / shape[-2], rtol=1e-10,
                               atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("classes", [2, 10, 100])
def test_cross_entropy_one_sample_path_equals_general_path_bit_for_bit(dtype, classes):
    """Batch 1 has its own short code; it must do the very same float operations."""
    rng = np.random.default_rng(classes)
    for scale in (0.1, 5.0, 80.0):
        z = (rng.standard_normal((1, classes)) * scale).astype(dtype)
        y = rng.integers(0, classes, 1)
        one, general = nn.SoftmaxCrossEntropy(), nn.SoftmaxCrossEntropy()
        loss = one.forward(z, y)
        grad = one.backward()
        # the same sample as an "ensemble" of one member takes the general code
        loss_g = general.forward(z[None], y[None])
        grad_g = general.backward()
        assert one._one is not None and general._one is None
        assert loss == float(loss_g[0])
        np.testing.assert_array_equal(grad, grad_g[0])
        assert grad.shape == z.shape and grad.dtype == z.dtype


def test_cross_entropy_one_sample_rejects_out_of_range_label_then_general_path_works():
    loss_fn = nn.SoftmaxCrossEntropy()
    with pytest.raises(ValueError, match=r"target labels must be in \[0, 4\)"):
        loss_fn.forward(np.zeros((1, 4)), np.array([4]))
    loss_fn.forward(np.zeros((2, 4)), np.array([1, 2]))  # a later batch of 2: general path
    np.testing.assert_allclose(loss_fn.backward().sum(axis=1), 0, atol=1e-15)


def test_fused_step_large_batch_takes_the_reference_arithmetic(one_blas_thread):
    """Above FUSED_MAX_ROWS rows the fused gemm no longer pays: bit-for-bit the two-call form."""
    rng = np.random.default_rng(0)
    n = FUSED_MAX_ROWS + 1
    X, y = rng.standard_normal((n, 12)).astype(np.float32), rng.integers(0, 3, n)
    a, b = _net(np.float32), _net(np.float32)
    sa = _train(a, optim.SGD(a, lr=0.1), X, y, n, fused=False)
    sb = _train(b, optim.SGD(b, lr=0.1), X, y, n, fused=True)
    for key in sa:
        np.testing.assert_array_equal(sb[key], sa[key], err_msg=key)


def test_one_list_of_blas_libraries_holds_numpys_and_scipys():
    """The thread pool's one-thread sections and the fused step read the same libraries:
    inside ``single_blas`` both OpenBLAS copies run one thread, so the fused step applies."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from neuralab.nn._threads import blas_libs, single_blas

    paths = [lib.filepath for lib in blas_libs()]
    assert any("scipy.libs" in p or "scipy" in os.path.dirname(p) for p in paths), paths
    assert len(paths) >= 2, paths  # NumPy's wheel bundles its own
    with threadpoolctl.threadpool_limits(2):
        before = [lib.num_threads for lib in blas_libs()]
        with single_blas():
            assert blas_single_threaded()
        assert [lib.num_threads for lib in blas_libs()] == before  # put back
