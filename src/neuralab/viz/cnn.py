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
    if W.shape[2] == 1:  # Conv1d: one row per filter (1-pixel strips in a mosaic are lost)
        return _rows_figure(W[:, 0, 0], None, cmap=mpl.colormaps["RdBu_r"], vmin=-lim,
                            vmax=lim, cbar_label="weight", ylabel="filter",
                            xlabel="tap (kernel position)", title=heading)
    return _mosaic(tiles, [f"filter {i}" for i in range(len(tiles))], min(len(tiles), 8),
                   cmap=mpl.colormaps["RdBu_r"], vmin=-lim, vmax=lim, cbar_label="weight",
                   title=heading)


def _one_input(net: Any, x: Any) -> np.ndarray:
    """One input as the network's first convolution takes it: ``(C, H, W)`` (Conv1d:
    ``(C, L)``); ``(H, W)`` / ``(L,)`` for a one-channel network and a batch of one
    ``(1, C, H, W)`` are accepted too. Any other rank is a ValueError saying what is allowed.
    (An estimator's network starts with ``Images``, which reshapes whatever it gets.)"""
    x = np.asarray(x)
    first = net[0]
    if type(first).__name__ not in CONV_TYPES:
        return x
    nd = len(first.kernel_size)
    if x.ndim == nd and first.in_channels == 1:
        x = x[None]  # no channel axis: the one channel
    elif x.ndim == nd + 2 and len(x) == 1:
        x = x[0]  # a batch of one
    if x.ndim != nd + 1:
        want = "(C, H, W)" if nd == 2 else "(C, L)"
        raise ValueError(f"x of shape {x.shape} is not one input of {first!r}: give one "
                         f"{'image' if nd == 2 else 'signal'} {want} with C = "
                         f"{first.in_channels}")
    return x


def feature_maps(model: Any, x: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """``(layer name, maps (C, H, W))`` after each convolution's activation (or the
    convolution itself when nothing follows it) for one input ``x`` (``(C, H, W)``, or
    ``(H, W)`` for one channel; Conv1d: ``(C, L)`` or ``(L,)``), eval mode."""
    net = _net(model)
    convs = {i for i, _ in _convs(net)}
    if not convs:
        raise ValueError("this network has no Conv2d or Conv1d layer")
    dtype = next(layer.params["weight"].dtype for _, layer in _convs(net))
    out: list[tuple[str, np.ndarray]] = []
    pending = None
    for i, (layer, h) in enumerate(layer_outputs(net, _one_input(net, x)[None], dtype)):
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
    image = np.asarray(_one_input(_net(model), x), dtype=float)
    what = "one input" if label is None else f"one input (class {label})"
    if m.shape[1] == 1:  # Conv1d: the signal above, then one row per channel
        heading = title or f"feature maps of {what} after layer {name}"
        signal = image.reshape(-1, image.shape[-1])[0]  # (C, L) or (L,): channel 0
        return _rows_figure(m[:, 0], signal, cmap=mpl.colormaps["viridis"], vmin=lo,
                            vmax=hi, cbar_label="activation", ylabel="channel",
                            xlabel="position (after the layer's stride)", title=heading)
    tiles, labels = list(m), [f"map {i}" for i in range(len(m))]
    image = image[0] if image.ndim == 3 else image[None] if image.ndim == 1 else image
    if image.shape == m.shape[1:]:  # what the maps are of, beside them
        span = float(image.max() - image.min()) or 1.0
        tiles, labels = [lo + (image - image.min()) / span * (hi - lo), *tiles], [
            "input", *labels]
    heading = title or f"feature maps of {what} after layer {name}"
    cols = min(len(tiles), 9 if len(tiles) % 8 == 1 else 8)  # 16 maps + the input: 9 + 8
    return _mosaic(tiles, labels, cols, cmap=mpl.colormaps["viridis"],
                   vmin=lo, vmax=hi, cbar_label="activation (input: its own scale)"
                   if labels[0] == "input" else "activation", title=heading)


def _rows_figure(rows: np.ndarray, signal: np.ndarray | None, *, cmap: Any, vmin: float,
                 vmax: float, cbar_label: str, ylabel: str, xlabel: str, title: str) -> Any:
    """1-D layers: ``rows (n, L)`` as one image, a row per filter or channel (numbered), with
    a colour bar; ``signal`` (the input, channel 0), when given, as a line above it."""
    from matplotlib.ticker import MaxNLocator

    from neuralab.viz._figure import new_figure

    n = len(rows)
    fig = new_figure((7.0, min(9.0, 1.6 + 0.22 * n + (1.3 if signal is not None else 0))))
    if signal is not None:
        top, ax = fig.subplots(2, 1, height_ratios=[1, max(1.5, n / 6)])
        top.plot(np.arange(len(signal)), signal, color="#0072B2", lw=1.2)
        top.set_title("input (channel 0)", fontsize="small")
        top.set_xlabel("position", fontsize="small")
        top.margins(x=0)
    else:
        ax = fig.subplots()
    im = ax.imshow(rows, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto",
                   interpolation="nearest")
    ax.set_ylabel(ylabel)
    ax.set_xlabel(xlabel)
    ax.set_yticks(range(0, n, max(1, n // 8)))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # positions and taps are whole
    fig.colorbar(im, ax=ax).set_label(cbar_label, fontsize="small")
    fig.suptitle(title, fontsize="medium")
    return fig


__all__ = ["conv_filters", "feature_maps", "plot_conv_filters", "plot_feature_maps"]
