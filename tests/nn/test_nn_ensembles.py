"""Ensembles at the nn level: member i of an E-model stack equals the single model built with
member i's generator — at init exactly, after training to 1e-9 (float64)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from neuralab import nn, optim

E, B, F_IN, HID, K = 8, 12, 4, 10, 3
F64 = np.float64


def _gens(tag: int, n: int = E) -> list[np.random.Generator]:
    """Fresh generators (they are stateful, so each net gets its own copies)."""
    return [np.random.default_rng(s) for s in np.random.SeedSequence(tag).spawn(n)]


def _net(weight_rng, drop_rng, n_models: int | None) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(F_IN, HID, rng=weight_rng, dtype=F64),
        nn.BatchNorm1d(HID, n_models=n_models, dtype=F64),
        nn.ReLU(),
        nn.Dropout(0.25, rng=drop_rng),
        nn.Linear(HID, HID, rng=weight_rng, dtype=F64, init="xavier"),
        nn.Tanh(),
        nn.Linear(HID, K, rng=weight_rng, dtype=F64, init="uniform"),
    )


def _pair() -> tuple[nn.Sequential, list[nn.Sequential]]:
    ens = _net(_gens(1), _gens(2), E)
    singles = [_net(w, d, None) for w, d in zip(_gens(1), _gens(2), strict=True)]
    return ens, singles


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    return rng.normal(size=(E, B, F_IN)), rng.integers(0, K, size=(E, B))


def test_weights_at_init_are_exactly_the_singles() -> None:
    ens, singles = _pair()
    for name, p, _ in ens.named_parameters():
        assert p.shape[0] == E
        for i, single in enumerate(singles):
            np.testing.assert_array_equal(p[i], dict((n, q) for n, q, _ in
                                                     single.named_parameters())[name])


def _train(net: nn.Module, make_opt: Callable[[nn.Module], optim.Optimizer], X, y,
           steps: int = 50) -> list:
    opt, loss_fn, losses = make_opt(net), nn.SoftmaxCrossEntropy(), []
    for t in range(steps):
        sl = slice(0, B) if t % 2 == 0 else slice(2, B)  # vary the batch
        losses.append(loss_fn.forward(net.forward(X[..., sl, :]), y[..., sl]))
        net.backward(loss_fn.backward())
        opt.step()
    return losses


def _assert_members_equal(ens, singles, ens_losses, single_losses, tol=1e-9) -> None:
    np.testing.assert_allclose(np.array(ens_losses).T, np.array(single_losses), rtol=tol)
    for name, p, _ in ens.named_parameters():
        for i, single in enumerate(singles):
            q = dict((n, q) for n, q, _ in single.named_parameters())[name]
            np.testing.assert_allclose(p[i], q, rtol=tol, atol=tol)
    for name, b in ens.named_buffers():
        for i, single in enumerate(singles):
            np.testing.assert_allclose(b[i], dict(single.named_buffers())[name], rtol=tol)


def test_fifty_sgd_momentum_steps_match_the_singles() -> None:
    ens, singles = _pair()
    X, y = _data()

    def make(net):
        return optim.SGD(net, lr=0.05, momentum=0.9, weight_decay=1e-3)
    ens_losses = _train(ens, make, X, y)
    single_losses = [_train(s, make, X[i], y[i]) for i, s in enumerate(singles)]
    _assert_members_equal(ens, singles, ens_losses, single_losses)
    # dropout masks: member i of the ensemble drew exactly the single model's mask
    for i, single in enumerate(singles):
        np.testing.assert_array_equal(ens[3].mask[i], single[3].mask)
    # eval mode (running statistics) too
    ens.eval()
    out = ens.forward(X)
    for i, single in enumerate(singles):
        np.testing.assert_allclose(out[i], single.eval().forward(X[i]), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name, kwargs", [
    ("sgd", {"momentum": np.linspace(0.0, 0.9, E), "weight_decay": np.linspace(0, 0.01, E)}),
    ("sgd", {"momentum": 0.9, "nesterov": True}),
    ("adam", {"weight_decay": np.linspace(0, 0.01, E)}),
    ("rmsprop", {"momentum": np.linspace(0.0, 0.5, E), "centered": True}),
])
def test_per_member_hyper_parameters_equal_single_runs(name: str, kwargs: dict) -> None:
    lrs = np.geomspace(1e-3, 1e-1, E)
    cls = optim.OPTIMIZERS[name]
    ens, singles = _pair()
    X, y = _data()
    ens_losses = _train(ens, lambda net: cls(net, lr=lrs, **kwargs), X, y)
    single_losses = []
    for i, s in enumerate(singles):
        kw = {k: (v[i] if np.ndim(v) else v) for k, v in kwargs.items()}
        single_losses.append(_train(s, lambda net, i=i, kw=kw: cls(net, lr=lrs[i], **kw),
                                    X[i], y[i]))
    _assert_members_equal(ens, singles, ens_losses, single_losses)


def test_batchnorm_and_dropout_ensemble_forms_equal_their_twins() -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(size=(E, B, HID)) * 2 + 1
    g = rng.normal(size=x.shape)
    bn = nn.BatchNorm1d(HID, n_models=E, dtype=F64)
    bn.params["weight"][...] = rng.uniform(0.5, 2, size=(E, HID))
    twins = [nn.BatchNorm1d(HID, dtype=F64) for _ in range(E)]
    for i, t in enumerate(twins):
        t.params["weight"][...] = bn.params["weight"][i]
    for mode in (True, False):
        bn.train(mode)
        out, gin = bn.forward(x), bn.backward(g)
        for i, t in enumerate(twins):
            t.train(mode)
            np.testing.assert_allclose(out[i], t.forward(x[i]), rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(gin[i], t.backward(g[i]), rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(bn.grads["weight"][i], t.grads["weight"], rtol=1e-12)
            np.testing.assert_allclose(bn.buffers["running_var"][i], t.buffers["running_var"])

    drop = nn.Dropout(0.4, rng=_gens(5))
    dtwins = [nn.Dropout(0.4, rng=gen) for gen in _gens(5)]
    for _ in range(3):  # successive draws stay in step
        out, gin = drop.forward(x), drop.backward(g)
        for i, t in enumerate(dtwins):
            np.testing.assert_array_equal(out[i], t.forward(x[i]))
            np.testing.assert_array_equal(gin[i], t.backward(g[i]))


def test_ensemble_losses_are_per_member() -> None:
    rng = np.random.default_rng(6)
    z = rng.normal(size=(E, B, K))
    y = rng.integers(0, K, size=B)
    for loss in (nn.SoftmaxCrossEntropy(), nn.MSE(), nn.BCEWithLogits()):
        target = y if isinstance(loss, nn.SoftmaxCrossEntropy) else np.eye(K)[y]
        values, grad = loss.forward(z, target), loss.backward()
        assert values.shape == (E,)
        for i in range(E):
            assert values[i] == pytest.approx(loss.forward(z[i], target), rel=1e-12)
            np.testing.assert_allclose(grad[i], loss.backward(), rtol=1e-12)
    for loss in (nn.Hinge(), nn.PerceptronCriterion()):  # shared (B,) labels in {-1, +1}
        s, t = z[..., :1], np.where(y > 0, 1.0, -1.0)
        values, grad = loss.forward(s, t), loss.backward()
        for i in range(E):
            assert values[i] == pytest.approx(loss.forward(s[i], t), rel=1e-12)
            np.testing.assert_allclose(grad[i], loss.backward(), rtol=1e-12)
