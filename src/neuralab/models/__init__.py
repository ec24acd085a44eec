"""scikit-learn-style estimators on top of nn + optim + train.

>>> from neuralab.models import MLPClassifier
>>> clf = MLPClassifier(hidden=(20, 20), lr=0.1, momentum=0.9, epochs=200,
...                     random_state=0)
>>> clf.fit(X_train, y_train, validation=(X_val, y_val))  # doctest: +SKIP
>>> clf.score(X_test, y_test), clf.history_.val_acc[-1]  # doctest: +SKIP

Every estimator has ``fit``, ``partial_fit``, ``predict``, ``decision_function``,
``score``, ``history_``, ``checkpoint``, ``save``/``load``; see docs/models.md.
"""

from __future__ import annotations

import os
from typing import Any

from neuralab.io import load_arrays
from neuralab.models._estimator import NetEstimator
from neuralab.models._params import NotFittedError, clone
from neuralab.models._setup import member_seeds
from neuralab.models.cnn import CNNClassifier
from neuralab.models.linear import LinearRegression, LogisticRegression
from neuralab.models.mlp import MLPClassifier, MLPRegressor
from neuralab.models.multiclass import OneVsRest
from neuralab.models.perceptron import Perceptron


def load(path: str | os.PathLike) -> Any:
    """Load any estimator written by ``est.save(path)``."""
    header, _ = load_arrays(path)
    if header.get("estimator") == "OneVsRest":
        return OneVsRest.load(path)
    return NetEstimator.load(path)


__all__ = [
    "CNNClassifier", "LinearRegression", "LogisticRegression", "MLPClassifier", "MLPRegressor",
    "NetEstimator", "NotFittedError", "OneVsRest", "Perceptron", "clone", "load", "member_seeds",
]
