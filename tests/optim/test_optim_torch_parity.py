"""Parity with PyTorch CPU in float64: same initial weights and data → the same loss after
every one of 100 steps (rtol 1e-6), the same final weights, the same batch-norm running
statistics and eval-mode outputs. Torch models are built by copying neuralab's weights
(neuralab W is (in, out); torch's Linear weight is (out, in)). Dropout uses neuralab's mask in
both: torch multiplies by ``Dropout.mask / (1 − p)``.

Run with ``-s`` to print the worst deviation measured.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from neuralab import nn, optim

pytestmark = pytest.mark.torch

STEPS = 100
RTOL = 1e-6
F64 = np.float64
WORST: dict[str, float] = {}


@pytest.fixture(scope="module", autouse=True)
def _report_worst() -> Iterator[None]:
    yield
    for what, dev in sorted(WORST.items()):
        print(f"\n[parity] worst {what:<36s} {dev:.2e}", end="")


def record(what: str, a: np.ndarray, b: np.ndarray) -> None:
    a, b = np.asarray(a, F64), np.asarray(b, F64)
    dev = float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-12), initial=0.0))
    WORST[what] = max(WORST.get(what, 0.0), dev)


@dataclass
class Config:
    optimizer: str
    opt_kwargs: dict[str, Any]
    act: str = "relu"
    loss: str = "ce-int"
    batchnorm: bool = False
    dropout: float = 0.0
    schedule: tuple[str, dict[str, Any]] | None = None
    widths: tuple[int, ...] = (5, 16, 12, 3)
    extra: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        bits = [self.optimizer, *(f"{k}={v}" for k, v in self.opt_kwargs.items()), self.act,
                self.loss]
        bits += ["bn"] * self.batchnorm + [f"dropout={self.dropout}"] * bool(self.dropout)
        bits += [self.schedule[0]] if self.schedule else []
        return "-".join(bits)


CONFIGS = [
    Config("sgd", {"lr": 0.1}),
    Config("sgd", {"lr": 0.05, "momentum": 0.9}, act="tanh", loss="ce-onehot"),
    Config("sgd", {"lr": 0.05, "momentum": 0.9, "nesterov": True}, act="sigmoid", loss="bce"),
    Config("sgd", {"lr": 0.05, "weight_decay": 0.01}, act="leaky_relu", loss="mse"),
    Config("sgd", {"lr": 0.05, "momentum": 0.8, "dampening": 0.3, "weight_decay": 1e-3}),
    Config("adam", {"lr": 0.01}),
    Config("adam", {"lr": 0.005, "betas": (0.8, 0.99), "weight_decay": 0.01}, act="tanh",
           loss="bce"),
    Config("rmsprop", {"lr": 0.005}, act="sigmoid"),
    Config("rmsprop", {"lr": 0.002, "momentum": 0.9}, act="leaky_relu", loss="ce-onehot"),
    Config("rmsprop", {"lr": 0.002, "centered": True}, act="tanh", loss="mse"),
    Config("rmsprop", {"lr": 0.001, "centered": True, "momentum": 0.5, "weight_decay": 0.01}),
    Config("sgd", {"lr": 0.05, "momentum": 0.9}, batchnorm=True),
    Config("adam", {"lr": 0.01}, act="tanh", batchnorm=True, loss="bce"),
    Config("sgd", {"lr": 0.05, "momentum": 0.9}, dropout=0.3),
    Config("adam", {"lr": 0.01}, act="sigmoid", dropout=0.5, batchnorm=True, loss="mse"),
    Config("sgd", {"lr": 0.1, "momentum": 0.9}, schedule=("step", {"step_size": 30, "gamma": 0.5})),
    Config("adam", {"lr": 0.01}, schedule=("exponential", {"gamma": 0.97})),
    Config("sgd", {"lr": 0.1}, act="tanh", schedule=("cosine", {"T_max": STEPS, "eta_min": 1e-3})),
]


def _data(cfg: Config) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(123)
    X = rng.normal(size=(64, cfg.widths[0]))
    teacher = X @ rng.normal(size=(cfg.widths[0], cfg.widths[-1]))
    if cfg.loss == "ce-int":
        y = teacher.argmax(axis=1)
    elif cfg.loss == "ce-onehot":
        y = np.eye(cfg.widths[-1])[teacher.argmax(axis=1)]
    elif cfg.loss == "bce":
        y = (teacher > 0).astype(F64)
    else:
        y = np.tanh(teacher)
    return X, y


def _neuralab_net(cfg: Config) -> nn.Sequential:
    rng = np.random.default_rng(7)
    layers: list[nn.Module] = []
    w = cfg.widths
    for i in range(len(w) - 1):
        layers.append(nn.Linear(w[i], w[i + 1], init="uniform", rng=rng, dtype=F64))
        if i < len(w) - 2:
            if cfg.batchnorm:
                layers.append(nn.BatchNorm1d(w[i + 1], dtype=F64))
            layers.append(nn.ACTIVATIONS[cfg.act]())
            if cfg.dropout:
                layers.append(nn.Dropout(cfg.dropout, rng=np.random.default_rng(100 + i)))
    return nn.Sequential(*layers)


def _torch_net(torch: Any, net: nn.Sequential) -> Any:
    tnn = torch.nn

    class MaskedDropout(tnn.Module):
        """Applies the mask neuralab's twin drew on this step."""

        def __init__(self, twin: nn.Dropout) -> None:
            super().__init__()
            self.twin = twin

        def forward(self, x: Any) -> Any:
            if not self.training:
                return x
            return x * torch.from_numpy(self.twin.mask / (1 - self.twin.p))

    mods = []
    for layer in net:
        if isinstance(layer, nn.Linear):
            lin = tnn.Linear(layer.in_features, layer.out_features)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(layer.params["weight"].T.copy()))
                lin.bias.copy_(torch.from_numpy(layer.params["bias"]))
            mods.append(lin)
        elif isinstance(layer, nn.BatchNorm1d):
            bn = tnn.BatchNorm1d(layer.num_features, eps=layer.eps, momentum=layer.momentum)
            with torch.no_grad():
                bn.weight.copy_(torch.from_numpy(layer.params["weight"]))
                bn.bias.copy_(torch.from_numpy(layer.params["bias"]))
            mods.append(bn)
        elif isinstance(layer, nn.Dropout):
            mods.append(MaskedDropout(layer))
        else:
            mods.append({
                nn.ReLU: lambda m: tnn.ReLU(),
                nn.LeakyReLU: lambda m: tnn.LeakyReLU(m.negative_slope),
                nn.Tanh: lambda m: tnn.Tanh(),
                nn.Sigmoid: lambda m: tnn.Sigmoid(),
                nn.Identity: lambda m: tnn.Identity(),
            }[type(layer)](layer))
    return tnn.Sequential(*mods)


