"""The :class:`Dataset` container and :class:`DatasetSplits` (train / val / test)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neuralab._checks import check_choice
from neuralab.data import labels as _labels

TASKS = ("classification", "regression")


@dataclass(frozen=True, eq=False)
class Dataset:
    """Samples ``X`` (n, *input_shape) with labels or targets ``y`` (n,) and what they are.

    ``y`` holds integer class labels for classification (any integers: {0, 1}, {-1, +1},
    0..K-1) and float targets for regression. ``classes`` lists the label values in order;
    ``class_names[i]`` names ``classes[i]``. ``image_shape`` is set for image data whose rows
    are flattened, e.g. (28, 28) for MNIST with ``X`` of shape (n, 784).
    """

    X: np.ndarray
    y: np.ndarray
    name: str = "data"
    task: str = "classification"
    classes: tuple[int, ...] | None = None
    class_names: tuple[str, ...] | None = None
    image_shape: tuple[int, ...] | None = None
    source: str = ""
    description: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        X, y = np.asarray(self.X), np.asarray(self.y)
        check_choice("task", self.task, TASKS)
        if X.ndim < 1 or y.ndim != 1 or len(X) != len(y):
            raise ValueError(
                f"{self.name}: X must be (n, ...) and y (n,) with the same n; "
                f"got X {X.shape} and y {y.shape}"
            )
        object.__setattr__(self, "X", X)
        object.__setattr__(self, "y", y)
        if self.task == "classification":
            if not np.issubdtype(y.dtype, np.integer):
                raise ValueError(f"{self.name}: classification labels must be integers; "
                                 f"got dtype {y.dtype}")
            classes = tuple(int(c) for c in (
                self.classes if self.classes is not None else np.unique(y)))
            object.__setattr__(self, "classes", classes)
            unknown = np.setdiff1d(y, classes)
            if unknown.size:
                raise ValueError(f"{self.name}: labels {unknown.tolist()} are not in "
                                 f"classes {list(classes)}")
            if self.class_names is None:
                object.__setattr__(self, "class_names", tuple(str(c) for c in classes))
            elif len(self.class_names) != len(classes):
                raise ValueError(f"{self.name}: {len(self.class_names)} class names for "
                                 f"{len(classes)} classes {list(classes)}")
            else:
                object.__setattr__(self, "class_names", tuple(self.class_names))

    # -- what it is ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.y)

    @property
    def n_classes(self) -> int:
        """Number of classes (0 for regression)."""
        return len(self.classes) if self.classes is not None else 0

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one sample, ``X.shape[1:]``."""
        return tuple(self.X.shape[1:])

    @property
    def n_features(self) -> int:
        """Number of values in one sample (product of ``input_shape``)."""
        return int(np.prod(self.input_shape, dtype=np.int64))

    def __repr__(self) -> str:
        kind = f"{self.n_classes} classes" if self.task == "classification" else "regression"
        return (f"Dataset({self.name!r}, n={len(self)}, input_shape={self.input_shape}, "
                f"{kind})")

    # -- new datasets from this one -----------------------------------------------------------
    def replace(self, **changes: Any) -> Dataset:
        """A copy with some fields changed (``X``, ``y``, ``name``, ...)."""
        return dataclasses.replace(self, **changes)

    def subset(self, index: Any, name: str | None = None) -> Dataset:
        """The samples at ``index`` (an index array, a boolean mask or a slice)."""
        return self.replace(X=self.X[index], y=self.y[index], name=name or self.name)

    def head(self, n: int) -> Dataset:
        """The first ``n`` samples (all of them if ``n`` >= len)."""
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0:
            raise ValueError(f"n={n!r} is not allowed; it must be an integer >= 0")
        return self.subset(slice(0, int(n)))

    def images(self) -> np.ndarray:
        """``X`` reshaped to (n, *image_shape) for image data (X itself otherwise)."""
        shape = self.image_shape or self.input_shape
        return self.X.reshape(len(self), *shape)

    # -- labels -------------------------------------------------------------------------------
    def class_index(self) -> np.ndarray:
        """Labels as positions 0..K-1 in ``classes`` (n,) int64."""
        self._need_classes()
        return _labels.to_index(self.y, self.classes)

    def labels_as(self, kind: str) -> np.ndarray:
        """``y`` as ``"index"`` (0..K-1), ``"01"`` or ``"pm1"`` (binary), or ``"onehot"`` (n, K)."""
        check_choice("kind", kind, ("index", "01", "pm1", "onehot"))
        index = self.class_index()
        if kind == "onehot":
            return _labels.one_hot(index, self.n_classes)
        if kind in ("01", "pm1") and self.n_classes != 2:
            raise ValueError(f"{self.name}: labels_as({kind!r}) needs 2 classes; this dataset "
                             f"has {self.n_classes}: {list(self.classes or ())}")
        return 2 * index - 1 if kind == "pm1" else index

    def with_labels(self, kind: str) -> Dataset:
        """A copy whose ``y`` is ``labels_as(kind)`` (``"index"``, ``"01"`` or ``"pm1"``)."""
        check_choice("kind", kind, ("index", "01", "pm1"))
        y = self.labels_as(kind)
        classes = (-1, 1) if kind == "pm1" else tuple(range(self.n_classes))
        return self.replace(y=y, classes=classes)

    def _need_classes(self) -> None:
        if self.task != "classification":
            raise ValueError(f"{self.name} is a regression dataset; it has no class labels")


@dataclass(frozen=True)
class DatasetSplits:
    """The canonical splits of a dataset: ``train`` and ``test``, and ``val`` where published."""

    train: Dataset
    test: Dataset | None = None
    val: Dataset | None = None

    def items(self) -> Iterator[tuple[str, Dataset]]:
        """``(split name, Dataset)`` for each split present, in train, val, test order."""
        for name in ("train", "val", "test"):
            ds = getattr(self, name)
            if ds is not None:
                yield name, ds

    def __getitem__(self, split: str) -> Dataset:
        names = [n for n, _ in self.items()]
        check_choice("split", split, names)
        return getattr(self, split)

    @property
    def sizes(self) -> dict[str, int]:
        """Number of samples per split."""
        return {name: len(ds) for name, ds in self.items()}

    def __repr__(self) -> str:
        parts = ", ".join(f"{n}={len(d)}" for n, d in self.items())
        return f"DatasetSplits({self.train.name!r}, {parts})"
