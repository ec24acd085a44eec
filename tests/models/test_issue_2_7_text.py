"""Issues #2 and #7 read as an outside tester would: their snippets pasted as written
(float64 NumPy data, default constructors), and what their scope lists for every estimator."""

from __future__ import annotations

import numpy as np
import pytest

from neuralab.models import (
    CNNClassifier,
    LinearRegression,
    LogisticRegression,
    MLPClassifier,
    MLPRegressor,
    OneVsRest,
    Perceptron,
)
from neuralab.models._params import clone


def _moons() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    t = rng.uniform(0, np.pi, 200)
    X = np.c_[np.cos(t), np.sin(t)]
    X[100:] = np.c_[1 - np.cos(t[100:]), 0.5 - np.sin(t[100:])]
    y = (np.arange(200) >= 100).astype(int)
    return X + rng.normal(scale=0.2, size=X.shape), y


def test_issue_2_snippet_as_written():
    X, y = _moons()
    X_train, y_train, X_val, y_val = X[:120], y[:120], X[120:160], y[120:160]
    X_test, y_test = X[160:], y[160:]
    # --- issue #2, "What a user must be able to do", verbatim ---
    from neuralab import nn, optim

    # low level, the way the course skeletons teach it
    rng = np.random.default_rng(0)
    net = nn.Sequential(nn.Linear(2, 20, rng=rng), nn.ReLU(), nn.Linear(20, 2, rng=rng))
    loss_fn = nn.SoftmaxCrossEntropy()
    opt = optim.SGD(net, lr=0.1, momentum=0.9)     # optimizer walks the net's params/grads
    logits = net.forward(X)                          # (B, 2)
    loss = loss_fn.forward(logits, y)                # y: int labels (B,) or one-hot (B, 2)
    net.backward(loss_fn.backward())
    opt.step(); opt.zero_grad()  # noqa: E702

    # high level, scikit-learn style
    clf = MLPClassifier(hidden=(20, 20), activation="relu", optimizer="sgd", lr=0.1,
                        momentum=0.9, batch_size=16, epochs=200, seed=0)
    clf.fit(X_train, y_train, validation=(X_val, y_val))
    clf.score(X_test, y_test); clf.predict_proba(X_test); clf.history_   # noqa: B018, E702
    # --- end of the snippet ---
    assert logits.shape == (200, 2) and np.isfinite(loss)
    assert clf.random_state == 0 and clf.score(X_test, y_test) > 0.8
    assert len(clf.history_.val_acc) == 200
    twin = MLPClassifier(hidden=(20, 20), activation="relu", optimizer="sgd", lr=0.1,
                         momentum=0.9, batch_size=16, epochs=200, random_state=0)
    twin.fit(X_train, y_train, validation=(X_val, y_val))
    assert np.array_equal(twin.predict_proba(X_test), clf.predict_proba(X_test))


@pytest.mark.parametrize("cls", [Perceptron, LogisticRegression, LinearRegression,
                                 MLPClassifier, MLPRegressor, CNNClassifier, OneVsRest])
def test_seed_is_the_former_name_of_random_state(cls):
    est = cls(seed=3)
    assert est.random_state == 3 and "seed" not in est.get_params()
    assert clone(est).random_state == 3 and repr(est).endswith("random_state=3)")
    assert cls().set_params(seed=5).random_state == 5
    with pytest.raises(ValueError, match=r"seed=1 and random_state=2 .* give random_state only"):
        cls(seed=1, random_state=2)
    with pytest.raises(ValueError, match="give random_state only"):
        cls().set_params(seed=1, random_state=2)
    with pytest.raises(TypeError):
        cls(sed=1)


def _digits() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(4, 6)) * 3
    y = rng.integers(0, 4, 240)
    return centres[y] + rng.normal(size=(240, 6)), y


