"""The training loop shared by every gradient-trained estimator.

:class:`Trainer` owns what changes while training (network, loss, optimizer, schedule,
random generators, step counter, frozen ensemble members) and runs one epoch;
:func:`fit_loop` runs epochs, evaluates, calls callbacks and stops. One epoch is::

    optimizer.lr = scheduled rate (0 if frozen)        # once per epoch
    order = rng.permutation(n)                         # once per epoch (if shuffled)
    for each batch:
        out  = net.forward(xb)
        loss = loss_fn.forward(out, yb)
        net.backward(loss_fn.backward())
        penalty.add_grad(net)                          # L1 / L2, if any
        optimizer.step()

Before each epoch the Trainer sets ``optimizer.lr`` to the schedule's value for that epoch
(``scheduler.lr_at(epochs done)``), 0 for frozen ensemble members: it is the only writer of
the learning rate while it trains (it never calls ``scheduler.step()``), so the rate of an
epoch follows from the epoch count, the schedule and the frozen members alone, and a resumed
run recomputes it exactly.

For plain SGD the two lines ``net.backward(...); optimizer.step()`` become
``fused_backward_step(net, optimizer, ...)`` (:mod:`neuralab.optim.fused`), which fuses each
``Linear`` layer's backward with its update (equal up to float rounding, and faster:
docs/performance.md) whenever nothing needs the gradients themselves: no penalty, single
model, and no callback with ``needs_grads = True``. ``NEURALAB_FUSED=0`` in the environment
(or ``trainer.fused = False``) turns it off.

An ensemble (``n_models = E``) runs the same code on weights ``(E, in, out)`` and batches
``(E, B, in)``; member ``i`` draws its permutation and dropout masks from ``gens[i]``.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from neuralab.exceptions import TrainingDiverged
from neuralab.io import from_json_text, json_text
from neuralab.nn.losses import Flooding, Loss
from neuralab.nn.module import Module
from neuralab.nn.penalties import Penalty
from neuralab.optim.fused import blas_single_threaded, fused_backward_step, fused_step_applies
from neuralab.optim.optimizer import Optimizer, frozen
from neuralab.optim.schedules import LRScheduler
from neuralab.train.callbacks import Callback
from neuralab.train.progress_bar import notebook_progress


class Trainer:
    """One network being trained: runs epochs of mini-batch gradient descent.

    Parameters
    ----------
    net, loss, optimizer, scheduler : the pieces (scheduler may be None).
    gens : the Generators of the model (one) or of each ensemble member (E); the network's
        dropout layers share them.
    batch_size : an int, or None for full batch (a size ``>= n`` is full batch too).
    shuffle : draw a fresh permutation each epoch (ignored for full batch).
    n_models : None for one model, E for an ensemble.
    penalties : L1/L2 terms whose gradients are added after ``backward``.
    """

    def __init__(self, net: Module, loss: Loss, optimizer: Optimizer | None, *,
                 gens: Sequence[np.random.Generator], batch_size: int | None,
                 shuffle: bool = True,
                 n_models: int | None = None, penalties: Sequence[Penalty] = (),
                 scheduler: LRScheduler | None = None) -> None:
        self.net, self.loss, self.optimizer, self.scheduler = net, loss, optimizer, scheduler
        self.gens = list(gens)
        self.batch_size, self.shuffle, self.n_models = batch_size, shuffle, n_models
        self.penalties = list(penalties)
        self.active = np.ones(n_models or 1, dtype=bool)
        self.diverged = np.zeros(n_models or 1, dtype=bool)  # members whose loss blew up
        self.frozen_state: dict[str, np.ndarray] | None = None
        self.epoch = 0
        self.step = 0
        self.in_epoch = False  # True while an epoch runs (an interrupted epoch leaves it set)
        self.base_lr = optimizer.lr if optimizer is not None else None
        #: None: fuse backward and SGD update when exact to (see :meth:`uses_fused_step`);
        #: False: never (also ``NEURALAB_FUSED=0``)
        self.fused: bool | None = None
        self.grads_needed = False  # set by fit_loop when a callback reads gradients
        #: the last epoch's running metrics (see :meth:`train_epoch`)
        self.running: dict[str, float | np.ndarray] = {}
        #: (X, outputs) of a forward pass over the whole of X with the current weights, its
        #: caches still in the layers (see :meth:`prime`); the next full-batch epoch on X
        #: starts from it instead of computing the same forward again
        self.primed: tuple[np.ndarray, np.ndarray] | None = None

    # -- learning rate: the Trainer is its only writer ---------------------------------------
    @property
    def lr(self) -> float | np.ndarray:
        """The learning rate(s) of the epoch about to run; ``(E,)`` for an ensemble."""
        lr = self._epoch_lr()
        if self.n_models is not None:
            return np.broadcast_to(np.asarray(lr, dtype=np.float64), (self.n_models,)).copy()
        return float(lr)

    def _epoch_lr(self) -> float | np.ndarray:
        """The schedule's rate after ``self.epoch`` completed epochs; 0 for frozen members."""
        lr = self.base_lr if self.scheduler is None else self.scheduler.lr_at(self.epoch)
        if self.n_models is not None and not self.active.all():
            lr = np.where(self.active, lr, 0.0)  # frozen members do not move
        return lr

    # -- one epoch ------------------------------------------------------------------------
    def _batch(self, n: int) -> int:
        return n if self.batch_size is None else min(int(self.batch_size), n)

    def _orders(self, n: int) -> np.ndarray | None:
        if not self.shuffle or self._batch(n) >= n:
            return None
        if self.n_models is None:
            return self.gens[0].permutation(n)
        return np.stack([g.permutation(n) for g in self.gens])

    def uses_fused_step(self) -> bool:
        """Whether the epoch runs ``fused_backward_step`` instead of ``backward(); step()``.

        Only where :func:`~neuralab.optim.fused.fused_step_applies` (plain SGD, not
        ``NEURALAB_FUSED=0``), on a single model, with no penalty (L1/L2 add to the gradients
        after ``backward``) and nothing reading gradients.
        """
        return (self.fused is not False and self.optimizer is not None and self.n_models is None
                and not self.penalties and not self.grads_needed
                and fused_step_applies(self.optimizer))

    def train_epoch(self, X: np.ndarray, T: np.ndarray,
                    correct: Callable[[np.ndarray, np.ndarray], Any] | None = None
                    ) -> float | np.ndarray:
        """One pass over ``(X, T)``; returns the mean mini-batch loss (``(E,)`` for ensembles).

        The epoch's running metrics are left in :attr:`running`: ``loss`` (the mean over the
        samples of the un-flooded loss each batch had before its step) and, given
        ``correct(outputs, targets)`` (how many rows of a batch are right), ``acc``.
        """
        self.in_epoch = True
        net, loss_fn, opt, B = self.net, self.loss, self.optimizer, self._batch(len(X))
        opt.lr = frozen(self._epoch_lr())  # the one write of the learning rate
        fused = self.uses_fused_step()
        one_blas = fused and blas_single_threaded()  # read once an epoch, not every step
        net.train()
        order = self._orders(len(X))
        total, raw_total, hits, count = 0.0, 0.0, 0, 0
        for start in range(0, len(X), B):
            if order is None:  # slices are views; a full batch is X itself
                xb, tb = X[start:start + B], T[start:start + B]
            else:
                idx = order[..., start:start + B]
                xb = np.take(X, idx, axis=0, mode="clip")  # indices are valid: skip checks
                tb = np.take(T, idx, axis=0, mode="clip")
            primed, self.primed = self.primed, None
            if primed is not None and order is None and B >= len(X) and primed[0] is X:
                out = primed[1]  # this very forward was just computed (see prime)
            else:
                out = net.forward(xb)
            value = loss_fn.forward(out, tb)
            total = total + value
            raw = loss_fn.raw if isinstance(loss_fn, Flooding) else value  # un-flooded
            raw_total = raw_total + raw * out.shape[-2]
            if correct is not None:  # before the step: the outputs the loss was taken of
                hits = hits + correct(out, tb)
            if fused:
                fused_backward_step(net, opt, loss_fn.backward(), single_threaded=one_blas)
            else:
                net.backward(loss_fn.backward())
                for penalty in self.penalties:
                    penalty.add_grad(net)
                opt.step()
            count += 1
        self.step += count
        self.restore_frozen()
        n = len(X)
        self.running = {"loss": _scalar(np.divide(raw_total, n))}
        if correct is not None:
            self.running["acc"] = _scalar(np.divide(hits, n))
        return total / count

    def prime(self, X: np.ndarray, out: np.ndarray) -> None:
        """Record that the network's last forward pass was over all of ``X`` with the current
        weights, giving ``out``, and that its layers still hold that pass's caches.

        Full-batch gradient descent evaluates the training set after each epoch and then
        computes the very same forward pass to start the next epoch: with a network whose
        training and eval modes agree (no dropout, no batch norm) the next epoch takes these
        outputs instead, bit for bit what it would compute. Anything else the Trainer does
        (another forward, a freeze that restores weights) drops the record.
        """
        if not any(m.mode_dependent for m in self.net.modules()):
            self.primed = (X, out)

    def end_epoch(self) -> None:
        """The epoch is complete and the state consistent (the next epoch's rate follows)."""
        self.epoch += 1
        self.in_epoch = False

    # -- freezing ensemble members ----------------------------------------------------------
    def snapshot(self, mask: np.ndarray, into: dict[str, np.ndarray] | None = None
                 ) -> dict[str, np.ndarray]:
        """Copy the weights of the members in ``mask`` into ``into`` (a state dict)."""
        current = self.net.state_dict()
        if into is None or self.n_models is None:
            return current
        for key, value in current.items():
            into[key][mask] = value[mask]
        return into

    def restore(self, mask: np.ndarray, state: dict[str, np.ndarray]) -> None:
        """Write ``state``'s weights of the members in ``mask`` back into the network."""
        self.primed = None  # the weights change
        if self.n_models is None:
            self.net.load_state_dict(state)
            return
        targets = {name: p for name, p, _ in self.net.named_parameters()}
        targets.update(dict(self.net.named_buffers()))
        for key, target in targets.items():
            target[mask] = state[key][mask]

    def freeze(self, mask: np.ndarray, state: dict[str, np.ndarray] | None = None) -> None:
        """Stop training the members in ``mask`` (optionally putting ``state`` back first)."""
        mask = np.asarray(mask, dtype=bool) & self.active
        if state is not None:
            self.restore(mask, state)
        if self.n_models is not None:
            self.frozen_state = self.snapshot(mask, self.frozen_state)
        self.active &= ~mask  # the next epoch's learning rate masks them

    def restore_frozen(self) -> None:
        if self.frozen_state is not None and not self.active.all():
            self.restore(~self.active, self.frozen_state)

    # -- checkpoints ----------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Every array needed to continue exactly (generator states as JSON text)."""
        out = {f"net/{k}": v for k, v in self.net.state_dict().items()}
        if self.optimizer is not None:
            out.update({f"opt/{k}": np.asarray(v) for k, v in self.optimizer.state_dict().items()})
        for i, g in enumerate(self.gens):
            out[f"rng/{i}"] = json_text(g.bit_generator.state)
        out["trainer/epoch"] = np.asarray(self.epoch)
        out["trainer/step"] = np.asarray(self.step)
        out["trainer/active"] = self.active.copy()
        out["trainer/diverged"] = self.diverged.copy()
        for k, v in (self.frozen_state or {}).items():
            out[f"frozen/{k}"] = v.copy()
        return out

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        def part(prefix: str) -> dict[str, np.ndarray]:
            return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}

        self.net.load_state_dict(part("net/"))
        if self.optimizer is not None:
            self.optimizer.load_state_dict(part("opt/"))
        for i, g in enumerate(self.gens):  # in place: dropout layers hold these objects
            g.bit_generator.state = from_json_text(state[f"rng/{i}"])
        self.epoch = int(state["trainer/epoch"])
        self.step = int(state["trainer/step"])
        self.active = np.array(state["trainer/active"], dtype=bool)
        self.diverged = np.array(state.get("trainer/diverged", np.zeros_like(self.active)),
                                 dtype=bool)
        self.frozen_state = {k: np.array(v) for k, v in part("frozen/").items()} or None
        self.in_epoch = False


