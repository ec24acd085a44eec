"""The callback protocol of the training loop (PyTorch-Lightning/Keras-like, kept tiny).

The loop calls, in order: ``on_train_begin(est)`` once; per epoch ``on_epoch_begin(est, epoch)``
and ``on_epoch_end(est, epoch, logs)``; ``on_train_end(est, logs)`` once (also after an
early stop, a reached target or ``KeyboardInterrupt``). ``logs`` holds the epoch's metrics:
``epoch`` (1-based), ``step`` (optimizer steps so far), ``lr``, ``train_loss``,
``train_acc`` (classifiers), ``val_loss``/``val_acc`` when validation data was given, and
``evaluated`` (True on epochs where the metrics were computed, see ``eval_every``).
A callback stops training by setting ``est.stop_training_ = True``. A callback that reads the
layers' ``grads`` sets ``needs_grads = True``: plain SGD otherwise takes the fused step, which
updates the weights without materialising the gradients (docs/performance.md).
"""

from __future__ import annotations

from typing import Any


class Callback:
    """Override the hooks you need; every hook is optional."""

    needs_grads = False
    #: whether the hooks may change weights or buffers (a built-in rule that only reads
    #: says False, which lets full-batch training reuse the evaluation's forward pass)
    changes_weights = True

    def on_train_begin(self, est: Any) -> None:
        pass

    def on_epoch_begin(self, est: Any, epoch: int) -> None:
        pass

    def on_epoch_end(self, est: Any, epoch: int, logs: dict[str, Any]) -> None:
        pass

    def on_train_end(self, est: Any, logs: dict[str, Any]) -> None:
        pass
