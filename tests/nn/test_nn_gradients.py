"""Finite-difference gradient checks of every layer, loss and penalty, and of whole MLPs.

All checks run in float64 with ``neuralab.gradcheck`` (centred differences, h = 1e-6,
CS231n element-wise relative error). Smooth functions must reach ≤ 1e-6. Kinked ones
(ReLU, LeakyReLU, hinge, perceptron, L1) are checked away from their kinks; the MLP property
test measures the distance of every pre-activation to the kink and only then allows 1e-4.

Run with ``-s`` to print the worst error measured per group.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neuralab import nn
from neuralab.gradcheck import check_loss, check_module, numerical_gradient, rel_error

H = 1e-6
SMOOTH_TOL = 1e-6
KINK_TOL = 1e-4
# Perturbing a parameter by h moves a pre-activation by h·|∂z/∂θ|, which can exceed h by
# the size of the inputs and weights; a margin of 100 h covers that with room to spare.
KINK_MARGIN = 100 * H
F64 = np.float64
WORST: dict[str, float] = {}


def record(group: str, err: float) -> float:
    WORST[group] = max(WORST.get(group, 0.0), err)
    return err


@pytest.fixture(scope="module", autouse=True)
def _report_worst() -> Iterator[None]:
    yield
    for group, err in sorted(WORST.items()):
        print(f"\n[gradcheck] worst relative error {group:<28s} {err:.2e}", end="")


def away_from(x: np.ndarray, kink: float = 0.0, margin: float = 1e-2) -> np.ndarray:
    """``x`` with every entry at least ``margin`` from ``kink`` (pushed outwards)."""
    d = x - kink
    return np.where(np.abs(d) < margin, kink + np.copysign(margin, d + 1e-300), x)


def _x(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.normal(size=shape)


# -- layers ---------------------------------------------------------------------------------
@pytest.mark.parametrize("init", sorted(nn.INITS))
@pytest.mark.parametrize("ensemble", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_every_init(init: str, ensemble: bool, bias: bool) -> None:
    rng = np.random.default_rng(0)
    gens = [np.random.default_rng(i) for i in range(3)] if ensemble else rng
    layer = nn.Linear(4, 3, init=init, std=0.5, bias=bias, rng=gens, dtype=F64)
    if init == "zeros":  # a zero weight still has a gradient; give the input one too
        layer.params["weight"][...] = rng.normal(size=layer.params["weight"].shape)
    x = _x(rng, 3, 5, 4) if ensemble else _x(rng, 5, 4)
    res = check_module(layer, x)
    assert set(res.errors) == {"input", "weight"} | ({"bias"} if bias else set())
    assert record("Linear", res.max_error) <= SMOOTH_TOL, res


def test_linear_ensemble_shared_batch() -> None:
    """An ensemble fed one shared (B, in) batch broadcasts it to every member."""
    rng = np.random.default_rng(1)
    layer = nn.Linear(4, 3, rng=[np.random.default_rng(i) for i in range(2)], dtype=F64)
    res = check_module(layer, _x(rng, 5, 4))
    assert record("Linear", res.max_error) <= SMOOTH_TOL, res


SMOOTH_ACTIVATIONS = {
    "Sigmoid": nn.Sigmoid,
    "Tanh": nn.Tanh,
    "Identity": nn.Identity,
    "Softmax": nn.Softmax,
}


@pytest.mark.parametrize("name", sorted(SMOOTH_ACTIVATIONS))
@pytest.mark.parametrize("shape", [(6, 4), (3, 6, 4)])
def test_smooth_activations(name: str, shape: tuple[int, ...]) -> None:
    x = 2 * _x(np.random.default_rng(2), *shape)
    res = check_module(SMOOTH_ACTIVATIONS[name](), x)
    assert record(name, res.max_error) <= SMOOTH_TOL, res


@pytest.mark.parametrize(
    "layer", [nn.ReLU(), nn.LeakyReLU(), nn.LeakyReLU(0.3), nn.LeakyReLU(0.0)], ids=repr
)
@pytest.mark.parametrize("shape", [(6, 4), (3, 6, 4)])
def test_kinked_activations_away_from_kink(layer: nn.Module, shape: tuple[int, ...]) -> None:
    x = away_from(_x(np.random.default_rng(3), *shape))
    res = check_module(layer, x)
    assert record(type(layer).__name__, res.max_error) <= SMOOTH_TOL, res


def test_relu_derivative_at_the_kink_is_zero() -> None:
    relu = nn.ReLU()
    relu.forward(np.array([[-1.0, 0.0, 1.0]]))
    np.testing.assert_array_equal(relu.backward(np.ones((1, 3))), [[0.0, 0.0, 1.0]])


@pytest.mark.parametrize("shape", [(6, 5), (3, 6, 5)])
def test_dropout_with_a_fixed_mask(shape: tuple[int, ...]) -> None:
    drop = nn.Dropout(0.4, rng=np.random.default_rng(0))
    x = _x(np.random.default_rng(4), *shape)
    drop.forward(x)
    mask = drop.mask.copy()
    drop._draw = lambda shape, dtype: np.where(mask > 0, 1.0, 0.0)  # freeze the mask
    res = check_module(drop, x)
    assert record("Dropout(train)", res.max_error) <= SMOOTH_TOL, res
    np.testing.assert_array_equal(drop.forward(x), x * mask / 0.6)


def test_dropout_ensemble_on_a_shared_batch() -> None:
    """E masks on one shared (B, F) batch: the input gradient sums the members' gradients."""
    drop = nn.Dropout(0.3, rng=[np.random.default_rng(i) for i in range(3)])
    x = _x(np.random.default_rng(4), 6, 5)
    assert drop.forward(x).shape == (3, 6, 5)
    mask = drop.mask.copy()
    drop._draw = lambda shape, dtype: mask
    res = check_module(drop, x)
    assert record("Dropout(train)", res.max_error) <= SMOOTH_TOL, res