def _scalar(value: Any) -> float | np.ndarray:
    """A float for one model, an ``(E,)`` float64 array for an ensemble."""
    value = np.asarray(value, dtype=np.float64)
    return float(value) if value.ndim == 0 else value


def _finite(value: Any) -> bool:
    return bool(np.all(np.isfinite(value)))


def fit_loop(est: Any, trainer: Trainer, X: np.ndarray, T: np.ndarray, *, epochs: int,
             eval_every: int, evaluate: Callable[[], dict[str, Any]],
             callbacks: Sequence[Callback] = (), verbose: int = 0,
             correct: Callable[[np.ndarray, np.ndarray], Any] | None = None) -> None:
    """Train ``trainer`` from its current epoch up to ``epochs``, recording ``est.history_``.

    ``evaluate()`` returns the epoch's metrics (``train_loss``, ``val_acc``, ...); it runs
    every ``eval_every`` epochs and at the last one, and may read ``trainer.running`` (the
    epoch's running metrics; ``correct`` is passed to :meth:`Trainer.train_epoch`).
    Callbacks see ``on_epoch_end`` after the epoch is complete (schedule stepped, history
    appended), so a checkpoint taken there resumes exactly. Built-in stopping rules are the
    first callbacks.
    """
    history = est.history_
    est.stop_training_ = False
    trainer.primed = None  # only an evaluation inside this loop primes the next epoch
    bar = notebook_progress(verbose, epochs)  # Jupyter: one bar instead of printed lines
    callbacks = [*callbacks, bar] if bar is not None else callbacks
    trainer.grads_needed = any(getattr(cb, "needs_grads", False) for cb in callbacks)
    logs: dict[str, Any] = {}
    for cb in callbacks:
        cb.on_train_begin(est)
    try:
        for epoch in range(trainer.epoch + 1, epochs + 1):
            if not trainer.active.any():
                break
            for cb in callbacks:
                cb.on_epoch_begin(est, epoch)
            t0 = time.perf_counter()
            lr = trainer.lr
            with np.errstate(over="ignore", invalid="ignore"):  # divergence is reported below
                batch_loss = trainer.train_epoch(X, T, correct)
            if not _finite(batch_loss):
                losses = np.atleast_1d(batch_loss)
                bad = ~np.isfinite(losses) & ~trainer.diverged
                if trainer.n_models is None or (trainer.diverged | bad).all():
                    first = int(np.flatnonzero(~np.isfinite(losses))[0])
                    lr_bad = np.atleast_1d(lr)[min(first, np.size(lr) - 1)]
                    raise TrainingDiverged(epoch, float(losses[first]), float(lr_bad))
                # An ensemble goes on without the members that diverged (a study counts
                # them); they are frozen where they stand and never train again.
                trainer.diverged |= bad
                trainer.freeze(bad)
            evaluated = epoch % eval_every == 0 or epoch == epochs
            logs = {"epoch": epoch, "step": trainer.step, "lr": lr, "batch_loss": batch_loss}
            if evaluated:
                with np.errstate(over="ignore", invalid="ignore"):  # diverged members: NaN
                    logs.update(evaluate())
            logs["evaluated"] = evaluated
            trainer.end_epoch()
            history.append(logs)
            logs["seconds"] = time.perf_counter() - t0
            for cb in callbacks:
                cb.on_epoch_end(est, epoch, logs)
            if verbose and evaluated and bar is None:
                print(_format_logs(logs, epochs))
            if est.stop_training_ or not trainer.active.any():
                break
    except KeyboardInterrupt:
        logs = {**logs, "interrupted": True}
        for cb in callbacks:
            cb.on_train_end(est, logs)
        raise
    except TrainingDiverged:  # only the bar is told: it would go on showing a live ETA
        if bar is not None:
            bar.on_train_end(est, {**logs, "diverged": True})
        raise
    for cb in callbacks:
        cb.on_train_end(est, logs)


def _format_logs(logs: dict[str, Any], epochs: int, width: int | None = None) -> str:
    """One epoch's ``verbose`` text: ``epoch e/N`` and every loss and accuracy, on lines of
    at most ``width`` characters (default: the terminal's, 80 when unknown); continuation
    lines are indented."""
    width = shutil.get_terminal_size((80, 24)).columns if width is None else width
    parts = [f"epoch {logs['epoch']}/{epochs}"]
    for key, value in logs.items():
        if key.endswith(("_loss", "_acc")):
            v = np.asarray(value, dtype=float)
            parts.append(f"{key} {float(v):.4f}" if v.ndim == 0 else f"{key} {v.mean():.4f}(mean)")
    lines = [parts[0]]
    for part in parts[1:]:
        if len(lines[-1]) + 2 + len(part) <= max(width, 40):
            lines[-1] += "  " + part
        else:
            lines.append("    " + part)
    return "\n".join(lines)
