"""Conv1d / Conv2d, Flatten, BatchNorm2d, Dropout2d and nn.summary: gradient checks in
float64 (rel. error <= 1e-6), the dtype rule, bad input, init and the summary table."""

from __future__ import annotations

import io

import numpy as np
import pytest

from neuralab import nn
from neuralab.gradcheck import check_module

F64 = np.float64
TOL = 1e-6

CONV2D = [  # (kwargs, input spatial size): stride, padding, dilation, odd and non-square
    (dict(in_channels=2, out_channels=3, kernel_size=3), (5, 6)),
    (dict(in_channels=1, out_channels=2, kernel_size=(3, 2), stride=(2, 1), padding=(1, 2)),
     (7, 5)),
    (dict(in_channels=3, out_channels=2, kernel_size=2, stride=3, dilation=2, padding=1), (7, 8)),
    (dict(in_channels=2, out_channels=2, kernel_size=1, bias=False), (3, 3)),
    (dict(in_channels=1, out_channels=2, kernel_size=5, padding=2, stride=2), (5, 5)),
]
CONV1D = [
    (dict(in_channels=2, out_channels=3, kernel_size=3), 9),
    (dict(in_channels=1, out_channels=2, kernel_size=4, stride=2, padding=3, dilation=2), 11),
    (dict(in_channels=3, out_channels=1, kernel_size=1, bias=False), 4),
]


@pytest.mark.parametrize(("kwargs", "size"), CONV2D, ids=str)
def test_conv2d_gradients(kwargs: dict, size: tuple[int, int]) -> None:
    conv = nn.Conv2d(**kwargs, rng=0, dtype=F64)
    x = np.random.default_rng(1).normal(size=(2, kwargs["in_channels"], *size))
    res = check_module(conv, x)
    assert set(res.errors) == {"input", "weight"} | ({"bias"} if kwargs.get("bias", True)
                                                    else set())
    assert res.max_error <= TOL, res


@pytest.mark.parametrize(("kwargs", "size"), CONV1D, ids=str)
def test_conv1d_gradients(kwargs: dict, size: int) -> None:
    conv = nn.Conv1d(**kwargs, rng=0, dtype=F64)
    x = np.random.default_rng(2).normal(size=(3, kwargs["in_channels"], size))
    res = check_module(conv, x)
    assert res.max_error <= TOL, res


def test_conv_output_size_is_pytorchs_formula() -> None:
    conv = nn.Conv2d(3, 4, (3, 5), stride=(2, 3), padding=(1, 2), dilation=(2, 1), rng=0)
    out = conv.forward(np.zeros((2, 3, 11, 10)))
    ho = (11 + 2 * 1 - 2 * (3 - 1) - 1) // 2 + 1
    wo = (10 + 2 * 2 - 1 * (5 - 1) - 1) // 3 + 1
    assert out.shape == (2, 4, ho, wo) and out.dtype == np.float32
    assert nn.Conv1d(2, 5, 3, stride=2).forward(np.zeros((1, 2, 8))).shape == (1, 5, 3)


def test_conv_matches_a_direct_loop() -> None:
    """The im2col forward equals the definition, summed tap by tap."""
    rng = np.random.default_rng(3)
    conv = nn.Conv2d(2, 3, (2, 3), stride=(1, 2), padding=1, rng=rng, dtype=F64)
    x = rng.normal(size=(2, 2, 4, 5))
    out = conv.forward(x)
    W, b = conv.params["weight"], conv.params["bias"]
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    ref = np.zeros_like(out)
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            patch = xp[:, :, i:i + 2, 2 * j:2 * j + 3]
            ref[:, :, i, j] = np.tensordot(patch, W, axes=([1, 2, 3], [1, 2, 3])) + b
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("kwargs", "size"), [
    *CONV2D[:3],
    (dict(in_channels=1, out_channels=2, kernel_size=4, stride=2, padding=3, dilation=2),
     (1, 11))], ids=str)
