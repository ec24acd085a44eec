"""How long reading MNIST-format data takes: 60,000 × 784 images from IDX .gz (bar: < 1.5 s).

The benchmark writes its own files (MNIST-like: about 19 % non-zero pixels like MNIST, so they
compress like the real ones) into a temporary folder, then times

- ``read_idx``: gunzip + parse of train-images-idx3-ubyte.gz alone, and
- ``load("mnist", root=...)``: both splits, checked, converted to float32 in [0, 1].

Run: ``python benchmarks/data_load.py [--repeat 5]``. Exit code 1 if the bar is missed.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from neuralab import data
from neuralab.data.idx import write_idx
from neuralab.data.mnist import SPLIT_FILES

BAR_S = 1.5


def mnist_like(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images (n, 28, 28) with a centred blob of ink, and labels (n,)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:28, :28]
    centre = rng.normal(14, 2, size=(n, 2, 1, 1))
    dist2 = (yy - centre[:, 0]) ** 2 + (xx - centre[:, 1]) ** 2
    ink = np.exp(-dist2 / 30.0) * rng.uniform(0.6, 1.4, size=(n, 28, 28))
    images = np.where(ink > 0.2, np.clip(ink * 255, 0, 255), 0).astype(np.uint8)
    return images, rng.integers(0, 10, n).astype(np.uint8)


def write_files(folder: Path) -> Path:
    sizes = {"train": 60000, "test": 10000}
    for seed, (split, (images_file, labels_file)) in enumerate(SPLIT_FILES.items()):
        images, labels = mnist_like(sizes[split], seed)
        write_idx(folder / f"{images_file}.gz", images)
        write_idx(folder / f"{labels_file}.gz", labels)
    return folder / f"{SPLIT_FILES['train'][0]}.gz"


def timed(fn, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        train_images = write_files(folder)
        nonzero = (data.read_idx(train_images) > 0).mean()
        print(f"files: {train_images.name} {train_images.stat().st_size / 1e6:.1f} MB gzip, "
              f"{nonzero:.0%} non-zero pixels")
        read = timed(lambda: data.read_idx(train_images), args.repeat)
        load = timed(lambda: data.load("mnist", root=folder, download=False), args.repeat)
    for label, times in (("read_idx 60000x28x28 (.gz)", read),
                         ("load('mnist') train+test -> float32", load)):
        print(f"{label:38s} best {min(times):.3f} s  median {statistics.median(times):.3f} s")
    ok = statistics.median(read) < BAR_S and statistics.median(load) < BAR_S
    print(f"bar < {BAR_S} s: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
