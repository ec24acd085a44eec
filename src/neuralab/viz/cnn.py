"""Inside a convolutional network: the first layer's filters and the feature maps of one input."""

from __future__ import annotations

from typing import Any

import numpy as np

from neuralab.viz.weights import _mosaic, layer_outputs

CONV_TYPES = ("Conv2d", "Conv1d")


def _net(model: Any) -> Any:
    """The network of an estimator (``net_``) or the network itself."""
    return getattr(model, "net_", model)


def _convs(net: Any) -> list[tuple[int, Any]]:
    return [(i, layer) for i, layer in enumerate(net) if type(layer).__name__ in CONV_TYPES]


def conv_filters(model: Any) -> np.ndarray:
    """The first convolution's kernels ``(out, in, kH, kW)`` (Conv1d: ``(out, in, 1, k)``)."""
    convs = _convs(_net(model))
    if not convs:
        raise ValueError("this network has no Conv2d or Conv1d layer")
    W = np.asarray(convs[0][1].params["weight"], dtype=float)
    return W[:, :, None, :] if W.ndim == 3 else W


def plot_conv_filters(model: Any, *, max_filters: int = 64, title: str | None = None) -> Any:
    """Each first-layer filter as a small image (channel 0 for colour input, the mean over
    channels would hide what each channel looks for), diverging colours centred at 0 on one
    scale, with a colour bar. ``model``: a fitted CNNClassifier or an ``nn.Sequential``."""
    import matplotlib as mpl

    W = conv_filters(model)[:max_filters]
    tiles = [w[0] for w in W]
    lim = float(np.abs(W).max()) or 1.0
    channels = W.shape[1]
    heading = title or (f"first-layer filters ({W.shape[2]}×{W.shape[3]}"
                        f"{', input channel 0' if channels > 1 else ''}; red +, blue −)")
    return _mosaic(tiles, [f"filter {i}" for i in range(len(tiles))], min(len(tiles), 8),
                   cmap=mpl.colormaps["RdBu_r"], vmin=-lim, vmax=lim, cbar_label="weight",
                   title=heading)


def feature_maps(model: Any, x: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """``(layer name, maps (C, H, W))`` after each convolution's activation (or the
    convolution itself when nothing follows it) for one input ``x``, eval mode."""
    net = _net(model)
    convs = {i for i, _ in _convs(net)}
    if not convs:
        raise ValueError("this network has no Conv2d or Conv1d layer")
    dtype = next(layer.params["weight"].dtype for _, layer in _convs(net))
    out: list[tuple[str, np.ndarray]] = []
    pending = None
    for i, (layer, h) in enumerate(layer_outputs(net, np.asarray(x)[None], dtype)):
        name = type(layer).__name__
        if i in convs:
            pending = f"{i}: {name}"
        elif pending is not None and name not in ("MaxPool2d", "AvgPool2d", "MaxPool1d",
                                                  "AvgPool1d", "BatchNorm2d"):
            out.append((f"{pending} + {name}", h[0]))
            pending = None
    if pending is not None:  # nothing but pooling or normalisation after the last one
        out.append((pending, h[0]))
    return [(n, m if m.ndim == 3 else m[:, None, :]) for n, m in out]


def plot_feature_maps(model: Any, x: np.ndarray, *, layer: int = 0, max_maps: int = 32,
                      title: str | None = None, label: str | None = None) -> Any:
    """The feature maps of one input after convolution number ``layer`` (0: the first) and
    its activation, one small image per channel on a shared colour scale. The input itself
    (its first channel, stretched to that scale) comes first when it has the maps' size;
    ``label`` (its class) goes into the title."""
    import matplotlib as mpl

    maps = feature_maps(model, x)
    if not 0 <= layer < len(maps):
        raise ValueError(f"layer={layer} is not allowed; this network has {len(maps)} "
                         f"convolution(s): 0 to {len(maps) - 1}")
    name, m = maps[layer]
    m = m[:max_maps]
    lo, hi = float(m.min()), float(m.max())
    if lo == hi:
        hi = lo + 1.0
    tiles, labels = list(m), [f"map {i}" for i in range(len(m))]
    image = np.asarray(x, dtype=float)
    image = image[0] if image.ndim == 3 else image[None] if image.ndim == 1 else image
    if image.shape == m.shape[1:]:  # what the maps are of, beside them
        span = float(image.max() - image.min()) or 1.0
        tiles, labels = [lo + (image - image.min()) / span * (hi - lo), *tiles], [
            "input", *labels]
    what = "one input" if label is None else f"one input (class {label})"
    heading = title or f"feature maps of {what} after layer {name}"
    cols = min(len(tiles), 9 if len(tiles) % 8 == 1 else 8)  # 16 maps + the input: 9 + 8
    return _mosaic(tiles, labels, cols, cmap=mpl.colormaps["viridis"],
                   vmin=lo, vmax=hi, cbar_label="activation (input: its own scale)"
                   if labels[0] == "input" else "activation", title=heading)


__all__ = ["conv_filters", "feature_maps", "plot_conv_filters", "plot_feature_maps"]
