"""The dtype rule (docs/engine.md, "dtypes"), tried as a student would: NumPy's float64 arrays
and integer data into the default float32 network, float32 data into a float64 network.

- a layer with parameters computes in its parameters' dtype and casts its input;
- a layer without parameters keeps a float input's dtype, integers become float64;
- a loss takes predictions of any float dtype and int/float/bool targets and returns its
  gradient in the predictions' dtype;
- ``layer.params[key] = value`` keeps the key's shape and the layer's dtype, or says why not.

Optimizers are used only through their public API (``opt.step()`` after ``net.backward``).
"""

from __future__ import annotations

import copy
import gc
import pickle
import re
import weakref
from collections.abc import Callable

import numpy as np
import pytest

from neuralab import nn, optim

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
# (data dtype, network dtype): what a student mixes up
MIXES = [(F64, F32), (F32, F64), (np.dtype(np.int64), F32), (np.dtype(np.int64), F64),
         (np.dtype(np.uint8), F32)]
MIX_IDS = [f"{d.name}-into-{n.name}" for d, n in MIXES]


def _data(dtype: np.dtype, shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if dtype.kind == "f":
        return rng.normal(size=shape).astype(dtype)
    return rng.integers(0, 4, size=shape).astype(dtype)  # pixel-like small integers


def _compute_dtype(data: np.dtype, net: np.dtype, has_params: bool) -> np.dtype:
    if has_params:
        return net
    return data if data.kind == "f" else F64


# -- the issue's snippet ----------------------------------------------------------------------
def test_the_issue_snippet_runs_with_numpy_float64_data() -> None:
    rng = np.random.default_rng(0)
    net = nn.Sequential(nn.Linear(2, 4, rng=rng), nn.ReLU(), nn.Linear(4, 2, rng=rng))
    X = rng.normal(size=(5, 2))
    y = np.array([0, 1, 0, 1, 1])
    lf = nn.SoftmaxCrossEntropy()
    out = net.forward(X)
    first = lf.forward(out, y)
    assert out.dtype == F32 and X.dtype == F64  # the caller's data is not converted in place
    assert net.backward(lf.backward()) is None  # no input gradient unless asked for
    for _, p, g in net.named_parameters():
        assert p.dtype == g.dtype == F32 and np.isfinite(g).all() and np.any(g != 0)
    opt = optim.SGD(net, lr=0.5)
    for _ in range(30):
        loss = lf.forward(net.forward(X), y)
        net.backward(lf.backward())
        opt.step()
    assert loss < 0.5 * first


# -- every layer ---------------------------------------------------------------------------
def _bn_ensemble(dtype: np.dtype) -> nn.Module:
    return nn.BatchNorm1d(3, n_models=2, dtype=dtype)


# name -> (factory(dtype, seed), input shape, has parameters)
LAYERS: dict[str, tuple[Callable[[np.dtype, int], nn.Module], tuple[int, ...], bool]] = {
    "Linear": (lambda dt, s: nn.Linear(3, 4, rng=s, dtype=dt), (5, 3), True),
    "Linear-nobias": (lambda dt, s: nn.Linear(3, 4, rng=s, dtype=dt, bias=False), (5, 3), True),
    "Linear-ensemble": (lambda dt, s: nn.Linear(3, 4, rng=[s, s + 1], dtype=dt), (2, 5, 3),
                        True),
    "Linear-ensemble-shared-batch": (lambda dt, s: nn.Linear(3, 4, rng=[s, s + 1], dtype=dt),
                                     (5, 3), True),
    "ReLU": (lambda dt, s: nn.ReLU(), (5, 3), False),
    "LeakyReLU": (lambda dt, s: nn.LeakyReLU(0.1), (5, 3), False),
    "Sigmoid": (lambda dt, s: nn.Sigmoid(), (5, 3), False),
    "Tanh": (lambda dt, s: nn.Tanh(), (5, 3), False),
    "Softmax": (lambda dt, s: nn.Softmax(), (5, 3), False),
    "Identity": (lambda dt, s: nn.Identity(), (5, 3), False),
    "Dropout": (lambda dt, s: nn.Dropout(0.3, rng=s), (5, 3), False),
    "Dropout-ensemble": (lambda dt, s: nn.Dropout(0.3, rng=[s, s + 1]), (2, 5, 3), False),
    "BatchNorm1d": (lambda dt, s: nn.BatchNorm1d(3, dtype=dt), (5, 3), True),
    "BatchNorm1d-ensemble": (lambda dt, s: _bn_ensemble(dt), (2, 5, 3), True),
    "Sequential": (lambda dt, s: nn.Sequential(
        nn.Linear(3, 6, rng=s, dtype=dt), nn.BatchNorm1d(6, dtype=dt), nn.LeakyReLU(),
        nn.Dropout(0.2, rng=s), nn.Linear(6, 2, rng=s + 1, dtype=dt), nn.Tanh(),
        input_grad=True), (5, 3), True),
}


def _run(layer: nn.Module, x: np.ndarray, g_seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    out = layer.forward(x)
    upstream = np.random.default_rng(g_seed).normal(size=out.shape).astype(out.dtype)
    return out, layer.backward(upstream)


@pytest.mark.parametrize("name", sorted(LAYERS))
@pytest.mark.parametrize("data_dtype, net_dtype", MIXES, ids=MIX_IDS)
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_every_layer_takes_any_real_input(name: str, data_dtype: np.dtype,
                                          net_dtype: np.dtype, training: bool) -> None:
    """Output and gradients come in the computing dtype, and equal those of the same layer
    fed data already cast to that dtype (the cast is the only thing that happens)."""
    make, shape, has_params = LAYERS[name]
    want = _compute_dtype(data_dtype, net_dtype, has_params)
    layer, twin = make(net_dtype, 3).train(training), make(net_dtype, 3).train(training)
    x = _data(data_dtype, shape)
    before = x.copy()
    out, grad_in = _run(layer, x)
    ref_out, ref_grad_in = _run(twin, x.astype(want))
    np.testing.assert_array_equal(x, before)
    assert out.dtype == want and grad_in.dtype == want and grad_in.shape == x.shape
    np.testing.assert_array_equal(out, ref_out)
    np.testing.assert_array_equal(grad_in, ref_grad_in)
    for (pname, p, g), (_, _, ref_g) in zip(layer.named_parameters(), twin.named_parameters(),
                                            strict=True):
        assert p.dtype == g.dtype == net_dtype, pname
        np.testing.assert_array_equal(g, ref_g)
    for (bname, b), (_, ref_b) in zip(layer.named_buffers(), twin.named_buffers(), strict=True):
        assert b.dtype == net_dtype, bname
        np.testing.assert_array_equal(b, ref_b)


@pytest.mark.parametrize("name", ["Linear", "Linear-ensemble", "BatchNorm1d"])
def test_a_layer_with_parameters_casts_the_upstream_gradient(name: str) -> None:
    make, shape, _ = LAYERS[name]
    layer, twin = make(F32, 0), make(F32, 0)
    x = _data(F32, shape)
    out, twin_out = layer.forward(x), twin.forward(x)
    g64 = np.random.default_rng(1).normal(size=out.shape)
    grad_in, ref = layer.backward(g64), twin.backward(g64.astype(F32))
    assert grad_in.dtype == F32
    np.testing.assert_array_equal(grad_in, ref)
    np.testing.assert_array_equal(out, twin_out)


def test_lists_and_bools_are_data_too() -> None:
    layer = nn.Linear(2, 3, rng=0)
    np.testing.assert_array_equal(layer.forward([[1, 0], [0, 1]]),
                                  layer.forward(np.eye(2, dtype=np.float32)))
    assert nn.ReLU().forward(np.array([[True, False]])).dtype == F64


@pytest.mark.parametrize("bad, pattern", [
    (np.ones((2, 2)) * 1j, r"Linear\(2, 3.*complex128; real numbers"),
    (np.array([["a", "b"]]), r"Linear\(2, 3.*dtype <U1; real numbers"),
    ([[1.0, 2.0], [3.0]], r"Linear\(2, 3.*not an array of numbers"),
])
def test_input_that_is_not_real_numbers_is_refused(bad: object, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        nn.Linear(2, 3, rng=0).forward(bad)


@pytest.mark.parametrize("layer", [nn.ReLU(), nn.Tanh(), nn.Dropout(0.5, rng=0)], ids=repr)
def test_complex_input_into_a_parameter_free_layer_is_refused(layer: nn.Module) -> None:
    with pytest.raises(ValueError, match=r"complex128; real numbers"):
        layer.forward(np.ones((2, 2)) * 1j)


def test_float16_input_keeps_its_dtype_in_parameter_free_layers() -> None:
    x = _data(np.dtype(np.float16), (4, 3))
    for layer in (nn.ReLU(), nn.Tanh(), nn.Sigmoid(), nn.Identity(), nn.Dropout(0.5, rng=0)):
        assert layer.forward(x).dtype == np.float16, layer
    assert nn.Linear(3, 2, rng=0).forward(x).dtype == F32


@pytest.mark.parametrize("dtype", [np.int32, "int64", complex, "text"])
def test_a_layer_dtype_must_be_a_float(dtype: object) -> None:
    with pytest.raises(ValueError, match=r"dtype=.* is not allowed; use a float dtype"):
        nn.Linear(2, 3, dtype=dtype)
    with pytest.raises(ValueError, match=r"dtype=.* is not allowed; use a float dtype"):
        nn.BatchNorm1d(3, dtype=dtype)


# -- every loss ----------------------------------------------------------------------------
B = 6


def _targets(name: str, K: int) -> dict[str, np.ndarray]:
    """The targets a student may hold for each loss, keyed by a short description."""
    rng = np.random.default_rng(5)
    labels = rng.integers(0, K, size=B)
    bits = rng.integers(0, 2, size=(B, K))
    signs = 2 * rng.integers(0, 2, size=(B, K)) - 1
    return {
        "cross_entropy": {"int labels": labels, "uint8 labels": labels.astype(np.uint8),
                          "float labels": labels.astype(float),
                          "label column": labels[:, None],
                          "int one-hot": np.eye(K, dtype=int)[labels],
                          "float one-hot": np.eye(K)[labels],
                          "float32 probabilities": rng.dirichlet(np.ones(K), B).astype(F32)},
        "bce": {"int": bits, "bool": bits.astype(bool), "float": bits.astype(float),
                "float32": bits.astype(F32)},
        "mse": {"int": rng.integers(-2, 3, size=(B, K)), "float": rng.normal(size=(B, K)),
                "float32": rng.normal(size=(B, K)).astype(F32)},
        "tanh_squared": {"int": signs, "float": signs.astype(float)},
        "perceptron": {"int": signs, "float": signs.astype(float)},
        "hinge": {"int": signs, "float": signs.astype(float)},
    }[name]


LOSS_CASES = [(name, K, key) for name in sorted(nn.LOSSES)
              for K in ((1, 3) if name != "cross_entropy" else (3,))
              for key in _targets(name, K)]


def _loss(name: str, flooding: bool) -> nn.Loss:
    base = nn.LOSSES[name]()
    return nn.Flooding(base, b=0.05) if flooding else base


@pytest.mark.parametrize("name, K, key", LOSS_CASES, ids=[f"{n}-K{k}-{t}" for n, k, t in
                                                            LOSS_CASES])
@pytest.mark.parametrize("pred_dtype", [F32, F64, np.dtype(np.int64)], ids=lambda d: d.name)
@pytest.mark.parametrize("flooding", [False, True], ids=["plain", "flooding"])
def test_every_loss_takes_any_prediction_dtype_and_target(
        name: str, K: int, key: str, pred_dtype: np.dtype, flooding: bool) -> None:
    target = _targets(name, K)[key]
    pred = _data(pred_dtype, (B, K), seed=2)
    want = pred_dtype if pred_dtype.kind == "f" else F64
    fn, ref = _loss(name, flooding), _loss(name, flooding)
    value, grad = fn.forward(pred, target), fn.backward()
    ref_value = ref.forward(pred.astype(F64), np.asarray(target, F64) if key != "int labels"
                            else target)
    ref_grad = ref.backward()
    assert isinstance(value, float) and np.isfinite(value)
    assert grad.dtype == want and grad.shape == pred.shape
    tol = 1e-6 if want == F32 else 1e-12
    assert value == pytest.approx(ref_value, rel=tol, abs=tol)
    np.testing.assert_allclose(grad, ref_grad, rtol=tol, atol=tol)


@pytest.mark.parametrize("name", sorted(set(nn.LOSSES) - {"cross_entropy"}))
def test_a_target_vector_fits_a_single_output(name: str) -> None:
    """``y (B,)`` against an output ``(B, 1)``: one target per row, not a (B, B) broadcast
    (cross-entropy's label column ``(B, 1)`` is among the targets of the test above)."""
    column = _targets(name, 1)[next(iter(_targets(name, 1)))]
    y = column.ravel() if column.ndim == 2 else column
    pred = _data(F32, (B, 1), seed=3)
    a, b = nn.LOSSES[name](), nn.LOSSES[name]()
    assert a.forward(pred, y) == b.forward(pred, y.reshape(-1, 1))
    np.testing.assert_array_equal(a.backward(), b.backward())


def test_loss_errors_name_what_was_wrong() -> None:
    ce = nn.SoftmaxCrossEntropy()
    with pytest.raises(ValueError, match=r"class labels, which must be whole numbers; got 0\.5"):
        ce.forward(np.zeros((2, 3)), np.array([0.5, 1.0]))
    with pytest.raises(ValueError, match=r"MSE target of shape \(4,\) does not fit predictions"
                                         r" of shape \(3, 2\)"):
        nn.MSE().forward(np.zeros((3, 2)), np.zeros(4))


@pytest.mark.parametrize("name", sorted(nn.LOSSES))
@pytest.mark.parametrize("data_dtype, net_dtype", MIXES, ids=MIX_IDS)
def test_every_loss_trains_a_net_fed_numpy_data(name: str, data_dtype: np.dtype,
                                                net_dtype: np.dtype) -> None:
    """The snippet with every loss: the loss falls and the gradients keep the net's dtype."""
    K = 3 if name == "cross_entropy" else 1
    target = next(iter(_targets(name, K).values()))
    X = _data(data_dtype, (B, 4), seed=4)
    net = nn.Sequential(nn.Linear(4, 8, rng=0, dtype=net_dtype), nn.Tanh(),
                        nn.Linear(8, K, rng=1, dtype=net_dtype))
    lf, opt = _loss(name, False), optim.SGD(net, lr=0.1)
    losses = []
    for _ in range(20):
        losses.append(lf.forward(net.forward(X), target))
        g = lf.backward()
        assert g.dtype == net_dtype
        net.backward(g)
        opt.step()
    assert all(p.dtype == net_dtype for _, p, _ in net.named_parameters())
    assert losses[-1] < losses[0]


# -- every optimizer -------------------------------------------------------------------------
OPTIMIZERS: dict[str, Callable[[nn.Module], optim.Optimizer]] = {
    "sgd": lambda net: optim.SGD(net, lr=0.1),
    "sgd-momentum": lambda net: optim.SGD(net, lr=0.05, momentum=0.9),
    "sgd-nesterov": lambda net: optim.SGD(net, lr=0.05, momentum=0.9, nesterov=True),
    "sgd-weight_decay": lambda net: optim.SGD(net, lr=0.1, weight_decay=1e-2),
    "adam": lambda net: optim.Adam(net, lr=1e-2),
    "adam-weight_decay": lambda net: optim.Adam(net, lr=1e-2, weight_decay=1e-2),
    "rmsprop": lambda net: optim.RMSProp(net, lr=1e-2),
    "rmsprop-centered-momentum": lambda net: optim.RMSProp(net, lr=1e-3, momentum=0.5,
                                                           centered=True),
}


def test_the_optimizer_table_covers_every_optimizer() -> None:
    assert {k.split("-")[0] for k in OPTIMIZERS} == set(optim.OPTIMIZERS)


def _mlp(dtype: np.dtype) -> nn.Sequential:
    # no bias before batch norm: its gradient is round-off by construction, which Adam and
    # RMSProp would scale up to full steps (different noise in float32 and float64)
    return nn.Sequential(nn.Linear(4, 16, rng=0, dtype=dtype, bias=False),
                         nn.BatchNorm1d(16, dtype=dtype),
                         nn.ReLU(), nn.Linear(16, 3, rng=1, dtype=dtype, init="xavier"))


def _train(net: nn.Module, opt: optim.Optimizer, X: np.ndarray, y: np.ndarray,
           epochs: int = 4, steps: int = 5, schedule: bool = True) -> list[float]:
    sched = optim.StepLR(opt, step_size=2, gamma=0.5) if schedule else None
    lf, losses = nn.SoftmaxCrossEntropy(), []
    for _ in range(epochs):
        for _ in range(steps):
            losses.append(lf.forward(net.forward(X), y))
            net.backward(lf.backward())
            opt.step()
        if sched is not None:
            sched.step()
    return losses


@pytest.mark.parametrize("opt_name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("data_dtype, net_dtype", MIXES, ids=MIX_IDS)
def test_every_optimizer_trains_with_any_data_dtype(opt_name: str, data_dtype: np.dtype,
                                                    net_dtype: np.dtype) -> None:
    """Training with a schedule reduces the loss, and equals the float64 reference (a float64
    net from the same float32 weights, fed float64 data) within float32 round-off."""
    rng = np.random.default_rng(6)
    X = _data(data_dtype, (32, 4), seed=6)
    y = rng.integers(0, 3, size=32)
    net = _mlp(net_dtype)
    ref = _mlp(F32).astype(F64)  # the same starting values for every mix
    net.load_state_dict(ref.state_dict())
    losses = _train(net, OPTIMIZERS[opt_name](net), X, y)
    ref_losses = _train(ref, OPTIMIZERS[opt_name](ref), X.astype(F64), y)
    assert losses[-1] < 0.9 * losses[0]
    for _, p, g in net.named_parameters():
        assert p.dtype == g.dtype == net_dtype
    assert all(b.dtype == net_dtype for _, b in net.named_buffers())
    tol = 2e-3 if net_dtype == F32 else 1e-12
    np.testing.assert_allclose(losses, ref_losses, rtol=tol)
    for (name, p, _), (_, q, _) in zip(net.named_parameters(), ref.named_parameters(),
                                       strict=True):
        np.testing.assert_allclose(p, q, rtol=tol, atol=tol, err_msg=name)


@pytest.mark.parametrize("opt_name", sorted(OPTIMIZERS))
def test_every_optimizer_trains_an_ensemble_on_float64_data(opt_name: str) -> None:
    E = 3
    X = _data(F64, (E, 16, 4), seed=8)
    y = np.random.default_rng(9).integers(0, 3, size=(E, 16))
    net = nn.Sequential(nn.Linear(4, 8, rng=list(range(E))), nn.BatchNorm1d(8, n_models=E),
                        nn.Tanh(), nn.Linear(8, 3, rng=list(range(E, 2 * E))))
    opt, lf = OPTIMIZERS[opt_name](net), nn.SoftmaxCrossEntropy()
    first = lf.forward(net.forward(X), y)
    for _ in range(15):
        losses = lf.forward(net.forward(X), y)
        net.backward(lf.backward())
        opt.step()
    assert losses.shape == (E,) and losses.dtype == F32
    assert np.all(losses < first)


# -- replacing a parameter -----------------------------------------------------------------
def _small_net(dtype: np.dtype = F32) -> nn.Sequential:
    return nn.Sequential(nn.Linear(2, 4, rng=0, dtype=dtype), nn.ReLU(),
                         nn.Linear(4, 2, rng=1, dtype=dtype))


@pytest.mark.parametrize("value_dtype", [F64, F32, np.dtype(np.int64)], ids=lambda d: d.name)
@pytest.mark.parametrize("net_dtype", [F32, F64], ids=lambda d: d.name)
def test_a_replaced_weight_is_used_for_forward_backward_and_training(
        value_dtype: np.dtype, net_dtype: np.dtype) -> None:
    """The skeletons' ``net[0].params["weight"] = W``: stored in the layer's dtype, used by
    forward, its gradient buffer still fits, and the optimizer updates the new values."""
    rng = np.random.default_rng(10)
    W = (rng.normal(size=(2, 4)) * 3).astype(value_dtype)
    b = np.arange(4).astype(value_dtype)
    start = W.astype(net_dtype)  # a copy: a W of the net's dtype becomes the weight itself
    net, ref = _small_net(net_dtype), _small_net(net_dtype)
    net[0].params["weight"] = W
    net[0].params["bias"] = b
    ref.load_state_dict({**ref.state_dict(), "0.weight": W, "0.bias": b})
    assert net[0].params["weight"].dtype == net_dtype
    assert net[0].params["weight"].flags.c_contiguous
    np.testing.assert_array_equal(net[0].params["weight"], start)
    X, y = rng.normal(size=(8, 2)), rng.integers(0, 2, size=8)
    opts = [optim.Adam(net, lr=0.01), optim.Adam(ref, lr=0.01)]
    lf = nn.SoftmaxCrossEntropy()
    for _ in range(3):
        for model, opt in zip((net, ref), opts, strict=True):
            lf.forward(model.forward(X), y)
            model.backward(lf.backward())
            opt.step()
    for (name, p, g), (_, q, h) in zip(net.named_parameters(), ref.named_parameters(),
                                       strict=True):
        np.testing.assert_array_equal(p, q, err_msg=name)
        np.testing.assert_array_equal(g, h, err_msg=name)
    assert not np.array_equal(net[0].params["weight"], start)  # it trained


def test_a_weight_of_the_layer_dtype_is_stored_as_given() -> None:
    """As in the course skeletons, the array assigned *is* the layer's weight (no copy)."""
    layer = nn.Linear(3, 2, rng=0)
    W = np.ones((3, 2), np.float32)
    layer.params["weight"] = W
    assert layer.params["weight"] is W
    frozen = np.broadcast_to(np.float32(2.0), (3, 2))  # read-only: copied, so steps can write
    layer.params["weight"] = frozen
    assert layer.params["weight"].flags.writeable
    fortran = np.asfortranarray(np.ones((3, 2), np.float32))
    layer.params["weight"] = fortran
    assert layer.params["weight"].flags.c_contiguous


def test_replacing_during_training_keeps_the_optimizer_going() -> None:
    net, lf = _small_net(), nn.SoftmaxCrossEntropy()
    X, y = np.random.default_rng(11).normal(size=(8, 2)), np.arange(8) % 2
    for opt in (optim.SGD(net, lr=0.1, momentum=0.9), optim.Adam(net), optim.RMSProp(net)):
        for step in range(4):
            if step == 2:
                net[2].params["weight"] = np.zeros((4, 2))
            lf.forward(net.forward(X), y)
            net.backward(lf.backward())
            opt.step()
        assert net[2].params["weight"].dtype == F32 and np.any(net[2].params["weight"] != 0)


BAD_VALUES = [
    (np.ones((3, 4)), r"shape \(3, 4\) and dtype float64; it needs shape \(2, 4\)"),
    (np.ones((3, 4), np.float32), r"shape \(3, 4\) and dtype float32; it needs shape \(2, 4\)"),
    (np.ones((4, 2)), r"shape \(4, 2\) .*needs shape \(2, 4\)"),
    (np.ones(4), r"shape \(4,\) .*needs shape \(2, 4\)"),
    (np.ones((2, 4)) * 1j, r"dtype complex128; it needs .*real dtype"),
    (np.full((2, 4), "x"), r"dtype <U1; it needs"),
    (np.array([[None] * 4] * 2), r"dtype object; it needs"),
    ([[1.0, 2.0], [3.0]], r"cannot take list"),
    (np.full((2, 4), np.nan), r"shape \(2, 4\) and dtype float64 with 8 NaN or infinite "
                              r"value\(s\)"),
    (np.array([[np.inf, 0, 0, 0], [0, 0, 0, 0]]), r"1 NaN or infinite value\(s\)"),
]


@pytest.mark.parametrize("value, pattern", BAD_VALUES,
                         ids=[f"bad{i}" for i in range(len(BAD_VALUES))])
def test_a_bad_replacement_is_refused_with_a_clear_error(value: object, pattern: str) -> None:
    net = _small_net()
    before = net[0].params["weight"]
    with pytest.raises(ValueError) as info:
        net[0].params["weight"] = value
    msg = str(info.value)
    assert msg.startswith("Linear(2, 4, init='he').params['weight'] cannot take"), msg
    assert "stored as float32" in msg and len(msg.splitlines()) == 1
    assert re.search(pattern, msg), msg
    assert net[0].params["weight"] is before  # nothing changed
    lf = nn.SoftmaxCrossEntropy()  # and the net still trains
    lf.forward(net.forward(np.ones((3, 2))), np.array([0, 1, 0]))
    net.backward(lf.backward())


def test_unknown_and_removed_keys_are_refused() -> None:
    layer = nn.Linear(2, 4, rng=0)
    with pytest.raises(ValueError, match=r"has no params entry 'W'; its params are "
                                         r"\['weight', 'bias'\]"):
        layer.params["W"] = np.ones((2, 4))
    with pytest.raises(ValueError, match=r"did you mean 'bias'"):
        layer.params["bais"] = np.ones(4)
    with pytest.raises(ValueError, match=r"has no params entry 'bias'"):
        nn.Linear(2, 4, rng=0, bias=False).params["bias"] = np.ones(4)
    for remove in (lambda d: d.pop("bias"), lambda d: d.__delitem__("bias"),
                   lambda d: d.clear(), lambda d: d.popitem()):
        with pytest.raises(ValueError, match=r"is not allowed; the layer needs"):
            remove(layer.params)
    assert list(layer.params) == ["weight", "bias"]
    with pytest.raises(ValueError, match=r"has no buffers entry 'mean'"):
        nn.BatchNorm1d(3).buffers["mean"] = np.zeros(3)


def test_update_and_whole_dict_assignment_are_checked_too() -> None:
    layer = nn.Linear(2, 4, rng=0)
    layer.params.update(weight=np.ones((2, 4)))
    assert layer.params["weight"].dtype == F32
    with pytest.raises(ValueError, match=r"shape \(3, 4\)"):
        layer.params.update({"weight": np.ones((3, 4))})
    with pytest.raises(ValueError, match=r"shape \(3, 4\)"):
        layer.params |= {"weight": np.ones((3, 4))}
    layer.params = {"weight": np.zeros((2, 4)), "bias": np.arange(4)}
    assert layer.params["bias"].dtype == F32 and layer.params["bias"][3] == 3
    with pytest.raises(ValueError, match=r"needs exactly \['bias', 'weight'\]"):
        layer.params = {"weight": np.zeros((2, 4))}
    with pytest.raises(ValueError, match=r"shape \(2, 5\)"):
        layer.params = {"weight": np.zeros((2, 5)), "bias": np.zeros(4)}
    lf = nn.MSE()  # the layer still works after all that
    lf.forward(layer.forward(np.ones((3, 2))), np.zeros((3, 4)))
    assert layer.backward(lf.backward()).dtype == F32


def test_ensemble_parameters_and_batchnorm_buffers_are_replaced_the_same_way() -> None:
    ens = nn.Linear(3, 2, rng=[0, 1, 2])
    ens.params["weight"] = np.ones((3, 3, 2))
    assert ens.params["weight"].dtype == F32
    with pytest.raises(ValueError, match=r"needs shape \(3, 3, 2\)"):
        ens.params["weight"] = np.ones((3, 2))
    bn = nn.BatchNorm1d(4)
    bn.buffers["running_mean"] = np.full(4, 0.5)
    assert bn.buffers["running_mean"].dtype == F32
    out = bn.eval().forward(np.full((2, 4), 0.5))
    assert out.dtype == F32 and np.allclose(out, 0.0)
    with pytest.raises(ValueError, match=r"BatchNorm1d\(4.*buffers\['running_var'\].*needs "
                                         r"shape \(4,\)"):
        bn.buffers["running_var"] = np.ones(5)


def test_a_custom_module_adds_its_own_parameters() -> None:
    """A student's Module subclass fills ``params`` freely (CS231n style)."""

    class Scale(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.params["W"] = 2  # an int becomes a float64 array
            self.params = {**self.params, "c": np.zeros(3, np.float32)}
            self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

        def forward(self, x: np.ndarray) -> np.ndarray:
            self._x = x
            return x * self.params["W"] + self.params["c"]

        def backward(self, g: np.ndarray) -> np.ndarray:
            self.grads["W"][...] = np.sum(g * self._x)
            self.grads["c"][...] = g.sum(axis=0)
            return g * self.params["W"]

    layer = Scale()
    assert layer.params["W"].dtype == F64 and layer.params["W"].shape == ()
    assert layer.params["c"].dtype == F32
    net = nn.Sequential(layer, nn.Linear(3, 1, rng=0))
    lf, opt = nn.MSE(), optim.SGD(net, lr=0.01)
    lf.forward(net.forward(np.ones((4, 3))), np.ones(4))
    net.backward(lf.backward())
    opt.step()
    assert layer.params["W"] != 2.0


def test_a_dropped_network_is_freed_at_once() -> None:
    """The checking dicts refer to their layer weakly: no reference cycle keeps a network
    (and its arrays) alive until the cycle collector runs, in a loop that builds many."""
    gc.disable()
    try:
        net = _small_net()
        ref = weakref.ref(net[0])
        del net
        assert ref() is None
    finally:
        gc.enable()


def test_copies_and_pickles_keep_the_checks() -> None:
    net = _small_net()
    for clone in (copy.deepcopy(net), pickle.loads(pickle.dumps(net))):
        for a, b in zip(clone.named_parameters(), net.named_parameters(), strict=True):
            np.testing.assert_array_equal(a[1], b[1])
        with pytest.raises(ValueError, match=r"needs shape \(2, 4\)"):
            clone[0].params["weight"] = np.ones((3, 3))
        clone[0].params["weight"] = np.zeros((2, 4))
        assert np.any(net[0].params["weight"] != 0)  # the original is untouched


# -- Module.astype and the state dict -------------------------------------------------------
def test_astype_turns_a_whole_net_into_float64_and_back() -> None:
    net = nn.Sequential(nn.Linear(3, 5, rng=0), nn.BatchNorm1d(5), nn.ReLU(),
                        nn.Dropout(0.2, rng=1), nn.Linear(5, 2, rng=2))
    f32 = net.state_dict()
    assert net.dtype == F32
    assert net.astype(np.float64) is net and net.dtype == F64
    for m in net.modules():
        for d in (m.params, m.grads, m.buffers):
            assert all(v.dtype == F64 for v in d.values()), m
    for name, value in net.state_dict().items():
        np.testing.assert_array_equal(value, f32[name].astype(F64))
    x = _data(F32, (4, 3))
    lf = nn.SoftmaxCrossEntropy()
    lf.forward(net.forward(x), np.array([0, 1, 1, 0]))
    assert lf.backward().dtype == F64
    net.backward(lf.backward())
    net[0].params["weight"] = np.ones((3, 5), np.float32)  # replacements now keep float64
    assert net[0].params["weight"].dtype == F64
    net.astype("float32")
    assert all(p.dtype == g.dtype == F32 for _, p, g in net.named_parameters())
    assert nn.ReLU().dtype is None
    with pytest.raises(ValueError, match=r"dtype=<class 'int'> is not allowed"):
        net.astype(int)


def test_state_dict_round_trip_across_dtypes() -> None:
    src = _small_net(F64)
    dst = _small_net(F32)
    dst.load_state_dict(src.state_dict())
    for (_, p, _), (_, q, _) in zip(dst.named_parameters(), src.named_parameters(),
                                    strict=True):
        assert p.dtype == F32
        np.testing.assert_array_equal(p, q.astype(F32))
    with pytest.raises(ValueError, match=r"state\['0.weight'\] has shape"):
        dst.load_state_dict({**src.state_dict(), "0.weight": np.ones((3, 3))})
