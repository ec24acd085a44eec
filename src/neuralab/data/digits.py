"""scikit-learn's 8×8 handwritten digits, shipped with scikit-learn: always available offline."""

from __future__ import annotations

import numpy as np

from neuralab.data.dataset import Dataset
from neuralab.data.images import first, image_dataset

SOURCE = "scikit-learn load_digits (UCI optical recognition of handwritten digits)"


def load_digits(*, n: int | None = None, normalize: bool | float = True, flatten: bool = True,
                dtype=np.float32) -> Dataset:
    """1797 digits: ``X`` (n, 64) in [0, 1] (pixels 0..16 divided by 16), ``y`` 0..9;
    ``flatten=False`` gives images (n, 1, 8, 8), channels first for a CNN.

    No canonical train/test split: use :func:`neuralab.data.split`. ``n`` keeps the first n.
    """
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    images = first(bunch.images.astype(np.uint8), n, "n")
    labels = first(bunch.target, n, "n")
    return image_dataset(images, labels, name="digits", class_names=[str(d) for d in range(10)],
                         source=SOURCE, description="8x8 handwritten digits",
                         normalize=normalize, flatten=flatten, dtype=dtype, max_value=16.0)
