"""The checks behind the hostile-file bar, one idea per test: bounded reads (sizes checked
before allocating or decompressing), accurate messages, values refused rather than cast."""

from __future__ import annotations

import json
import os
import time
import tracemalloc

import numpy as np
import pytest
from hostile_corpus import deflated, deflated_member, npy_bytes, raw_npy, write_arrays

from neuralab import data
from neuralab.data.idx import read_idx, write_idx
from neuralab.data.prepare import check_preprocess, read_preprocess
from neuralab.exceptions import DataError, ModelFileError
from neuralab.io import LIMITS, load_arrays, open_regular, parse_json, read_npz, save_arrays
from neuralab.models import MLPClassifier, load
from neuralab.rng import check_generator_state, seed_sequence_from_json

MiB = 2**20


def _peak_mib(fn) -> float:
    """Peak Python/NumPy allocation (MiB) while ``fn()`` runs (it is expected to raise)."""
    tracemalloc.start()
    try:
        with pytest.raises((ModelFileError, DataError)):
            fn()
        return tracemalloc.get_traced_memory()[1] / MiB
    finally:
        tracemalloc.stop()


def test_a_decompression_bomb_is_refused_before_it_expands(tmp_path):
    """100 MiB of zeros in a ~450 KiB file: beyond 64 MiB the ratio limit (100:1) applies."""
    bomb = tmp_path / "bomb.npz"
    bomb.write_bytes(deflated_member("w.npy", raw_npy(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (13107200,), }"), 100 * MiB))
    assert bomb.stat().st_size < MiB
    assert _peak_mib(lambda: read_npz(bomb)) < 5
    with pytest.raises(ModelFileError, match=r"bomb\.npz declares 104,857,\d+ bytes of arrays "
                                             r"in a file of .*decompression bomb"):
        read_npz(bomb)


def test_declared_sizes_must_match_what_is_stored(tmp_path):
    """A header declaring 10**12 floats over 64 bytes is corrupt, and nothing is allocated."""
    path = tmp_path / "m.npz"
    member = raw_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (10**12,), }")
    import zipfile

    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("w.npy", member + bytes(64))
    with pytest.raises(ModelFileError, match=r"m\.npz: array 'w' has an invalid \.npy header"):
        read_npz(path)  # 10**12 is an expression, not a literal: NumPy's parser refuses it
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("w.npy", raw_npy(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,), }",
            bytes(64)))
    assert _peak_mib(lambda: read_npz(path)) < 1
    with pytest.raises(ModelFileError, match=r"declares shape \(1000000000000,\) of float64 "
                                             r"\(8,000,000,000,000 bytes\) but its member "
                                             r"holds 64 bytes"):
        read_npz(path)


@pytest.mark.parametrize(("array", "what"), [
    (np.ones(2, complex), "complex numbers"), (np.zeros(2, "M8[s]"), "dates"),
    (np.zeros(2, [("a", "f8")]), "records"), (np.array([b"x"]), "bytes"),
])
def test_arrays_that_are_not_real_numbers_or_text_are_refused(tmp_path, array, what):
    path = write_arrays(tmp_path / "a.npz", {"w": array})
    with pytest.raises(ModelFileError, match=rf"array 'w' holds {what}"):
        read_npz(path)
    np.savez(tmp_path / "ok.npz", w=np.arange(3, dtype=">i4"))  # big-endian ints: fine
    assert read_npz(tmp_path / "ok.npz")["w"].dtype == np.dtype("int32")


def test_pickles_are_named_only_when_the_file_holds_them(tmp_path):
    passwd = tmp_path / "passwd"
    passwd.write_text("root:x:0:0:root:/root:/bin/bash\n")
    with pytest.raises(ModelFileError) as info:
        load(passwd)
    message = str(info.value).replace(str(tmp_path), "")
    assert "pickle" not in message and "not a .npz archive" in message
    long_header = tmp_path / "long.npz"
    import zipfile

    with zipfile.ZipFile(long_header, "w") as zf:
        zf.writestr("w.npy", raw_npy("{'descr': '<f8', 'fortran_order': False, 'shape': "
                                     "(1,), 'x': '" + "y" * 20000 + "'}", bytes(8)))
    with pytest.raises(ModelFileError, match="longer than 10,000 characters") as info:
        read_npz(long_header)
    assert "pickle" not in str(info.value).replace(str(tmp_path), "")
    obj = write_arrays(tmp_path / "obj.npz", {"w": np.array([{}], dtype=object)})
    with pytest.raises(ModelFileError, match="holds pickled Python objects"):
        read_npz(obj)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_special_files_are_named_as_what_they_are(tmp_path):
    fifo, loop, dangling = tmp_path / "fifo.npz", tmp_path / "loop.npz", tmp_path / "d.npz"
    os.mkfifo(fifo)  # opening must not block waiting for a writer
    os.symlink(loop, loop)
    os.symlink(tmp_path / "nowhere", dangling)
    cases = {fifo: "is a FIFO", loop: "is a loop of symbolic links", tmp_path: "is a folder",
             dangling: "a symbolic link to a file that does not exist",
             tmp_path / "missing.npz": "no such model file"}
    for path, message in cases.items():
        with pytest.raises(ModelFileError, match=message):
            open_regular(path)
    with pytest.raises(DataError, match=r"fifo\.npz is a FIFO"):
        data.load_npz(fifo)