def test_blocks_of_output_rows_give_the_one_block_result(kwargs, size, monkeypatch) -> None:
    """Large batches run im2col block by block (BLOCK_BYTES), small ones col2im in one
    bincount (SMALL_COL2IM); the numbers must not change."""
    import neuralab.nn.conv as conv_module

    x = np.random.default_rng(7).normal(size=(3, kwargs["in_channels"], *size))
    results = []
    # one block with bincount's col2im; one block, tap by tap; one output row per block
    for block_bytes, small in ((1 << 40, 1 << 40), (1 << 40, 0), (1, 1 << 40)):
        monkeypatch.setattr(conv_module, "BLOCK_BYTES", block_bytes)
        monkeypatch.setattr(conv_module, "SMALL_COL2IM", small)
        conv = nn.Conv2d(**kwargs, rng=0, dtype=F64)
        out = conv.forward(x)
        g = np.random.default_rng(8).normal(size=out.shape)
        dx = conv.backward(g)
        conv2 = nn.Conv2d(**kwargs, rng=0, dtype=F64)  # the first-layer path, no dx
        conv2.forward(x)
        conv2.backward_params(g)
        results.append((out, dx, conv.grads["weight"], conv2.grads["weight"]))
    for one, *others in zip(*results, strict=True):
        for other in others:
            np.testing.assert_allclose(other, one, rtol=1e-12, atol=1e-12)


def test_first_layer_skips_the_input_gradient_with_the_same_weight_gradients() -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(size=(3, 2, 6, 6))
    grads = []
    for first in (True, False):
        net = nn.Sequential(nn.Conv2d(2, 3, 3, rng=5, dtype=F64), nn.ReLU(), nn.Flatten(),
                            nn.Linear(48, 2, rng=6, dtype=F64))
        out = net.forward(x)
        g = np.ones_like(out)
        assert (net.backward(g) is None) if first else net.backward(g, input_grad=True).shape \
            == x.shape
        grads.append(net[0].grads["weight"].copy())
    np.testing.assert_array_equal(grads[0], grads[1])


def test_small_cnn_gradients() -> None:
    rng = np.random.default_rng(7)
    net = nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1, rng=rng, dtype=F64), nn.BatchNorm2d(3, dtype=F64),
        nn.Tanh(), nn.AvgPool2d(2), nn.Conv2d(3, 2, 2, rng=rng, dtype=F64), nn.Tanh(),
        nn.MaxPool2d(2, stride=1), nn.Flatten(), nn.Linear(2, 3, rng=rng, dtype=F64))
    x = rng.normal(size=(3, 1, 6, 6))
    loss = nn.SoftmaxCrossEntropy()
    res = check_module(net, x, loss, np.array([0, 2, 1]))
    assert res.max_error <= TOL, res


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_batchnorm2d_gradients(training: bool) -> None:
    rng = np.random.default_rng(8)
    bn = nn.BatchNorm2d(3, dtype=F64)
    bn.params["weight"] = rng.normal(size=3)
    bn.params["bias"] = rng.normal(size=3)
    bn.buffers["running_mean"] = rng.normal(size=3)
    bn.buffers["running_var"] = rng.uniform(0.5, 2, size=3)
    bn.train(training)
    momentum_free = bn.buffers["running_mean"].copy()
    if training:
        bn.momentum = 0.0  # the check runs many forwards; keep the statistics fixed
    res = check_module(bn, rng.normal(size=(2, 3, 3, 4)))
    assert res.max_error <= TOL, res
    np.testing.assert_array_equal(bn.buffers["running_mean"], momentum_free)


def test_batchnorm2d_statistics_per_channel() -> None:
    rng = np.random.default_rng(9)
    x = rng.normal(loc=[[[[3.0]], [[-1.0]]]], size=(4, 2, 3, 5))
    bn = nn.BatchNorm2d(2, momentum=0.5, dtype=F64)
    y = bn.forward(x)
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1, rtol=1e-4)  # eps = 1e-5
    np.testing.assert_allclose(bn.buffers["running_mean"], 0.5 * x.mean(axis=(0, 2, 3)))
    n = 4 * 3 * 5
    np.testing.assert_allclose(bn.buffers["running_var"],
                               0.5 + 0.5 * x.var(axis=(0, 2, 3)) * n / (n - 1))
    assert nn.BatchNorm2d(2).mode_dependent and nn.Dropout2d().mode_dependent


def test_dropout2d_zeroes_whole_channels() -> None:
    drop = nn.Dropout2d(0.5, rng=0)
    x = np.ones((8, 6, 3, 4), np.float32)
    y = drop.forward(x)
    assert drop.mask.shape == (8, 6, 1, 1) and y.dtype == np.float32
    kept = drop.mask[:, :, 0, 0].astype(bool)
    assert 0 < kept.sum() < kept.size
    assert np.all(y[kept] == 2.0) and np.all(y[~kept] == 0.0)
    g = drop.backward(np.ones_like(y))
    np.testing.assert_array_equal(g, y)  # the same scaling as the forward
    drop.eval()
    assert drop.forward(x) is x


def test_dropout2d_is_reproducible_from_its_seed() -> None:
    x = np.ones((4, 5, 2, 2))
    a, b = nn.Dropout2d(0.3, rng=11), nn.Dropout2d(0.3, rng=11)
    np.testing.assert_array_equal(a.forward(x), b.forward(x))