def test_dropout_eval_is_identity_with_unit_gradient() -> None:
    drop = nn.Dropout(0.5, rng=0).eval()
    x = _x(np.random.default_rng(5), 4, 3)
    assert drop.forward(x) is x
    res = check_module(drop, x)
    assert record("Dropout(eval)", res.max_error) <= SMOOTH_TOL, res


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("n_models", [None, 3])
def test_batchnorm(training: bool, affine: bool, n_models: int | None) -> None:
    rng = np.random.default_rng(6)
    bn = nn.BatchNorm1d(4, affine=affine, n_models=n_models, dtype=F64)
    shape = bn.buffers["running_mean"].shape
    bn.buffers["running_mean"][...] = rng.normal(size=shape)
    bn.buffers["running_var"][...] = rng.uniform(0.5, 2.0, size=shape)
    if affine:
        bn.params["weight"][...] = rng.uniform(0.5, 1.5, size=shape)
        bn.params["bias"][...] = rng.normal(size=shape)
    bn.train(training)
    x = 3 * _x(rng, 7, 4) + 1 if n_models is None else 3 * _x(rng, n_models, 7, 4) + 1
    res = check_module(bn, x)
    assert record(f"BatchNorm1d({'train' if training else 'eval'})", res.max_error) <= SMOOTH_TOL
    # with a loss downstream, too
    target = rng.integers(0, 4, size=7)
    res = check_module(bn, x, nn.SoftmaxCrossEntropy(), target)
    assert record(f"BatchNorm1d({'train' if training else 'eval'})", res.max_error) <= SMOOTH_TOL