@pytest.mark.parametrize("version", [None, [1], float("inf"), "1", 1.5, True, 0])
def test_format_version_must_be_a_whole_number(tmp_path, version):
    path = tmp_path / "m.npz"
    save_arrays(path, {}, {"w": np.ones(2)})
    header, arrays = load_arrays(path)
    header["format_version"] = version
    arrays["__header__"] = np.array(json.dumps(header))
    write_arrays(path, arrays)
    with pytest.raises(ModelFileError, match=r"format_version .* must be a whole number"):
        load_arrays(path)


def test_nested_json_is_refused_without_a_recursion_error():
    for text in ("[" * 100_000 + "]" * 100_000, '{"a": ' * 100 + "1" + "}" * 100):
        with pytest.raises(ModelFileError, match="nested too deeply"):
            parse_json(text, "x")
    assert parse_json("[" * LIMITS.max_json_depth + "]" * LIMITS.max_json_depth, "x")


def test_seed_states_are_checked_before_numpy_works_on_them():
    start = time.perf_counter()
    with pytest.raises(ValueError, match="pool_size 10000000; only NumPy's pool size 4"):
        seed_sequence_from_json({"entropy": 1, "spawn_key": [], "pool_size": 10_000_000})
    assert time.perf_counter() - start < 2  # refused before NumPy spends minutes seeding
    ss = np.random.SeedSequence(7, spawn_key=(1, 2))
    back = seed_sequence_from_json({"entropy": ss.entropy, "spawn_key": [1, 2],
                                    "pool_size": 4})
    assert back.generate_state(4).tolist() == ss.generate_state(4).tolist()
    state = np.random.default_rng(3).bit_generator.state
    assert check_generator_state(json.loads(json.dumps(state))) == state
    for bad in ({**state, "bit_generator": "MT19937"}, {**state, "extra": 1},
                {**state, "state": {"state": 2**130, "inc": 1}}):
        with pytest.raises(ValueError):
            check_generator_state(bad)


def test_a_file_declaring_a_huge_network_is_refused_before_building_it(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 3)), np.arange(30) % 2
    path = tmp_path / "m.npz"
    MLPClassifier(hidden=(4,), epochs=1, random_state=0).fit(X, y).save(path)
    header, arrays = load_arrays(path)
    params = json.loads(str(arrays["meta/params"]))
    params["hidden"] = {"__tuple__": [100_000, 100_000]}
    arrays["meta/params"] = np.array(json.dumps(params))
    arrays["__header__"] = np.array(json.dumps(header))
    write_arrays(path, arrays)
    assert _peak_mib(lambda: load(path)) < 20
    with pytest.raises(ModelFileError, match=r"declare a network of 10,000,500,000 weights "
                                             r"\(layers \[3, 100000, 100000, 2\], 1 member"):
        load(path)


def test_nan_weights_are_refused_but_a_diverged_ensemble_member_keeps_them(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3)) * 10
    y = (X[:, 0] > 0).astype(int)
    ens = MLPClassifier(hidden=(5,), epochs=20, n_models=3, lr=[0.01, 1e8, 0.01],
                        batch_size="full", random_state=0).fit(X, y)
    assert ens.diverged_.tolist() == [False, True, False]
    ens.save(tmp_path / "ens.npz")
    back = load(tmp_path / "ens.npz")  # member 1's NaN weights are its record
    np.testing.assert_array_equal(back.predict(X), ens.predict(X))
    single = MLPClassifier(hidden=(5,), epochs=2, random_state=0).fit(X, y)
    single.save(tmp_path / "one.npz")
    header, arrays = load_arrays(tmp_path / "one.npz")
    arrays["net/0.weight"] = np.full_like(arrays["net/0.weight"], np.nan)
    arrays["__header__"] = np.array(json.dumps(header))
    write_arrays(tmp_path / "one.npz", arrays)
    with pytest.raises(ModelFileError, match=r"one\.npz .*net/0\.weight holds NaN"):
        load(tmp_path / "one.npz")


