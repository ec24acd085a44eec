"""``CNNClassifier``: a convolutional network (named architecture or a list of layer specs)
with softmax cross-entropy, trained by the shared loop like the MLPs (any optimizer,
schedule, batch size, L1/L2, flooding, early stopping, target accuracy, history,
save/load, resume).

Inputs are channels first, as PyTorch: images ``(n, C, H, W)``, signals ``(n, C, L)``; a
2-D network reads ``(n, H, W)`` as one-channel images ``(n, 1, H, W)``. Flat
rows ``(n, d)`` are accepted too and read as one channel: a square ``(1, √d, √d)`` image for
a 2-D network, a ``(1, d)`` signal for a 1-D one (digits' 64 pixels → 8×8, mnist1d's 40
→ 1×40); give images of another shape as ``(n, C, H, W)``. The default architecture,
``"auto"``, is the first named one that reads the data: LeNet-5 for images of at least
12×12, onelayer_cnn for smaller ones, mnist1d_cnn for signals, features_cnn for a few plain
features. Internally the estimator keeps
rows flat (cheap batching, the same file format as every estimator) and the network's first
layer, ``Images``, views each batch as images again (a reshape, no copy).

A layer spec is a dict with a ``type`` and that type's keys (defaults in :data:`LAYER_KEYS`)::

    [{"type": "conv2d", "out": 6, "kernel": 5, "padding": 2}, {"type": "relu"},
     {"type": "maxpool2d", "kernel": 2}, {"type": "flatten"},
     {"type": "linear", "out": 120}, {"type": "relu"}]

Input channels and features are inferred from the data, and the output layer (a Linear to
the number of classes, after a Flatten if needed) is always added: do not list it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from neuralab._checks import suggest
from neuralab.models._estimator import NetEstimator
from neuralab.models._params import store_params
from neuralab.models._targets import ClassifierMixin
from neuralab.models._validation import check_X
from neuralab.models.hyperparams import CNN_ARCHITECTURES, defaults
from neuralab.nn.losses import Loss, SoftmaxCrossEntropy
from neuralab.nn.module import Module, describe

_REQUIRED = object()  # a key every spec of that type must give
_CONV = {"out": _REQUIRED, "kernel": _REQUIRED, "stride": 1, "padding": 0, "dilation": 1,
         "bias": True}
_POOL = {"kernel": _REQUIRED, "stride": None, "padding": 0}
#: every layer type of a spec, with its keys and their defaults
LAYER_KEYS: dict[str, dict[str, Any]] = {
    "conv2d": _CONV, "conv1d": _CONV,
    "maxpool2d": _POOL, "avgpool2d": _POOL, "maxpool1d": _POOL, "avgpool1d": _POOL,
    "linear": {"out": _REQUIRED, "bias": True},
    "relu": {}, "leaky_relu": {"negative_slope": 0.01}, "tanh": {}, "sigmoid": {},
    "flatten": {}, "batchnorm2d": {}, "batchnorm1d": {},
    "dropout": {"p": 0.5}, "dropout2d": {"p": 0.5},
}
_SPATIAL = {"conv2d": 2, "conv1d": 1, "maxpool2d": 2, "avgpool2d": 2, "maxpool1d": 1,
            "avgpool1d": 1, "batchnorm2d": 2, "dropout2d": 2}
_RELU_LIKE = ("relu", "leaky_relu")
_POOLS = ("maxpool2d", "avgpool2d", "maxpool1d", "avgpool1d")

#: the named architectures, as layer specs (the output Linear is added to each)
ARCHITECTURES: dict[str, list[dict[str, Any]]] = {
    # LeNet-5 with ReLU and max pooling (the issue's and PyTorch tutorials' form); 28×28 in
    # (padding 2 keeps it 28×28 like LeNet's 32×32 input): 6@28×28 → 6@14×14 → 16@10×10
    # → 16@5×5 → 120 → 84 → classes. It needs images of at least 12×12.
    "lenet5": [
        {"type": "conv2d", "out": 6, "kernel": 5, "padding": 2}, {"type": "relu"},
        {"type": "maxpool2d", "kernel": 2},
        {"type": "conv2d", "out": 16, "kernel": 5}, {"type": "relu"},
        {"type": "maxpool2d", "kernel": 2},
        {"type": "flatten"}, {"type": "linear", "out": 120}, {"type": "relu"},
        {"type": "linear", "out": 84}, {"type": "relu"}],
    # The mnist1d paper's CNN (Greydanus 2020: three conv layers of 25 channels, strides 2):
    # 1×40 → 25×19 → 25×10 → 25×5 → classes; 94 % test in the paper.
    "mnist1d_cnn": [
        {"type": "conv1d", "out": 25, "kernel": 5, "stride": 2, "padding": 1},
        {"type": "relu"},
        {"type": "conv1d", "out": 25, "kernel": 3, "stride": 2, "padding": 1},
        {"type": "relu"},
        {"type": "conv1d", "out": 25, "kernel": 3, "stride": 2, "padding": 1},
        {"type": "relu"}, {"type": "flatten"}],
    # Seed 004's Q5.5 pair: its OneLayerNet (one hidden layer of 100) with one convolution
    # in front (the report does not list its CNN's layers; this is the smallest CNN that
    # matches it): 16 filters 3×3 → 2×2 max pool → 100 → classes.
    "onelayer_cnn": [
        {"type": "conv2d", "out": 16, "kernel": 3, "padding": 1}, {"type": "relu"},
        {"type": "maxpool2d", "kernel": 2}, {"type": "flatten"},
        {"type": "linear", "out": 100}, {"type": "relu"}],
    # Plain features (moons' x, y; scikit-learn's checks) read as a signal (1, d): 8 filters
    # of width 3, padding 1, so that it reads any number of features, even one.
    "features_cnn": [
        {"type": "conv1d", "out": 8, "kernel": 3, "padding": 1}, {"type": "relu"},
        {"type": "flatten"}],
}


# -- layer specs ------------------------------------------------------------------------------
def _int_or_pair(where: str, key: str, value: Any, dims: int, low: int) -> tuple[int, ...]:
    """An int (the same along every spatial axis) or one int per axis, each >= low."""
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    if len(values) == 1:
        values = values * dims
    ok = len(values) == dims and all(isinstance(v, (int, np.integer))
                                     and not isinstance(v, bool) and v >= low for v in values)
    if not ok:
        want = "an integer" if dims == 1 else f"an integer or a list of {dims} integers"
        raise ValueError(f"{where}.{key}={value!r} is not allowed; it must be {want} >= {low}")
    return tuple(int(v) for v in values)


def check_layers(specs: Any, name: str = "layers") -> list[dict[str, Any]]:
    """Layer specs with every key filled in, or ValueError naming the layer index and key
    (``layers[3].kernel=0 is not allowed; ...``)."""
    if isinstance(specs, (str, Mapping)) or not isinstance(specs, Sequence) or not specs:
        raise ValueError(f"{name}={specs!r} is not allowed; give a non-empty list of layer "
                         "specs such as {'type': 'conv2d', 'out': 6, 'kernel': 5}")
    out = []
    for i, spec in enumerate(specs):
        where = f"{name}[{i}]"
        if not isinstance(spec, Mapping):
            raise ValueError(f"{where}={spec!r} is not allowed; a layer is a table with a "
                             "'type' key, e.g. {'type': 'relu'}")
        kind = spec.get("type")
        if kind not in LAYER_KEYS:
            raise ValueError(f"{where}.type={kind!r} is not allowed; choose one of "
                             f"{', '.join(LAYER_KEYS)}{suggest(str(kind), LAYER_KEYS)}")
        keys = LAYER_KEYS[kind]
        for key in spec:
            if key != "type" and key not in keys:
                allowed = ", ".join(keys) or "no other key"
                raise ValueError(f"{where}: {kind} has no key {key!r}{suggest(key, keys)}; "
                                 f"it takes {allowed}")
        full: dict[str, Any] = {"type": kind}
        dims = _SPATIAL.get(kind, 1)
        for key, default in keys.items():
            if key not in spec and default is _REQUIRED:
                raise ValueError(f"{where}: {kind} needs the key {key!r}")
            value = spec.get(key, default)
            if key in ("out",):
                value = _int_or_pair(where, key, value, 1, 1)[0]
            elif key in ("kernel", "stride", "dilation") and value is not None:
                value = _int_or_pair(where, key, value, dims, 1)
            elif key == "padding":
                value = _int_or_pair(where, key, value, dims, 0)
            elif key == "bias" and not isinstance(value, bool):
                raise ValueError(f"{where}.bias={value!r} is not allowed; use true or false")
            elif key in ("p", "negative_slope"):
                high = 1.0
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                        0 <= value < high if key == "p" else 0 <= value <= high):
                    rng = "[0, 1)" if key == "p" else "[0, 1]"
                    raise ValueError(f"{where}.{key}={value!r} is not allowed; it must be a "
                                     f"number in {rng}")
                value = float(value)
            full[key] = value
        if kind in _POOLS and any(2 * p > k for p, k in zip(full["padding"], full["kernel"],
                                                              strict=True)):
            raise ValueError(f"{where}.padding={spec['padding']!r} is not allowed with "
                             f"kernel={spec['kernel']!r}; a pool's padding must be at most "
                             "half its kernel")
        out.append(full)
    return out


def _size(n: int, k: int, s: int, p: int, d: int) -> int:
    """Output length of a convolution or pooling window along one axis (PyTorch's formula)."""
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def _shape_str(shape: tuple[int, ...]) -> str:
    return "×".join(map(str, shape))


def layer_shapes(specs: list[dict[str, Any]], input_shape: tuple[int, ...]
                 ) -> list[tuple[int, ...]]:
    """The output shape (one sample, channels first) of each checked spec, or ValueError
    naming the layer, the shape it gets and what it needs."""
    shape, shapes = tuple(input_shape), []
    for i, spec in enumerate(specs):
        kind, where = spec["type"], f"layers[{i}] ({spec['type']})"
        dims = _SPATIAL.get(kind)
        if dims is not None and len(shape) != dims + 1:
            want = "(C, H, W) images" if dims == 2 else "(C, L) signals"
            if len(shape) == 1:
                hint = "flat features after a flatten or a linear layer?"
            else:  # images to a 1-D layer or signals to a 2-D one
                got = "images" if len(shape) == 3 else "signals"
                other = f"{kind[:-2]}{'1d' if dims == 2 else '2d'}"  # conv1d <-> conv2d
                hint = (f"{got}: {other} takes them" if _SPATIAL.get(other) == len(shape) - 1
                        else f"{got}, which {kind} does not take")
            raise ValueError(f"{where} needs {want}; it gets {_shape_str(shape)} ({hint})")
        if kind in ("linear", "batchnorm1d") and len(shape) != 1:
            raise ValueError(f"{where} needs flat features; it gets {_shape_str(shape)}: add "
                             "{type = \"flatten\"} before it")
        if kind in ("conv2d", "conv1d", "maxpool2d", "avgpool2d", "maxpool1d", "avgpool1d"):
            k = spec["kernel"]
            s = spec["stride"] or k  # pools: stride defaults to the kernel
            d = spec.get("dilation") or (1,) * dims
            p = spec["padding"]
            sizes = []
            for axis, n in enumerate(shape[1:]):
                o = _size(n, k[axis], s[axis], p[axis], d[axis])
                if o < 1:
                    span = d[axis] * (k[axis] - 1) + 1
                    raise ValueError(
                        f"{where}: its window spans {span} but the padded input is "
                        f"{n + 2 * p[axis]} wide ({_shape_str(shape)} in, padding "
                        f"{p[axis]}); use a smaller kernel, more padding, or larger inputs")
                sizes.append(o)
            channels = spec["out"] if kind.startswith("conv") else shape[0]
            shape = (channels, *sizes)
        elif kind == "flatten":
            shape = (math.prod(shape),)
        elif kind == "linear":
            shape = (spec["out"],)
        shapes.append(shape)
    return shapes


def count_weights(specs: list[dict[str, Any]], input_shape: tuple[int, ...], n_out: int) -> int:
    """Trainable numbers of the network built from ``specs`` (output layer included)."""
    shapes = [tuple(input_shape), *layer_shapes(specs, input_shape)]
    total = 0
    for spec, before in zip(specs, shapes, strict=False):
        kind = spec["type"]
        if kind.startswith("conv"):
            total += spec["out"] * (before[0] * math.prod(spec["kernel"]) + spec["bias"])
        elif kind == "linear":
            total += spec["out"] * (before[0] + spec["bias"])
        elif kind.startswith("batchnorm"):
            total += 2 * before[0]
    return total + n_out * (math.prod(shapes[-1]) + 1)


def architecture_layers(architecture: Any) -> list[dict[str, Any]]:
    """The checked layer specs of a named architecture or of a list of specs."""
    if isinstance(architecture, str):
        if architecture not in ARCHITECTURES:
            names = ("auto", *ARCHITECTURES)
            raise ValueError(f"architecture={architecture!r} is not allowed; choose one of "
                             f"{', '.join(map(repr, names))} or give a list of layer "
                             f"specs{suggest(architecture, names)}")
        return check_layers(ARCHITECTURES[architecture])
    return check_layers(architecture, "architecture")


def _dims_of(specs: list[dict[str, Any]]) -> int | None:
    """2 or 1: the dimensions of the first convolution or pool of ``specs`` (None: none)."""
    return next((_SPATIAL[s["type"]] for s in specs if s["type"] in _SPATIAL), None)


def read_shape(specs: list[dict[str, Any]], n_features: int,
               given: tuple[int, ...] | None = None) -> tuple[int, ...]:
    """The one-input shape a network of ``specs`` reads from inputs given as ``given``
    (per sample; a 2-D network reads ``(H, W)`` as one channel) or, ``given`` None, from flat
    rows of ``n_features`` (:func:`flat_input_shape`)."""
    if given is None:
        return flat_input_shape(n_features, specs)
    return (1, *given) if len(given) == 2 and _dims_of(specs) == 2 else tuple(given)


def auto_architecture(n_features: int, given: tuple[int, ...] | None = None, *,
                      read: tuple[int, ...] | None = None) -> str:
    """``architecture="auto"``: the first named architecture, in the order of
    ``CNN_ARCHITECTURES`` (LeNet-5, onelayer_cnn, mnist1d_cnn, features_cnn), that reads the
    inputs (as :func:`read_shape` sees ``n_features``/``given``, or the shape ``read`` a
    fitted network reads); ValueError if none does."""
    for name in CNN_ARCHITECTURES:
        specs = check_layers(ARCHITECTURES[name])
        try:
            shape = read if read is not None else read_shape(specs, n_features, given)
        except ValueError:  # flat rows that are no square image, for a 2-D network
            continue
        if _fits(specs, shape):
            return name
    what = _shape_str(read or given or (n_features,))
    raise ValueError(f"architecture='auto': none of {', '.join(map(repr, CNN_ARCHITECTURES))} "
                     f"reads inputs of {what}; give a list of layer specs")


def _fits(specs: list[dict[str, Any]], input_shape: tuple[int, ...]) -> bool:
    """Whether a network of ``specs`` can read inputs of ``input_shape``."""
    try:
        layer_shapes(check_layers(specs), input_shape)
    except ValueError:
        return False
    return True


def looks_channels_last(shape: tuple[int, ...]) -> bool:
    """Whether one input of ``shape`` looks like a channels-last image ``H×W×C`` (square,
    larger than 4×4, C of 1, 3 or 4: MNIST or CIFAR as Keras and many loaders give them)."""
    return len(shape) == 3 and shape[2] in (1, 3, 4) and shape[0] == shape[1] > 4


def channels_last_hint(shape: tuple[int, ...]) -> str:
    return (f"{_shape_str(shape)} looks like channels-last images; give them channels "
            "first, (n, C, H, W): X.transpose(0, 3, 1, 2)")


def fit_hint(architecture: Any, shape: tuple[int, ...],
             given: tuple[int, ...] | None = None) -> str:
    """What to add to the error of an architecture that cannot read inputs of ``shape``
    (``given``: the shape before a channel axis was added), "" if nothing: images that look
    channels last (``H×W×C``, C of 1, 3 or 4); for a named architecture, the named
    architectures that fit (LeNet-5 on 8×8 digits: "onelayer_cnn")."""
    given = shape if given is None else given
    hints = [channels_last_hint(shape)] if looks_channels_last(shape) else []
    if isinstance(architecture, str):
        fits = [name for name, specs in ARCHITECTURES.items()
                if _fits(specs, shape) or _fits(specs, given)]
        if fits:
            hints.append(f"the architectures that fit {_shape_str(given)} inputs: "
                         f"{', '.join(map(repr, fits))}")
    return "".join(f"; {h}" for h in hints)


def flat_input_shape(n_features: int, specs: list[dict[str, Any]]) -> tuple[int, ...]:
    """How a network of ``specs`` reads a flat row of ``n_features``: a ``(1, d)`` signal
    (1-D layers), a square ``(1, √d, √d)`` image (2-D layers), or ``(d,)`` (no such layer)."""
    dims = _dims_of(specs) or 0
    if dims == 1:
        return (1, n_features)
    if dims == 0:
        return (n_features,)
    side = math.isqrt(n_features)
    if side * side != n_features:
        raise ValueError(f"X has {n_features} features per row, which is not a square image; "
                         "give 2-D convolutions images as X of shape (n, C, H, W)")
    return (1, side, side)


class Images(Module):
    """Views flat rows ``(B, d)`` as ``(B, *shape)`` (channels first); a reshape, no copy.
    Inputs already of that shape pass unchanged."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.shape = tuple(int(s) for s in shape)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``(B, d)`` or ``(B, *shape)`` -> ``(B, *shape)``."""
        if x.ndim < 1 or math.prod(x.shape[1:]) != math.prod(self.shape):
            raise ValueError(f"{describe(self)} got input of shape {x.shape}; it needs "
                             f"(B, {', '.join(map(str, self.shape))}) or "
                             f"(B, {math.prod(self.shape)}), the shape the network was "
                             "built for")
        return x.reshape(len(x), *self.shape)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out.reshape(len(grad_out), -1)

    def backward_params(self, grad_out: np.ndarray) -> None:
        return None

    def extra_repr(self) -> str:  # repr, nn.summary and the report: Images(1, 8, 8)
        return ", ".join(map(str, self.shape))


def _build_layers(specs: list[dict[str, Any]], input_shape: tuple[int, ...], n_out: int,
                  rng: Any, dtype: Any) -> list[Module]:
    from neuralab import nn
    from neuralab.nn.batchnorm import BatchNorm1d, BatchNorm2d
    from neuralab.nn.conv import Conv1d, Conv2d
    from neuralab.nn.dropout import Dropout2d
    from neuralab.nn.pooling import AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d
    from neuralab.nn.shape import Flatten

    shapes = [tuple(input_shape), *layer_shapes(specs, input_shape)]
    layers: list[Module] = [Images(input_shape)]
    trainable = 0  # the first trainable layer needs no gradient for the data
    for i, spec in enumerate(specs):
        kind, before = spec["type"], shapes[i]
        nxt = specs[i + 1]["type"] if i + 1 < len(specs) else None
        if kind in ("conv2d", "conv1d"):
            cls = Conv2d if kind == "conv2d" else Conv1d
            one = kind == "conv1d"
            k, s, p, d = (spec[key][0] if one else spec[key]
                          for key in ("kernel", "stride", "padding", "dilation"))
            layers.append(cls(before[0], spec["out"], k, stride=s, padding=p, dilation=d,
                              bias=spec["bias"], rng=rng, dtype=dtype))
            trainable += 1
        elif kind in ("maxpool2d", "avgpool2d", "maxpool1d", "avgpool1d"):
            cls = {"maxpool2d": MaxPool2d, "avgpool2d": AvgPool2d,
                   "maxpool1d": MaxPool1d, "avgpool1d": AvgPool1d}[kind]
            one = kind.endswith("1d")
            k, p = (spec[key][0] if one else spec[key] for key in ("kernel", "padding"))
            s = spec["stride"] if spec["stride"] is None or not one else spec["stride"][0]
            layers.append(cls(k, stride=s, padding=p))
        elif kind == "linear":
            init = "he" if nxt in _RELU_LIKE else "xavier"
            layers.append(nn.Linear(before[0], spec["out"], bias=spec["bias"], init=init,
                                    rng=rng, dtype=dtype, input_grad=trainable > 0))
            trainable += 1
        elif kind == "leaky_relu":
            layers.append(nn.LeakyReLU(spec["negative_slope"]))
        elif kind in ("relu", "tanh", "sigmoid"):
            layers.append({"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}[kind]())
        elif kind == "flatten":
            layers.append(Flatten())
        elif kind == "batchnorm2d":
            layers.append(BatchNorm2d(before[0], dtype=dtype))
            trainable += 1
        elif kind == "batchnorm1d":
            layers.append(BatchNorm1d(before[0], dtype=dtype))
            trainable += 1
        elif kind == "dropout":
            layers.append(nn.Dropout(spec["p"], rng=rng))
        elif kind == "dropout2d":
            layers.append(Dropout2d(spec["p"], rng=rng))
    if len(shapes[-1]) > 1:
        layers.append(Flatten())
    layers.append(nn.Linear(math.prod(shapes[-1]), n_out, init="xavier", rng=rng, dtype=dtype,
                            input_grad=trainable > 0))
    return layers


# -- the estimator ----------------------------------------------------------------------------
_D = defaults("cnn")  # constructor defaults, from the one hyper-parameter table


class CNNClassifier(ClassifierMixin, NetEstimator):
    _pixels_warning = True  # (NetEstimator; whole-number pixels too where it reads images)
    _kind = "cnn"  # its row of the hyper-parameter table
    stacks_members = False  # the convolution layers have no model axis

    def __init__(self, architecture=_D.architecture, *, optimizer=_D.optimizer, lr=_D.lr,
                 momentum=_D.momentum, nesterov=_D.nesterov, weight_decay=_D.weight_decay,
                 betas=_D.betas, schedule=_D.schedule, schedule_params=_D.schedule_params,
                 batch_size=_D.batch_size, epochs=_D.epochs, shuffle=_D.shuffle, l1=_D.l1,
                 l2=_D.l2, flooding=_D.flooding, early_stopping=_D.early_stopping,
                 patience=_D.patience, min_delta=_D.min_delta, monitor=_D.monitor,
                 restore_best_weights=_D.restore_best_weights,
                 target_accuracy=_D.target_accuracy, eval_every=_D.eval_every,
                 train_metrics=_D.train_metrics, dtype=_D.dtype, n_models=_D.n_models,
                 random_state=_D.random_state, verbose=_D.verbose,
                 callbacks=_D.callbacks) -> None:
        store_params(self, locals())

    # -- hyper-parameters ---------------------------------------------------------------------
    def _validate_extra(self, cfg: dict[str, Any]) -> dict[str, Any]:
        # "auto" is resolved in _setup, once the data's shape is known
        specs = None if self.architecture == "auto" else architecture_layers(self.architecture)
        if cfg["n_models"] is not None:
            raise ValueError(f"n_models={cfg['n_models']!r} is not supported by "
                             "CNNClassifier: its convolution layers have no model axis; "
                             "train the models one by one (or a study of seeds, which does)")
        return {"layers": specs}

    # -- inputs: images or flat rows ----------------------------------------------------------
    def _check_X(self, X: Any, *, dtype: Any, owner: str, n_features: int | None = None,
                 name: str = "X") -> np.ndarray:
        """Images ``(n, C, H, W)`` / signals ``(n, C, L)`` become flat rows (checked against
        the fitted input shape); flat rows are checked as every estimator's."""
        # nested lists may hold images; anything else (sparse matrices, frames, 1-D or 5-D
        # arrays) goes to check_X as given, which names the problem as for every estimator
        arr = np.asarray(X) if isinstance(X, (list, tuple)) else X
        shape, added, given = None, False, None
        if isinstance(arr, np.ndarray) and arr.ndim in (3, 4):
            shape = given = tuple(int(s) for s in arr.shape[1:])
            added = arr.ndim == 3 and self._spatial_dims(shape, n_features is None) == 2
            if added:
                shape = (1, *shape)  # (n, H, W) to a 2-D network: one channel, as MNIST
            fitted = getattr(self, "input_shape_", None) if n_features is not None else None
            if fitted is not None and shape != fitted:
                raise ValueError(f"{name} holds inputs of shape {_shape_str(shape)}, but "
                                 f"{owner} was fitted on {_shape_str(fitted)} (channels "
                                 "first)")
            arr = arr.reshape(len(arr), -1)
        else:
            arr = X
        if n_features is None:  # fitting: remember the shape the data gave
            # (given: what "auto" reads; added: _build_net's hint)
            self._data_shape, self._given_shape, self._channel_added = shape, given, added
            if shape is not None and looks_channels_last(shape):
                # (a network that can read it would train on H channels of W×C images)
                warnings.warn(f"{owner}: X is read channels first, but "
                              f"{channels_last_hint(shape)}", UserWarning, stacklevel=4)
        return check_X(arr, dtype=dtype, owner=owner, n_features=n_features, name=name)

    def _spatial_dims(self, given: tuple[int, ...], fitting: bool) -> int | None:
        """2 or 1: the dimensions of the first convolution or pool of the network that reads
        inputs of per-sample shape ``given`` (``(d,)``: flat rows; the fitted network unless
        ``fitting``, else the architecture's; None: none, or an architecture fit() refuses
        with its own message)."""
        try:
            if not fitting and hasattr(self, "_cfg"):
                specs = self._cfg["layers"]
            elif self.architecture == "auto":
                flat = len(given) == 1
                specs = ARCHITECTURES[auto_architecture(math.prod(given),
                                                        None if flat else given)]
            else:
                specs = architecture_layers(self.architecture)
        except ValueError:
            return None
        return _dims_of(specs)

    def _reads_images(self, X: Any) -> bool:
        """Whether the network fit() builds for ``X`` reads images (2-D convolutions): then
        whole-number pixels of any dtype are warned about (``warn_raw_pixels``)."""
        shape = getattr(X, "shape", None)
        return shape is not None and len(shape) in (2, 3, 4) and all(shape) \
            and self._spatial_dims(tuple(shape[1:]), fitting=True) == 2

    def _input_shape(self, n_features: int, specs: list[dict[str, Any]],
                     meta: dict[str, np.ndarray] | None) -> tuple[int, ...]:
        given = getattr(self, "_data_shape", None)
        if meta is not None and "meta/input_shape" in meta:
            saved = np.asarray(meta["meta/input_shape"])
            if saved.ndim != 1 or saved.dtype.kind not in "iu" or not 1 <= len(saved) <= 3 \
                    or (saved < 1).any() or math.prod(saved.tolist()) != n_features:
                raise ValueError(f"meta/input_shape {saved.tolist()!r:.60} does not describe "
                                 f"{n_features} input features")
            shape = tuple(int(s) for s in saved)
            if given is not None and given != shape:
                raise ValueError(f"X holds inputs of shape {_shape_str(given)}; the checkpoint "
                                 f"was trained on {_shape_str(shape)}")
            return shape
        if given is not None:
            return given
        return flat_input_shape(n_features, specs)

    # -- the network --------------------------------------------------------------------------
    def _layers(self, n_features: int, cfg: dict[str, Any],
                meta: dict[str, np.ndarray] | None) -> tuple[str | None, list[dict[str, Any]]]:
        """``(name, specs)``: the named architecture (None for a list of specs) and its
        checked specs; "auto" resolves to the first named one that reads the data (or, from
        a checkpoint, the input shape it was trained on)."""
        if cfg["layers"] is not None:
            name = self.architecture if isinstance(self.architecture, str) else None
            return name, cfg["layers"]
        if meta is not None and "meta/input_shape" in meta:
            name = auto_architecture(n_features, read=self._input_shape(n_features, [], meta))
        else:
            name = auto_architecture(n_features, getattr(self, "_given_shape", None))
        return name, check_layers(ARCHITECTURES[name])

    def _setup(self, n_features: int, y: np.ndarray | None, cfg: dict[str, Any],
               classes: Any = None, meta: dict[str, np.ndarray] | None = None) -> None:
        name, layers = self._layers(n_features, cfg, meta)
        cfg = {**cfg, "layers": layers}
        self.architecture_ = name if name is not None else layers
        self.input_shape_ = self._input_shape(n_features, layers, meta)
        super()._setup(n_features, y, cfg, classes=classes, meta=meta)

    def _build_net(self, n_in: int, n_out: int, rng: Any, cfg: dict[str, Any]) -> Module:
        from neuralab.nn.containers import Sequential

        try:
            layers = _build_layers(cfg["layers"], self.input_shape_, n_out, rng, cfg["dtype"])
        except ValueError as exc:
            shape = self.input_shape_
            # X as given: (n, L) signals of (n, 1, L) were read as 1×1×L images
            given = shape[1:] if getattr(self, "_channel_added", False) else shape
            hint = fit_hint(self.architecture, shape, given)
            if not isinstance(self.architecture, str):
                raise ValueError(f"{exc}{hint}") from None
            raise ValueError(f"architecture={self.architecture!r} does not fit inputs of "
                             f"{_shape_str(shape)}: {exc}{hint}") from None
        return Sequential(*layers)

    def _declared_weights(self, state: dict[str, Any], cfg: dict[str, Any], n_out: int
                          ) -> int:
        """The weights the parameters declare for a checkpoint (before building the net)."""
        n_in = int(state["meta/n_features_in"])
        _, layers = self._layers(n_in, cfg, state)
        return count_weights(layers, self._input_shape(n_in, layers, state), n_out)

    def _meta(self) -> dict[str, np.ndarray]:
        return {**super()._meta(), "meta/input_shape": np.asarray(self.input_shape_)}

    def _make_loss(self, cfg: dict[str, Any]) -> Loss:
        return SoftmaxCrossEntropy()


CNNClassifier.__doc__ = """Convolutional network classifier: softmax output, cross-entropy loss.

    Parameters
    ----------
    architecture : "auto" (default: the first of the named ones below that reads the data,
        in their order), "lenet5" (images of at least 12×12, e.g. 28×28 MNIST),
        "onelayer_cnn" (seed 004's OneLayerNet with one convolution in front; fits 8×8
        digits), "mnist1d_cnn" (the mnist1d paper's 1-D CNN), "features_cnn" (one 1-D
        convolution over plain features, any number of them), or a list of layer specs
        (see :data:`LAYER_KEYS` and the module docstring). The output Linear to the
        classes is added to each. ``architecture_`` is the one fitted: its name, or the
        list.
    optimizer, lr, momentum, nesterov, weight_decay, betas, schedule, schedule_params,
    batch_size, epochs, shuffle, l1, l2, flooding, early_stopping, patience, min_delta,
    monitor, restore_best_weights, target_accuracy, eval_every, train_metrics, dtype,
    random_state, verbose, callbacks : as :class:`~neuralab.models.MLPClassifier`.
    n_models : must stay None (the convolution layers have no ensemble axis).

    X is ``(n, C, H, W)`` images or ``(n, C, L)`` signals, channels first; a 2-D network
    reads ``(n, H, W)`` as one channel; flat rows ``(n, d)`` are read as one square channel
    (2-D networks) or a ``(1, d)`` signal (1-D).
    ``input_shape_`` is the shape the network reads.

    Examples
    --------
    >>> from neuralab.data import load_digits, split
    >>> train, test = split(load_digits(flatten=False), test=0.2, seed=0)
    >>> clf = CNNClassifier("onelayer_cnn", epochs=2, random_state=0).fit(train.X, train.y)
    >>> clf.input_shape_, clf.predict(test.X[:3]).shape
    ((1, 8, 8), (3,))
    """

__all__ = ["ARCHITECTURES", "LAYER_KEYS", "CNNClassifier", "Images", "architecture_layers",
           "auto_architecture", "check_layers", "count_weights", "fit_hint", "flat_input_shape",
           "layer_shapes", "read_shape"]
