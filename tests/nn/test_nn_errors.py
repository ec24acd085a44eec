"""Invalid hyper-parameters raise ValueError naming the parameter, the value and what is allowed."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pytest

from neuralab import nn, optim


def _net() -> nn.Module:
    return nn.Linear(2, 2, rng=0)


CASES: list[tuple[str, Callable[[], object], str]] = [
    ("sgd lr=0", lambda: optim.SGD(_net(), lr=0), r"lr=0(\.0)? .*> 0"),
    ("sgd lr<0", lambda: optim.SGD(_net(), lr=-0.1), r"lr=-0\.1 .*> 0"),
    ("adam lr=0", lambda: optim.Adam(_net(), lr=0.0), r"lr=0\.0 .*> 0"),
    ("rmsprop lr<0", lambda: optim.RMSProp(_net(), lr=-1.0), r"lr=-1\.0"),
    ("per-member lr", lambda: optim.SGD(_net(), lr=np.array([0.1, -0.2])), r"lr=-0\.2"),
    ("sgd momentum=1", lambda: optim.SGD(_net(), momentum=1.0), r"momentum=1\.0 .*< 1"),
    ("sgd momentum>1", lambda: optim.SGD(_net(), momentum=1.5), r"momentum=1\.5"),
    ("sgd momentum<0", lambda: optim.SGD(_net(), momentum=-0.1), r"momentum=-0\.1"),
    ("rmsprop momentum=1", lambda: optim.RMSProp(_net(), momentum=1), r"momentum=1"),
    ("adam beta1=1", lambda: optim.Adam(_net(), betas=(1.0, 0.999)), r"betas\[0\]=1\.0"),
    ("nesterov without momentum", lambda: optim.SGD(_net(), nesterov=True), r"nesterov.*momentum"),
    ("weight_decay<0", lambda: optim.SGD(_net(), weight_decay=-1e-4), r"weight_decay=-0\.0001"),
    ("optimizer on a list", lambda: optim.SGD([np.zeros(3)], lr=0.1), r"Module.*list"),
    ("optimizer on an array", lambda: optim.Adam(np.zeros(3)), r"Module.*ndarray"),
    ("dropout p<0", lambda: nn.Dropout(-0.1), r"p=-0\.1 .*\[0\.0, 1\.0\)"),
    ("dropout p=1", lambda: nn.Dropout(1.0), r"p=1\.0 .*\[0\.0, 1\.0\)"),
    ("negative_slope<0", lambda: nn.LeakyReLU(-0.01), r"negative_slope=-0\.01"),
    ("negative_slope>1", lambda: nn.LeakyReLU(1.5), r"negative_slope=1\.5"),
    ("unknown init", lambda: nn.Linear(2, 3, init="xavir"), r"init='xavir'.*did you mean 'xavier'"),
    ("unknown init 2", lambda: nn.Linear(2, 3, init="kaimin"), r"did you mean 'kaiming'"),
    ("in_features=0", lambda: nn.Linear(0, 3), r"in_features=0"),
    ("bn batch of 1", lambda: nn.BatchNorm1d(3).forward(np.ones((1, 3), np.float32)),
     r"batch size 1"),
    ("bn ensemble batch of 1", lambda: nn.BatchNorm1d(3, n_models=2).forward(
        np.ones((2, 1, 3), np.float32)), r"batch size 1"),
    ("step_size=0", lambda: optim.StepLR(optim.SGD(_net()), step_size=0), r"step_size=0"),
    ("gamma<=0", lambda: optim.ExponentialLR(optim.SGD(_net()), gamma=0.0), r"gamma=0\.0"),
    ("flooding b<0", lambda: nn.Flooding(nn.MSE(), -1.0), r"b=-1\.0"),
    ("hinge labels", lambda: nn.Hinge().forward(np.zeros((3, 1)), np.array([0, 1, 1])),
     r"\{-1, \+1\}.*0"),
    ("empty rng list", lambda: nn.Linear(2, 3, rng=[]), r"rng=\[\]"),
]


@pytest.mark.parametrize("what, make, pattern", CASES, ids=[c[0] for c in CASES])
def test_invalid_values_are_named(what: str, make: Callable[[], object], pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern) as info:
        make()
    assert len(str(info.value).splitlines()) == 1


def test_bn_batch_of_one_is_fine_in_eval_mode() -> None:
    bn = nn.BatchNorm1d(3).eval()
    assert bn.forward(np.ones((1, 3), np.float32)).shape == (1, 3)


def test_dropout_accepts_integer_input() -> None:
    out = nn.Dropout(0.5, rng=0).forward(np.ones((4, 3), dtype=int))
    assert out.dtype == np.float64 and set(np.unique(out)) <= {0.0, 2.0}


def test_messages_name_the_value_seen() -> None:
    with pytest.raises(ValueError) as info:
        optim.SGD(_net(), lr=-3.5)
    assert re.search(r"lr=-3\.5 is not allowed", str(info.value))
