"""MedMNIST v2 (28×28) ``.npz`` files: OCTMNIST and its single-label siblings.

A file holds ``train_images``, ``val_images``, ``test_images`` (uint8, (n, 28, 28) grey or
(n, 28, 28, 3) colour) and ``train_labels``, ... ((n, 1) integers). Checksums and class
names are those of MedMNIST's ``info.py`` (Zenodo record 10519652).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neuralab._checks import check_choice
from neuralab.data.dataset import Dataset, DatasetSplits
from neuralab.data.download import RemoteFile, fetch
from neuralab.data.images import first, image_dataset
from neuralab.data.mnist import folder_for
from neuralab.data.prepare import add_bias_column
from neuralab.exceptions import DataError
from neuralab.io import open_regular
from neuralab.io import read_npz as read_npz_arrays

ZENODO = "https://zenodo.org/records/10519652/files/"
SPLITS = ("train", "val", "test")
SOURCE = "MedMNIST v2, Yang et al. 2023 (medmnist.com), CC BY 4.0"
# The IST course's equal-distribution test subset: first N test examples of classes 0..3.
IST_TEST_COUNTS = (182, 55, 42, 250)


@dataclass(frozen=True)
class MedSet:
    """One MedMNIST set: checksum, class names (index = label), channels and split sizes."""

    name: str
    md5: str
    class_names: tuple[str, ...]
    n_channels: int
    sizes: tuple[int, int, int]  # train, val, test
    description: str

    @property
    def remote(self) -> RemoteFile:
        filename = f"{self.name}.npz"
        return RemoteFile(filename, f"{ZENODO}{filename}?download=1", md5=self.md5)


MEDMNIST = {
    s.name: s for s in (
        MedSet("octmnist", "c68d92d5b585d8d81f7112f81e2d0842",
               ("choroidal neovascularization", "diabetic macular edema", "drusen", "normal"),
               1, (97477, 10832, 1000), "retinal OCT scans, 4 diagnoses"),
        MedSet("pathmnist", "a8b06965200029087d5bd730944a56c1",
               ("adipose", "background", "debris", "lymphocytes", "mucus", "smooth muscle",
                "normal colon mucosa", "cancer-associated stroma",
                "colorectal adenocarcinoma epithelium"),
               3, (89996, 10004, 7180), "colon pathology patches, 9 tissue types"),
        MedSet("dermamnist", "0744692d530f8e62ec473284d019b0c7",
               ("actinic keratoses and intraepithelial carcinoma", "basal cell carcinoma",
                "benign keratosis-like lesions", "dermatofibroma", "melanoma",
                "melanocytic nevi", "vascular lesions"),
               3, (7007, 1003, 2005), "dermatoscopic images, 7 diseases (CC BY-NC 4.0)"),
        MedSet("pneumoniamnist", "28209eda62fecd6e6a2d98b1501bb15f", ("normal", "pneumonia"),
               1, (4708, 524, 624), "paediatric chest X-rays, pneumonia vs normal"),
        MedSet("breastmnist", "750601b1f35ba3300ea97c75c52ff8f6",
               ("malignant", "normal, benign"), 1, (546, 78, 156), "breast ultrasound"),
        MedSet("bloodmnist", "7053d0359d879ad8a5505303e11de1dc",
               ("basophil", "eosinophil", "erythroblast", "immature granulocytes", "lymphocyte",
                "monocyte", "neutrophil", "platelet"),
               3, (11959, 1712, 3421), "blood cell microscopy, 8 cell types"),
        MedSet("retinamnist", "bd4c0672f1bba3e3a89f0e4e876791e4", ("0", "1", "2", "3", "4"),
               3, (1080, 120, 400), "fundus images, 5 retinopathy grades (ordinal)"),
    )
}


def is_cached(name: str, root: str | os.PathLike | None = None) -> bool:
    """Whether ``<name>.npz`` is present in ``root`` or the cache."""
    return (folder_for(name, root) / f"{name}.npz").is_file()


def read_npz(path: Path, name: str) -> dict[str, np.ndarray]:
    """The six arrays of a MedMNIST file, checked (DataError naming the file otherwise):
    read within ``neuralab.io.LIMITS``, images uint8 (n, 28, 28[, 3]), labels whole numbers
    0..K-1 for the set's K classes."""
    keys = [f"{s}_{kind}" for s in SPLITS for kind in ("images", "labels")]
    try:
        found = read_npz_arrays(path, error=DataError, what="MedMNIST file", kinds="biuf")
    except DataError as exc:
        raise DataError(f"{name}: {exc}") from None
    missing = [k for k in keys if k not in found]
    if missing:
        raise DataError(f"{name}: {path} is not a MedMNIST file: keys {missing} are "
                        f"missing (found {sorted(found)})")
    arrays = {k: found[k] for k in keys}
    n_classes = len(MEDMNIST[name].class_names) if name in MEDMNIST else None
    for split in SPLITS:
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.dtype != np.uint8 or images.ndim not in (3, 4) or images.shape[1:3] != (28, 28):
            raise DataError(f"{name}: {path} has the wrong shape for {split}_images: "
                            f"{images.dtype} {images.shape}, expected uint8 (n, 28, 28[, 3])")
        labels = labels.reshape(len(labels), -1) if labels.ndim else labels.reshape(1, 1)
        if labels.shape != (len(images), 1):
            raise DataError(f"{name}: {path} has {split}_labels of shape "
                            f"{arrays[f'{split}_labels'].shape} for {len(images)} images; "
                            "expected (n, 1) (multi-label sets are not supported)")
        labels = labels[:, 0]
        # a label that is not a whole number (0.5) must not be truncated into a class
        whole = np.isfinite(labels) & (labels == np.round(labels)) if labels.dtype.kind == "f" \
            else np.ones(len(labels), dtype=bool)
        if n_classes is not None:
            whole &= (labels >= 0) & (labels < n_classes)
        if not whole.all():
            bad = labels[~whole][0]
            raise DataError(f"{name}: {path} has {split}_labels value {bad}; labels must be "
                            f"whole numbers 0..{(n_classes or 1) - 1}")
        arrays[f"{split}_labels"] = labels.astype(np.int64)
    return arrays


