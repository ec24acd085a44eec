"""Linear models: ``LogisticRegression`` (sigmoid/BCE or softmax/CE, gradient descent) and
``LinearRegression`` (closed form with numpy's lstsq, optional ridge, or gradient descent)."""

from __future__ import annotations

from typing import Any

import numpy as np

from neuralab._checks import check_choice
from neuralab.models._estimator import NetEstimator
from neuralab.models._params import store_params
from neuralab.models._targets import ClassifierMixin, RegressorMixin
from neuralab.models.hyperparams import defaults
from neuralab.nn.containers import Sequential
from neuralab.nn.linear import Linear
from neuralab.nn.losses import MSE, BCEWithLogits, Loss, SoftmaxCrossEntropy
from neuralab.nn.module import Module


class _LinearModel(NetEstimator):
    """One ``Linear`` layer, zero-initialised (so no random draw happens at set-up)."""

    def _build_net(self, n_in: int, n_out: int, rng: Any, cfg: dict[str, Any]) -> Module:
        return Sequential(Linear(n_in, n_out, init="zeros", bias=bool(self.fit_intercept),
                                 rng=rng, dtype=cfg["dtype"], input_grad=False))

    @property
    def coef_(self) -> np.ndarray:
        """Weights as scikit-learn lays them out: (n_outputs, n_features) (ensembles: (E, …))."""
        W = self.net_[0].params["weight"].astype(np.float64)
        return W.swapaxes(-1, -2)

    @property
    def intercept_(self) -> np.ndarray:
        lin = self.net_[0]
        if "bias" not in lin.params:
            return np.zeros((*lin.params["weight"].shape[:-2], lin.out_features))
        return lin.params["bias"].astype(np.float64)


_COMMON = """
    optimizer : "sgd", "adam" or "rmsprop"; lr : learning rate; momentum, nesterov,
        weight_decay, betas : optimizer settings.
    batch_size : int or "full". epochs : passes over the data. shuffle : default True.
    schedule, schedule_params : learning-rate schedule (see MLPClassifier).
    l1, l2 : penalty strengths (λ Σ|W| and λ/2 Σ W²); the intercept is not penalised.
    fit_intercept : learn a bias (default True).
    eval_every, train_metrics, dtype, n_models, random_state, verbose, callbacks : as for
        MLPClassifier.
"""


# Constructor defaults, from the one hyper-parameter table (neuralab.models.hyperparams).
_DL, _DLR = defaults("logistic"), defaults("linear")

class LogisticRegression(ClassifierMixin, _LinearModel):
    _kind = "logistic"  # its row of the hyper-parameter table
    # Defaults that reach the optimum on MNIST-sized data (784 features in [0, 1], thousands
    # of rows) as on small sets, in 100 epochs: see docs/models.md for why and the numbers.
    def __init__(self, *, l1=_DL.l1, l2=_DL.l2, fit_intercept=_DL.fit_intercept,
                 optimizer=_DL.optimizer, lr=_DL.lr, momentum=_DL.momentum, nesterov=_DL.nesterov,
                 weight_decay=_DL.weight_decay, betas=_DL.betas, schedule=_DL.schedule,
                 schedule_params=_DL.schedule_params, batch_size=_DL.batch_size, epochs=_DL.epochs,
                 shuffle=_DL.shuffle, eval_every=_DL.eval_every,
                 train_metrics=_DL.train_metrics, dtype=_DL.dtype,
                 n_models=_DL.n_models, random_state=_DL.random_state, verbose=_DL.verbose,
                 callbacks=_DL.callbacks) -> None:
        store_params(self, locals())

    def _outputs_for(self, n_classes: int) -> int:
        return 1 if n_classes == 2 else n_classes

    def _make_loss(self, cfg: dict[str, Any]) -> Loss:
        return BCEWithLogits() if self._n_outputs == 1 else SoftmaxCrossEntropy()