def test_idx_reads_no_more_than_its_header_declares(tmp_path):
    images = np.zeros((12, 28, 28), np.uint8)
    header = bytes([0, 0, 8, 3]) + b"".join(d.to_bytes(4, "big") for d in images.shape)
    longer = tmp_path / "longer.gz"
    longer.write_bytes(deflated(header, images.size + 256 * MiB, gzip_container=True))
    assert _peak_mib(lambda: read_idx(longer)) < 5  # the old reader expanded all 256 MiB
    with pytest.raises(DataError, match="longer than its header says"):
        read_idx(longer)
    claims = tmp_path / "claims.gz"
    claims.write_bytes(deflated(bytes([0, 0, 8, 3]) + b"".join(
        d.to_bytes(4, "big") for d in (60_000, 100_000, 100_000)), 0, gzip_container=True))
    with pytest.raises(DataError, match=r"declares shape \(60000, 100000, 100000\)"):
        read_idx(claims)
    ok = write_idx(tmp_path / "ok.gz", images + 1)
    with pytest.raises(DataError, match=r"wrong shape: \(12, 28, 28\), expected \('n', 32"):
        read_idx(ok, expect_shape=(None, 32, 32))
    assert read_idx(ok, expect_shape=(None, 28, 28)).sum() == images.size


def test_labels_are_refused_rather_than_truncated_or_wrapped(tmp_path):
    csv = tmp_path / "big.csv"
    csv.write_text("x1,x2,label\n1,2,1e29\n3,4,0\n")
    with pytest.raises(DataError, match=r"big\.csv: label 1e\+29 is too large"):
        data.load_csv(csv)
    csv.write_text("x1,x2,label\n1,1e39,1\n3,4,0\n")
    with pytest.raises(DataError, match=r"line 2, column 'x2': '1e39' is not a finite float32"):
        data.load_csv(csv)
    csv.write_text("x1,x2,label\n" + "1" * 200_000 + ",2,1\n")
    with pytest.raises(DataError, match=r"line 2: not a readable CSV row \(field larger"):
        data.load_csv(csv)
    arrays = {f"{s}_{k}": v for s, n in (("train", 4), ("val", 2), ("test", 2))
              for k, v in (("images", np.zeros((n, 28, 28), np.uint8)),
                           ("labels", np.zeros((n, 1))))}
    arrays["train_labels"] = np.array([[0.0], [0.5], [1.0], [2.0]])
    np.savez(tmp_path / "oct.npz", **arrays)
    with pytest.raises(DataError, match=r"train_labels value 0\.5; labels must be whole "
                                        r"numbers 0\.\.3"):
        data.load_medmnist("octmnist", path=tmp_path / "oct.npz", download=False)
    arrays["train_labels"] = np.array([[0.0], [3.0], [1.0], [2.0]])  # whole floats: labels
    np.savez(tmp_path / "oct.npz", **arrays)
    loaded = data.load_medmnist("octmnist", path=tmp_path / "oct.npz", download=False)
    assert loaded.train.y.tolist() == [0, 3, 1, 2]


def test_preprocess_descriptions_are_checked(tmp_path):
    good = {"n_inputs": 2, "features": None, "degree": 3,
            "scaler": {"kind": "standardize", "mean_": [0.0] * 9, "scale_": [1.0] * 9}}
    assert check_preprocess(good, "p", n_features=9) is good
    for bad, message in [
        ([], "must be a JSON object"), ({"evil": 1}, r"unknown key\(s\) \['evil'\]"),
        ({"n_inputs": 2, "degree": 10**6}, "degree is 1000000; it must be a whole number "
                                            "from 1 to 10"),
        ({"features": ["x9"]}, "features is"), ({**good, "degree": 2}, "fitted on 9 features "
                                                                       "but the inputs give 5"),
        ({**good, "scaler": {**good["scaler"], "scale_": [0.0] * 9}}, "scale_ <= 0"),
    ]:
        with pytest.raises(DataError, match=message):
            check_preprocess(bad, "p")
    with pytest.raises(DataError, match="gives 9 features but the model takes 4"):
        check_preprocess(good, "p", n_features=4)
    path = tmp_path / "preprocess.json"
    path.write_text('{"n_inputs": ' + "[" * 1000 + "]" * 1000 + "}")
    with pytest.raises(DataError, match=r"preprocess\.json is JSON nested too deeply"):
        read_preprocess(path)
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(DataError, match=r"preprocess\.json is not UTF-8 text"):
        read_preprocess(path)


def test_model_files_still_round_trip_through_the_checked_reader(tmp_path):
    path = tmp_path / "w.npz"
    arrays = {"f": np.arange(6.0).reshape(2, 3, order="F"), "t": np.array("text"),
              "b": np.array([True, False]), "e": np.zeros((0, 4))}
    np.savez_compressed(path, **arrays)
    back = read_npz(path)
    for k, v in arrays.items():
        np.testing.assert_array_equal(back[k], v)
    assert npy_bytes(np.ones(1))[:6] == b"\x93NUMPY"
