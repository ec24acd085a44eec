"""Multi-layer perceptrons: ``MLPClassifier`` (softmax + cross-entropy) and ``MLPRegressor``
(linear output + MSE), trained by the shared loop (any optimizer, schedule, batch size,
dropout, batch norm, L1/L2, flooding, early stopping, ensembles)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from neuralab._checks import check_choice, check_in_range, check_positive
from neuralab.models._estimator import NetEstimator
from neuralab.models._params import store_params
from neuralab.models._targets import ClassifierMixin, RegressorMixin
from neuralab.models.hyperparams import check, defaults
from neuralab.nn.activations import ACTIVATIONS, LeakyReLU
from neuralab.nn.batchnorm import BatchNorm1d
from neuralab.nn.containers import Sequential
from neuralab.nn.dropout import Dropout
from neuralab.nn.init import INITS
from neuralab.nn.linear import Linear
from neuralab.nn.losses import MSE, Loss, SoftmaxCrossEntropy, TanhSquared
from neuralab.nn.module import Module

# "auto" picks He for ReLU-like units and Xavier for the rest (Glorot & Bengio; He et al.).
AUTO_INIT = {"relu": "he", "leaky_relu": "he"}


def as_tuple(value: Any) -> tuple[Any, ...]:
    """A sequence (not a string) as a tuple; anything else as a 1-tuple."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        return tuple(value)
    return (value,)


def per_layer(name: str, value: Any, n_layers: int) -> list[Any]:
    """One value for all hidden layers, or a list with one value per hidden layer."""
    values = list(as_tuple(value))
    if len(values) == 1:
        return values * n_layers
    if len(values) != n_layers:
        raise ValueError(f"{name}={value!r} is not allowed; give one value or {n_layers} "
                         f"(one per hidden layer)")
    return values


class _MLP(NetEstimator):
    """Network building and validation shared by the two MLPs."""

    _pixels_warning = True  # (NetEstimator)

    def _validate_extra(self, cfg: dict[str, Any]) -> dict[str, Any]:
        hidden = self.hidden
        hidden = () if hidden is None else check("hidden", as_tuple(hidden), self._kind)
        n = len(hidden)
        acts = [check_choice("activation", a, ACTIVATIONS)
                for a in per_layer("activation", self.activation, max(n, 1))][:n]
        drops = [check_in_range("dropout", d, 0.0, 1.0)
                 for d in per_layer("dropout", self.dropout, max(n, 1))][:n]
        check_in_range("negative_slope", self.negative_slope, 0.0, 1.0, closed="both")
        if self.init != "auto":
            check_choice("init", self.init, [*INITS, "auto"])
        check_positive("init_std", self.init_std)
        return {"hidden": hidden, "activations": acts, "dropouts": drops}

    def _build_net(self, n_in: int, n_out: int, rng: Any, cfg: dict[str, Any]) -> Module:
        E, dtype = cfg["n_models"], cfg["dtype"]
        sizes = [n_in, *cfg["hidden"]]
        layers: list[Module] = []
        for i, (act, p) in enumerate(zip(cfg["activations"], cfg["dropouts"], strict=True)):
            init = AUTO_INIT.get(act, "xavier") if self.init == "auto" else self.init
            layers.append(Linear(sizes[i], sizes[i + 1], init=init, std=self.init_std, rng=rng,
                                 dtype=dtype, input_grad=i > 0))
            if self.batch_norm:
                layers.append(BatchNorm1d(sizes[i + 1], n_models=E, dtype=dtype))
            layers.append(LeakyReLU(self.negative_slope) if act == "leaky_relu"
                          else ACTIVATIONS[act]())
            if p > 0:
                layers.append(Dropout(p, rng=rng))
        last = cfg["activations"][-1] if cfg["activations"] else "identity"
        init = (AUTO_INIT.get(last, "xavier") if self.init == "auto" else self.init)
        layers.append(Linear(sizes[-1], n_out, init=init, std=self.init_std, rng=rng,
                             dtype=dtype, input_grad=bool(cfg["hidden"])))
        return Sequential(*layers)

    def _train(self, X, y, validation, eval_sets, epochs) -> None:  # type: ignore[override]
        b = self._cfg["batch_size"]
        if self.batch_norm and b is not None and b < len(X) and len(X) % b == 1:
            raise ValueError(
                f"batch_norm=True needs at least 2 samples in every batch, but {len(X)} "
                f"samples with batch_size={b} leave a last batch of 1; choose another "
                "batch_size")
        super()._train(X, y, validation, eval_sets, epochs)


