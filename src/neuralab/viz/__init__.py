"""matplotlib figures of runs and models; every function returns a ``Figure``.

>>> from neuralab.viz import plot_curves, plot_decision_boundary, save_figure
>>> fig = plot_curves("runs/moons-mlp-20261124-101500/metrics.csv")    # doctest: +SKIP
>>> save_figure(fig, "curves")          # curves.png + curves.svg       # doctest: +SKIP

matplotlib is imported when a plot is made, never by ``import neuralab.viz``.
"""

from __future__ import annotations

from neuralab.viz._figure import legend_overlaps, save_figure
from neuralab.viz.boundary import plot_decision_boundary
from neuralab.viz.classes import plot_class_errors, plot_confusion
from neuralab.viz.cnn import plot_conv_filters, plot_feature_maps
from neuralab.viz.curves import plot_compare, plot_curves
from neuralab.viz.regression import plot_predicted_vs_true, plot_regression_fit
from neuralab.viz.weights import plot_first_layer_weights, plot_hidden_activations

__all__ = ["legend_overlaps", "plot_class_errors", "plot_compare", "plot_confusion",
           "plot_conv_filters", "plot_curves", "plot_decision_boundary", "plot_feature_maps",
           "plot_first_layer_weights",
           "plot_hidden_activations", "plot_predicted_vs_true", "plot_regression_fit",
           "save_figure"]
