"""Parity of the CNN layers with PyTorch CPU in float64: forward outputs, input and
parameter gradients within 1e-9 (max |a − b| / max |b| per array) for Conv1d/2d, the pools
and BatchNorm2d (train and eval); LeNet-5 trained 100 steps with SGD + momentum from the same
initial weights gives the same losses within 1e-6 (relative). Skipped without torch.

Run with ``-s`` to print the worst deviation measured.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from neuralab import nn, optim

pytestmark = pytest.mark.torch

F64 = np.float64
RTOL = 1e-9
WORST: dict[str, float] = {}


@pytest.fixture(scope="module", autouse=True)
def _report_worst() -> Iterator[None]:
    yield
    for what, dev in sorted(WORST.items()):
        print(f"\n[cnn parity] worst {what:<28s} {dev:.2e}", end="")


def close(what: str, ours: np.ndarray, theirs: Any, rtol: float = RTOL) -> None:
    ref = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    ours = np.asarray(ours, F64)
    assert ours.shape == ref.shape, what
    dev = float(np.max(np.abs(ours - ref)) / max(np.max(np.abs(ref)), 1e-300))
    WORST[what] = max(WORST.get(what, 0.0), dev)
    assert dev <= rtol, f"{what}: {dev:.2e}"


def run_both(torch: Any, layer: nn.Module, tlayer: Any, x: np.ndarray, seed: int = 0) -> None:
    """Forward both, backward a random upstream gradient, compare outputs and gradients."""
    name = type(layer).__name__
    out = layer.forward(x)
    xt = torch.tensor(x, requires_grad=True)
    outt = tlayer(xt)
    close(f"{name} output", out, outt)
    g = np.random.default_rng(seed).normal(size=out.shape)
    dx = layer.backward(g)
    outt.backward(torch.from_numpy(g))
    close(f"{name} input grad", dx, xt.grad)
    for key, grad in layer.grads.items():
        close(f"{name} {key} grad", grad, getattr(tlayer, key).grad)


def copy_params(torch: Any, layer: nn.Module, tlayer: Any) -> None:
    with torch.no_grad():
        for key, value in layer.params.items():
            getattr(tlayer, key).copy_(torch.from_numpy(value))


CONVS = [
    dict(in_channels=3, out_channels=4, kernel_size=3),
    dict(in_channels=2, out_channels=5, kernel_size=(3, 2), stride=(2, 1), padding=(1, 2),
         dilation=(2, 1)),
    dict(in_channels=1, out_channels=6, kernel_size=5, padding=2),
    dict(in_channels=4, out_channels=2, kernel_size=2, stride=2, bias=False),
]


@pytest.mark.parametrize("kwargs", CONVS, ids=str)
def test_conv2d(torch_double: Any, kwargs: dict) -> None:
    torch = torch_double
    layer = nn.Conv2d(**kwargs, init="torch", rng=0, dtype=F64)
    tlayer = torch.nn.Conv2d(**kwargs)
    copy_params(torch, layer, tlayer)
    x = np.random.default_rng(1).normal(size=(3, kwargs["in_channels"], 11, 9))
    run_both(torch, layer, tlayer, x)


@pytest.mark.parametrize("kwargs", [
    dict(in_channels=1, out_channels=4, kernel_size=5),
    dict(in_channels=3, out_channels=2, kernel_size=3, stride=2, padding=1, dilation=2),
], ids=str)
def test_conv1d(torch_double: Any, kwargs: dict) -> None:
    torch = torch_double
    layer = nn.Conv1d(**kwargs, rng=0, dtype=F64)
    tlayer = torch.nn.Conv1d(**kwargs)
    copy_params(torch, layer, tlayer)
    run_both(torch, layer, tlayer, np.random.default_rng(2).normal(
        size=(4, kwargs["in_channels"], 40)))


POOLS = [("MaxPool2d", (2,)), ("MaxPool2d", (3, 2, 1)), ("AvgPool2d", (2,)),
         ("AvgPool2d", ((3, 2), 1, (1, 0))), ("MaxPool1d", (3, 2, 1)), ("AvgPool1d", (4, 3))]


@pytest.mark.parametrize(("name", "args"), POOLS, ids=str)
@pytest.mark.parametrize("ties", [False, True], ids=["random", "ties"])
def test_pools(torch_double: Any, name: str, args: tuple, ties: bool) -> None:
    torch = torch_double
    shape = (2, 3, 9) if name.endswith("1d") else (2, 3, 9, 8)
    x = np.random.default_rng(3).normal(size=shape)
    if ties:  # few distinct values: most windows hold their maximum twice or more
        x = np.round(x)
    run_both(torch, getattr(nn, name)(*args), getattr(torch.nn, name)(*args), x)


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_batchnorm2d(torch_double: Any, training: bool) -> None:
    torch = torch_double
    rng = np.random.default_rng(4)
    layer = nn.BatchNorm2d(3, eps=1e-3, momentum=0.2, dtype=F64)
    layer.params["weight"], layer.params["bias"] = rng.normal(size=3), rng.normal(size=3)
    layer.buffers["running_mean"] = rng.normal(size=3)
    layer.buffers["running_var"] = rng.uniform(0.5, 2, size=3)
    tlayer = torch.nn.BatchNorm2d(3, eps=1e-3, momentum=0.2)
    copy_params(torch, layer, tlayer)
    with torch.no_grad():
        tlayer.running_mean.copy_(torch.from_numpy(layer.buffers["running_mean"]))
        tlayer.running_var.copy_(torch.from_numpy(layer.buffers["running_var"]))
    layer.train(training)
    tlayer.train(training)
    run_both(torch, layer, tlayer, rng.normal(loc=2.0, size=(4, 3, 5, 6)))
    close("BatchNorm2d running_mean", layer.buffers["running_mean"], tlayer.running_mean)
    close("BatchNorm2d running_var", layer.buffers["running_var"], tlayer.running_var)


def lenet(rng: np.random.Generator) -> nn.Sequential:
    """The issue's LeNet-5 (28×28 input, padding 2 in the first layer), in float64."""
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, kernel_size=5, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 5 * 5, 120, rng=rng), nn.ReLU(),
        nn.Linear(120, 84, rng=rng), nn.ReLU(), nn.Linear(84, 10, rng=rng)).astype(F64)


