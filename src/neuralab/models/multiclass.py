"""One-vs-rest: K binary clones of an estimator, the most confident one wins.

An ensemble base (``n_models=E``) gives E one-vs-rest classifiers at once: member ``i`` of
every binary clone together form one-vs-rest classifier ``i``, so ``predict`` is (E, n) and
``score`` (E,), as for the other estimators.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from neuralab.exceptions import ModelFileError
from neuralab.io import from_json_text, json_text, load_arrays, save_arrays
from neuralab.models._estimator import NetEstimator
from neuralab.models._hyper import check_random_state
from neuralab.models._params import (
    Params,
    clone,
    not_fitted,
    params_from_json,
    params_to_json,
)
from neuralab.models._persistence import LOAD_ERRORS, REGISTRY, load_error
from neuralab.models._repr import HTMLRepr
from neuralab.models._validation import check_X, check_y
from neuralab.train.metrics import accuracy


def positive_labels(y: Any, c: Any) -> np.ndarray:
    """The "class ``c`` vs the rest" labels of ``y``: 1 where ``y == c``, else 0 (int64)."""
    return (np.asarray(y) == c).astype(np.int64)


def _positive(pair: tuple[Any, Any], c: Any) -> tuple[Any, np.ndarray]:
    """``(X, y)`` as the "class c vs the rest" set."""
    X, y = pair
    return X, positive_labels(y, c)


def _check_labels(classes: np.ndarray, y: np.ndarray, validation: tuple[Any, Any] | None,
                  eval_sets: dict[str, tuple[Any, Any]] | None) -> None:
    """A ValueError naming the labels of ``y``, ``validation`` or an evaluation set that are
    not among ``classes``."""
    sets = {"y": y, "validation": validation, **(eval_sets or {})}
    for name, labels in sets.items():
        if labels is None:
            continue
        if name != "y":
            if not isinstance(labels, (tuple, list)) or len(labels) != 2:
                raise ValueError(f"{name} must be a pair (X, y); got {type(labels).__name__}")
            name = f"{name} y"
            labels = check_y(labels[1], len(np.asarray(labels[1])), owner="OneVsRest",
                             classifier=True, name=name)
        unseen = np.setdiff1d(np.unique(labels), classes)
        if len(unseen):
            raise ValueError(f"{name} has labels {unseen.tolist()} that were not seen in fit; "
                             f"this OneVsRest knows the classes {classes.tolist()}")


def _sets(validation: tuple[Any, Any] | None, eval_sets: dict[str, tuple[Any, Any]] | None,
          c: Any) -> dict[str, Any]:
    """``validation`` / ``eval_sets`` as the "class c vs the rest" sets of one clone."""
    out: dict[str, Any] = {"validation": None if validation is None
                           else _positive(validation, c)}
    if eval_sets:
        out["eval_sets"] = {name: _positive(pair, c) for name, pair in eval_sets.items()}
    return out


class OneVsRest(HTMLRepr, Params):
    """K binary classifiers, classifier k trained on "class k" (1) vs "the rest" (0).

    ``predict`` picks the most confident one: the probability of its positive class when
    the estimator has ``predict_proba`` (logistic regression, MLPs), else its signed
    distance to the boundary ``(w·x + b) / ‖w‖`` (perceptrons, seed 003).

    Parameters
    ----------
    estimator : the binary estimator to clone (default ``Perceptron()``); with
        ``n_models=E`` every output gains a leading (E,) axis.
    random_state : None (default) keeps the estimator's own ``random_state`` in every
        clone; anything else replaces it (the name scikit-learn's tools seed estimators by).

    Examples
    --------
    >>> from neuralab.models import Perceptron
    >>> import numpy as np
    >>> X = np.array([[0., 0.], [0., 5.], [5., 0.], [0.2, 0.], [0., 5.2], [5.2, 0.]])
    >>> ovr = OneVsRest(Perceptron(lr=0.1, epochs=20), random_state=0)
    >>> ovr.fit(X, [0, 1, 2, 0, 1, 2]).predict(X).tolist()
    [0, 1, 2, 0, 1, 2]
    """

    _estimator_type = "classifier"

    def __init__(self, estimator=None, *, random_state=None) -> None:
        self.estimator = estimator
        self.random_state = random_state

    def _base(self) -> NetEstimator:
        if self.estimator is None:
            from neuralab.models.perceptron import Perceptron

            return Perceptron()
        if not hasattr(self.estimator, "fit") or not hasattr(self.estimator, "get_params"):
            raise ValueError(f"estimator={self.estimator!r} is not allowed; give a neuralab "
                             "classifier such as Perceptron() or LogisticRegression()")
        return self.estimator

    def fit(self, X: Any, y: Any = None, validation: tuple[Any, Any] | None = None, *,
            eval_sets: dict[str, tuple[Any, Any]] | None = None, resume: Any = None
            ) -> OneVsRest:
        """Fit one binary clone per class; returns self. ``validation`` and ``eval_sets``
        reach each classifier as its own "class k vs the rest" sets (its ``history_``)."""
        if resume is not None:
            raise ValueError("OneVsRest cannot resume a checkpoint (its classifiers train one "
                             "after another); call fit again, or resume a single classifier")
        X, y = self._start(X, y, None, validation, eval_sets)
        for c, est in zip(self.classes_, self.estimators_, strict=True):
            est.fit(X, positive_labels(y, c), **_sets(validation, eval_sets, c))
        return self

    def partial_fit(self, X: Any, y: Any = None, classes: Any = None, *, epochs: int = 1,
                    validation: tuple[Any, Any] | None = None,
                    eval_sets: dict[str, tuple[Any, Any]] | None = None) -> OneVsRest:
        """``epochs`` more epochs of every binary clone (default 1), keeping their weights,
        optimizer state and history; returns self. The first call builds the clones, one
        per label of ``classes`` (default: the labels of ``y``); later labels must be among
        them."""
        if not hasattr(self, "estimators_"):
            X, y = self._start(X, y, classes, validation, eval_sets)
            first = {"classes": [0, 1]}
        else:
            X = check_X(X, dtype=np.float64, owner="OneVsRest",
                        n_features=self.n_features_in_)
            y = check_y(y, len(X), owner="OneVsRest", classifier=True)
            _check_labels(self.classes_, y, validation, eval_sets)
            first = {}
        for c, est in zip(self.classes_, self.estimators_, strict=True):
            est.partial_fit(X, positive_labels(y, c), epochs=epochs, **first,
                            **_sets(validation, eval_sets, c))
        return self

    def _start(self, X: Any, y: Any, classes: Any, validation: tuple[Any, Any] | None,
               eval_sets: dict[str, tuple[Any, Any]] | None) -> tuple[np.ndarray, np.ndarray]:
        """Check the data and the labels of every set, then set ``classes_`` (``classes``,
        default the labels of ``y``) and build one unfitted clone per class."""
        base = self._base()
        if self.random_state is not None:
            check_random_state(self.random_state)
            base = clone(base).set_params(random_state=self.random_state)
        X = check_X(X, dtype=np.float64, owner="OneVsRest")
        y = check_y(y, len(X), owner="OneVsRest", classifier=True)
        classes = np.unique(y if classes is None else check_y(
            classes, len(np.asarray(classes)), owner="OneVsRest", classifier=True,
            name="classes"))
        if len(classes) < 2:
            raise ValueError(f"OneVsRest needs at least 2 classes to train; y has 1 class "
                             f"({classes.tolist()})")
        _check_labels(classes, y, validation, eval_sets)
        self.classes_, self.n_features_in_ = classes, X.shape[1]
        self.estimators_ = [clone(base) for _ in classes]
        return X, y

    def _check_fitted(self) -> None:
        if not hasattr(self, "estimators_"):
            raise not_fitted("this OneVsRest is not fitted yet; call fit(X, y) first")

    def _confidence(self, est: Any, X: np.ndarray) -> np.ndarray:
        """(n,), or (E, n) for an ensemble base."""
        if hasattr(est, "predict_proba"):
            return est.predict_proba(X)[..., 1]
        d = est.decision_function(X)
        # ‖w‖ per member: coef_ is (1, d), or (E, 1, d) for an ensemble
        norm = np.linalg.norm(est.coef_.reshape(*est.coef_.shape[:-2], -1), axis=-1)
        return d / np.where(norm > 0, norm, 1.0)[..., None]

    def confidences(self, X: Any) -> np.ndarray:
        """Confidence of every binary classifier, (n, K); (E, n, K) for an ensemble base."""
        self._check_fitted()
        X = check_X(X, dtype=np.float64, owner="OneVsRest", n_features=self.n_features_in_)
        return np.stack([self._confidence(e, X) for e in self.estimators_], axis=-1)

    def decision_function(self, X: Any) -> np.ndarray:
        """Confidences (n, K); for two classes the margin of the second over the first (n,).
        An ensemble base adds a leading (E,) axis."""
        C = self.confidences(X)
        if C.shape[-1] != 2:
            return C
        if hasattr(self.estimators_[0], "predict_proba"):
            # the margin of the normalised probabilities, 2 p₁ − 1, so that it ranks the
            # points as predict_proba does (C₁ − C₀ need not: two clones, two calibrations)
            C = C / np.maximum(C.sum(axis=-1, keepdims=True), 1e-300)
        return C[..., 1] - C[..., 0]

    def predict(self, X: Any) -> np.ndarray:
        """Labels (n,) from ``classes_``; (E, n) for an ensemble base."""
        index = self.confidences(X).argmax(axis=-1)
        return self.classes_[index]

    @property
    def predict_proba(self) -> Any:
        base = self.estimators_[0] if hasattr(self, "estimators_") else self._base()
        if not hasattr(base, "predict_proba"):
            raise AttributeError(f"OneVsRest over {type(base).__name__} has no predict_proba")

        def predict_proba(X: Any) -> np.ndarray:
            """Positive-class probabilities normalised to sum to 1 per row, (n, K) (or
            (E, n, K) for an ensemble base)."""
            P = self.confidences(X)
            return P / np.maximum(P.sum(axis=-1, keepdims=True), 1e-300)

        return predict_proba

    def score(self, X: Any, y: Any) -> float | np.ndarray:
        """Accuracy on ``(X, y)``; (E,) for an ensemble base."""
        pred = self.predict(X)
        return accuracy(check_y(y, pred.shape[-1], owner="OneVsRest", classifier=True), pred)

    def binary_error_rates(self, X: Any, y: Any) -> np.ndarray:
        """Misclassification rate of each binary classifier on its own k-vs-rest task, (K,);
        (E, K) for an ensemble base."""
        self._check_fitted()
        X = check_X(X, dtype=np.float64, owner="OneVsRest", n_features=self.n_features_in_)
        y = check_y(y, len(X), owner="OneVsRest", classifier=True)
        rates = [1.0 - np.asarray(accuracy(positive_labels(y, c), e.predict(X)))
                 for c, e in zip(self.classes_, self.estimators_, strict=True)]
        return np.stack(rates, axis=-1)

    # -- files --------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        self._check_fitted()
        arrays: dict[str, np.ndarray] = {"meta/estimator": np.array("OneVsRest"),
                                         "meta/params": json_text(params_to_json(
                                             self.get_params(deep=False)))}
        for k, est in enumerate(self.estimators_):
            arrays.update({f"est{k}/{key}": v for key, v in est.checkpoint().items()})
        classes = np.asarray(self.classes_)
        arrays["meta/classes"] = classes.astype(str) if classes.dtype.kind == "O" else classes
        save_arrays(path, {"estimator": "OneVsRest", "n_classes": len(self.estimators_),
                           "n_features_in": self.n_features_in_}, arrays)

    @classmethod
    def load(cls, path: str | os.PathLike) -> OneVsRest:
        header, arrays = load_arrays(path)
        if header.get("estimator") != "OneVsRest":
            raise ModelFileError(f"{path} holds a {header.get('estimator')!r}, not a OneVsRest")
        try:
            ovr = cls(**params_from_json(from_json_text(arrays["meta/params"]), REGISTRY))
            ovr.classes_ = arrays["meta/classes"]
            ovr.n_features_in_ = int(header["n_features_in"])
            ovr.estimators_ = []
            n = header.get("n_classes")  # sizes the loop: checked against the arrays first
            if isinstance(n, bool) or not isinstance(n, int) or not 2 <= n <= len(arrays) \
                    or np.shape(ovr.classes_) != (n,):
                raise ValueError(f"n_classes {n!r:.40} does not match meta/classes")
            for k in range(n):
                prefix = f"est{k}/"
                state = {key[len(prefix):]: v for key, v in arrays.items()
                         if key.startswith(prefix)}
                ovr.estimators_.append(NetEstimator._from_state(state))
        except LOAD_ERRORS as exc:
            raise load_error(path, "OneVsRest", exc) from None
        return ovr


__all__ = ["OneVsRest", "positive_labels"]