def test_sequential_of_every_layer() -> None:
    rng = np.random.default_rng(7)
    net = nn.Sequential(
        nn.Linear(5, 8, rng=rng, dtype=F64, init="uniform"),
        nn.BatchNorm1d(8, dtype=F64),
        nn.Tanh(),
        nn.Linear(8, 6, rng=rng, dtype=F64, init="uniform"),
        nn.Sigmoid(),
        nn.Dropout(0.0),
        nn.Linear(6, 4, rng=rng, dtype=F64, init="uniform"),
        nn.Softmax(),
        nn.Identity(),
    )
    res = check_module(net, _x(rng, 9, 5))
    assert record("Sequential", res.max_error) <= SMOOTH_TOL, res
    assert {"input", "0.weight", "1.weight", "1.bias", "6.bias"} <= set(res.errors)


def test_first_layer_without_input_grad_checks_parameters_only() -> None:
    rng = np.random.default_rng(8)
    net = nn.Sequential(nn.Linear(3, 4, rng=rng, dtype=F64, input_grad=False), nn.Tanh())
    res = check_module(net, _x(rng, 5, 3))
    assert "input" not in res.errors
    assert record("Sequential", res.max_error) <= SMOOTH_TOL, res


# -- losses ---------------------------------------------------------------------------------
def _pm1(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.choice([-1.0, 1.0], size=shape)


def _loss_cases(E: int | None) -> dict[str, tuple[nn.Loss, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(9)
    lead = () if E is None else (E,)
    B, K = 6, 4
    z = 2 * rng.normal(size=(*lead, B, K))
    s1 = 2 * rng.normal(size=(*lead, B, 1))
    labels = rng.integers(0, K, size=(*lead, B))
    probs = rng.dirichlet(np.ones(K), size=(*lead, B))
    y01 = rng.integers(0, 2, size=(*lead, B, 1)).astype(float)
    ypm = _pm1(rng, *lead, B)
    mse = nn.MSE()
    mse.forward(z, rng.normal(size=z.shape))
    return {
        "CE(int)": (nn.SoftmaxCrossEntropy(), z, labels),
        "CE(shared int)": (nn.SoftmaxCrossEntropy(), z, labels if E is None else labels[0]),
        "CE(one-hot)": (nn.SoftmaxCrossEntropy(), z, np.eye(K)[labels]),
        "CE(probabilities)": (nn.SoftmaxCrossEntropy(), z, probs),
        "BCEWithLogits": (nn.BCEWithLogits(), s1, y01),
        "BCEWithLogits(K outputs)": (nn.BCEWithLogits(), z, rng.uniform(size=z.shape)),
        "MSE": (nn.MSE(), z, rng.normal(size=z.shape)),
        "Perceptron": (nn.PerceptronCriterion(), away_from(s1), ypm),
        "Perceptron(shared labels)": (nn.PerceptronCriterion(), away_from(s1), ypm[..., 0, :]
                                      if E is not None else ypm),
        "Hinge": (nn.Hinge(), s1, ypm),
        "TanhSquared": (nn.TanhSquared(), s1, ypm),
        "TanhSquared(K outputs)": (nn.TanhSquared(), z, rng.uniform(-1, 1, size=z.shape)),
    }


@pytest.mark.parametrize("E", [None, 3], ids=["single", "ensemble"])
@pytest.mark.parametrize(
    "case",
    ["CE(int)", "CE(shared int)", "CE(one-hot)", "CE(probabilities)", "BCEWithLogits",
     "BCEWithLogits(K outputs)", "MSE", "Perceptron", "Perceptron(shared labels)", "Hinge"],
)
def test_losses(case: str, E: int | None) -> None:
    loss, pred, target = _loss_cases(E)[case]
    if isinstance(loss, nn.Hinge):  # keep y·s away from the kink at 1, i.e. s away from ±1
        pred = 1.0 + away_from(pred - 1.0)
        pred = -1.0 + away_from(pred + 1.0)
    value = loss.forward(pred, target)
    assert np.shape(value) == (() if E is None else (E,))
    res = check_loss(loss, pred, target)
    assert record(f"loss {case}", res.max_error) <= SMOOTH_TOL, res


def test_multi_output_hinge() -> None:
    rng = np.random.default_rng(10)
    y = _pm1(rng, 6, 3)
    s = -1.0 + away_from(1.0 + away_from(2 * rng.normal(size=(6, 3)) - 1.0))
    res = check_loss(nn.Hinge(), s, y)
    assert record("loss Hinge(multi-output)", res.max_error) <= SMOOTH_TOL, res
    ens = check_loss(nn.Hinge(), np.stack([s, s + 0.5]), y)  # shared (B, K) labels
    assert record("loss Hinge(multi-output)", ens.max_error) <= SMOOTH_TOL, ens


@pytest.mark.parametrize("E", [None, 3], ids=["single", "ensemble"])
@pytest.mark.parametrize("side", ["above", "below"])
def test_flooding_above_and_below_b(side: str, E: int | None) -> None:
    rng = np.random.default_rng(11)
    z = rng.normal(size=(6, 4) if E is None else (E, 6, 4))
    t = rng.integers(0, 4, size=6)
    raw = np.asarray(nn.SoftmaxCrossEntropy().forward(z, t))
    b = float(raw.min()) * 0.5 if side == "above" else float(raw.max()) * 2.0
    flood = nn.Flooding(nn.SoftmaxCrossEntropy(), b)
    value = np.asarray(flood.forward(z, t))
    expected_sign = 1.0 if side == "above" else -1.0
    np.testing.assert_allclose(value, b + expected_sign * (raw - b))
    g = flood.backward()
    plain = nn.SoftmaxCrossEntropy()
    plain.forward(z, t)
    np.testing.assert_allclose(g, expected_sign * plain.backward())
    res = check_loss(flood, z, t)
    assert record(f"loss Flooding({side})", res.max_error) <= SMOOTH_TOL, res


def test_flooding_mixed_sides_in_an_ensemble() -> None:
    rng = np.random.default_rng(12)
    z = rng.normal(size=(4, 6, 3)) * np.array([0.1, 3.0, 0.1, 3.0])[:, None, None]
    t = rng.integers(0, 3, size=6)
    raw = nn.SoftmaxCrossEntropy().forward(z, t)
    b = float(np.median(raw))
    flood = nn.Flooding(nn.SoftmaxCrossEntropy(), b)
    flood.forward(z, t)
    assert set(np.sign(raw - b).tolist()) == {-1.0, 1.0}
    res = check_loss(flood, z, t)
    assert record("loss Flooding(mixed)", res.max_error) <= SMOOTH_TOL, res


# -- penalties ------------------------------------------------------------------------------
@pytest.mark.parametrize("penalty", [nn.L1(0.3), nn.L2(0.7)], ids=repr)
@pytest.mark.parametrize("E", [None, 2], ids=["single", "ensemble"])
def test_penalties(penalty: nn.Penalty, E: int | None) -> None:
    gens = np.random.default_rng(13) if E is None else [np.random.default_rng(i) for i in range(E)]
    net = nn.Sequential(nn.Linear(3, 4, rng=gens, dtype=F64), nn.Tanh(),
                        nn.Linear(4, 2, rng=gens, dtype=F64))
    for m in net.modules():
        if isinstance(m, nn.Linear):  # L1 is checked away from its kink at 0
            m.params["weight"][...] = away_from(m.params["weight"], margin=1e-2)
    value = penalty.value(net)
    assert np.shape(value) == (() if E is None else (E,))
    net.zero_grad()
    penalty.add_grad(net)
    for name, W, dW in net.named_parameters():
        numeric = numerical_gradient(lambda: penalty.value(net), W, H)
        err = rel_error(dW, numeric)
        assert record(f"penalty {type(penalty).__name__}", err) <= SMOOTH_TOL, (name, err)
        if name.endswith("bias"):
            assert not dW.any()  # biases are not penalised


# -- whole MLPs, property-based -------------------------------------------------------------
LOSS_KINDS = ["ce-int", "ce-onehot", "bce", "mse", "probe"]


def _mlp_case(draw_seed: int, widths: list[int], act: str, init: str, batch: int,
              E: int | None, loss_kind: str, batchnorm: bool):
    rng = np.random.default_rng(draw_seed)
    gens = rng if E is None else [np.random.default_rng([draw_seed, i]) for i in range(E)]
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(widths)):
        lin = nn.Linear(a, b, init=init, std=0.5, rng=gens, dtype=F64)
        # Non-zero biases: with zero biases a dead unit feeds exactly 0 to the next ReLU.
        lin.params["bias"][...] = rng.normal(0.0, 0.5, size=lin.params["bias"].shape)
        layers.append(lin)
        if i < len(widths) - 2:
            if batchnorm:
                layers.append(nn.BatchNorm1d(b, n_models=E, dtype=F64))
            layers.append(nn.ACTIVATIONS[act]())
    net = nn.Sequential(*layers)
    lead = () if E is None else (E,)
    x = rng.normal(size=(*lead, batch, widths[0]))
    K = widths[-1]
    loss, target = {
        "ce-int": lambda: (nn.SoftmaxCrossEntropy(), rng.integers(0, K, size=batch)),
        "ce-onehot": lambda: (nn.SoftmaxCrossEntropy(),
                              np.eye(K)[rng.integers(0, K, size=(*lead, batch))]),
        "bce": lambda: (nn.BCEWithLogits(), rng.integers(0, 2, size=(batch, K)).astype(float)),
        "mse": lambda: (nn.MSE(), rng.normal(size=(*lead, batch, K))),
        "probe": lambda: (None, None),
    }[loss_kind]()
    return net, x, loss, target


def _pre_activations(net: nn.Sequential, x: np.ndarray) -> list[np.ndarray]:
    """Inputs of every kinked activation for the batch ``x``."""
    out = []
    for layer in net:
        if isinstance(layer, (nn.ReLU, nn.LeakyReLU)):
            out.append(x.copy())
        x = layer.forward(x)
    return out


@pytest.mark.parametrize("act", sorted(set(nn.ACTIVATIONS) - {"linear"}))  # alias of identity
@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    widths=st.lists(st.integers(1, 7), min_size=2, max_size=5),
    init=st.sampled_from(sorted(set(nn.INITS) - {"zeros", "normal"})),
    batch=st.integers(2, 8),
    E=st.sampled_from([None, None, 1, 3]),
    loss_kind=st.sampled_from(LOSS_KINDS),
    batchnorm=st.booleans(),
)
def test_random_mlps(seed, widths, act, init, batch, E, loss_kind, batchnorm) -> None:
    if loss_kind.startswith("ce") and widths[-1] < 2:
        widths = [*widths[:-1], 2]
    # Batch norm after a layer with one input, or on a batch of 2-3, makes everything upstream
    # (almost) irrelevant: x̂ is ±1 or sign(w)·standardised x. Those gradients are zero up to
    # eps while the normalisation amplifies the objective's round-off beyond the floor, so a
    # finite difference cannot judge them. Batch norm itself is checked layer by layer above.
    batchnorm = batchnorm and batch >= 4 and min(widths[:-1]) >= 2
    net, x, loss, target = _mlp_case(seed, widths, act, init, batch, E, loss_kind, batchnorm)
    pre = _pre_activations(net, x)
    near_kink = any(np.abs(z).min() < KINK_MARGIN for z in pre)
    tol = KINK_TOL if near_kink else SMOOTH_TOL

    res = check_module(net, x, loss, target, seed=seed)
    group = f"MLP {act}{' (near kink)' if near_kink else ''}"
    assert record(group, res.max_error) <= tol, (res, net)
