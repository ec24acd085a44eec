"""The registry (names, options, metadata), the user's files, digits and mnist1d."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from neuralab import data
from neuralab.data.dataset import Dataset
from neuralab.data.mnist1d import templates
from neuralab.exceptions import DataError


def test_every_offline_dataset_loads_and_matches_its_metadata():
    for name in data.available():
        info = data.info(name)
        if info.remotes or info.kind == "file":
            continue
        loaded = data.load(name)
        parts = dict(loaded.items()) if hasattr(loaded, "items") else {"n": loaded}
        assert {k: len(v) for k, v in parts.items()} == info.sizes, name
        for ds in parts.values():
            assert ds.input_shape == info.input_shape, name
            assert ds.task == info.task, name
            if info.n_classes:
                assert ds.n_classes == info.n_classes, name
            if info.class_names:
                assert ds.class_names == info.class_names, name


def test_unknown_name_and_option_suggest_closest():
    with pytest.raises(DataError, match=r"unknown dataset 'mnsit' \(did you mean 'mnist'\?\)"):
        data.load("mnsit")
    with pytest.raises(DataError, match=r"moons does not take option 'noize' \(did you mean "
                                        r"'noise'\?\); its options are n, noise, seed"):
        data.load("moons", noize=0.1)
    assert data.info("Fashion_MNIST").name == "fashion-mnist"
    assert data.info("multigauss").name == "playground-multi-gauss"


def test_load_passes_options():
    ds = data.load("moons", n=1000, noise=0.2, seed=0)
    np.testing.assert_array_equal(ds.X, data.moons(n=1000, noise=0.2, seed=0).X)
    g = data.load("gaussians", means=[[0, 0], [3, 3], [6, 0]], covs=0.5, n_per_class=10, seed=1)
    assert g.n_classes == 3 and len(g) == 30


def test_digits_offline_and_metadata():
    ds = data.load("digits")
    assert ds.X.shape == (1797, 64) and ds.image_shape == (8, 8)
    assert 0 <= ds.X.min() and ds.X.max() == 1.0
    assert ds.class_names == tuple("0123456789") and "scikit-learn" in ds.source
    raw = data.load("digits", normalize=False, flatten=False, n=5)
    assert raw.X.shape == (5, 1, 8, 8) and raw.X.max() == 16


def test_mnist1d_defaults():
    s = data.load("mnist1d")
    assert s.train.X.shape == (4000, 40) and s.test.X.shape == (1000, 40)
    allX = np.concatenate([s.train.X, s.test.X]).astype(np.float64)
    assert abs(allX.mean()) < 1e-5 and abs(allX.std() - 1) < 1e-5
    counts = np.bincount(np.concatenate([s.train.y, s.test.y]))
    np.testing.assert_array_equal(counts, [500] * 10)
    again = data.load("mnist1d", n_train=10)
    np.testing.assert_array_equal(again.train.X, s.train.X[:10])
    other = data.load("mnist1d", seed=1, n_train=10)
    assert not np.array_equal(other.train.X, again.train.X)
    T = templates()
    assert T.shape == (10, 12) and np.all(T[:, 0] == 0)


def test_csv_by_label_name(tmp_path):
    path = tmp_path / "points.csv"
    path.write_text("x1,x2,kind\n1.0,2.0,cat\n3,4,dog\n5,6,cat\n")
    ds = data.load("csv", path=path, label="kind")
    np.testing.assert_array_equal(ds.X, [[1, 2], [3, 4], [5, 6]])
    np.testing.assert_array_equal(ds.y, [0, 1, 0])
    assert ds.class_names == ("cat", "dog") and ds.meta["features"] == ["x1", "x2"]
    reg = tmp_path / "reg.csv"
    reg.write_text("target,a\n0.5,1\n1.25,2\n")
    r = data.load_csv(reg, label="target")
    assert r.task == "regression" and r.y.dtype == np.float32


def test_csv_errors(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("x1,x2,label\n1,2,0\n3,oops,1\n")
    with pytest.raises(DataError, match=r"bad\.csv, line 3, column 'x2': 'oops' is not a number"):
        data.load_csv(path)
    with pytest.raises(DataError, match=r"no label column 'lable'.*did you mean 'label'"):
        data.load_csv(path, label="lable")
    short = tmp_path / "short.csv"
    short.write_text("a,label\n1\n")
    with pytest.raises(DataError, match="line 2: 1 values for 2 columns"):
        data.load_csv(short)


def test_npz_round_trip_and_errors(tmp_path):
    ds = data.moons(n=20, seed=0)
    path = data.save_npz(ds, tmp_path / "mine.npz")
    back = data.load("npz", path=path)
    np.testing.assert_array_equal(back.X, ds.X)
    np.testing.assert_array_equal(back.y, ds.y)
    np.savez(tmp_path / "keys.npz", data=np.ones((2, 2)), target=np.ones(2))
    with pytest.raises(DataError, match=r"lacks the array\(s\) \['X', 'y'\]; it holds "
                                        r"\['data', 'target'\]"):
        data.load_npz(tmp_path / "keys.npz")
    assert len(data.load_npz(tmp_path / "keys.npz", x_key="data", y_key="target")) == 2
    np.savez(tmp_path / "obj.npz", X=np.array([{"a": 1}], dtype=object), y=np.ones(1))
    with pytest.raises(DataError, match="object arrays"):
        data.load_npz(tmp_path / "obj.npz")


def test_dataset_validation_and_helpers():
    with pytest.raises(ValueError, match="same n"):
        Dataset(X=np.ones((3, 2)), y=np.ones(2, int))
    with pytest.raises(ValueError, match="must be integers"):
        Dataset(X=np.ones((2, 2)), y=np.array([0.5, 1.0]))
    ds = data.moons(n=10, seed=0)
    assert len(ds.head(3)) == 3 and ds.head(3).classes == (0, 1)
    assert "moons" in repr(ds)


def test_import_is_light():
    import subprocess

    code = ("import sys, neuralab.data; "
            "print(any(m in sys.modules for m in ('sklearn', 'matplotlib', 'scipy')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_plot_functions_return_figures(tmp_path):
    from neuralab.data.plot import plot_dataset, save_figure

    for ds in (data.moons(n=30, seed=0), data.load("digits", n=40),
               data.load("playground-plane", n=50), data.load("mnist1d", n_train=30).train):
        fig = plot_dataset(ds)
        path = save_figure(fig, tmp_path / f"{ds.name.replace('/', '_')}.png")
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="output file type"):
        save_figure(fig, tmp_path / "x.jpg")


def test_save_npz_returns_the_path_it_wrote(tmp_path):
    """Like NumPy, a name without .npz gets it; the returned path is the file on disk."""
    from neuralab.data import load_npz, moons, save_npz

    ds = moons(n=20, noise=0.1, seed=0)
    path = save_npz(ds, tmp_path / "points")
    assert path == tmp_path / "points.npz" and path.is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["points.npz"]  # no temp file left
    back = load_npz(path)
    np.testing.assert_array_equal(back.X, ds.X)
    np.testing.assert_array_equal(back.y, ds.y)