def torch_lenet(torch: Any, net: nn.Sequential) -> Any:
    tnn = torch.nn
    mods = []
    for layer in net:
        if isinstance(layer, nn.Conv2d):
            t = tnn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size,
                           padding=layer.padding)
            copy_params(torch, layer, t)
        elif isinstance(layer, nn.Linear):  # neuralab's W is (in, out)
            t = tnn.Linear(layer.in_features, layer.out_features)
            with torch.no_grad():
                t.weight.copy_(torch.from_numpy(layer.params["weight"].T.copy()))
                t.bias.copy_(torch.from_numpy(layer.params["bias"]))
        else:
            t = {nn.ReLU: tnn.ReLU, nn.MaxPool2d: lambda: tnn.MaxPool2d(2),
                 nn.Flatten: tnn.Flatten}[type(layer)]()
        mods.append(t)
    return tnn.Sequential(*mods)


@pytest.mark.slow
def test_lenet5_100_steps_sgd_momentum(torch_double: Any) -> None:
    torch = torch_double
    rng = np.random.default_rng(5)
    net = lenet(rng)
    tnet = torch_lenet(torch, net)
    X = rng.random((8 * 16, 1, 28, 28))  # 8 batches of 16, pixel-like values
    y = rng.integers(0, 10, size=len(X))
    opt = optim.SGD(net, lr=0.05, momentum=0.9)
    topt = torch.optim.SGD(tnet.parameters(), lr=0.05, momentum=0.9)
    loss_fn = nn.SoftmaxCrossEntropy()
    ours, theirs = [], []
    for step in range(100):
        sl = slice(16 * (step % 8), 16 * (step % 8 + 1))
        ours.append(float(loss_fn.forward(net.forward(X[sl]), y[sl])))
        net.backward(loss_fn.backward())
        opt.step()
        topt.zero_grad()
        tloss = torch.nn.functional.cross_entropy(tnet(torch.from_numpy(X[sl])),
                                                  torch.from_numpy(y[sl]))
        tloss.backward()
        topt.step()
        theirs.append(float(tloss.detach()))
    ours_a, theirs_a = np.array(ours), np.array(theirs)
    assert ours_a[-10:].mean() < 0.9 * ours_a[:10].mean()  # it learned (the batches by heart)
    dev = np.abs(ours_a - theirs_a) / np.abs(theirs_a)
    WORST["LeNet-5 loss, 100 steps"] = float(dev.max())
    assert dev.max() <= 1e-6, dev.max()
    close("LeNet-5 conv1 weight, step 100", net[0].params["weight"], tnet[0].weight, 1e-6)