_DOC_PARAMS = """
    Parameters
    ----------
    hidden : sizes of the hidden layers, default (20,). ``()`` gives a linear model.
    activation : "relu" (default), "leaky_relu", "tanh", "sigmoid", "identity"; one for
        all hidden layers or a list with one per layer.
    negative_slope : slope of leaky_relu for x < 0 (default 0.01).
    init : "auto" (He for ReLU-like layers, Xavier otherwise) or a scheme of
        :mod:`neuralab.nn.init` ("he", "xavier", "normal", "uniform", "zeros", ...).
    init_std : standard deviation of ``init="normal"`` (default 1e-4, the CS324 skeleton).
    dropout : drop probability after each hidden layer (float or one per layer), in [0, 1).
    batch_norm : batch normalisation after each hidden Linear (default False).
    optimizer : "sgd" (default), "adam" or "rmsprop".
    lr : learning rate (default 0.01); an ensemble may give one per member.
    momentum, nesterov, weight_decay : SGD (and RMSProp momentum) settings; momentum and
        weight_decay may be given per member.
    betas : Adam's (β₁, β₂), default (0.9, 0.999).
    schedule : None, "step", "exponential" or "cosine", stepped once per epoch, with
        ``schedule_params`` (step: step_size=30, gamma=0.1; exponential: gamma=0.95;
        cosine: T_max=epochs, eta_min=0).
    batch_size : int (default 32) or "full".
    epochs : number of epochs (default 100). shuffle : reshuffle every epoch (default True).
    l1, l2 : penalty strengths on the weights (λ Σ|W| and λ/2 Σ W²), default 0.
    flooding : flood level b (Ishida et al. 2020) or None.
    early_stopping, patience, min_delta, monitor, restore_best_weights : stop when
        ``monitor`` ("val_loss" default, "val_acc", "train_loss", "train_acc") has not
        improved by ``min_delta`` for ``patience`` evaluations.
    eval_every : compute the metrics every N epochs (and at the last one), default 1.
    train_metrics : how ``train_loss``/``train_acc`` are measured: "running" (the mean over
        the epoch's mini-batches as they were trained, in train mode: Keras's and
        scikit-learn's ``loss_curve_`` convention, no extra pass), "full" (one pass over
        the training set after the epoch, eval mode), or "auto" (default: "full" when
        ``target_accuracy`` is set, "running" otherwise).
    dtype : "float32" (default) or "float64".
    n_models : None, or E to train E independently seeded models in one vectorized pass.
    random_state : the seed (scikit-learn's name): int, SeedSequence, Generator or None
        (fresh entropy).
    verbose : print a line per evaluated epoch. callbacks : list of Callback objects.
"""


# Constructor defaults, from the one hyper-parameter table (neuralab.models.hyperparams).
_DC, _DR = defaults("mlp"), defaults("mlp_regressor")

