"""Training: the loop shared by every gradient-trained estimator, callbacks, metrics, history."""

from neuralab.train.callbacks import Callback
from neuralab.train.history import History
from neuralab.train.loop import Trainer, fit_loop
from neuralab.train.metrics import (
    accuracy,
    confusion_matrix,
    evaluate,
    per_class_error,
    predict_chunks,
    r2_score,
)
from neuralab.train.stopping import EarlyStopping, TargetAccuracy

__all__ = [
    "Callback", "EarlyStopping", "History", "TargetAccuracy", "Trainer", "accuracy",
    "confusion_matrix", "evaluate", "fit_loop", "per_class_error", "predict_chunks", "r2_score",
]
