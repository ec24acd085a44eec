"""Inside the network: first-layer weights as images, hidden neurons' activation maps."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from neuralab._checks import check_choice
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


def _mosaic(tiles: Sequence[np.ndarray | None], labels: Sequence[str], cols: int, *, cmap: Any,
            vmin: float, vmax: float, cbar_label: str, title: str, extend: str = "neither",
            ticks: Sequence[float] | None = None, tick_labels: Sequence[str] | None = None
            ) -> Any:
    """Equal-size images in one Axes (one image: fast to draw and save, unlike one Axes per
    tile), each with its label in a white band above it, and one colour bar."""
    h, w = next(t for t in tiles if t is not None).shape
    gap = max(1, round(max(h, w) / 10))
    band = max(2, round(h * 0.3))  # room for the label above each tile
    rows = math.ceil(len(tiles) / cols)
    mosaic = np.full((rows * (band + h + gap), cols * (w + gap)), np.nan)
    for i, tile in enumerate(tiles):
        if tile is None:  # a gap in the grid
            continue
        y0, x0 = (i // cols) * (band + h + gap) + band, (i % cols) * (w + gap)
        mosaic[y0:y0 + h, x0:x0 + w] = tile
    tile_in = 1.05 if max(h, w) >= 16 else 0.9
    flat = rows == 1  # one row is too short for an upright colour bar and its label
    fig = new_figure((tile_in * cols + (0.3 if flat else 1.3),
                      tile_in * 1.3 * rows + (1.3 if flat else 0.6)))
    ax = fig.subplots()
    im = ax.imshow(mosaic, cmap=cmap.with_extremes(bad="white"), vmin=vmin, vmax=vmax,
                   interpolation="nearest")
    for i, label in enumerate(labels):
        ax.text((i % cols) * (w + gap) + (w - 1) / 2, (i // cols) * (band + h + gap) + band - 1,
                label, ha="center", va="bottom", fontsize=8)
    ax.axis("off")
    bar = fig.colorbar(im, ax=ax, shrink=0.6 if flat else min(0.9, 0.35 + 0.2 * rows),
                       extend=extend, ticks=ticks, location="bottom" if flat else "right")
    if tick_labels is not None:
        (bar.ax.set_xticklabels if flat else bar.ax.set_yticklabels)(tick_labels)
    bar.set_label(cbar_label, fontsize="small")
    fig.suptitle(title, fontsize="medium")
    return fig


def plot_first_layer_weights(est: Any, image_shape: Sequence[int], *, max_units: int = 64,
                             titles: Sequence[str] | None = None, title: str | None = None,
                             scale: str = "shared") -> Any:
    """Each first-layer unit's weights reshaped to ``image_shape`` (what it looks for),
    diverging colours centred at 0 with a colour bar. Up to ``max_units`` units.

    ``scale``: "shared" (one colour scale for every unit, clipped at the 99th percentile of
    |w|), or "unit" (each unit scaled to its own largest |w|: for one-vs-rest templates,
    whose binary models have unrelated scales).
    """
    import matplotlib as mpl

    check_choice("scale", scale, ("shared", "unit"))
    W = first_layer_weights(est)
    shape = tuple(int(s) for s in image_shape)
    size = int(np.prod(shape))
    if W.shape[1] not in (size, size + 1):
        raise ValueError(f"the first layer takes {W.shape[1]} inputs; image_shape {shape} "
                         f"has {size} pixels")
    W = W[:max_units, :size]
    tiles = [row.reshape(shape[:2]) if len(shape) >= 2 else row.reshape(1, -1) for row in W]
    labels = [str(titles[i]) if titles is not None and i < len(titles) else f"unit {i}"
              for i in range(len(tiles))]
    cmap = mpl.colormaps["RdBu_r"]
    cols = min(len(tiles), 10)
    heading = title or "first-layer weights (red +, blue −)"
    if scale == "unit":
        tiles = [t / (float(np.abs(t).max()) or 1.0) for t in tiles]
        return _mosaic(tiles, labels, cols, cmap=cmap, vmin=-1, vmax=1, title=heading,
                       cbar_label="weight ÷ the unit's largest |weight|",
                       ticks=[-1, 0, 1], tick_labels=["−max", "0", "+max"])
    lim = float(np.percentile(np.abs(W), 99)) or float(np.abs(W).max()) or 1.0
    clipped = bool(np.abs(W).max() > lim)
    return _mosaic(tiles, labels, cols, cmap=cmap, vmin=-lim, vmax=lim, title=heading,
                   cbar_label="weight", extend="both" if clipped else "neither")


ACTIVATION_TYPES = ("ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Identity")


def layer_outputs(net: Any, X: np.ndarray, dtype: Any) -> list[tuple[Any, np.ndarray]]:
    """``(layer, its output)`` for each layer of ``net`` on inputs ``X`` cast to ``dtype``,
    in eval mode (the network's mode is restored); outputs as float64 copies."""
    was = net.training
    net.eval()
    outs = []
    try:
        x = np.asarray(X, dtype=dtype)
        for layer in net:
            x = layer.forward(x)
            outs.append((layer, np.array(x, dtype=float)))
    finally:
        net.train(was)
    return outs


def hidden_activations(est: Any, X: np.ndarray) -> list[np.ndarray]:
    """Outputs of every hidden activation layer for inputs ``X`` (model inputs), eval mode."""
    net = est.net_
    return [out for layer, out in layer_outputs(net, X, net[0].params["weight"].dtype)
            if type(layer).__name__ in ACTIVATION_TYPES]


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
    # Each map scaled to its own range, as TF Playground shows neurons: a dead unit and a
    # saturated one both stay readable. One mosaic image draws far faster than 64 Axes.
    cols = min(max(a.shape[-1] for a in acts), 10)
    tiles: list[np.ndarray | None] = []
    labels: list[str] = []
    for k, (layer, j, img) in enumerate(shown):
        if k and layer != shown[k - 1][0]:  # each layer starts a row of its own
            pad = -len(tiles) % cols
            tiles += [None] * pad
            labels += [""] * pad
        lo, hi = float(img.min()), float(img.max())
        tile = (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)
        tiles.append(tile[::-1])  # row 0 at the top: flip so that x2 points upwards
        labels.append(f"layer {layer + 1}, unit {j}" if cols <= 4 else f"h{layer + 1}.{j}")
    import matplotlib as mpl

    return _mosaic(tiles, labels, cols, cmap=mpl.colormaps["viridis"], vmin=0, vmax=1,
                   title=title or "hidden neurons' activations over the input plane"
                   + ("" if cols <= 4 else " (hL.j: layer L, unit j)"),
                   cbar_label="activation, each unit's own range", ticks=[0, 1],
                   tick_labels=["its min", "its max"])


__all__ = ["first_layer_weights", "hidden_activations", "layer_outputs", "plot_first_layer_weights",
           "plot_hidden_activations"]