def test_flatten_round_trip() -> None:
    x = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    flat = nn.Flatten()
    y = flat.forward(x)
    assert y.shape == (2, 60) and y.dtype == np.float32
    np.testing.assert_array_equal(y[1], x[1].ravel())  # channel by channel, row by row
    np.testing.assert_array_equal(flat.backward(y), x)
    assert nn.Flatten().forward(np.ones((2, 3), int)).dtype == F64


def test_flatten_hands_the_gradient_back_in_the_inputs_memory_order() -> None:
    """A convolution's output is channels-major in memory; so is the gradient Flatten returns
    (the pool and convolution before it then run on contiguous data)."""
    x = np.arange(2 * 3 * 4 * 5, dtype=F64).reshape(3, 4, 5, 2).transpose(3, 0, 1, 2)
    flat = nn.Flatten()
    y = flat.forward(x)
    dx = flat.backward(y)
    np.testing.assert_array_equal(dx, x)
    assert dx.transpose(1, 2, 3, 0).flags.c_contiguous


@pytest.mark.parametrize("dtype", [np.float64, np.int64, np.uint8])
def test_dtype_rule_float32_layers_cast_their_input(dtype: type) -> None:
    x = (np.random.default_rng(10).random((2, 1, 6, 6)) * 5).astype(dtype)
    net = nn.Sequential(nn.Conv2d(1, 2, 3, rng=0), nn.BatchNorm2d(2), nn.ReLU(),
                        nn.MaxPool2d(2), nn.Flatten())
    out = net.forward(x)
    assert out.dtype == np.float32
    ref = net.forward(x.astype(np.float32))
    np.testing.assert_array_equal(out, ref)
    g = net.backward(np.ones_like(out), input_grad=True)
    assert g.dtype == np.float32 and g.shape == x.shape
    assert net[0].grads["weight"].dtype == np.float32
    c1 = nn.Conv1d(1, 2, 2, rng=0)
    assert c1.forward(np.ones((1, 1, 4), dtype)).dtype == np.float32


BAD_INPUT = [
    (lambda: nn.Conv2d(3, 4, 3), (2, 3, 8), r"Conv2d\(3, 4, kernel_size=3\) got input of "
     r"shape \(2, 3, 8\); it needs \(B, C, H, W\) with C = 3"),
    (lambda: nn.Conv2d(3, 4, 3), (2, 1, 8, 8), r"shape \(2, 1, 8, 8\); it needs .* C = 3"),
    (lambda: nn.Conv2d(3, 4, 3), (5, 2, 3, 8, 8), r"ensembles.*not supported"),
    (lambda: nn.Conv2d(1, 4, 3), (2, 784), r"flattened images"),
    (lambda: nn.Conv2d(1, 6, 5), (1, 28, 28), r"one sample\? add the batch axis: x\[None\]"),
    (lambda: nn.Conv1d(2, 4, 3), (2, 3, 8), r"Conv1d.*\(B, C, L\) with C = 2"),
    (lambda: nn.Conv2d(1, 1, 5, padding=1), (1, 1, 2, 9), r"input of size 2×9 padded to "
     r"4×11 is smaller than the kernel's extent 5×5"),
    (lambda: nn.Conv1d(1, 1, 3, dilation=3), (1, 1, 6), r"size 6 padded to 6 .* extent 7"),
    (lambda: nn.MaxPool2d(3), (1, 1, 2, 2), r"MaxPool2d\(kernel_size=3\).*extent 3×3"),
    (lambda: nn.AvgPool1d(2), (4, 5), r"AvgPool1d.*\(B, C, L\)"),
    (lambda: nn.BatchNorm2d(3), (2, 4, 5, 5), r"BatchNorm2d.*it needs \(B, C, H, W\) with "
     r"C = 3"),
    (lambda: nn.Dropout2d(), (2, 4), r"Dropout2d.*\(B, C, H, W\)"),
    (lambda: nn.Flatten(), (3,), r"Flatten.*at least 2 axes"),
    # an empty batch is refused by name (it was a ZeroDivisionError inside the blocking)
    (lambda: nn.Conv2d(1, 6, 5), (0, 1, 28, 28), r"Conv2d\(1, 6, kernel_size=5\) got input "
     r"of shape \(0, 1, 28, 28\).*empty batch: it needs at least one sample"),
    (lambda: nn.Conv1d(1, 2, 3), (0, 1, 5), r"Conv1d.*\(0, 1, 5\).*empty batch"),
    # MNIST as it arrives, (B, H, W): the missing channel axis is named, with the fix
    (lambda: nn.Conv2d(1, 6, 5), (64, 28, 28), r"shape \(64, 28, 28\).*no channel axis\? "
     r"add it: x\[:, None\]"),
    (lambda: nn.MaxPool2d(2), (64, 28, 28), r"MaxPool2d.*no channel axis\? add it"),
]


