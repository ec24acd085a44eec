"""Model files: .npz + JSON header, atomic writes, no pickles, clear errors naming the file."""

from __future__ import annotations

import json
import os
import pickle

import numpy as np
import pytest

from neuralab.exceptions import ModelFileError
from neuralab.io import load_arrays, save_arrays
from neuralab.models import (
    LinearRegression,
    LogisticRegression,
    MLPClassifier,
    MLPRegressor,
    OneVsRest,
    Perceptron,
    load,
)

rng = np.random.default_rng(0)
X = rng.normal(size=(60, 3))
Y = np.array(["a", "b", "c"])[(X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)]


def test_round_trip_arrays(tmp_path):
    p = tmp_path / "sub" / "m.npz"
    save_arrays(p, {"kind": "x", "n": 3}, {"w": np.eye(2), "s": np.array("text")})
    header, arrays = load_arrays(p)
    assert header["kind"] == "x" and header["format"] == "neuralab-arrays"
    np.testing.assert_array_equal(arrays["w"], np.eye(2))
    assert [f for f in os.listdir(p.parent)] == ["m.npz"]  # no temporary file left
    with pytest.raises(ValueError, match=r"Python objects"):
        save_arrays(p, {}, {"o": np.array([{}], dtype=object)})


def test_pickles_and_bad_files_are_refused(tmp_path):
    evil = tmp_path / "evil.npz"
    np.savez(evil, __header__=np.array(json.dumps({"format": "neuralab-arrays"})),
             w=np.array([{"x": 1}], dtype=object))
    with pytest.raises(ModelFileError, match=r"evil\.npz holds pickled Python objects"):
        load_arrays(evil)
    raw = tmp_path / "raw.npz"
    raw.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(ModelFileError, match=r"raw\.npz"):
        load_arrays(raw)
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ModelFileError, match=r"junk\.npz"):
        load_arrays(junk)
    other = tmp_path / "other.npz"
    np.savez(other, w=np.ones(2))
    with pytest.raises(ModelFileError, match=r"other\.npz has no neuralab header"):
        load_arrays(other)
    with pytest.raises(ModelFileError, match=r"missing\.npz: no such model file"):
        load_arrays(tmp_path / "missing.npz")
    bare = tmp_path / "bare.npy"
    np.save(bare, np.ones(3))
    with pytest.raises(ModelFileError, match=r"bare\.npy"):
        load_arrays(bare)


@pytest.mark.parametrize("est", [
    Perceptron(epochs=3, random_state=0),
    LogisticRegression(epochs=5),
    MLPClassifier(hidden=(5,), dropout=0.1, batch_norm=True, epochs=3, random_state=0),
    MLPClassifier(hidden=(5,), epochs=2, n_models=3, lr=[0.1, 0.2, 0.3], random_state=1),
], ids=lambda e: type(e).__name__)
def test_classifier_files(tmp_path, est):
    est.fit(X, Y)
    path = tmp_path / "model.npz"
    est.save(path)
    back = load(path)
    assert type(back) is type(est) and back.get_params().keys() == est.get_params().keys()
    np.testing.assert_array_equal(back.predict(X), est.predict(X))
    np.testing.assert_array_equal(back.classes_, est.classes_)
    assert np.array_equal(back.history_.train_loss, est.history_.train_loss, equal_nan=True)
    assert type(est).load(path).score(X, Y) == pytest.approx(est.score(X, Y))
    # a loaded model trains on exactly as the original would
    np.testing.assert_array_equal(back.partial_fit(X, Y).predict(X),
                                  est.partial_fit(X, Y).predict(X))


def test_regressor_and_ovr_files(tmp_path):
    t = X @ [1.0, 2.0, -1.0]
    for est in (LinearRegression(), MLPRegressor(hidden=(4,), epochs=3, random_state=0)):
        est.fit(X, np.c_[t, -t]).save(tmp_path / "r.npz")
        np.testing.assert_allclose(load(tmp_path / "r.npz").predict(X), est.predict(X))
    ovr = OneVsRest(Perceptron(epochs=3, random_state=0)).fit(X, Y)
    ovr.save(tmp_path / "ovr.npz")
    back = load(tmp_path / "ovr.npz")
    np.testing.assert_array_equal(back.predict(X), ovr.predict(X))
    with pytest.raises(ModelFileError, match=r"holds a MLPRegressor, not a MLPClassifier"):
        MLPClassifier.load(tmp_path / "r.npz")


def test_wrong_kind_and_corrupt_content(tmp_path):
    p = tmp_path / "m.npz"
    MLPClassifier(hidden=(3,), epochs=1, random_state=0).fit(X, Y).save(p)
    header, arrays = load_arrays(p)
    del arrays["net/0.weight"]
    save_arrays(tmp_path / "broken.npz", {k: v for k, v in header.items()
                                          if k not in ("format", "format_version")}, arrays)
    with pytest.raises(ModelFileError, match=r"broken\.npz is not a valid MLPClassifier"):
        load(tmp_path / "broken.npz")
    save_arrays(tmp_path / "alien.npz", {"estimator": "Alien"}, {})
    with pytest.raises(ModelFileError, match=r"alien\.npz holds an estimator of unknown kind"):
        load(tmp_path / "alien.npz")


def test_atomic_files_get_the_usual_permissions(tmp_path):
    """Files written atomically are readable like any file the user creates (not mkstemp's 0600)."""
    import os

    from neuralab._atomic import atomic_file

    old = os.umask(0o022)
    try:
        with atomic_file(tmp_path / "a.bin") as f:
            f.write(b"x")
    finally:
        os.umask(old)
    assert (tmp_path / "a.bin").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "a.bin").read_bytes() == b"x"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin"]


def test_atomic_file_leaves_nothing_on_error(tmp_path):
    from neuralab._atomic import atomic_file

    (tmp_path / "keep.bin").write_bytes(b"old")
    try:
        with atomic_file(tmp_path / "keep.bin") as f:
            f.write(b"half")
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert (tmp_path / "keep.bin").read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.bin"]


def test_bounded_lines_stop_at_a_long_line_and_at_a_grown_file() -> None:
    """The one bounded line reader of data CSVs, points files and metrics.csv."""
    import io as _io

    from neuralab.io import bounded_lines

    text = "a,b\n1,2\n" + "3" * 50 + "\n"
    with pytest.raises(ValueError, match=r"^f\.csv, line 3 is longer than 20 characters; "
                                         r"it is not a row$"):
        list(bounded_lines(_io.StringIO(text), "f.csv", ValueError, max_line=20, what="a row"))
    with pytest.raises(ValueError, match=r"^line 3 is longer"):
        list(bounded_lines(_io.StringIO(text), None, ValueError, max_line=20))
    with pytest.raises(ValueError, match=r"^f\.csv grew past 6 bytes while it was read "
                                         r"\(line 2\)"):
        list(bounded_lines(_io.StringIO(text), "f.csv", ValueError, max_line=100, max_chars=6))
    assert list(bounded_lines(_io.StringIO("a\nb"), "f", ValueError, max_line=2)) == ["a\n", "b"]
