"""Inside the network: first-layer weights as images, hidden neurons' activation maps."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from neuralab.viz._figure import new_figure


def first_layer_weights(est: Any) -> np.ndarray:
    """The first layer's weights as (units, inputs): MLP/linear models, or one row per
    binary model of a one-vs-rest."""
    if hasattr(est, "estimators_"):
        return np.vstack([first_layer_weights(e) for e in est.estimators_])
    W = np.asarray(est.net_[0].params["weight"], dtype=float)
    if W.ndim != 2:
        raise ValueError("first-layer weights of an ensemble: plot one member "
                         "(est.member(i))")
    return W.T


def plot_first_layer_weights(est: Any, image_shape: Sequence[int], *, max_units: int = 64,
                             titles: Sequence[str] | None = None, title: str | None = None
                             ) -> Any:
    """Each first-layer unit's weights reshaped to ``image_shape`` (what it looks for),
    diverging colours centred at 0. Up to ``max_units`` units."""
    W = first_layer_weights(est)
    shape = tuple(int(s) for s in image_shape)
    size = int(np.prod(shape))
    if W.shape[1] not in (size, size + 1):
        raise ValueError(f"the first layer takes {W.shape[1]} inputs; image_shape {shape} "
                         f"has {size} pixels")
    W = W[:, :size]
    n = min(len(W), max_units)
    cols = min(n, 10)
    rows = math.ceil(n / cols)
    fig = new_figure((1.3 * cols + 0.4, 1.35 * rows + 0.5))
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for i, ax in enumerate(axes):
        ax.axis("off")
        if i >= n:
            continue
        img = W[i].reshape(shape[:2]) if len(shape) >= 2 else W[i].reshape(1, -1)
        lim = float(np.abs(img).max()) or 1.0
        ax.imshow(img, cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax.set_title(titles[i] if titles is not None and i < len(titles) else f"unit {i}",
                     fontsize="x-small")
    fig.suptitle(title or "first-layer weights (red +, blue −)", fontsize="small")
    return fig


ACTIVATION_TYPES = ("ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Identity")


def hidden_activations(est: Any, X: np.ndarray) -> list[np.ndarray]:
    """Outputs of every hidden activation layer for inputs ``X`` (model inputs), eval mode."""
    net = est.net_
    dtype = net[0].params["weight"].dtype
    was = net.training
    net.eval()
    outs = []
    try:
        x = np.asarray(X, dtype=dtype)
        for layer in net:
            x = layer.forward(x)
            if type(layer).__name__ in ACTIVATION_TYPES:
                outs.append(np.array(x, dtype=float))
    finally:
        net.train(was)
    return outs


def plot_hidden_activations(est: Any, X: np.ndarray, *,
                            transform: Callable[[np.ndarray], np.ndarray] | None = None,
                            resolution: int = 80, max_neurons: int = 64,
                            title: str | None = None) -> Any:
    """Each hidden neuron's activation over the plane of the raw 2-D inputs ``X`` (n, 2),
    layer by layer (TensorFlow Playground's neuron thumbnails). Up to ``max_neurons``."""
    from neuralab.viz.boundary import grid_over

    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"activation maps need 2-D inputs (n, 2); got shape {X.shape}")
    xx, _yy, pts = grid_over(X, resolution)
    acts = hidden_activations(est, (transform or (lambda a: a))(pts))
    if not acts:
        raise ValueError("this model has no hidden layers")
    shown: list[tuple[int, int, np.ndarray]] = []
    for layer, a in enumerate(acts):
        for j in range(a.shape[-1]):
            if len(shown) < max_neurons:
                shown.append((layer, j, a[:, j].reshape(xx.shape)))
    # One mosaic image (each map scaled to its own range, as TF Playground shows neurons):
    # far faster to draw and save than one Axes per neuron.
    cols = min(max(a.shape[-1] for a in acts), 10)
    rows = math.ceil(len(shown) / cols)
    r, gap = resolution, max(2, resolution // 10)
    mosaic = np.full((rows * (r + gap), cols * (r + gap)), np.nan)
    for i, (_, _, img) in enumerate(shown):
        lo, hi = float(img.min()), float(img.max())
        tile = (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)
        y0, x0 = (i // cols) * (r + gap), (i % cols) * (r + gap)
        mosaic[y0:y0 + r, x0:x0 + r] = tile[::-1]  # row 0 at the top: flip to x2 upwards
    fig = new_figure((1.25 * cols + 0.4, 1.3 * rows + 0.5))
    ax = fig.subplots()
    import matplotlib as mpl

    cmap = mpl.colormaps["viridis"].with_extremes(bad="white")
    ax.imshow(mosaic, cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
    for i, (layer, j, _) in enumerate(shown):
        ax.text((i % cols) * (r + gap) + 2, (i // cols) * (r + gap) + 2, f"h{layer + 1}.{j}",
                color="white", fontsize="xx-small", va="top")
    ax.axis("off")
    fig.suptitle(title or "hidden neurons' activations over the input plane", fontsize="small")
    return fig


__all__ = ["first_layer_weights", "hidden_activations", "plot_first_layer_weights",
           "plot_hidden_activations"]