@pytest.mark.parametrize(("make", "shape", "match"), BAD_INPUT,
                         ids=[f"{i}-{match[:24]}" for i, (_, _, match) in enumerate(BAD_INPUT)])
def test_bad_input_names_layer_shape_and_what_is_allowed(make, shape, match) -> None:
    with pytest.raises(ValueError, match=match):
        make().forward(np.zeros(shape))


@pytest.mark.parametrize(("make", "match"), [
    (lambda: nn.Conv2d(1, 2, 3, stride=0), r"Conv2d: stride=0 is not allowed; it must be an "
     r"int or a tuple of 2 ints >= 1"),
    (lambda: nn.Conv1d(1, 2, 3, padding=-1), r"Conv1d: padding=-1 .* >= 0"),
    (lambda: nn.Conv2d(1, 2, (3, 3, 3)), r"kernel_size=\(3, 3, 3\)"),
    (lambda: nn.Conv2d(0, 2, 3), r"in_channels=0"),
    (lambda: nn.Conv2d(1, 2, 3, init="hee"), r"init='hee' is not allowed.*did you mean 'he'"),
    (lambda: nn.Conv2d(1, 2, 3, rng=[np.random.default_rng(0)] * 2), r"ensemble"),
    (lambda: nn.MaxPool2d(2, stride=0), r"MaxPool2d: stride=0"),
    (lambda: nn.AvgPool2d(2, padding=2), r"padding must be at most half the kernel size"),
    (lambda: nn.Dropout2d(rng=[np.random.default_rng(0)]), r"Dropout2d.*ensemble"),
])
def test_bad_settings(make, match) -> None:
    with pytest.raises(ValueError, match=match):
        make()


def test_an_undilated_layers_error_shows_no_dilation_formula() -> None:
    """A pool (no dilation) or an undilated convolution that is larger than its input: the
    message speaks of its kernel, without the dilation formula that does not apply."""
    for layer, x in ((nn.MaxPool2d(3), np.zeros((1, 1, 2, 2))),
                     (nn.Conv1d(1, 1, 5), np.zeros((1, 1, 4)))):
        with pytest.raises(ValueError, match="kernel's extent") as info:
            layer.forward(x)
        assert "dilation" not in str(info.value)
    with pytest.raises(ValueError, match=r"extent 7 \(dilation·\(kernel − 1\) \+ 1\)"):
        nn.Conv1d(1, 1, 3, dilation=3).forward(np.zeros((1, 1, 6)))


@pytest.mark.parametrize(("make", "error", "match"), [
    (lambda: nn.Conv2d(1, 2, 3, bias="no"), TypeError,
     r"Conv2d: bias='no' is not allowed; it must be True or False"),
    (lambda: nn.Conv1d(1, 2, 3, init="bogus"), ValueError, r"Conv1d: init='bogus' is not "
     r"allowed; choose one of"),
    (lambda: nn.Conv2d(1, 2, 3, dtype=np.int32), ValueError, r"Conv2d: dtype=.*int32.* "
     r"float dtype"),
    (lambda: nn.BatchNorm2d(0), ValueError, r"BatchNorm2d: num_features=0 is not allowed; it "
     r"must be an integer > 0"),
    (lambda: nn.BatchNorm2d(4, eps=0), ValueError, r"BatchNorm2d: eps=0 .* > 0"),
    (lambda: nn.BatchNorm2d(4, momentum=2), ValueError, r"BatchNorm2d: momentum=2 .*\[0\.0, "
     r"1\.0\]"),
    (lambda: nn.BatchNorm2d(4, momentum="0.1"), ValueError, r"BatchNorm2d: momentum='0\.1'"),
    (lambda: nn.BatchNorm2d(4, dtype=int), ValueError, r"BatchNorm2d: dtype="),
    (lambda: nn.Dropout2d(p=1.5), ValueError, r"Dropout2d: p=1\.5 is not allowed; it must "
     r"lie in \[0\.0, 1\.0\)"),
    (lambda: nn.Dropout2d(p="0.5"), ValueError, r"Dropout2d: p='0\.5' is not allowed"),
    (lambda: nn.Dropout(p=-0.1), ValueError, r"Dropout: p=-0\.1 .*\[0\.0, 1\.0\)"),
])
def test_bad_settings_name_the_layer(make, error, match) -> None:
    """Every constructor error starts with the layer's class; a wrong type (a str for a
    bool) is a TypeError, a str for a number a ValueError, never Python's bare
    "'>=' not supported"."""
    with pytest.raises(error, match=match):
        make()


