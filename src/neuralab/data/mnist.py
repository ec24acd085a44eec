"""MNIST, Fashion-MNIST and KMNIST: IDX files from a folder or downloaded into the cache."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neuralab.data.dataset import Dataset, DatasetSplits
from neuralab.data.download import RemoteFile, cache_dir, fetch
from neuralab.data.idx import IMAGES_MAGIC, LABELS_MAGIC, read_idx
from neuralab.data.images import first, image_dataset
from neuralab.exceptions import DataError

# split -> (images file, labels file), without the .gz suffix
SPLIT_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
               "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
IMAGE_SIZE = (28, 28)


@dataclass(frozen=True)
class IdxSet:
    """An image set published as four gzipped IDX files at ``base_url``."""

    name: str
    title: str
    base_url: str
    md5: dict[str, str]  # file name (with .gz) -> md5
    class_names: tuple[str, ...]
    source: str

    def remote(self, filename: str) -> RemoteFile:
        return RemoteFile(filename, self.base_url + filename, md5=self.md5[filename])

    def remotes(self) -> list[RemoteFile]:
        return [self.remote(f + ".gz") for pair in SPLIT_FILES.values() for f in pair]


DIGIT_NAMES = tuple(str(d) for d in range(10))
IDX_SETS = {
    s.name: s for s in (
        IdxSet("mnist", "MNIST handwritten digits",
               "https://ossci-datasets.s3.amazonaws.com/mnist/",
               {"train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
                "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
                "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"},
               DIGIT_NAMES, "LeCun, Cortes & Burges (yann.lecun.com/exdb/mnist)"),
        IdxSet("fashion-mnist", "Fashion-MNIST clothing images",
               "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
               {"train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
                "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
                "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310"},
               ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                "Sneaker", "Bag", "Ankle boot"),
               "Xiao, Rasul & Vollgraf, Zalando Research "
               "(github.com/zalandoresearch/fashion-mnist)"),
        IdxSet("kmnist", "Kuzushiji-MNIST cursive Japanese characters",
               "http://codh.rois.ac.jp/kmnist/dataset/kmnist/",
               {"train-images-idx3-ubyte.gz": "bdb82020997e1d708af4cf47b453dcf7",
                "train-labels-idx1-ubyte.gz": "e144d726b3acfaa3e44228e80efcd344",
                "t10k-images-idx3-ubyte.gz": "5c965bf0a639b31b8f53240b1b52f4d7",
                "t10k-labels-idx1-ubyte.gz": "7320c461ea6c1c855c0b718fb2a4b134"},
               ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
               "Clanuwat et al., ROIS-DS CODH (github.com/rois-codh/kmnist)"),
    )
}


def folder_for(name: str, root: str | os.PathLike | None) -> Path:
    """Where ``name``'s files live: ``root`` itself if given, else ``<cache>/<name>``."""
    return Path(root).expanduser() if root is not None else cache_dir() / name


def _find(folder: Path, base: str) -> Path | None:
    """``base`` in ``folder`` as .gz or raw, also under the common ``train-images.idx3-ubyte``
    spelling."""
    dotted = base.replace("-idx", ".idx")
    for candidate in (base + ".gz", base, dotted + ".gz", dotted):
        # lexists: a FIFO, a folder or a broken link by that name is reported as what it
        # is when read, not as a missing file to download
        if os.path.lexists(folder / candidate):
            return folder / candidate
    return None


def is_cached(name: str, root: str | os.PathLike | None = None) -> bool:
    """Whether all four files of IDX set ``name`` are present (no network needed)."""
    folder = folder_for(name, root)
    return all(_find(folder, f) for pair in SPLIT_FILES.values() for f in pair)


def _locate(spec: IdxSet, folder: Path, base: str, download: bool, mirror: str | None,
            progress: bool | None) -> Path:
    return _find(folder, base) or fetch(spec.remote(base + ".gz"), folder, dataset=spec.name,
                                        download_ok=download, mirror=mirror, progress=progress)


def read_split(spec: IdxSet, images_path: Path, labels_path: Path,
               n: int | None, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Images (n, 28, 28) uint8 and labels (n,) from a pair of IDX files, checked."""
    try:
        images = read_idx(images_path, expect_magic=IMAGES_MAGIC)
        labels = read_idx(labels_path, expect_magic=LABELS_MAGIC)
    except DataError as exc:
        raise DataError(f"{spec.name}: {exc}") from None
    if images.shape[1:] != IMAGE_SIZE:
        raise DataError(f"{spec.name}: {images_path} has the wrong shape: images of "
                        f"{images.shape[1:]} pixels, expected {IMAGE_SIZE}")
    if len(images) != len(labels):
        raise DataError(f"{spec.name}: {images_path} holds {len(images)} images but "
                        f"{labels_path} holds {len(labels)} labels")
    k = len(spec.class_names)
    if labels.size and labels.max() >= k:
        raise DataError(f"{spec.name}: {labels_path} has label {int(labels.max())}; "
                        f"expected 0..{k - 1}")
    return first(images, n, what), first(labels, n, what)


def load_idx_set(
    name: str = "mnist",
    root: str | os.PathLike | None = None,
    *,
    download: bool = True,
    mirror: str | None = None,
    n_train: int | None = None,
    n_test: int | None = None,
    normalize: bool | float = True,
    flatten: bool = True,
    dtype=np.float32,
    progress: bool | None = None,
) -> DatasetSplits:
    """MNIST-format data as ``DatasetSplits(train, test)``.

    Files are read from ``root`` (a folder holding the four IDX files, .gz or raw), else from
    the cache, downloading missing ones unless ``download=False``. ``n_train``/``n_test``
    keep the first N of each split (seed 003: 20000 / 2000). ``X`` is (n, 784) float32 in
    [0, 1] by default (``flatten=False``: (n, 1, 28, 28), channels first for a CNN;
    ``normalize``: True → /255, False → raw 0..255, a number → divide by it).
    """
    spec = IDX_SETS[name]
    folder = folder_for(name, root)
    sizes = {"train": n_train, "test": n_test}
    splits: dict[str, Dataset] = {}
    for split, (images_file, labels_file) in SPLIT_FILES.items():
        images_path, labels_path = (_locate(spec, folder, f, download, mirror, progress)
                                    for f in (images_file, labels_file))
        images, labels = read_split(spec, images_path, labels_path, sizes[split], f"n_{split}")
        splits[split] = image_dataset(images, labels, name=f"{name}/{split}",
                                      class_names=spec.class_names,
                                      source=f"{spec.source}; files in {folder}",
                                      description=spec.title, normalize=normalize,
                                      flatten=flatten, dtype=dtype)
    return DatasetSplits(train=splits["train"], test=splits["test"])
