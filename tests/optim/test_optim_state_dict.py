"""Checkpointing: train k steps, save (through an .npz file), load into a fresh network,
optimizer and scheduler, continue → bit-identical to an uninterrupted run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from neuralab import nn, optim

K_STEPS, TOTAL = 7, 20


def _net(n_models: int | None = None) -> nn.Sequential:
    gens = 0 if n_models is None else [np.random.default_rng(i) for i in range(n_models)]
    rng = gens if n_models else np.random.default_rng(0)
    return nn.Sequential(nn.Linear(3, 8, rng=rng, dtype=np.float64),
                         nn.BatchNorm1d(8, n_models=n_models, dtype=np.float64),
                         nn.Tanh(), nn.Linear(8, 2, rng=rng, dtype=np.float64))


def _save(path: Path, state: dict[str, Any]) -> dict[str, np.ndarray]:
    np.savez(path, **{k.replace("/", "|"): v for k, v in state.items()})
    with np.load(path, allow_pickle=False) as f:
        return {k.replace("|", "/"): f[k] for k in f.files}


CONFIGS = [
    ("sgd", {"lr": 0.1}),
    ("sgd", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-3}),
    ("adam", {"lr": 0.01, "weight_decay": 1e-2}),
    ("rmsprop", {"lr": 0.01, "momentum": 0.5, "centered": True}),
]
SCHEDULES = [None, ("step", {"step_size": 3, "gamma": 0.5}), ("exponential", {"gamma": 0.9}),
             ("cosine", {"T_max": 15, "eta_min": 1e-3})]


def _make(name, kw, sched, n_models=None):
    net = _net(n_models)
    opt = optim.OPTIMIZERS[name](net, **kw)
    sch = None if sched is None else optim.SCHEDULES[sched[0]](opt, **sched[1])
    return net, opt, sch


def _steps(net, opt, sch, start, stop, n_models=None):
    rng = np.random.default_rng(99)
    lead = () if n_models is None else (n_models,)
    data = [(rng.normal(size=(*lead, 10, 3)), rng.integers(0, 2, size=10)) for _ in range(TOTAL)]
    loss_fn, losses = nn.SoftmaxCrossEntropy(), []
    for X, y in data[start:stop]:
        losses.append(loss_fn.forward(net.forward(X), y))
        net.backward(loss_fn.backward())
        opt.step()
        if sch is not None:
            sch.step()
    return losses


@pytest.mark.parametrize("sched", SCHEDULES, ids=lambda s: s[0] if s else "constant")
@pytest.mark.parametrize("name, kw", CONFIGS, ids=[f"{n}{i}" for i, (n, _) in enumerate(CONFIGS)])
@pytest.mark.parametrize("n_models", [None, 3])
def test_resume_is_bit_identical(name, kw, sched, n_models, tmp_path: Path) -> None:
    if n_models:
        kw = {**kw, "lr": np.array([kw["lr"], kw["lr"] / 2, kw["lr"] * 2])}
    ref = _make(name, kw, sched, n_models)
    ref_losses = _steps(*ref, 0, TOTAL, n_models)

    first = _make(name, kw, sched, n_models)
    losses = _steps(*first, 0, K_STEPS, n_models)
    net_state = _save(tmp_path / "net.npz", first[0].state_dict())
    opt_state = _save(tmp_path / "opt.npz", first[1].state_dict())
    sch_state = None if sched is None else _save(tmp_path / "sch.npz", first[2].state_dict())

    # Everything comes from the files: even a wrong lr, and a scheduler built on an optimizer
    # whose lr is already decayed (its base_lr is in the file, as PyTorch's base_lrs).
    net, opt, _ = _make(name, {**kw, "lr": 0.5}, None, n_models)
    net.load_state_dict(net_state)
    opt.load_state_dict(opt_state)
    sch = None if sched is None else optim.SCHEDULES[sched[0]](opt, **sched[1])
    if sch is not None:
        sch.load_state_dict(sch_state)
    losses += _steps(net, opt, sch, K_STEPS, TOTAL, n_models)

    np.testing.assert_array_equal(np.array(losses), np.array(ref_losses))
    for (n, a, _), (_, b, _) in zip(net.named_parameters(), ref[0].named_parameters(),
                                    strict=True):
        np.testing.assert_array_equal(a, b, err_msg=n)
    np.testing.assert_array_equal(np.asarray(opt.lr), np.asarray(ref[1].lr))
    assert opt.steps == ref[1].steps == TOTAL