def _losses(torch: Any, kind: str) -> tuple[nn.Loss, Any]:
    F = torch.nn.functional
    return {
        "ce-int": (nn.SoftmaxCrossEntropy(), lambda z, y: F.cross_entropy(z, y.long())),
        "ce-onehot": (nn.SoftmaxCrossEntropy(), F.cross_entropy),  # class probabilities
        "bce": (nn.BCEWithLogits(), F.binary_cross_entropy_with_logits),
        "mse": (nn.MSE(), F.mse_loss),
    }[kind]


def _optimizers(torch: Any, cfg: Config, net: nn.Module, tnet: Any) -> tuple[Any, Any]:
    kw = dict(cfg.opt_kwargs)
    ours = {"sgd": optim.SGD, "adam": optim.Adam, "rmsprop": optim.RMSProp}[cfg.optimizer]
    theirs = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam,
              "rmsprop": torch.optim.RMSprop}[cfg.optimizer]
    return ours(net, **kw), theirs(tnet.parameters(), **kw)


def _schedulers(torch: Any, cfg: Config, opt: Any, topt: Any) -> tuple[Any, Any]:
    if cfg.schedule is None:
        return None, None
    name, kw = cfg.schedule
    theirs = {"step": torch.optim.lr_scheduler.StepLR,
              "exponential": torch.optim.lr_scheduler.ExponentialLR,
              "cosine": torch.optim.lr_scheduler.CosineAnnealingLR}[name]
    return optim.SCHEDULES[name](opt, **kw), theirs(topt, **kw)


