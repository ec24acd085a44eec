"""The estimators' HTML repr for Jupyter (``_repr_html_``), like scikit-learn's diagram.

scikit-learn's ``estimator_html_repr`` needs ``sklearn.base.BaseEstimator`` to list the
parameters (on neuralab's estimators it shows only the one-line repr), costs a 0.6 s import
and ships a script that untrusted notebooks do not run. This one is plain HTML with inline
style: the class, whether it is fitted and what it learned (layer sizes, epochs, last
metrics), and the parameters, the ones changed from their defaults first and highlighted.
"""

from __future__ import annotations

import html
import inspect
from typing import Any

import numpy as np

_BOX = ("font-family:system-ui,-apple-system,'Segoe UI',sans-serif;font-size:13px;"
        "border:1px solid #bbb;border-radius:4px;padding:6px 10px;margin:2px 0;"
        "display:inline-block;max-width:100%;color:#222;background:#fff")
_CELL = "padding:1px 8px;text-align:left;border-bottom:1px solid #eee"


def _same(value: Any, default: Any) -> bool:
    if default is inspect.Parameter.empty:
        return False
    try:
        return bool(np.all(value == default)) and type(value) is type(default)
    except (ValueError, TypeError):
        return False


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _layer_sizes(est: Any) -> list[int]:
    """Input, hidden and output widths from the fitted network's weight matrices."""
    net = getattr(est, "net_", None)
    if net is None:
        return []
    sizes: list[int] = []
    for layer in net:
        weight = getattr(layer, "params", {}).get("weight")
        if weight is not None and np.ndim(weight) >= 2:
            if not sizes:
                sizes.append(int(weight.shape[-2]))
            sizes.append(int(weight.shape[-1]))
    return sizes


def _metric_text(value: Any) -> str:
    """A metric's last value; an ensemble's (E,) values as their mean over the models that
    have one (the line says "mean of E models" once, before the metrics)."""
    v = np.asarray(value, dtype=float).ravel()
    v = v[np.isfinite(v)]
    return f"{float(v.mean()):.4f}" if v.size else "nan"


def _fitted_line(est: Any) -> str:
    """What a fitted estimator learned, in one line; "not fitted" otherwise."""
    parts: list[str] = []
    if hasattr(est, "estimators_"):  # one-vs-rest
        parts.append(f"{len(est.estimators_)} binary classifiers")
    elif not hasattr(est, "n_features_in_"):
        return "not fitted"
    sizes = _layer_sizes(est)
    if sizes:
        parts.append(" → ".join(map(str, sizes)))
    n_models = getattr(est, "n_models", None)
    if isinstance(n_models, int) and n_models > 1:
        parts.append(f"{n_models} models")
    epochs = getattr(est, "n_epochs_", None)
    if epochs:
        parts.append(f"{epochs} epochs")
    history = getattr(est, "history_", None)
    if history is not None and len(history):
        metrics, size = [], 1
        for key in history.keys():
            if key.endswith(("_loss", "_acc")) and key != "batch_loss":
                value = history.last(key)
                if value is not None and np.isfinite(np.asarray(value, dtype=float)).any():
                    metrics.append(f"{key} {_metric_text(value)}")
                    size = np.size(value)
        if metrics and size > 1:  # an ensemble: said once, not after every metric
            metrics[0] = f"mean of {size} models: {metrics[0]}"
        parts.extend(metrics)
    return "fitted" + "".join(f" · {p}" for p in parts)


class HTMLRepr:
    """Mixin: ``_repr_html_`` for estimators with scikit-learn's parameter protocol."""

    def _repr_html_(self) -> str:
        return estimator_html(self)


def estimator_html(est: Any) -> str:
    """The HTML block Jupyter shows for ``est``: class, fitted state, parameters."""
    e = html.escape
    signature = inspect.signature(type(est).__init__).parameters
    params = est.get_params(deep=False)
    rows = []
    for name in sorted(params, key=lambda n: (_same(params[n], signature[n].default)
                                              if n in signature else True, n)):
        value = params[name]
        default = signature[name].default if name in signature else inspect.Parameter.empty
        changed = not _same(value, default)
        style = _CELL + (";background:#fff3cd;font-weight:600" if changed else "")
        shown = "" if default is inspect.Parameter.empty else _short(default)
        rows.append(f'<tr><td style="{style}">{e(name)}</td><td style="{style}">'
                    f'{e(_short(value))}</td><td style="{_CELL};color:#777">'
                    f"{e(shown) if changed else ''}</td></tr>")
    n_changed = sum(not _same(params[n], signature[n].default) for n in params if n in signature)
    nested = [v for v in params.values() if hasattr(v, "get_params") and not isinstance(v, type)]
    inner = "".join(f'<div style="margin:4px 0 0 12px">{estimator_html(v)}</div>'
                    for v in nested)
    fitted = _fitted_line(est)
    colour = "#1b7f3b" if fitted.startswith("fitted") else "#888"
    return (f'<div style="{_BOX}"><div><b>{e(type(est).__name__)}</b> '
            f'<span style="color:{colour}">{e(fitted)}</span></div>'
            f"<details><summary>parameters ({n_changed} changed of {len(params)})</summary>"
            f'<table style="border-collapse:collapse;margin-top:4px"><thead><tr>'
            f'<th style="{_CELL}">parameter</th><th style="{_CELL}">value</th>'
            f'<th style="{_CELL}">default</th></tr></thead><tbody>{"".join(rows)}'
            f"</tbody></table></details>{inner}</div>")


__all__ = ["HTMLRepr", "estimator_html"]
