"""MedMNIST .npz files: round trip, metadata, the IST course preprocessing, bad files."""

from __future__ import annotations

import numpy as np
import pytest
from data_helpers import write_medmnist

from neuralab import data
from neuralab.data.medmnist import IST_TEST_COUNTS
from neuralab.exceptions import DataError


def test_octmnist_round_trip(tmp_path):
    path = tmp_path / "octmnist.npz"
    arrays = write_medmnist(path)
    s = data.load("octmnist", path=path)
    assert s.sizes == {"train": 40, "val": 12, "test": 570}
    assert s.train.class_names == ("choroidal neovascularization", "diabetic macular edema",
                                   "drusen", "normal")
    assert s.val.X.shape == (12, 784) and s.val.image_shape == (28, 28)
    np.testing.assert_allclose(s.val.X, arrays["val_images"].reshape(12, -1) / 255, rtol=1e-6)
    np.testing.assert_array_equal(s.test.y, arrays["test_labels"][:, 0])


def test_ist_preset(tmp_path):
    path = tmp_path / "octmnist.npz"
    arrays = write_medmnist(path)
    s = data.load("octmnist", path=path, preset="ist", bias=True, dtype=np.float64)
    test = s.test
    assert len(test) == sum(IST_TEST_COUNTS) == 529
    assert [int((test.y == c).sum()) for c in range(4)] == list(IST_TEST_COUNTS)
    labels = arrays["test_labels"][:, 0]
    expected = np.sort(np.concatenate([np.flatnonzero(labels == c)[:k]
                                       for c, k in enumerate(IST_TEST_COUNTS)]))
    images = arrays["test_images"][expected].reshape(529, -1) / 256
    np.testing.assert_array_equal(test.X[:, :-1], images)  # divide by 256, file order
    assert np.all(test.X[:, -1] == 1) and test.X.shape == (529, 785)
    assert s.train.X.shape == (40, 785) and s.train.X[:, :-1].max() < 1
    no_bias = data.load("octmnist", path=path, preset="ist")
    assert no_bias.test.X.shape == (529, 784)


def test_medmnist_errors_name_the_file(tmp_path):
    path = tmp_path / "octmnist.npz"
    write_medmnist(path)
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(DataError, match=r"octmnist: .*octmnist\.npz is truncated"):
        data.load("octmnist", path=path)
    bad = tmp_path / "bad.npz"
    np.savez(bad, train_images=np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(DataError, match=r"bad\.npz is not a MedMNIST file: keys .*'val_images'"):
        data.load("octmnist", path=bad)
    arrays = write_medmnist(tmp_path / "ok.npz")
    arrays["val_images"] = np.zeros((12, 32, 32), np.uint8)
    np.savez(tmp_path / "shape.npz", **arrays)
    with pytest.raises(DataError, match=r"shape\.npz has the wrong shape for val_images"):
        data.load("octmnist", path=tmp_path / "shape.npz")
    with pytest.raises(DataError, match="does not exist"):
        data.load("octmnist", path=tmp_path / "missing.npz")
    with pytest.raises(ValueError, match="octmnist only"):
        data.load("pathmnist", path=tmp_path / "ok.npz", preset="ist")
