"""What separates classifiers from regressors: how targets are described, encoded and
checkpointed, and how network outputs become predictions, probabilities and scores."""

from __future__ import annotations

from typing import Any

import numpy as np

from neuralab.data.labels import to_index
from neuralab.models._validation import check_y
from neuralab.nn.activations import sigmoid, softmax
from neuralab.nn.rows import row_argmax
from neuralab.train.metrics import accuracy, r2_score


class ClassifierMixin:
    """Labels, probabilities and accuracy for network classifiers."""

    _estimator_type = "classifier"
    classes_: np.ndarray

    def _outputs_for(self, n_classes: int) -> int:
        return n_classes

    def _init_targets(self, y: np.ndarray | None, classes: Any, meta: Any = None) -> None:
        owner = type(self).__name__
        if meta is not None:
            classes = meta["meta/classes"]
        if classes is not None:
            labels = np.unique(np.asarray(classes))
            if y is not None:
                unseen = np.setdiff1d(np.unique(y), labels)
                if unseen.size:
                    raise ValueError(f"y has labels {unseen.tolist()} that are not in "
                                     f"classes={labels.tolist()}")
        else:
            labels = np.unique(y)
        if len(labels) < 2:
            raise ValueError(f"{owner} needs at least 2 classes to train; y has 1 class "
                             f"({labels.tolist()}), a single class cannot be separated")
        self.classes_ = labels
        self._n_outputs = self._outputs_for(len(labels))

    def _target_meta(self) -> dict[str, np.ndarray]:
        classes = np.asarray(self.classes_)
        if classes.dtype.kind == "O":
            classes = classes.astype(str)
        return {"meta/classes": classes}

    def _encode(self, y: np.ndarray) -> np.ndarray:
        try:
            return to_index(y, self.classes_)
        except ValueError:
            unseen = np.setdiff1d(np.unique(y), self.classes_)
            raise ValueError(f"labels {unseen.tolist()} were not seen in fit; this "
                             f"{type(self).__name__} knows the classes "
                             f"{np.asarray(self.classes_).tolist()}") from None

    def _targets(self, y_idx: np.ndarray) -> np.ndarray:
        if self._n_outputs == 1:  # one logit: 0/1 float targets
            return y_idx.astype(self._cfg["dtype"])[:, None]
        return y_idx

    @staticmethod
    def _index_from_outputs(out: np.ndarray) -> np.ndarray:
        if out.shape[-1] == 1:
            return (out[..., 0] >= 0).astype(np.int64)
        return row_argmax(out)

    @staticmethod
    def _batch_correct(out: np.ndarray, T: np.ndarray) -> int | np.ndarray:
        """How many rows of a training batch are right: outputs ``(B, K)``/``(E, B, K)``
        against the targets of :meth:`_targets` (class indices, or one 0/1 or ±1 column);
        an int, or ``(E,)``."""
        if out.shape[-1] == 1:
            hit = (out[..., 0] >= 0) == (T[..., 0] > 0)
        else:
            hit = row_argmax(out) == T
        return hit.sum(axis=-1)

    def decision_function(self, X: Any) -> np.ndarray:
        """Scores: (n,) for two classes (positive class), (n, K) otherwise; ensembles add a
        leading (E,) axis."""
        out = self._outputs(X)
        if out.shape[-1] == 1:
            return out[..., 0]
        if out.shape[-1] == 2:
            return out[..., 1] - out[..., 0]
        return out

    def predict(self, X: Any) -> np.ndarray:
        """Labels (n,) from ``classes_``; (E, n) for an ensemble."""
        index = self._index_from_outputs(self._outputs(X))
        return self.classes_[index]

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities (n, K), rows summing to 1; (E, n, K) for an ensemble."""
        out = self._outputs(X)
        if out.shape[-1] == 1:
            p = sigmoid(out)
            return np.concatenate([1 - p, p], axis=-1)
        return softmax(out, axis=-1)

    def score(self, X: Any, y: Any) -> float | np.ndarray:
        """Accuracy on ``(X, y)``; (E,) for an ensemble."""
        pred = self.predict(X)
        y = check_y(y, pred.shape[-1], owner=type(self).__name__, classifier=True)
        return accuracy(y, pred)


class RegressorMixin:
    """Predictions and R² for network regressors."""

    _estimator_type = "regressor"
    _multi_output = True

    def _init_targets(self, y: np.ndarray | None, classes: Any = None, meta: Any = None
                      ) -> None:
        if meta is not None:
            self._y_ndim, self._n_outputs = int(meta["meta/y_ndim"]), int(meta["meta/n_outputs"])
        else:
            self._y_ndim = y.ndim
            self._n_outputs = 1 if y.ndim == 1 else y.shape[1]

    def _target_meta(self) -> dict[str, np.ndarray]:
        return {"meta/y_ndim": np.asarray(self._y_ndim)}

    def _encode(self, y: np.ndarray) -> np.ndarray:
        if (y.ndim == 1 and self._n_outputs != 1) or (y.ndim == 2 and
                                                      y.shape[1] != self._n_outputs):
            raise ValueError(f"y has shape {y.shape}; this {type(self).__name__} predicts "
                             f"{self._n_outputs} output(s)")
        return y

    def _targets(self, y: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(y.reshape(len(y), -1), dtype=self._cfg["dtype"])

    def predict(self, X: Any) -> np.ndarray:
        """Predictions (n,) (or (n, m) for m outputs); ensembles add a leading (E,) axis."""
        out = self._outputs(X)
        return out[..., 0] if self._y_ndim == 1 else out

    def score(self, X: Any, y: Any) -> float | np.ndarray:
        """R² on ``(X, y)`` (averaged over outputs); (E,) for an ensemble."""
        pred = self.predict(X)
        n = pred.shape[-2] if self._y_ndim == 2 else pred.shape[-1]
        y = check_y(y, n, owner=type(self).__name__, classifier=False)
        return r2_score(y, pred)
