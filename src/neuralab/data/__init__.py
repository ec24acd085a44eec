"""Data for neuralab: synthetic 2-D sets, TF Playground's sets, image datasets, files,
splits, scalers and batches.

>>> from neuralab import data
>>> ds = data.moons(n=1000, noise=0.2, seed=0)
>>> train, test = data.split(ds, test=0.2, stratify=True, seed=0)
>>> digits = data.load("digits")

Importing this package needs NumPy only; scikit-learn and matplotlib load when used.
"""

from __future__ import annotations

from neuralab.data.batching import (
                                    batch_indices,
                                    batches,
                                    ensemble_batch_indices,
                                    ensemble_batches,
                                    n_batches,
)
from neuralab.data.dataset import Dataset, DatasetSplits
from neuralab.data.digits import load_digits
from neuralab.data.download import cache_dir
from neuralab.data.features import (
                                    map_features,
                                    playground_features,
                                    polynomial_feature_names,
                                    polynomial_features,
)
from neuralab.data.files import load_csv, load_npz, save_npz
from neuralab.data.idx import read_idx, write_idx
from neuralab.data.labels import from_one_hot, one_hot, to_01, to_index, to_pm1
from neuralab.data.medmnist import load_medmnist
from neuralab.data.mnist import load_idx_set
from neuralab.data.mnist1d import load_mnist1d
from neuralab.data.plot import plot_dataset, save_figure
from neuralab.data.prepare import add_bias_column, split
from neuralab.data.registry import DatasetInfo, available, get, info, load
from neuralab.data.scalers import DivideBy, MinMax, Scaler, Standardize, scale, scaler_from_dict
from neuralab.data.synthetic import blobs, circles, gaussians, moons, spiral, xor

__all__ = [
    "Dataset", "DatasetInfo", "DatasetSplits", "DivideBy", "MinMax", "Scaler", "Standardize",
    "add_bias_column", "available", "batch_indices", "batches", "blobs", "cache_dir",
    "circles", "ensemble_batch_indices", "ensemble_batches", "from_one_hot", "gaussians",
    "get", "info", "load", "load_csv", "load_digits", "load_idx_set", "load_medmnist",
    "load_mnist1d", "load_npz", "map_features", "moons", "n_batches", "one_hot",
    "playground_features", "plot_dataset", "polynomial_feature_names", "polynomial_features",
    "read_idx", "save_figure", "save_npz", "scale", "scaler_from_dict", "spiral", "split",
    "to_01", "to_index", "to_pm1", "write_idx", "xor",
]