def test_flatten_and_pools_pass_an_empty_batch_through() -> None:
    x = np.zeros((0, 3, 4, 4))
    out = nn.Flatten().forward(nn.MaxPool2d(2).forward(x))
    assert out.shape == (0, 12)


def test_batchnorm2d_needs_two_values_per_channel_in_training() -> None:
    bn = nn.BatchNorm2d(2)
    with pytest.raises(ValueError, match=r"at least 2 values per feature.*\(1, 2, 1, 1\)"):
        bn.forward(np.ones((1, 2, 1, 1)))
    assert bn.forward(np.ones((1, 2, 2, 1))).shape == (1, 2, 2, 1)  # B·H·W = 2 is enough


@pytest.mark.parametrize(("init", "std"), [("he", np.sqrt(2 / 75)), ("auto", np.sqrt(2 / 75)),
                                           ("xavier", np.sqrt(2 / (75 + 150)))])
def test_conv_init_uses_fan_in_times_kernel(init: str, std: float) -> None:
    conv = nn.Conv2d(3, 6, 5, init=init, rng=0, dtype=F64)  # fan_in 75, fan_out 150
    w = conv.params["weight"]
    assert w.shape == (6, 3, 5, 5) and conv.params["bias"].shape == (6,)
    assert abs(w.std() / std - 1) < 0.1
    np.testing.assert_array_equal(conv.params["bias"], 0)


def test_torch_init_bounds() -> None:
    conv = nn.Conv1d(4, 8, 3, init="torch", rng=0, dtype=F64)
    bound = 1 / np.sqrt(12)
    for v in conv.params.values():
        assert np.abs(v).max() <= bound and np.abs(v).max() > 0.8 * bound
    same = nn.Conv1d(4, 8, 3, init="torch", rng=0, dtype=F64)
    np.testing.assert_array_equal(same.params["weight"], conv.params["weight"])


def lenet(rng: np.random.Generator) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, kernel_size=5, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 5 * 5, 120, rng=rng), nn.ReLU(),
        nn.Linear(120, 84, rng=rng), nn.ReLU(), nn.Linear(84, 10, rng=rng))


def test_summary_rows_and_table() -> None:
    net = lenet(np.random.default_rng(0))
    net.train()
    buf = io.StringIO()
    rows = nn.summary(net, input_shape=(1, 28, 28), file=buf)
    assert [r.output_shape for r in rows[:7]] == [
        (6, 28, 28), (6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 10, 10), (16, 5, 5), (400,)]
    # parameter counts by hand: out·(in·k·k + 1)
    assert [r.n_params for r in rows if r.n_params] == [
        6 * (1 * 25 + 1), 16 * (6 * 25 + 1), 400 * 120 + 120, 120 * 84 + 84, 84 * 10 + 10]
    text = buf.getvalue()
    assert f"total parameters: {net.n_parameters():,}" in text
    assert all(len(line) <= 80 for line in text.splitlines())
    assert "Conv2d(6, 16, kernel_size=5)" in text
    assert all(m.training for m in net.modules())  # modes restored


def test_summary_refuses_a_bad_shape() -> None:
    with pytest.raises(ValueError, match=r"input_shape=\(1, 0, 28\)"):
        nn.summary(lenet(np.random.default_rng(0)), input_shape=(1, 0, 28))
    with pytest.raises(ValueError, match=r"kernel's extent 5×5"):
        nn.summary(lenet(np.random.default_rng(0)), input_shape=(1, 8, 8), print_table=False)


def test_a_pickled_layer_leaves_its_scratch_buffers_behind():
    """The padded-input and im2col buffers are rebuilt after unpickling (an unpickled buffer
    may be read-only, e.g. from a memory map) and the outputs are unchanged."""
    import pickle

    from neuralab import nn

    conv = nn.Conv2d(2, 3, kernel_size=3, padding=1, rng=np.random.default_rng(0))
    x = np.random.default_rng(1).random((4, 2, 6, 6)).astype(np.float32)
    before = conv.forward(x).copy()
    twin = pickle.loads(pickle.dumps(conv))
    assert twin._xp is None and twin._cols is None
    twin._params["weight"].flags.writeable = False  # as a read-only memmap would be
    np.testing.assert_array_equal(twin.forward(x), before)
