"""Seed 004 Q4.2 / Q4.3: the gradient checks on the reconstructed graph tell a right formula
from a wrong one (finite differences in float64, counted per random point)."""

from __future__ import annotations

import numpy as np
import pytest

from neuralab.reproduce import exact
from neuralab.reproduce.exact import compare_gradients, run_check


def _squared(g: dict, y: str, yhat: str) -> float:
    return -2 * (g[y] - g[yhat])  # d/dyhat (y - yhat)^2


# the true gradients of J = sum (y - yhat)^2 on the graph, written out by hand
CORRECT = {
    "yhat2": ("-2 (y2 - yhat2)", lambda g: _squared(g, "y2", "yhat2")),
    "z1": ("chain rule", lambda g: (
        _squared(g, "y1", "yhat1") * g["yhat1"] * (1 - g["yhat1"]) * 3 * g["m11"] * g["z1"] ** 2
        + _squared(g, "y2", "yhat2") * g["m12"] * np.cos(g["z1"]))),
    "m22": ("-2 (y2 - yhat2) cos z2", lambda g: _squared(g, "y2", "yhat2") * np.cos(g["z2"])),
    "c2": ("-2 (y2 - yhat2)", lambda g: _squared(g, "y2", "yhat2")),
    "w21": ("dJ/dz1 x2 where the ReLU is on",
            lambda g: g["dJ/dz1"] * g["x2"] if g["a1"] > 0 else 0.0),
}


def test_correct_formulas_agree_at_every_point() -> None:
    agree, cases, per = compare_gradients(CORRECT, "squared", trials=20, seed=3)
    assert (agree, cases) == (100, 100)
    assert per == dict.fromkeys(CORRECT, 20)


@pytest.mark.parametrize("wrong", [
    lambda g: -CORRECT["z1"][1](g),  # the sign
    lambda g: CORRECT["z1"][1](g) * 1.001,  # a factor off by 0.1 %
    lambda g: _squared(g, "y1", "yhat1") * g["yhat1"] * (1 - g["yhat1"]) * 3 * g["m11"]
    * g["z1"] ** 2,  # the second path (through yhat2) forgotten
])
def test_a_wrong_formula_fails_at_every_point(wrong) -> None:
    agree, cases, _ = compare_gradients({"z1": ("wrong", wrong)}, "squared", trials=20,
                                        seed=3, active=True)
    assert (agree, cases) == (0, 20)


def test_the_reports_q42_fits_the_log_loss_only() -> None:
    # its first step -2/(y - yhat) is d/dyhat ln (y - yhat)^2, not d/dyhat (y - yhat)^2
    log, n, _ = run_check("graph_gradients", {"question": "q4.2", "loss": "log_squared",
                                              "trials": 10})
    sq, n2, detail = run_check("graph_gradients", {"question": "q4.2", "trials": 10})
    assert (log, n) == (70, 70) and (sq, n2) == (0, 70)
    assert "dJ/dz1 0/10" in detail
    # Q4.3's step below dJ/dz holds for either loss, on both sides of the ReLU
    assert run_check("graph_gradients", {"question": "q4.3", "trials": 10})[:2] == (30, 30)


def test_the_relu_branch_of_q43_is_checked_both_ways() -> None:
    # a dJ/dw11 that forgets the ReLU (always dJ/dz1 x1) fails exactly where the unit is off
    points = exact._graph_points(40, 0, "squared", active=False)
    off = sum(p["w11"] * p["x1"] + p["w21"] * p["x2"] < 0 for p in points)
    assert 0 < off < 40
    forgetful = {"w11": ("no ReLU", lambda g: g["dJ/dz1"] * g["x1"])}
    agree, cases, _ = compare_gradients(forgetful, "squared", trials=40, seed=0)
    # where the unit is off, dJ/dz1 x1 is non-zero but the true gradient is 0
    assert cases == 40 and agree == 40 - off


@pytest.mark.parametrize(("args", "message"), [
    ({"question": "q4.4"}, "question='q4.4' is not allowed; use 'q4.2' or 'q4.3'"),
    ({"loss": "cross_entropy"}, "loss='cross_entropy' is not allowed; use one of squared"),
])
def test_bad_arguments_get_one_clear_error(args: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        run_check("graph_gradients", args)