class LinearRegression(RegressorMixin, _LinearModel):
    _kind = "linear"  # its row of the hyper-parameter table
    def __init__(self, *, solver=_DLR.solver, l1=_DLR.l1, l2=_DLR.l2,
                 fit_intercept=_DLR.fit_intercept, optimizer=_DLR.optimizer, lr=_DLR.lr,
                 momentum=_DLR.momentum, nesterov=_DLR.nesterov, weight_decay=_DLR.weight_decay,
                 betas=_DLR.betas, schedule=_DLR.schedule, schedule_params=_DLR.schedule_params,
                 batch_size=_DLR.batch_size, epochs=_DLR.epochs, shuffle=_DLR.shuffle,
                 eval_every=_DLR.eval_every, train_metrics=_DLR.train_metrics,
                 dtype=_DLR.dtype, n_models=_DLR.n_models,
                 random_state=_DLR.random_state, verbose=_DLR.verbose,
                 callbacks=_DLR.callbacks) -> None:
        store_params(self, locals())

    def _make_loss(self, cfg: dict[str, Any]) -> Loss:
        return MSE()

    @property
    def coef_(self) -> np.ndarray:
        coef = super().coef_
        return coef[..., 0, :] if self._y_ndim == 1 else coef

    @property
    def intercept_(self) -> np.ndarray | float:
        b = super().intercept_
        return b[..., 0] if self._y_ndim == 1 else b

    def _validate_extra(self, cfg: dict[str, Any]) -> dict[str, Any]:
        solver = check_choice("solver", self.solver, ("lstsq", "gd"))
        if solver == "gd":
            return {"solver": solver}
        if cfg["l1"]:
            raise ValueError(f"l1={self.l1!r} needs solver='gd'; the closed form "
                             "(solver='lstsq') supports l2 (ridge) only")
        if cfg["n_models"] is not None:
            raise ValueError(f"n_models={self.n_models!r} needs solver='gd'; the closed "
                             "form has nothing random to vary between members")
        # The closed form solves and keeps its weights in float64 whatever ``dtype`` says:
        # float32 weights left the residual orthogonal to X only to ~2e-7, and LAPACK gains
        # nothing from float32 here. ``dtype`` is the precision of gradient descent.
        return {"solver": solver, "dtype": np.float64}

    def fit(self, X: Any, y: Any = None, validation: Any = None, **kwargs: Any
            ) -> LinearRegression:
        cfg = self._validate_params()
        if cfg["solver"] == "gd":
            return super().fit(X, y, validation, **kwargs)  # type: ignore[return-value]
        X, y = self._check_Xy(X, y, cfg)
        self._setup(X.shape[1], y, cfg)
        W, b = _least_squares(X, y.reshape(len(y), -1), cfg["l2"], bool(self.fit_intercept))
        lin = self._trainer.net[0]
        lin.params["weight"][...] = W
        if "bias" in lin.params:
            lin.params["bias"][...] = b
        return self

    @property
    def partial_fit(self) -> Any:
        """More epochs of gradient descent (``solver="gd"`` only)."""
        if self.solver != "gd":
            raise AttributeError(f"partial_fit needs solver='gd'; got solver={self.solver!r} "
                                 "(the closed form has no epochs to continue)")
        return super().partial_fit


def _least_squares(X: np.ndarray, Y: np.ndarray, l2: float, intercept: bool
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Minimise ``mean((XW + b − Y)²) + (l2/2)‖W‖²`` exactly: W (d, m), b (m,)."""
    n, m = Y.shape
    if not l2:
        A = np.hstack([X, np.ones((n, 1))]) if intercept else X
        sol = np.linalg.lstsq(A, Y, rcond=None)[0]
        return (sol[:-1], sol[-1]) if intercept else (sol, np.zeros(m))
    x_mean = X.mean(axis=0) if intercept else np.zeros(X.shape[1])
    y_mean = Y.mean(axis=0) if intercept else np.zeros(m)
    Xc, Yc = X - x_mean, Y - y_mean
    # gradient (2/(n m)) Xᵀ(XW − Y) + l2 W = 0  →  (XᵀX + (n m l2 / 2) I) W = XᵀY
    A = Xc.T @ Xc + (n * m * l2 / 2) * np.eye(X.shape[1])
    W = np.linalg.solve(A, Xc.T @ Yc)
    return W, y_mean - x_mean @ W


LogisticRegression.__doc__ = f"""Logistic regression trained by (mini-)batch gradient descent.

    Two classes: one logit, sigmoid + binary cross-entropy. K > 2 classes: K logits,
    softmax + cross-entropy (multinomial). The objective is
    ``mean(cross-entropy) + (l2/2)‖W‖² + l1 Σ|W|`` (intercept not penalised).

    Parameters
    ----------
    Defaults: optimizer="adam", lr=0.1, batch_size=64, epochs=100, schedule="cosine"
    (annealed to 0 at the last epoch), l2=1e-4, dtype="float32".{_COMMON}
    These defaults reach the optimum from a hundred rows to MNIST-sized data (784 pixel
    features in [0, 1]); the former full-batch SGD (100 steps, no penalty) stopped far
    from it (docs/models.md has the measurements). ``l2=1e-4`` is scikit-learn's ``C=1``
    at 10,000 rows. After a full ``fit`` the cosine rate is 0, so ``partial_fit`` changes
    nothing unless ``schedule=None``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.], [1.], [2.], [3.]]); y = np.array([0, 0, 1, 1])
    >>> LogisticRegression(random_state=0).fit(X, y).predict(X).tolist()
    [0, 0, 1, 1]
    """
LinearRegression.__doc__ = f"""Least-squares linear regression.

    ``solver="lstsq"`` (default) solves the normal equations with ``numpy.linalg.lstsq``;
    with ``l2 > 0`` it solves ridge in closed form for the same objective gradient descent
    minimises, ``mean((Xw + b − y)²) + (l2/2)‖w‖²`` (intercept not penalised). It works
    and keeps its weights in float64 whatever ``dtype`` says (``dtype`` is the precision
    of gradient descent), so the residual is orthogonal to X to ~1e-15. It has no
    ``n_models`` (nothing random to vary) and no ``partial_fit``.
    ``solver="gd"`` trains by (mini-)batch gradient descent on the MSE (L1 and L2 allowed).

    Parameters
    ----------
    solver : "lstsq" (default) or "gd". Defaults: lr=0.01, batch_size="full", epochs=100,
        optimizer="sgd", l2=0, dtype="float64".{_COMMON}
    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.], [1.], [2.]]); y = np.array([1., 3., 5.])
    >>> reg = LinearRegression().fit(X, y)
    >>> np.round(reg.coef_, 6).tolist(), np.round(reg.intercept_, 6).tolist()
    ([2.0], 1.0)
    """

__all__ = ["LinearRegression", "LogisticRegression"]