class MLPClassifier(ClassifierMixin, _MLP):
    _kind = "mlp"  # its row of the hyper-parameter table
    def __init__(self, hidden=_DC.hidden, activation=_DC.activation, *,
                 negative_slope=_DC.negative_slope, init=_DC.init, init_std=_DC.init_std,
                 dropout=_DC.dropout, batch_norm=_DC.batch_norm, loss=_DC.loss,
                 optimizer=_DC.optimizer, lr=_DC.lr,
                 momentum=_DC.momentum, nesterov=_DC.nesterov, weight_decay=_DC.weight_decay,
                 betas=_DC.betas, schedule=_DC.schedule, schedule_params=_DC.schedule_params,
                 batch_size=_DC.batch_size, epochs=_DC.epochs, shuffle=_DC.shuffle, l1=_DC.l1,
                 l2=_DC.l2, flooding=_DC.flooding, early_stopping=_DC.early_stopping,
                 patience=_DC.patience, min_delta=_DC.min_delta, monitor=_DC.monitor,
                 restore_best_weights=_DC.restore_best_weights, target_accuracy=_DC.target_accuracy,
                 eval_every=_DC.eval_every, train_metrics=_DC.train_metrics,
                 dtype=_DC.dtype, n_models=_DC.n_models,
                 random_state=_DC.random_state, verbose=_DC.verbose,
                 callbacks=_DC.callbacks) -> None:
        store_params(self, locals())

    def _validate_extra(self, cfg: dict[str, Any]) -> dict[str, Any]:
        return {**super()._validate_extra(cfg), "loss": check("loss", self.loss, self._kind)}

    # loss="squared" is TensorFlow Playground's classifier: ONE output z, o = tanh(z) inside
    # the loss, targets -1/+1; class 1 where z >= 0, P(class 1) = (o + 1) / 2
    def _squared(self) -> bool:
        return self._param("loss") == "squared"

    def _outputs_for(self, n_classes: int) -> int:
        if not self._squared():
            return n_classes
        if n_classes != 2:
            raise ValueError(f"loss='squared' (TensorFlow Playground's) takes two classes; y "
                             f"has {n_classes}: use loss='cross_entropy'")
        return 1

    def _targets(self, y_idx: np.ndarray) -> np.ndarray:
        if self._squared():  # class 0 -> -1, class 1 -> +1
            return (2 * y_idx - 1).astype(self._cfg["dtype"])[:, None]
        return super()._targets(y_idx)

    def _make_loss(self, cfg: dict[str, Any]) -> Loss:
        return TanhSquared() if self._squared() else SoftmaxCrossEntropy()

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities (n, K), rows summing to 1; (E, n, K) for an ensemble."""
        if not self._squared():
            return super().predict_proba(X)
        p = (np.tanh(self._outputs(X)) + 1) / 2
        return np.concatenate([1 - p, p], axis=-1)


class MLPRegressor(RegressorMixin, _MLP):
    _kind = "mlp_regressor"  # its row of the hyper-parameter table
    def __init__(self, hidden=_DR.hidden, activation=_DR.activation, *,
                 negative_slope=_DR.negative_slope, init=_DR.init, init_std=_DR.init_std,
                 dropout=_DR.dropout, batch_norm=_DR.batch_norm, optimizer=_DR.optimizer, lr=_DR.lr,
                 momentum=_DR.momentum, nesterov=_DR.nesterov, weight_decay=_DR.weight_decay,
                 betas=_DR.betas, schedule=_DR.schedule, schedule_params=_DR.schedule_params,
                 batch_size=_DR.batch_size, epochs=_DR.epochs, shuffle=_DR.shuffle, l1=_DR.l1,
                 l2=_DR.l2, flooding=_DR.flooding, early_stopping=_DR.early_stopping,
                 patience=_DR.patience, min_delta=_DR.min_delta, monitor=_DR.monitor,
                 restore_best_weights=_DR.restore_best_weights, eval_every=_DR.eval_every,
                 train_metrics=_DR.train_metrics,
                 dtype=_DR.dtype, n_models=_DR.n_models, random_state=_DR.random_state,
                 verbose=_DR.verbose, callbacks=_DR.callbacks) -> None:
        store_params(self, locals())

    def _make_loss(self, cfg: dict[str, Any]) -> Loss:
        return MSE()


MLPClassifier.__doc__ = f"""Multi-layer perceptron classifier: softmax output, cross-entropy loss.
{_DOC_PARAMS}    target_accuracy : stop once the training accuracy reaches this value (e.g. 1.0);
        the epoch is kept in ``converged_epoch_``.

    Examples
    --------
    >>> from neuralab.data import moons
    >>> ds = moons(n=200, noise=0.1, seed=0)
    >>> clf = MLPClassifier(hidden=(20,), lr=0.1, epochs=30, random_state=0).fit(ds.X, ds.y)
    >>> clf.predict(ds.X[:3]).shape
    (3,)
    """

MLPRegressor.__doc__ = f"""Multi-layer perceptron regressor: linear output, mean squared error.
{_DOC_PARAMS}
    Examples
    --------
    >>> import numpy as np
    >>> X = np.linspace(-1, 1, 50)[:, None]; y = X[:, 0] ** 2
    >>> reg = MLPRegressor(hidden=(16,), optimizer="adam", lr=0.01, epochs=20, random_state=0)
    >>> reg.fit(X, y).predict(X).shape
    (50,)
    """

__all__ = ["MLPClassifier", "MLPRegressor"]