def test_one_vs_rest_partial_fit_continues_like_fit():
    X, y = _digits()
    base = LogisticRegression(epochs=3, schedule=None)
    full = OneVsRest(base, random_state=0).fit(X, y, validation=(X, y))
    steps = OneVsRest(clone(base).set_params(epochs=1), random_state=0)
    steps.partial_fit(X, y, classes=[0, 1, 2, 3], validation=(X, y))
    steps.partial_fit(X, y, epochs=2, validation=(X, y))
    assert np.array_equal(full.confidences(X), steps.confidences(X))
    assert [len(e.history_) for e in steps.estimators_] == [3] * 4
    assert np.array_equal(steps.estimators_[2].history_.val_loss,
                          full.estimators_[2].history_.val_loss)
    # a later call may bring a subset of the labels; the first call's classes may be given
    steps.partial_fit(X[y == 1], y[y == 1])
    ovr = OneVsRest(Perceptron(epochs=2)).partial_fit(X[y < 2], y[y < 2], classes=range(4))
    assert ovr.classes_.tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize("call", ["validation", "eval_sets", "partial_fit", "classes"])
def test_one_vs_rest_refuses_unseen_labels(call):
    X, y = _digits()
    known = y < 2
    ovr = OneVsRest(Perceptron(epochs=2), random_state=0)
    with pytest.raises(ValueError, match=r"labels \[2, 3\] that were not seen in fit; this "
                                         r"OneVsRest knows the classes \[0, 1\]"):
        if call == "validation":
            ovr.fit(X[known], y[known], validation=(X, y))
        elif call == "eval_sets":
            ovr.fit(X[known], y[known], eval_sets={"test": (X, y)})
        elif call == "partial_fit":
            ovr.partial_fit(X[known], y[known]).partial_fit(X, y)
        else:
            ovr.partial_fit(X, y, classes=[0, 1])


@pytest.mark.parametrize(("schedule", "key", "allowed", "close"), [
    ("step", "step", "'step_size', 'gamma'", "step_size"),
    ("cosine", "tmax", "'T_max', 'eta_min'", "T_max"),
    ("exponential", "gama", "'gamma'", "gamma"),
])
def test_schedule_params_name_the_bad_key_and_the_allowed_ones(schedule, key, allowed, close):
    X, y = _digits()
    with pytest.raises(ValueError, match=(
            f"^schedule_params={{'{key}': 3}} is not allowed for schedule='{schedule}': "
            f"'{key}' is not one of {allowed} \\(did you mean '{close}'\\?\\)$")):
        MLPClassifier(epochs=2, schedule=schedule, schedule_params={key: 3}).fit(X, y)


def test_one_vs_rest_refusing_labels_leaves_it_unfitted():
    X, y = _digits()
    ovr = OneVsRest(Perceptron(epochs=2))
    with pytest.raises(ValueError, match="not seen in fit"):
        ovr.partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="not seen in fit"):
        ovr.fit(X[y < 2], y[y < 2], validation=(X, y))
    assert not hasattr(ovr, "estimators_") and not hasattr(ovr, "classes_")
    ovr.partial_fit(X, y)  # a later first call starts cleanly
    assert ovr.classes_.tolist() == [0, 1, 2, 3] and ovr.score(X, y) > 0.5


def test_an_unknown_constructor_argument_names_the_parameters():
    """Python's "unexpected keyword argument 'n_models'" said nothing of what OneVsRest
    takes (its members' settings go to the estimator it wraps), nor of a typo's fix."""
    with pytest.raises(TypeError, match=r"^OneVsRest has no parameter 'n_models' \(give it to "
                                        r"the estimator it wraps: OneVsRest\(MLPClassifier\("
                                        r"n_models=\.\.\.\)\)\); its parameters are "
                                        r"estimator, random_state$"):
        OneVsRest(n_models=2)
    with pytest.raises(TypeError, match=r"MLPClassifier has no parameter 'hiden' \(did you "
                                        r"mean 'hidden'\?\); its parameters are hidden, "):
        MLPClassifier(hiden=(3,))
    with pytest.raises(TypeError, match="positional"):  # other TypeErrors are Python's own
        OneVsRest(None, 0)
