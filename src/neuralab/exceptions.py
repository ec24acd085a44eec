"""Errors neuralab raises on purpose, each worded for the person who must fix the cause."""

from __future__ import annotations


class NeuralabError(Exception):
    """Base class for neuralab's own errors (not for plain ``ValueError`` on bad arguments)."""


class TrainingDiverged(NeuralabError, ArithmeticError):
    """The loss became NaN or infinite; the history up to that epoch is kept on the estimator."""

    def __init__(self, epoch: int, loss: float, lr: float | None = None) -> None:
        self.epoch = epoch
        self.loss = loss
        self.lr = lr
        hint = f" (lr={lr:g}); try a smaller learning rate" if lr is not None else (
            "; try a smaller learning rate"
        )
        super().__init__(f"training diverged at epoch {epoch}: loss is {loss}{hint}")


class ModelFileError(NeuralabError, ValueError):
    """A model file is malformed, unsafe (pickled objects) or of the wrong kind."""


class DataError(NeuralabError, ValueError):
    """A data file or data request is invalid (names the file or value and what is allowed)."""
