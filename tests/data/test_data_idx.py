"""IDX files and the MNIST-family loader: round trips and clear errors naming the file."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from data_helpers import fake_images, write_idx_folder

from neuralab import data
from neuralab.data.idx import IMAGES_MAGIC, LABELS_MAGIC, read_idx, write_idx
from neuralab.exceptions import DataError


@pytest.mark.parametrize("suffix", [".gz", ""])
@pytest.mark.parametrize("array", [
    fake_images(7, 0)[0],
    np.arange(12, dtype=np.uint8),
    np.arange(-6, 6, dtype=np.int16).reshape(3, 4),
    np.linspace(0, 1, 10, dtype=np.float32).reshape(2, 5),
    np.array([[1.5, -2.0]], dtype=np.float64),
    np.arange(8, dtype=np.int32).reshape(2, 2, 2),
])
def test_idx_round_trip(tmp_path, array, suffix):
    path = write_idx(tmp_path / f"a{suffix}", array)
    back = read_idx(path)
    assert back.dtype == array.dtype and back.shape == array.shape
    np.testing.assert_array_equal(back, array)


def test_idx_real_header_bytes(tmp_path):
    images, labels = fake_images(3, 0)
    raw = write_idx(tmp_path / "i", images).read_bytes()
    assert raw[:4] == b"\x00\x00\x08\x03" and int.from_bytes(raw[:4], "big") == IMAGES_MAGIC
    assert raw[4:16] == (3).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    assert len(raw) == 16 + 3 * 784
    lab = write_idx(tmp_path / "l.gz", labels).read_bytes()
    assert gzip.decompress(lab)[:8] == LABELS_MAGIC.to_bytes(4, "big") + (3).to_bytes(4, "big")


def test_truncated_file_named(tmp_path):
    path = write_idx(tmp_path / "train-images-idx3-ubyte", fake_images(10, 0)[0])
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte is truncated: expected 7840 "
                                        r"bytes .* found 984"):
        read_idx(path)


def test_truncated_gzip_named(tmp_path):
    path = write_idx(tmp_path / "x.gz", fake_images(50, 0)[0])
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(DataError, match=r"x\.gz is truncated"):
        read_idx(path)


def test_wrong_magic_named(tmp_path):
    path = write_idx(tmp_path / "labels.gz", np.zeros(5, np.uint8))
    with pytest.raises(DataError, match=r"labels\.gz has a wrong magic number: expected "
                                        r"0x00000803, found 0x00000801"):
        read_idx(path, expect_magic=IMAGES_MAGIC)
    junk = tmp_path / "junk"
    junk.write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(DataError, match="junk has a wrong magic number"):
        read_idx(junk)


def test_load_mnist_from_folder_gz_and_raw(tmp_path):
    for gz in (True, False):
        folder = tmp_path / ("gz" if gz else "raw")
        arrays = write_idx_folder(folder, gz=gz)
        splits = data.load("mnist", root=folder, download=False)
        assert splits.sizes == {"train": 50, "test": 20}
        train = splits.train
        assert train.X.shape == (50, 784) and train.X.dtype == np.float32
        assert train.image_shape == (28, 28) and train.n_classes == 10
        np.testing.assert_allclose(train.X, arrays["train"][0].reshape(50, -1) / 255.0, rtol=1e-6)
        np.testing.assert_array_equal(splits.test.y, arrays["test"][1])


def test_subsets_first_n_and_options(tmp_path):
    arrays = write_idx_folder(tmp_path)
    s = data.load("fashion-mnist", root=tmp_path, download=False, n_train=30, n_test=5,
                  flatten=False, normalize=False)
    assert s.train.X.shape == (30, 1, 28, 28) and s.test.X.shape == (5, 1, 28, 28)
    np.testing.assert_array_equal(s.train.X[:, 0], arrays["train"][0][:30])
    assert s.train.class_names[0] == "T-shirt/top"
    with pytest.raises(ValueError, match="n_train=51 is more than the 50"):
        data.load("mnist", root=tmp_path, download=False, n_train=51)


def test_wrong_shape_and_mismatched_counts_named(tmp_path):
    write_idx_folder(tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", fake_images(50, 0, size=20)[0])
    with pytest.raises(DataError, match=r"mnist: .*train-images-idx3-ubyte\.gz has the wrong "
                                        r"shape: images of \(20, 20\) pixels"):
        data.load("mnist", root=tmp_path, download=False)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", fake_images(49, 0)[0])
    with pytest.raises(DataError, match=r"holds 49 images but .* holds 50 labels"):
        data.load("mnist", root=tmp_path, download=False)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros(50, np.uint8))
    with pytest.raises(DataError, match=r"mnist: .*train-images-idx3-ubyte\.gz has a wrong magic"):
        data.load("mnist", root=tmp_path, download=False)
