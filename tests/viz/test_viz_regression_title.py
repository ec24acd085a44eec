"""A regression run's fitted-plane title: the run's name, then the equation on one line,
never broken in the middle (``ŷ = 0.0988·x1 + 0.1·x2 −`` / ``0.00172`` read as two
formulas)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from neuralab import viz
from neuralab.models import LinearRegression
from neuralab.viz.regression import _equation


@pytest.mark.parametrize("title", [None, "q2-linear-regression: fitted surface",
                                   "a-very-long-run-name-from-a-course-report-q2: fitted "
                                   "surface"])
def test_the_equation_stays_on_one_line(title) -> None:
    rng = np.random.default_rng(0)
    X = rng.uniform(-6, 6, size=(200, 2))
    y = 0.0988 * X[:, 0] + 0.1 * X[:, 1] - 0.00172 + 0.01 * rng.normal(size=200)
    est = LinearRegression().fit(X, y)
    fig = viz.plot_regression_fit(est, X, y, title=title)
    text = fig._suptitle.get_text()
    equation = _equation(est, 2)
    assert equation and equation.count("·x") == 2
    assert any(equation in line for line in text.split("\n")), text  # whole, on one line
    assert text.replace("\n", " ").startswith(title or "fitted surface"), text