def _batches(X: np.ndarray, y: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Four fixed mini-batches of 16 in turn (batch norm sees changing statistics)."""
    for step in range(STEPS):
        sl = slice(16 * (step % 4), 16 * (step % 4 + 1))
        yield X[sl], y[sl]


@pytest.mark.parametrize("cfg", CONFIGS, ids=str)
def test_100_step_trajectory_matches_torch(cfg: Config, torch_double: Any) -> None:
    torch = torch_double
    X, y = _data(cfg)
    net = _neuralab_net(cfg)
    tnet = _torch_net(torch, net)
    loss_fn, tloss_fn = _losses(torch, cfg.loss)
    opt, topt = _optimizers(torch, cfg, net, tnet)
    sched, tsched = _schedulers(torch, cfg, opt, topt)

    ours, theirs, lrs, tlrs = [], [], [], []
    for xb, yb in _batches(X, y):
        ours.append(loss_fn.forward(net.forward(xb), yb))
        net.backward(loss_fn.backward())
        opt.step()

        topt.zero_grad()
        tloss = tloss_fn(tnet(torch.from_numpy(xb)), torch.from_numpy(yb))
        tloss.backward()
        topt.step()
        theirs.append(tloss.item())
        if sched is not None:
            lrs.append(sched.step())
            tsched.step()
            tlrs.append(topt.param_groups[0]["lr"])

    record("loss (relative)", ours, theirs)
    np.testing.assert_allclose(ours, theirs, rtol=RTOL)
    assert ours[-1] < ours[0]  # the runs actually train
    if sched is not None:
        record("learning rate (relative)", lrs, tlrs)
        np.testing.assert_allclose(lrs, tlrs, rtol=1e-12)

    tmods = list(tnet)
    for layer, tmod in zip(net, tmods, strict=True):
        if isinstance(layer, nn.Linear):
            W, tW = layer.params["weight"], tmod.weight.detach().numpy().T
            record("final weight (relative)", W, tW)
            np.testing.assert_allclose(W, tW, rtol=RTOL, atol=1e-9)
            np.testing.assert_allclose(layer.params["bias"], tmod.bias.detach().numpy(),
                                       rtol=RTOL, atol=1e-9)
        if isinstance(layer, nn.BatchNorm1d):
            for ours_b, theirs_b in [("running_mean", tmod.running_mean),
                                     ("running_var", tmod.running_var)]:
                record("BN running stats (relative)", layer.buffers[ours_b], theirs_b.numpy())
                np.testing.assert_allclose(layer.buffers[ours_b], theirs_b.numpy(),
                                           rtol=RTOL, atol=1e-12)

    # eval mode after training: running statistics, no dropout
    net.eval()
    tnet.eval()
    with torch.no_grad():
        t_eval = tnet(torch.from_numpy(X)).numpy()
    out = net.forward(X)
    record("eval output after training (rel.)", out, t_eval)
    np.testing.assert_allclose(out, t_eval, rtol=RTOL, atol=1e-9)


@pytest.mark.parametrize("name, kw", [
    ("step", {"step_size": 7, "gamma": 0.3}),
    ("exponential", {"gamma": 0.9}),
    ("cosine", {"T_max": 40}),
    ("cosine", {"T_max": 25, "eta_min": 0.01}),
])
def test_schedules_match_torch(name: str, kw: dict[str, Any], torch_double: Any) -> None:
    torch = torch_double
    net = nn.Linear(2, 1, dtype=F64, rng=0)
    opt = optim.SGD(net, lr=0.5)
    topt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.5)
    sched = optim.SCHEDULES[name](opt, **kw)
    tsched = {"step": torch.optim.lr_scheduler.StepLR,
              "exponential": torch.optim.lr_scheduler.ExponentialLR,
              "cosine": torch.optim.lr_scheduler.CosineAnnealingLR}[name](topt, **kw)
    horizon = kw.get("T_max", 60)  # torch's cosine restarts after T_max; ours stays at eta_min
    ours, theirs = [], []
    for _ in range(horizon):
        topt.step()
        tsched.step()
        ours.append(sched.step())
        theirs.append(topt.param_groups[0]["lr"])
    record("learning rate (relative)", ours, theirs)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("kind", ["ce-int", "ce-onehot", "bce", "mse"])
@pytest.mark.parametrize("ensemble", [False, True])
def test_losses_and_gradients_match_torch(kind: str, ensemble: bool, torch_double: Any) -> None:
    torch = torch_double
    rng = np.random.default_rng(5)
    E, B, K = 3, 8, 4
    z = 3 * rng.normal(size=(E, B, K))
    if kind == "ce-int":
        y = rng.integers(0, K, size=B)
    elif kind == "ce-onehot":
        y = np.eye(K)[rng.integers(0, K, size=B)]
    elif kind == "bce":
        y = rng.integers(0, 2, size=(B, K)).astype(F64)
    else:
        y = rng.normal(size=(B, K))
    loss_fn, tloss_fn = _losses(torch, kind)
    members = range(E) if ensemble else [0]
    value = loss_fn.forward(z if ensemble else z[0], y)
    grad = loss_fn.backward()
    for i in members:
        tz = torch.tensor(z[i], requires_grad=True)
        tl = tloss_fn(tz, torch.from_numpy(y))
        tl.backward()
        v = value[i] if ensemble else value
        g = grad[i] if ensemble else grad
        record("loss value (relative)", v, tl.item())
        np.testing.assert_allclose(v, tl.item(), rtol=1e-12)
        np.testing.assert_allclose(g, tz.grad.numpy(), rtol=1e-10, atol=1e-15)
