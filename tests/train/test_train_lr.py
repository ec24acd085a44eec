"""One writer of the learning rate: under a Trainer, the Trainer (from the schedule's pure
``lr_at`` and the frozen members); in a loop you write yourself, ``sched.step()``."""

from __future__ import annotations

import numpy as np
import pytest

from neuralab import nn, optim
from neuralab.models import MLPClassifier
from neuralab.train import Trainer

rng = np.random.default_rng(0)
X = rng.normal(size=(60, 2))
Y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)


class WatchedSGD(optim.SGD):
    """SGD that records every value written to ``lr`` after construction."""

    def __init__(self, *args, **kwargs):
        self.writes = None
        super().__init__(*args, **kwargs)
        self.writes = []

    @property
    def lr(self):
        return self._lr

    @lr.setter
    def lr(self, value):
        if self.writes is not None:
            self.writes.append(value)
        self._lr = value


@pytest.mark.parametrize("name, kw", [("step", {"step_size": 2, "gamma": 0.5}),
                                      ("exponential", {"gamma": 0.8}),
                                      ("cosine", {"T_max": 4, "eta_min": 0.001})])
def test_trainer_writes_the_scheduled_rate_once_per_epoch_and_never_steps_the_schedule(name, kw):
    g = np.random.default_rng(1)
    net = nn.Sequential(nn.Linear(2, 4, rng=g, dtype=np.float64), nn.Tanh(),
                        nn.Linear(4, 2, rng=g, dtype=np.float64))
    opt = WatchedSGD(net, lr=0.01)
    sched = optim.SCHEDULES[name](opt, **kw)
    trainer = Trainer(net, nn.SoftmaxCrossEntropy(), opt, gens=[g], batch_size=16,
                      scheduler=sched)
    logged = []
    for _ in range(6):
        logged.append(trainer.lr)
        trainer.train_epoch(X, Y)
        trainer.end_epoch()
    expected = [sched.lr_at(e) for e in range(6)]
    assert opt.writes == expected == logged  # one write per epoch, the schedule's value
    assert expected[0] == 0.01  # epoch 0 is the optimizer's own rate, exactly
    assert len(set(expected)) > 1
    assert sched.last_epoch == 0  # the epoch count is the Trainer's


def test_standalone_schedule_step_is_the_writer():
    net = nn.Linear(2, 1, rng=0)
    opt = optim.SGD(net, lr=0.5)
    sched = optim.StepLR(opt, step_size=2, gamma=0.1)
    assert sched.lr_at(3) == pytest.approx(0.05) and opt.lr == 0.5  # lr_at is pure
    lrs = [sched.step() for _ in range(4)]
    np.testing.assert_allclose(lrs, [0.5, 0.05, 0.05, 0.005])
    assert opt.lr == lrs[-1] and sched.last_epoch == 4


def test_checkpoint_has_no_schedule_state_and_old_schedule_keys_are_ignored():
    kw = dict(hidden=(5,), lr=0.2, batch_size=16, random_state=4, schedule="step",
              schedule_params={"step_size": 2, "gamma": 0.5})
    full = MLPClassifier(epochs=6, **kw).fit(X, Y)
    half = MLPClassifier(epochs=3, **kw).fit(X, Y)
    ckpt = half.checkpoint()
    assert not any(k.startswith("sched/") for k in ckpt)
    # what earlier versions wrote (the schedule's own epoch count): read and ignored
    ckpt.update({"sched/last_epoch": np.asarray(99), "sched/base_lr": np.asarray(7.0)})
    resumed = MLPClassifier(epochs=6, **kw).fit(X, Y, resume=ckpt)
    a, b = full.checkpoint(), resumed.checkpoint()
    assert sorted(a) == sorted(b)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    np.testing.assert_allclose(full.history_.lr, [0.2, 0.2, 0.1, 0.1, 0.05, 0.05])


def test_frozen_member_has_rate_zero_and_trains_again_in_partial_fit():
    """A member frozen in fit (target reached) gets its rate back in the very first epoch of
    partial_fit: the rate is recomputed from the active members before each epoch."""
    est = MLPClassifier(hidden=(4,), n_models=2, lr=[0.5, 1e-5], target_accuracy=0.95,
                        batch_size=16, epochs=40, random_state=0).fit(X, Y)
    trainer = est._trainer
    assert trainer.active.tolist() == [False, True]  # member 0 reached the target, 1 did not
    stopped = int(est.converged_epoch_[0])
    assert est.history_.lr[stopped, 0] == 0.0 and est.history_.lr[stopped, 1] == 1e-5
    before = est.net_.state_dict()["0.weight"][0].copy()
    est.partial_fit(X, Y, epochs=1)
    np.testing.assert_allclose(est.history_.lr[-1], [0.5, 1e-5])
    assert not np.array_equal(est.net_.state_dict()["0.weight"][0], before)
