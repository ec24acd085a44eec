"""The figures a run folder gets, chosen by what the data and the model are.

Curves are drawn from the run's metrics rows in memory (the rows metrics.csv holds), the
other figures from the fitted estimator and the prepared data.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from neuralab.experiments.config import ExperimentConfig
from neuralab.experiments.prepare import Prepared, class_errors

MAX_ACTIVATION_MAPS = 64


def figures(est: Any, data: Prepared, cfg: ExperimentConfig, rows: list[dict[str, Any]]
            ) -> dict[str, Callable[[], Any]]:
    """Name → a function drawing that figure, for every figure that fits this run.

    ``rows``: the metrics rows (dicts of column → value), drawn as the loss/accuracy curves.
    """
    from neuralab import viz

    out: dict[str, Callable[[], Any]] = {}
    title = cfg.output.name or ""
    # the closed-form solver has one row at epoch 0: no curve to draw
    if any((r.get("epoch") or 0) > 0 for r in rows):
        out["curves"] = lambda: viz.plot_curves(rows, title=title)
    classifier = hasattr(est, "classes_")
    kind = cfg.model.kind
    transform = data.input_map
    if not classifier:
        Xtr, ytr = data.sets["train"]
        Xte, yte = data.sets.get("test", (None, None))
        out["predicted_vs_true"] = lambda: viz.plot_predicted_vs_true(
            est, Xtr, ytr, Xte, yte, title=f"{title}: predicted vs true".lstrip(": "))
        if data.n_inputs in (1, 2) and np.ndim(ytr) == 1:
            out["fit"] = lambda: viz.plot_regression_fit(
                est, data.raw["train"], ytr, data.raw.get("test"), yte, transform=transform,
                title=f"{title}: fitted {'line' if data.n_inputs == 1 else 'surface'}"
                .lstrip(": "))
    if classifier and data.n_inputs == 2:
        Xtr, ytr = data.raw["train"], data.sets["train"][1]
        Xte = data.raw.get("test")
        yte = data.sets["test"][1] if "test" in data.sets else None
        out["decision_boundary"] = lambda: viz.plot_decision_boundary(
            est, Xtr, ytr, Xte, yte, transform=transform,
            class_names=data.label_names(np.asarray(est.classes_)), title=f"{title}: decision "
            "boundary")
    if classifier:
        split = data.eval_split
        X, y = data.sets[split]
        classes = np.asarray(est.classes_)
        names = data.label_names(classes)
        out["confusion"] = lambda: viz.plot_confusion(
            y, est.predict(X), names, classes=classes,
            title=f"confusion matrix ({split}, accuracy {float(est.score(X, y)):.3f})")
        if hasattr(est, "binary_error_rates"):
            out["class_errors"] = lambda: viz.plot_class_errors(
                est.binary_error_rates(X, y), names,
                title=f"misclassification rate of each one-vs-rest classifier ({split})")
        else:
            out["class_errors"] = lambda: viz.plot_class_errors(
                class_errors(est, X, y), names, title=f"error rate within each class ({split})")
    image = data.image_shape
    if image is not None and not data.preprocess.get("features") and not data.preprocess.get(
            "degree"):
        base = cfg.model.base if kind == "ovr" else kind
        if base in ("perceptron", "logistic", "mlp", "mlp_regressor", "linear"):
            # a name of its own: the lambdas above read ``names`` when they are called
            titles = data.label_names(np.asarray(est.classes_)) if kind == "ovr" else None
            out["first_layer_weights"] = lambda: viz.plot_first_layer_weights(
                est, image, titles=titles, scale="unit" if kind == "ovr" else "shared")
    if kind == "cnn":
        X0 = data.sets[data.eval_split][0][0]  # one input of the evaluated set
        y0 = data.label_names(np.asarray(data.sets[data.eval_split][1][:1]))[0]  # its class
        out["conv_filters"] = lambda: viz.plot_conv_filters(est)
        out["feature_maps"] = lambda: viz.plot_feature_maps(
            est, X0.reshape(est.input_shape_), label=str(y0))
    if kind in ("mlp", "mlp_regressor") and data.n_inputs == 2:
        hidden = cfg.model.hidden
        if hidden and sum(hidden) <= MAX_ACTIVATION_MAPS:
            out["hidden_activations"] = lambda: viz.plot_hidden_activations(
                est, data.raw["train"], transform=transform)
    return out


def make_plots(est: Any, data: Prepared, cfg: ExperimentConfig, folder: Path,
               rows: list[dict[str, Any]], log: Callable[[str], None]) -> list[str]:
    """Draw and save every fitting figure (PNG + SVG); a figure that fails is logged and
    skipped, never fatal. Returns the names saved."""
    from neuralab.viz import save_figure

    saved = []
    for name, draw in figures(est, data, cfg, rows).items():
        try:
            fig = draw()
            for fmt in cfg.output.formats:
                save_figure(fig, folder / name, [fmt])
                # The first save solved the constrained layout; the other formats keep it
                # rather than solving it again (a third of a figure's time; the layout
                # then differs from a fresh solve by under a point).
                fig.set_layout_engine("none")
            saved.append(name)
        except Exception as exc:  # a plot must never lose a finished run
            log(f"plot {name} skipped: {type(exc).__name__}: {exc}")
    return saved


__all__ = ["figures", "make_plots"]
