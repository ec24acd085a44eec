"""``summary(net, input_shape)``: each layer's output shape and parameter count, as a table."""

from __future__ import annotations

import copy
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import numpy as np

from neuralab.nn.containers import Sequential
from neuralab.nn.module import Module, describe


@dataclass(frozen=True)
class SummaryRow:
    """One layer: its dotted name (``"3"``, ``"1.0"``), how it prints, its output shape
    for one sample (the batch axis left out) and its number of trained parameters."""

    name: str
    layer: str
    output_shape: tuple[int, ...]
    n_params: int


class Summary(list):
    """The rows of :func:`summary` (a list of :class:`SummaryRow`). ``str()`` is the table;
    the ``repr`` is one line, so a REPL or notebook that echoes the value after the printed
    table adds ``Summary(12 layers, 61,706 parameters)``, not a second table or a wall of
    rows."""

    def __init__(self, rows: Sequence[SummaryRow], input_shape: Sequence[int]) -> None:
        super().__init__(rows)
        self.input_shape = tuple(input_shape)

    @property
    def n_params(self) -> int:
        """Trained parameters of the whole network."""
        return sum(r.n_params for r in self)

    def __str__(self) -> str:
        return format_summary(self, self.input_shape)

    def __repr__(self) -> str:
        layers = "layer" if len(self) == 1 else "layers"
        return f"Summary({len(self)} {layers}, {self.n_params:,} parameters)"


def _leaves(module: Module, prefix: str) -> Iterator[tuple[str, Module]]:
    """The layers a forward pass runs, in order (nested Sequentials opened)."""
    if isinstance(module, Sequential):
        for i, child in enumerate(module.layers):
            yield from _leaves(child, f"{prefix}{i}.")
    else:
        yield prefix.rstrip(".") or type(module).__name__, module


def _copy_or_none(net: Module) -> Module | None:
    """A deep copy of ``net`` (its caches then stay those of the user's last forward), or
    None for a network that cannot be copied (a student's layer holding a file, a lock):
    that one runs the sample itself, its caches then hold the sample."""
    try:
        return copy.deepcopy(net)
    except Exception:  # any failure to copy: run the original
        return None


def _network(net: Any, input_shape: Sequence[int] | None
             ) -> tuple[Module, Sequence[int]]:
    """The network to run and the sample shape: a fitted estimator's ``net_`` and, unless
    given, its ``input_shape_`` (CNNClassifier) or ``(n_features_in_,)``."""
    if isinstance(net, Module):
        return net, (1, 28, 28) if input_shape is None else input_shape
    if hasattr(net, "get_params") and hasattr(net, "fit"):  # an estimator
        name = type(net).__name__
        if not isinstance(getattr(net, "net_", None), Module):
            raise ValueError(f"summary: {name} is not fitted (it builds its network in "
                             "fit); fit it first, or give a network")
        if input_shape is None:
            input_shape = getattr(net, "input_shape_", None) or (net.n_features_in_,)
        return net.net_, input_shape
    raise TypeError(f"summary: net={type(net).__name__} is not allowed; give a network "
                    "(an nn.Module such as nn.Sequential) or a fitted estimator")


def summary(net: Module | Any, input_shape: Sequence[int] | None = None, *,
            file: TextIO | None = None, print_table: bool = True) -> Summary:
    """Run one zero sample of ``input_shape`` (no batch axis: ``(C, H, W)``, ``(C, L)`` or
    ``(features,)``; default ``(1, 28, 28)``) through ``net`` in eval mode and list each
    layer's output shape and parameter count; print them as a table (to ``file``, default
    stdout) and return the rows (a :class:`Summary`: a list whose ``str`` is the table).

    ``net`` is a network or a fitted estimator (its ``net_``; the default sample is then
    the one it was fitted on: ``input_shape_``, or ``(n_features_in_,)``).
    ``net`` itself is left as it was: the sample runs through a copy, so a ``forward`` /
    ``summary`` / ``backward`` sequence still back-propagates the batch of the ``forward``
    (the layers' caches, modes and running statistics are not touched).
    """
    net, input_shape = _network(net, input_shape)
    shape = tuple(input_shape)
    if not shape or not all(isinstance(n, (int, np.integer)) and n > 0 for n in shape):
        raise ValueError(f"summary: input_shape={input_shape!r} is not allowed; give the "
                         "shape of one sample as positive ints, e.g. (1, 28, 28)")
    clone = _copy_or_none(net)
    run = clone if clone is not None else net
    modes = [(m, m.training) for m in run.modules()]
    rows: list[SummaryRow] = []
    x = np.zeros((1, *shape), run.dtype or np.float32)
    try:
        run.eval()
        for name, layer in _leaves(run, ""):
            x = layer.forward(x)
            rows.append(SummaryRow(name, describe(layer), tuple(x.shape[1:]),
                                   layer.n_parameters()))
    finally:
        for m, mode in modes:
            m.training = mode
    table = Summary(rows, shape)
    if print_table:
        print(table, file=file or sys.stdout)
    return table


def format_summary(rows: Sequence[SummaryRow], input_shape: Sequence[int]) -> str:
    """The rows as a plain-text table that fits 80 columns (long layer names are cut)."""
    shapes = [" × ".join(map(str, r.output_shape)) for r in rows]
    w_name = max([len("#"), *(len(r.name) for r in rows)])
    w_shape = max([len("output"), *(len(s) for s in shapes)])
    w_par = max([len("params"), *(len(f"{r.n_params:,}") for r in rows)])
    w_layer = max(10, 80 - w_name - w_shape - w_par - 6)
    line = f"{'#':<{w_name}}  {'layer':<{w_layer}}  {'output':>{w_shape}}  {'params':>{w_par}}"
    out = [f"input {' × '.join(map(str, input_shape))} (one sample; the batch axis is left "
           "out)", line, "─" * len(line)]
    for r, s in zip(rows, shapes, strict=True):
        layer = r.layer if len(r.layer) <= w_layer else r.layer[:w_layer - 1] + "…"
        out.append(f"{r.name:<{w_name}}  {layer:<{w_layer}}  {s:>{w_shape}}  "
                   f"{r.n_params:>{w_par},}")
    out.append("─" * len(line))
    out.append(f"total parameters: {sum(r.n_params for r in rows):,}")
    return "\n".join(out)