def ist_test_subset(labels: np.ndarray, counts=IST_TEST_COUNTS) -> np.ndarray:
    """Indices (in file order) of the first ``counts[c]`` examples of each class c."""
    picks = []
    for c, k in enumerate(counts):
        where = np.flatnonzero(labels == c)
        if len(where) < k:
            raise DataError(f"the IST test subset needs {k} examples of class {c}; "
                            f"the test split has {len(where)}")
        picks.append(where[:k])
    return np.sort(np.concatenate(picks))


def load_medmnist(
    name: str = "octmnist",
    path: str | os.PathLike | None = None,
    root: str | os.PathLike | None = None,
    *,
    download: bool = True,
    mirror: str | None = None,
    preset: str | None = None,
    n_train: int | None = None,
    n_val: int | None = None,
    n_test: int | None = None,
    normalize: bool | float | None = None,
    flatten: bool = True,
    bias: bool = False,
    eq_test_dist: bool | None = None,
    dtype=np.float32,
    progress: bool | None = None,
) -> DatasetSplits:
    """A MedMNIST set as ``DatasetSplits(train, val, test)``.

    ``path`` is the .npz file; without it ``<root or cache>/<name>.npz`` is used (downloaded
    if missing and allowed, md5-checked). ``preset="ist"`` reproduces the IST course's
    preprocessing: flattened, divided by 256 and the equal-distribution test subset
    (first 182/55/42/250 test examples of classes 0–3, 529 in all, in file order);
    ``bias=True`` appends a column of ones (as the course's ``bias`` flag).
    """
    check_choice("name", name, list(MEDMNIST))
    spec = MEDMNIST[name]
    if preset is not None or eq_test_dist:
        check_choice("preset", preset, ("ist", None))
        if name != "octmnist":
            raise ValueError(f"preset='ist' and eq_test_dist are defined for octmnist only; "
                             f"not for {name}")
    if preset is not None:
        normalize = 256.0 if normalize is None else normalize
        flatten = True
        eq_test_dist = True if eq_test_dist is None else eq_test_dist
    if path is None:
        file = fetch(spec.remote, folder_for(name, root), dataset=name, download_ok=download,
                     mirror=mirror, progress=progress)
    else:
        file = Path(path).expanduser()
        try:
            open_regular(file, DataError, "MedMNIST file").close()
        except DataError as exc:
            how = ("" if os.path.lexists(file) else
                   f"; get it with `neuralab data get {name}` (saved under "
                   f"{folder_for(name, root)}, then leave out path) or check the path")
            raise DataError(f"{name}: {exc}{how}") from None
    arrays = read_npz(file, name)
    if eq_test_dist:
        keep = ist_test_subset(arrays["test_labels"])
        arrays["test_images"], arrays["test_labels"] = (arrays["test_images"][keep],
                                                        arrays["test_labels"][keep])
    sizes = {"train": n_train, "val": n_val, "test": n_test}
    splits: dict[str, Dataset] = {}
    for split in SPLITS:
        images = first(arrays[f"{split}_images"], sizes[split], f"n_{split}")
        labels = first(arrays[f"{split}_labels"], sizes[split], f"n_{split}")
        ds = image_dataset(images, labels, name=f"{name}/{split}", class_names=spec.class_names,
                           source=f"{SOURCE}; {file}", description=spec.description,
                           normalize=True if normalize is None else normalize,
                           flatten=flatten, dtype=dtype)
        splits[split] = add_bias_column(ds) if bias else ds
    return DatasetSplits(**splits)

