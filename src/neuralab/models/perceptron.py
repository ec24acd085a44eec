"""Rosenblatt's perceptron: the mistake-driven rule, online or batch, binary or multi-class.

Binary (one score ``s = w·x + b``, labels mapped to t ∈ {−1, +1}): a point is a mistake when
``t s ≤ 0`` (a point on the boundary counts, so training from w = 0 starts), and then

    online:  w ← w + η t x,   b ← b + η t                      (per sample, seed 000)
    batch:   w ← w + η mean_{mistakes}(t x),  b ← b + η mean(t)  (per epoch, seed 001)

Multi-class (one score per class): on a mistake (true score not strictly the largest) add
η x to the true class row and subtract it from the highest-scoring other class.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neuralab._checks import check_choice, check_positive
from neuralab.models._params import store_params
from neuralab.models._targets import ClassifierMixin
from neuralab.models.hyperparams import defaults
from neuralab.models.linear import _LinearModel
from neuralab.nn.containers import Sequential
from neuralab.nn.linear import Linear
from neuralab.nn.losses import Loss, PerceptronCriterion
from neuralab.nn.module import Module
from neuralab.train.loop import Trainer


class MulticlassPerceptronCriterion(Loss):
    """``mean(max(0, max_{k≠y} s_k − s_y))`` on scores (…, B, K) and labels (B,)."""

    def forward(self, scores: np.ndarray, target: np.ndarray) -> float | np.ndarray:
        idx = np.broadcast_to(np.asarray(target), scores.shape[:-1])[..., None]
        true = np.take_along_axis(scores, idx, axis=-1)
        others = scores.copy()
        np.put_along_axis(others, idx, -np.inf, axis=-1)
        self._pred = others.argmax(axis=-1)[..., None]
        gap = np.take_along_axis(others, self._pred, axis=-1) - true
        self._active, self._idx, self._shape = gap >= 0, idx, scores.shape
        per = np.maximum(gap[..., 0], 0)
        out = per.mean(axis=-1)
        return float(out) if np.ndim(out) == 0 else out

    def backward(self) -> np.ndarray:
        grad = np.zeros(self._shape)
        w = self._active.astype(float) / self._shape[-2]
        np.put_along_axis(grad, self._pred, w, axis=-1)  # the wrongly winning class: +
        np.put_along_axis(grad, self._idx, -w, axis=-1)  # the true class: − (never the same)
        return grad


class _PerceptronTrainer(Trainer):
    """The mistake-driven updates, written out; everything else is the shared loop's.

    An ensemble (``n_models=E``, weights ``(E, d, K)``) runs the online rule for all members
    at once, one sample position at a time (member ``i`` visits the samples in its own
    order), and the batch rule member by member; frozen members (separated, with
    ``stop_on_separation``) make no update. Member ``i`` does the same float operations
    as the single model with its seed, so it ends with the same weights.
    """

    mode = "online"

    def train_epoch(self, X: np.ndarray, T: np.ndarray, correct: Any = None
                    ) -> float | np.ndarray:
        # the perceptron always measures its training metrics in a full pass (train_metrics
        # resolves to "full": separation is a property of the epoch's end weights)
        self.in_epoch = True
        lin = self.net[0]
        W, b = lin.params["weight"], lin.params.get("bias")
        if self.n_models is not None:
            loss = self._ensemble_epoch(X, T, W, b)
            self.restore_frozen()
            return loss
        lr = float(self.base_lr)
        if self.mode == "online":
            order = self.gens[0].permutation(len(X)) if self.shuffle else range(len(X))
            if W.shape[1] == 1:
                loss = _online_binary(X, T[:, 0], W[:, 0], b, lr, order)
            else:
                loss = _online_multi(X, T, W, b, lr, order)
            self.step += len(X)
        else:
            loss = _batch_binary(X, T[:, 0], W[:, 0], b, lr) if W.shape[1] == 1 \
                else _batch_multi(X, T, W, b, lr)
            self.step += 1
        return loss

    def _ensemble_epoch(self, X: np.ndarray, T: np.ndarray, W: np.ndarray,
                        b: np.ndarray | None) -> np.ndarray:
        E, n = W.shape[0], len(X)
        lr = np.broadcast_to(np.asarray(self.base_lr, dtype=np.float64), (E,))
        if self.mode == "batch":
            self.step += 1
            # member by member: the same BLAS calls as a single model (a stacked matmul
            # loops over members in C anyway), so member i keeps equalling its twin
            losses = [
                (_batch_binary(X, T[:, 0], W[e, :, 0], None if b is None else b[e],
                               float(lr[e]) if self.active[e] else 0.0)
                 if W.shape[-1] == 1 else
                 _batch_multi(X, T, W[e], None if b is None else b[e],
                              float(lr[e]) if self.active[e] else 0.0))
                for e in range(E)]
            return np.array(losses)
        if self.shuffle:
            orders = np.stack([g.permutation(n) for g in self.gens])
        else:
            orders = np.broadcast_to(np.arange(n), (E, n))
        self.step += n
        if W.shape[-1] == 1:
            return _online_binary_members(X, T[:, 0], W, b, lr, orders, self.active)
        return _online_multi_members(X, T, W, b, lr, orders, self.active)


def _online_binary(X, t, w, b, lr, order) -> float:
    total, bias = 0.0, 0.0 if b is None else float(b[0])
    for i in order:
        x, ti = X[i], float(t[i])
        margin = ti * (float(x @ w) + bias)
        if margin <= 0:
            total -= margin
            w += (lr * ti) * x
            bias += lr * ti
    if b is not None:
        b[0] = bias
    return total / len(X)


def _online_multi(X, t, W, b, lr, order) -> float:
    total = 0.0
    for i in order:
        x, k = X[i], t[i]
        s = x @ W
        if b is not None:
            s += b
        true = s[k]
        s[k] = -np.inf
        p = int(s.argmax())
        if s[p] >= true:
            total += s[p] - true
            W[:, k] += lr * x
            W[:, p] -= lr * x
            if b is not None:
                b[k] += lr
                b[p] -= lr
    return float(total) / len(X)


def _online_binary_members(X, t, W, b, lr, orders, active) -> np.ndarray:
    """``_online_binary`` for E members at once: W (E, d, 1), b (E, 1), orders (E, n)."""
    E, n = orders.shape
    w = W[..., 0]  # (E, d) view
    bias = np.zeros(E) if b is None else b[:, 0].astype(np.float64)
    total = np.zeros(E)
    t = t.astype(np.float64)
    for j in range(n):
        idx = orders[:, j]
        x, ti = X[idx], t[idx]  # (E, d), (E,)
        # one (1, d) @ (d, 1) product per member: the dot a single model computes
        s = np.matmul(x[:, None, :], w[:, :, None])[:, 0, 0].astype(np.float64)
        margin = ti * (s + bias)
        m = (margin <= 0) & active
        if m.any():
            total[m] -= margin[m]
            step = lr[m] * ti[m]
            w[m] += step.astype(w.dtype)[:, None] * x[m]
            bias[m] += step
    if b is not None:
        b[:, 0] = bias
    return total / n


def _online_multi_members(X, t, W, b, lr, orders, active) -> np.ndarray:
    """``_online_multi`` for E members at once: W (E, d, K), b (E, K), orders (E, n)."""
    E, n = orders.shape
    rows = np.arange(E)
    total = np.zeros(E)
    for j in range(n):
        idx = orders[:, j]
        x, k = X[idx], t[idx]
        s = np.matmul(x[:, None, :], W)[:, 0, :]  # (E, K): x @ W per member
        if b is not None:
            s += b
        true = s[rows, k].copy()
        s[rows, k] = -np.inf
        p = s.argmax(axis=1)
        best = s[rows, p]
        m = (best >= true) & active
        if m.any():
            total[m] += best[m] - true[m]
            e, step = rows[m], lr[m].astype(W.dtype)[:, None] * x[m]
            W[e, :, k[m]] += step
            W[e, :, p[m]] -= step
            if b is not None:
                b[e, k[m]] += lr[m].astype(b.dtype)
                b[e, p[m]] -= lr[m].astype(b.dtype)
    return total / n


def _batch_binary(X, t, w, b, lr) -> float:
    s = X @ w + (0 if b is None else b[0])
    margin = t * s
    mistakes = margin <= 0
    loss = float(np.maximum(-margin, 0).mean())
    if mistakes.any():
        w += lr * (t[mistakes, None] * X[mistakes]).mean(axis=0)
        if b is not None:
            b[0] += lr * t[mistakes].mean()
    return loss


def _batch_multi(X, t, W, b, lr) -> float:
    crit = MulticlassPerceptronCriterion()
    S = X @ W + (0 if b is None else b)
    loss = crit.forward(S, t)
    mistakes = crit._active[:, 0]
    if mistakes.any():
        n_mis = int(mistakes.sum())
        G = np.zeros((n_mis, W.shape[1]), dtype=W.dtype)
        rows = np.arange(n_mis)
        G[rows, crit._pred[mistakes, 0]] += 1
        G[rows, t[mistakes]] -= 1
        W -= lr * (X[mistakes].T @ G) / n_mis
        if b is not None:
            b -= lr * G.mean(axis=0)
    return float(loss)


# Constructor defaults, from the one hyper-parameter table (neuralab.models.hyperparams).
_D = defaults("perceptron")

class Perceptron(ClassifierMixin, _LinearModel):
    _kind = "perceptron"  # its row of the hyper-parameter table
    """The classic perceptron (see the module docstring for the rules).

    Parameters
    ----------
    lr : step size η (default 0.01, as in seed 000).
    epochs : passes over the training set (default 100).
    mode : "online" (update after each mistake, default) or "batch" (one averaged update
        per epoch from all mistakes).
    init : "zeros" (default) or "random" (weights N(0, init_std²), bias 0).
    init_std : default 0.01.
    shuffle : visit the samples in a fresh random order each epoch (online mode).
    fit_intercept : learn the bias b (default True).
    stop_on_separation : stop as soon as an epoch ends with every training point correct
        (each member of an ensemble on its own; the others go on).
    n_models : None, or E to train E perceptrons in one vectorized pass. Member ``i`` equals
        ``Perceptron(random_state=member_seeds(random_state, E)[i])``; from the default
        zero weights the members differ only through their sample orders (``shuffle``)
        or ``init="random"``. ``lr`` may give one value per member.
    eval_every, dtype ("float64" default), random_state, verbose, callbacks : as elsewhere.

    Attributes
    ----------
    converged_epoch_ : first (evaluated) epoch after which the training set was separated
        (training accuracy 100 %), or None; for an ensemble an (E,) array, −1 where the
        member never separated it.
    history_ : per-epoch ``batch_loss`` (perceptron criterion along the epoch),
        ``train_loss`` (criterion on the whole set at the epoch's end), ``train_acc``, ...

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[-2., -2.], [-1., -2.], [2., 2.], [2., 1.]]); y = np.array([0, 0, 1, 1])
    >>> p = Perceptron(epochs=10, shuffle=False).fit(X, y)
    >>> p.predict(X).tolist(), p.converged_epoch_
    ([0, 0, 1, 1], 1)
    """

    _probabilistic = False

    def __init__(self, *, lr=_D.lr, epochs=_D.epochs, mode=_D.mode, init=_D.init,
                 init_std=_D.init_std, shuffle=_D.shuffle, fit_intercept=_D.fit_intercept,
                 stop_on_separation=_D.stop_on_separation, eval_every=_D.eval_every, dtype=_D.dtype,
                 n_models=_D.n_models, random_state=_D.random_state, verbose=_D.verbose,
                 callbacks=_D.callbacks) -> None:
        store_params(self, locals())

    @property
    def predict_proba(self) -> Any:  # a perceptron has scores, not probabilities
        raise AttributeError("Perceptron has no predict_proba; use decision_function (scores) "
                             "or LogisticRegression for probabilities")

    def _validate_extra(self, cfg: dict[str, Any]) -> dict[str, Any]:
        check_choice("mode", self.mode, ("online", "batch"))
        check_choice("init", self.init, ("zeros", "random"))
        check_positive("init_std", self.init_std)
        return {"optimizer": None, "batch_size": None, "target_accuracy": 1.0,
                "target_stop": bool(self.stop_on_separation)}

    def _outputs_for(self, n_classes: int) -> int:
        return 1 if n_classes == 2 else n_classes

    def _targets(self, y_idx: np.ndarray) -> np.ndarray:
        if self._n_outputs == 1:  # {0, 1} -> {-1, +1}
            return (2.0 * y_idx - 1.0).astype(self._cfg["dtype"])[:, None]
        return y_idx

    def _build_net(self, n_in: int, n_out: int, rng: Any, cfg: dict[str, Any]) -> Module:
        init = "zeros" if self.init == "zeros" else "normal"
        return Sequential(Linear(n_in, n_out, init=init, std=self.init_std,
                                 bias=bool(self.fit_intercept), rng=rng, dtype=cfg["dtype"],
                                 input_grad=False))

    def _make_loss(self, cfg: dict[str, Any]) -> Loss:
        return PerceptronCriterion() if self._n_outputs == 1 else MulticlassPerceptronCriterion()

    def _make_trainer_from(self, net: Module, loss: Loss, opt: Any, **kw: Any) -> Trainer:
        trainer = _PerceptronTrainer(net, loss, None, **kw)
        trainer.mode = self.mode
        trainer.base_lr = self._cfg["lr"]  # a float, or (E,) for an ensemble
        return trainer


__all__ = ["MulticlassPerceptronCriterion", "Perceptron"]
