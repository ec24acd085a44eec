"""MNIST-1D (Greydanus 2020), regenerated locally with its default arguments; no download.

Ten 12-point templates are padded, stretched, scaled, shifted, filled with correlated noise,
given i.i.d. noise and sheared, then resampled to 40 points (``mnist1d/data.py`` and
``transform.py`` of github.com/greydanus/mnist1d). The random draws come, in the reference's
order, from a local ``numpy.random.RandomState(seed)`` (never the global state), so with
seed 42 the arrays are the reference's up to floating-point rounding: ``np.interp`` stands in
for ``scipy.interpolate.interp1d`` (the same linear interpolation).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from neuralab.data.dataset import Dataset, DatasetSplits
from neuralab.data.images import first
from neuralab.data.synthetic import FLOAT

SOURCE = "MNIST-1D, Greydanus 2020 (github.com/greydanus/mnist1d), regenerated locally"


@dataclass(frozen=True)
class MNIST1DArgs:
    """The reference's ``get_dataset_args()`` defaults."""

    num_samples: int = 5000
    train_split: float = 0.8
    template_len: int = 12
    padding: tuple[int, int] = (36, 60)
    scale_coeff: float = 0.4
    max_translation: int = 48
    corr_noise_scale: float = 0.25
    iid_noise_scale: float = 2e-2
    shear_scale: float = 0.75
    shuffle_seq: bool = False
    final_seq_length: int = 40
    seed: int = 42


_DIGITS = np.array([
    [5, 6, 6.5, 6.75, 7, 7, 7, 7, 6.75, 6.5, 6, 5],
    [5, 3, 3, 3.4, 3.8, 4.2, 4.6, 5, 5.4, 5.8, 5, 5],
    [5, 6, 6.5, 6.5, 6, 5.25, 4.75, 4, 3.5, 3.5, 4, 5],
    [5, 6, 6.5, 6.5, 6, 5, 5, 6, 6.5, 6.5, 6, 5],
    [5, 4.4, 3.8, 3.2, 2.6, 2.6, 5, 5, 5, 5, 5, 5],
    [5, 3, 3, 3, 3, 5, 6, 6.5, 6.5, 6, 4.5, 5],
    [5, 4, 3.5, 3.25, 3, 3, 3, 3, 3.25, 3.5, 4, 5],
    [5, 7, 7, 6.6, 6.2, 5.8, 5.4, 5, 4.6, 4.2, 5, 5],
    [5, 4, 3.5, 3.5, 4, 5, 5, 4, 3.5, 3.5, 4, 5],
    [5, 4, 3.5, 3.5, 4, 5, 5, 5, 5, 4.7, 4.3, 5],
])


def templates() -> np.ndarray:
    """The ten whitened templates (10, 12), starting and ending at 0, divided by 6."""
    x = _DIGITS - _DIGITS.mean(1, keepdims=True)
    x /= x.std(1, keepdims=True)
    x -= x[:, :1]
    return x / 6.0


def _resample(x: np.ndarray, n: int) -> np.ndarray:
    """Linear interpolation of ``x`` onto ``n`` evenly spaced points."""
    return np.interp(np.linspace(0, 1, n), np.linspace(0, 1, len(x)), x)


def _gaussian_smooth(x: np.ndarray, sigma: float = 2.0, truncate: float = 4.0) -> np.ndarray:
    """scipy's ``gaussian_filter(x, sigma)`` for 1-D ``x`` (mode 'reflect')."""
    radius = int(truncate * sigma + 0.5)
    k = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    padded = np.pad(x, radius, mode="symmetric")
    return np.convolve(padded, k / k.sum(), mode="valid")


def _transform(x: np.ndarray, a: MNIST1DArgs, rs: np.random.RandomState,
               eps: float = 1e-8) -> np.ndarray:
    """One example from template ``x``: the reference's ``transform`` step by step."""
    low, high = a.padding
    p = low + int(rs.rand() * (high - low + 1))
    x = np.concatenate([x + eps, np.zeros(p)])  # pad
    x = _resample(x, a.template_len + high)  # dilate
    x = x * (1 + a.scale_coeff * (rs.rand() - 0.5))  # scale
    k = rs.choice(a.max_translation)
    x = np.concatenate([x[-k:], x[:-k]])  # translate (k = 0 keeps x, as the reference)
    mask = x != 0
    x = mask * x + (1 - mask) * _gaussian_smooth(a.corr_noise_scale * rs.randn(*x.shape))
    x = x + a.iid_noise_scale * rs.randn(*x.shape)
    x = x - a.shear_scale * (rs.rand() - 0.5) * np.linspace(-0.5, 0.5, len(x))  # shear
    return _resample(x, a.final_seq_length)


def make_mnist1d(args: MNIST1DArgs | None = None) -> dict[str, np.ndarray]:
    """The reference's ``make_dataset``: arrays ``x`` (4000, 40), ``y``, ``x_test``, ``y_test``."""
    a = args or MNIST1DArgs()
    rs = np.random.RandomState(a.seed)  # a local stream, as the reference's np.random.seed
    T = templates()
    per_class = a.num_samples // len(T)
    xs = np.stack([_transform(T[c], a, rs) for c in range(len(T)) for _ in range(per_class)])
    ys = np.repeat(np.arange(len(T)), per_class)
    order = rs.permutation(len(ys))
    xs, ys = xs[order], ys[order]
    if a.shuffle_seq:
        xs = xs[..., rs.permutation(a.final_seq_length)]
    xs = (xs - xs.mean()) / xs.std()
    cut = int(len(ys) * a.train_split)
    return {"x": xs[:cut], "y": ys[:cut], "x_test": xs[cut:], "y_test": ys[cut:]}


def load_mnist1d(*, n_train: int | None = None, n_test: int | None = None,
                 seed: int = 42, flatten: bool = True, dtype=FLOAT) -> DatasetSplits:
    """MNIST-1D as ``DatasetSplits(train (4000, 40), test (1000, 40))``, classes 0..9;
    ``flatten=False`` gives one-channel signals (n, 1, 40), as a 1-D CNN takes them."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed={seed!r} is not allowed; mnist1d needs an int >= 0 "
                         "(42 is the published dataset)")
    args = MNIST1DArgs(seed=int(seed))
    d = make_mnist1d(args)
    names = tuple(str(i) for i in range(10))
    parts = {}
    for split, xk, yk, n in (("train", "x", "y", n_train), ("test", "x_test", "y_test", n_test)):
        X = first(d[xk], n, f"n_{split}").astype(dtype)
        parts[split] = Dataset(X=X if flatten else X[:, None, :],
                               y=first(d[yk], n, f"n_{split}"), name=f"mnist1d/{split}",
                               classes=tuple(range(10)), class_names=names, source=SOURCE,
                               description="1-D signals of the ten digits, length 40",
                               meta={"args": asdict(args)})
    return DatasetSplits(**parts)
