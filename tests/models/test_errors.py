"""Bad input and bad hyper-parameters raise errors that name the parameter and the value."""

from __future__ import annotations

import numpy as np
import pytest

from neuralab.exceptions import TrainingDiverged
from neuralab.models import (
    LinearRegression,
    LogisticRegression,
    MLPClassifier,
    MLPRegressor,
    NotFittedError,
    OneVsRest,
    Perceptron,
)

X = np.random.default_rng(0).normal(size=(20, 3))
Y = (X[:, 0] > 0).astype(int)


@pytest.mark.parametrize("params, match", [
    (dict(lr=0), r"lr=0 .*> 0"),
    (dict(lr=-0.1), r"lr=-0.1"),
    (dict(dropout=1.0), r"dropout.*1.0.*\[0.0, 1.0\)"),
    (dict(dropout=[0.1, 0.2]), r"dropout=\[0.1, 0.2\].*one per hidden layer"),
    (dict(batch_size=0), r"batch_size=0 .*integer >= 1 or 'full'"),
    (dict(batch_size="half"), r"batch_size='half'"),
    (dict(activation="rleu"), r"activation='rleu'.*did you mean 'relu'"),
    (dict(optimizer="adma"), r"optimizer='adma'.*did you mean 'adam'"),
    (dict(init="xavir"), r"init='xavir'.*did you mean 'xavier'"),
    (dict(schedule="cosin"), r"schedule='cosin'.*did you mean 'cosine'"),
    (dict(momentum=1.5), r"momentum=1.5"),
    (dict(dtype="float16"), r"dtype='float16'.*'float32'"),
    (dict(lr=[0.1, 0.2]), r"lr=\[0.1, 0.2\].*single number"),
    (dict(n_models=2, lr=[0.1, 0.2, 0.3]), r"lr=.*2 numbers"),
    (dict(monitor="val_los"), r"monitor='val_los'.*did you mean 'val_loss'"),
    (dict(target_accuracy=1.5), r"target_accuracy=1.5"),
    (dict(schedule="step", schedule_params={"gama": 0.5}), r"schedule_params=.*gama"),
    (dict(nesterov=True), r"nesterov=True.*momentum > 0"),
])
def test_bad_hyper_parameters(params, match):
    est = MLPClassifier(epochs=1, **params)  # the constructor only stores
    with pytest.raises(ValueError, match=match):
        est.fit(X, Y)


@pytest.mark.parametrize("cls, params, match", [
    (Perceptron, dict(mode="mini"), r"mode='mini'"),
    (Perceptron, dict(lr=0.0), r"lr=0.0"),
    (LinearRegression, dict(solver="qr"), r"solver='qr'"),
    (LinearRegression, dict(l1=0.1), r"l1=0.1 needs solver='gd'"),
    (LogisticRegression, dict(l2=-1.0), r"l2=-1.0"),
])
def test_bad_parameters_other_estimators(cls, params, match):
    with pytest.raises(ValueError, match=match):
        cls(**params).fit(X, Y)


def test_bad_epochs():
    with pytest.raises(ValueError, match=r"epochs=0"):
        MLPClassifier(epochs=0).fit(X, Y)


def test_bad_inputs():
    clf = MLPClassifier(hidden=(3,), epochs=1, random_state=0)
    with pytest.raises(ValueError, match=r"2-D array.*got shape \(20,\)"):
        clf.fit(X[:, 0], Y)
    with pytest.raises(ValueError, match=r"NaN or inf"):
        clf.fit(np.where(X > 1, np.nan, X), Y)
    with pytest.raises(ValueError, match=r"NaN or inf"):
        clf.fit(np.where(X > 1, np.inf, X), Y)
    with pytest.raises(ValueError, match=r"0 sample"):
        clf.fit(X[:0], Y[:0])
    with pytest.raises(ValueError, match=r"20 samples but y has 19"):
        clf.fit(X, Y[:-1])
    with pytest.raises(ValueError, match=r"at least 2 classes"):
        clf.fit(X, np.zeros(20))
    with pytest.raises(ValueError, match=r"Unknown label type: continuous"):
        clf.fit(X, X[:, 0])
    with pytest.raises(ValueError, match=r"requires y"):
        clf.fit(X, None)
    with pytest.raises(NotFittedError, match=r"not fitted"):
        clf.predict(X)
    clf.fit(X, Y)
    with pytest.raises(ValueError, match=r"X has 2 features, but MLPClassifier is expecting 3"):
        clf.predict(X[:, :2])
    with pytest.raises(ValueError, match=r"Reshape your data"):
        clf.predict(X[0])
    with pytest.raises(ValueError, match=r"were not seen in fit"):
        clf.fit(X, Y, validation=(X, Y + 2))
    with pytest.raises(ValueError, match=r"validation X has 2 features"):
        clf.fit(X, Y, validation=(X[:, :2], Y))
    with pytest.raises(ValueError, match=r"pair"):
        clf.fit(X, Y, validation=X)
    with pytest.raises(ValueError, match=r"early_stopping monitors 'val_loss'"):
        MLPClassifier(epochs=1, early_stopping=True).fit(X, Y)
    with pytest.raises(ValueError, match=r"batch_norm=True needs at least 2 samples"):
        MLPClassifier(epochs=1, batch_norm=True, batch_size=19).fit(X, Y)
    with pytest.raises(ValueError, match=r"y has shape"):
        MLPRegressor(epochs=1).fit(X, X[:, 0]).partial_fit(X, X[:, :2])
    with pytest.raises(ValueError, match=r"not fitted"):
        OneVsRest().predict(X)


def test_divergence_keeps_history():
    y = X @ np.array([1e3, -2e3, 5e2])
    reg = MLPRegressor(hidden=(16,), lr=10.0, momentum=0.9, batch_size=4, epochs=50, random_state=0)
    with pytest.raises(TrainingDiverged, match=r"diverged at epoch .*lr=10") as info:
        reg.fit(X, y)
    assert info.value.epoch == len(reg.history_) + 1
    assert info.value.lr == 10.0
    with pytest.raises(RuntimeError, match=r"interrupted part-way"):
        reg.checkpoint()
