"""MLPClassifier(loss="squared"): TensorFlow Playground's classifier (one tanh output,
targets -1/+1, loss ½(o − t)² averaged), as the playground's default trains it."""

from __future__ import annotations

import numpy as np
import pytest

from neuralab import data
from neuralab.models import MLPClassifier


@pytest.fixture(scope="module")
def circle():
    return data.split(data.load("playground-circle", n=400, seed=1), test=0.5, seed=0)


def test_the_loss_is_half_the_squared_error_of_tanh_against_plus_minus_one(circle):
    train, _ = circle
    clf = MLPClassifier(hidden=(4, 2), activation="tanh", loss="squared", lr=0.03,
                        batch_size=10, epochs=3, train_metrics="full", dtype="float64",
                        random_state=0).fit(train.X, train.y)
    z = clf.decision_function(train.X)  # the one raw output
    t = np.where(train.y == clf.classes_[1], 1.0, -1.0)  # class 0 -> -1, class 1 -> +1
    assert clf.history_.train_loss[-1] == pytest.approx(np.mean(0.5 * (np.tanh(z) - t) ** 2),
                                                        rel=1e-12)
    proba = clf.predict_proba(train.X)
    np.testing.assert_allclose(proba[:, 1], (np.tanh(z) + 1) / 2, rtol=1e-12)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.predict(train.X), clf.classes_[(z >= 0).astype(int)])


def test_it_learns_playgrounds_circle(circle):
    train, test = circle
    clf = MLPClassifier(hidden=(4, 2), activation="tanh", loss="squared", lr=0.03,
                        batch_size=10, epochs=200, random_state=0).fit(train.X, train.y)
    assert clf.score(test.X, test.y) >= 0.95


def test_squared_takes_two_classes_and_names_the_bad_value():
    X, y = np.random.default_rng(0).normal(size=(30, 2)), np.arange(30) % 3
    with pytest.raises(ValueError, match=r"loss='squared' .* takes two classes; y has 3"):
        MLPClassifier(loss="squared", epochs=1).fit(X, y)
    with pytest.raises(ValueError, match=r"loss='sqaured' is not allowed; choose one of "
                                         r"'cross_entropy', 'squared'"):
        MLPClassifier(loss="sqaured", epochs=1).fit(X, y % 2)


def test_playgrounds_init_draws_uniform_weights_and_biases_of_one_tenth(circle):
    train, _ = circle
    net = MLPClassifier(hidden=(8, 8), init="playground", loss="squared", epochs=1, lr=1e-9,
                        random_state=3).fit(train.X, train.y).net_
    weights = [layer.params["weight"] for layer in net.layers if "weight" in layer.params]
    biases = [layer.params["bias"] for layer in net.layers if "bias" in layer.params]
    assert [w.shape for w in weights] == [(2, 8), (8, 8), (8, 1)]
    w = np.concatenate([x.ravel() for x in weights])
    assert w.min() >= -0.5 and w.max() < 0.5 and w.std() == pytest.approx(1 / 12**0.5, rel=0.2)
    np.testing.assert_allclose(np.concatenate(biases), 0.1, atol=1e-9)
