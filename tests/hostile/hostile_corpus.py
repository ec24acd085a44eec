"""A corpus of hostile and broken files (issue #10), generated with a fixed seed.

Every kind of file neuralab reads from someone else: model files (plain and compressed
``.npz``), run folders (``model.npz`` + ``preprocess.json``), data files (NPZ, CSV, MedMNIST)
and MNIST IDX folders. Each kind gets hand-made attacks (decompression bombs, sizes that
make work, pickles, malformed JSON and headers, garbage values) and random byte corruption
of valid files. :func:`build` writes them; :func:`load_api` reads one through the Python
API; :func:`cli_argv` gives the ``neuralab`` command that reads it.
"""

from __future__ import annotations

import copy
import gzip
import io
import json
import os
import shutil
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neuralab.data.idx import write_idx
from neuralab.io import HEADER_KEY, load_arrays

SPLIT_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
               "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
N_FEATURES = 3  # inputs of the base models (points.csv has 3 columns)


@dataclass(frozen=True)
class Case:
    """One hostile input: ``kind`` says which reader takes it, ``path`` is a file or folder."""

    name: str
    kind: str  # model | run | npz | csv | medmnist | idx
    path: Path
    random: bool = False  # random corruption (the rest are hand-made)


# -- writing raw archives ------------------------------------------------------------------
def npy_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asarray(arr), allow_pickle=True)
    return buf.getvalue()


def raw_npy(header: str, data: bytes = b"", version: tuple[int, int] = (1, 0)) -> bytes:
    """An .npy member with a header text of our choosing (padded as NumPy pads it)."""
    magic = b"\x93NUMPY" + bytes(version)
    text = header.encode("latin1")
    fmt = "<H" if version == (1, 0) else "<I"
    pad = (-(len(magic) + struct.calcsize(fmt) + len(text) + 1)) % 64
    text += b" " * pad + b"\n"
    return magic + struct.pack(fmt, len(text)) + text + data


def write_zip(path: Path, members: dict[str, bytes], *, compressed: bool = False,
              method: int | None = None) -> Path:
    kind = method if method is not None else (zipfile.ZIP_DEFLATED if compressed
                                               else zipfile.ZIP_STORED)
    with zipfile.ZipFile(path, "w", compression=kind, compresslevel=1) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def write_arrays(path: Path, arrays: dict[str, Any], *, compressed: bool = False) -> Path:
    """``arrays`` as an .npz (any dtype, object arrays pickled as NumPy does)."""
    return write_zip(path, {f"{k}.npy": npy_bytes(np.asarray(v)) for k, v in arrays.items()},
                     compressed=compressed)


def patch_zip(data: bytes, field: str, value: int) -> bytes:
    """Every member's ``field`` ("size": declared uncompressed size, "flags": general
    purpose flags) set to ``value`` in the local and central headers, the data left as it
    is: a zip that lies about what it expands to, or claims to be encrypted."""
    fmt, local, central = {"size": ("<I", 22, 24), "flags": ("<H", 6, 8)}[field]
    out = bytearray(data)
    for sig, offset in ((b"PK\x03\x04", local), (b"PK\x01\x02", central)):
        pos = out.find(sig)
        while pos >= 0:
            out[pos + offset:pos + offset + struct.calcsize(fmt)] = struct.pack(fmt, value)
            pos = out.find(sig, pos + 4)
    return bytes(out)


def overlapping_zip(member: bytes, copies: int) -> bytes:
    """One deflated member referenced ``copies`` times by the central directory (an
    overlapping-files bomb): each entry claims the same compressed bytes."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed = comp.compress(member) + comp.flush()
    crc = zlib.crc32(member)
    name = b"w.npy"
    local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(packed),
                        len(member), len(name), 0) + name + packed
    central = b""
    for i in range(copies):
        nm = f"w{i}.npy".encode()
        central += struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc,
                               len(packed), len(member), len(nm), 0, 0, 0, 0, 0, 0) + nm
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, copies, copies, len(central),
                      len(local), 0)
    return local + central + end


def deflated(prefix: bytes, zeros: int, *, gzip_container: bool = False) -> bytes:
    """``prefix`` then ``zeros`` zero bytes, deflated (raw, or as a gzip file): a
    decompression bomb of ``zeros`` bytes built in a fraction of a second."""
    comp = zlib.compressobj(1, zlib.DEFLATED, 31 if gzip_container else -15)
    parts, block = [comp.compress(prefix)], bytes(2**20)
    for start in range(0, zeros, len(block)):
        parts.append(comp.compress(block[:zeros - start]))
    parts.append(comp.flush())
    return b"".join(parts)


def deflated_member(name: str, prefix: bytes, zeros: int) -> bytes:
    """A zip file of one deflated member holding ``prefix`` + ``zeros`` zero bytes."""
    packed = deflated(prefix, zeros)
    crc = zlib.crc32(prefix)
    block = bytes(2**20)
    for start in range(0, zeros, len(block)):
        crc = zlib.crc32(block[:zeros - start], crc)
    size = len(prefix) + zeros
    nm = name.encode()
    local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(packed),
                        size, len(nm), 0) + nm + packed
    central = struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc,
                          len(packed), size, len(nm), 0, 0, 0, 0, 0, 0) + nm
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 1, 1, len(central), len(local), 0)
    return local + central + end


# -- random corruption ---------------------------------------------------------------------
def corrupt(data: bytes, rng: np.random.Generator) -> bytes:
    """``data`` with one random kind of damage: flipped bytes, a truncation, a zeroed or
    duplicated or deleted range, inserted garbage."""
    b = bytearray(data)
    n = len(b)
    how = int(rng.integers(6))
    if how == 0:  # flip a few bytes
        for i in rng.integers(0, n, size=int(rng.integers(1, 20))):
            b[i] = int(rng.integers(256))
    elif how == 1:  # truncate
        del b[int(rng.integers(0, n)):]
    elif how == 2:  # zero a range
        i, k = int(rng.integers(0, n)), int(rng.integers(1, 200))
        b[i:i + k] = bytes(len(b[i:i + k]))
    elif how == 3:  # duplicate a range
        i = int(rng.integers(0, n))
        b[i:i] = b[i:i + int(rng.integers(1, 300))]
    elif how == 4:  # delete a range
        i = int(rng.integers(0, n))
        del b[i:i + int(rng.integers(1, 100))]
    else:  # insert garbage
        i = int(rng.integers(0, n))
        b[i:i] = rng.integers(0, 256, size=int(rng.integers(1, 100)), dtype=np.uint8).tobytes()
    return bytes(b)


# -- base files ----------------------------------------------------------------------------
def _base_models(folder: Path) -> dict[str, Path]:
    """Small fitted estimators of every kind, saved (they train in well under a second)."""
    from neuralab.models import (
        LinearRegression,
        LogisticRegression,
        MLPClassifier,
        MLPRegressor,
        OneVsRest,
        Perceptron,
    )

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, N_FEATURES))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)
    t = X @ [1.0, -2.0, 0.5]
    models = {
        "mlp": MLPClassifier(hidden=(6,), epochs=3, random_state=0).fit(X, y),
        "mlp_ens": MLPClassifier(hidden=(5,), epochs=3, n_models=3, batch_norm=True,
                                 momentum=0.9, early_stopping=True, monitor="train_loss",
                                 random_state=1).fit(X, y),
        "logistic": LogisticRegression(epochs=3, random_state=0).fit(X, y > 0),
        "perceptron": Perceptron(epochs=2, random_state=0).fit(X, y),
        "linear": LinearRegression().fit(X, t),
        "mlp_reg": MLPRegressor(hidden=(4,), epochs=2, random_state=0,
                                optimizer="adam").fit(X, np.c_[t, -t]),
        "ovr": OneVsRest(Perceptron(epochs=2, random_state=0)).fit(X, y),
    }
    paths = {}
    for name, est in models.items():
        paths[name] = folder / f"{name}.npz"
        est.save(paths[name])
    return paths


_LOADED: dict[Path, tuple[dict, dict]] = {}


def _rewrite(src: Path, dst: Path, edit: Callable[[dict, dict], None], *,
             compressed: bool = False) -> Path:
    """A copy of model file ``src`` with ``edit(header, arrays)`` applied."""
    if src not in _LOADED:
        _LOADED[src] = load_arrays(src)
    header, arrays = copy.deepcopy(_LOADED[src][0]), dict(_LOADED[src][1])
    edit(header, arrays)
    arrays[HEADER_KEY] = np.array(header if isinstance(header, str) else json.dumps(header))
    return write_arrays(dst, arrays, compressed=compressed)


def _params(arrays: dict) -> dict:
    return json.loads(str(arrays["meta/params"]))


def _set_params(arrays: dict, **changes: Any) -> None:
    p = _params(arrays)
    p.update(changes)
    arrays["meta/params"] = np.array(json.dumps(p))


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# Edits of a model file: name -> edit(header, arrays). Each is one hostile idea.
def _model_edits() -> dict[str, Callable[[dict, dict], None]]:
    E: dict[str, Callable[[dict, dict], None]] = {}

    def seed(**s: Any) -> Callable[[dict, dict], None]:
        base = {"entropy": 1, "spawn_key": [], "pool_size": 4}
        base.update(s)
        return lambda h, a: _set_params(a, random_state={"__seed_sequence__": base})

    E["pool_size_huge"] = seed(pool_size=10_000_000)
    E["pool_size_zero"] = seed(pool_size=0)
    E["pool_size_text"] = seed(pool_size="4")
    E["entropy_huge"] = seed(entropy=2**4000)
    E["entropy_negative"] = seed(entropy=-5)
    E["entropy_list_long"] = seed(entropy=list(range(10_000)))
    E["spawn_key_long"] = seed(spawn_key=list(range(100_000)))
    E["spawn_key_nested"] = seed(spawn_key=[[1, 2]])
    E["seed_not_dict"] = lambda h, a: _set_params(a, random_state={"__seed_sequence__": 5})
    for n in (10**9, 0, -1, 2, 7.5, "3", True):
        E[f"n_models_{n}"] = lambda h, a, n=n: _set_params(a, n_models=n)
    E["hidden_huge"] = lambda h, a: _set_params(a, hidden={"__tuple__": [100_000, 100_000]})
    E["hidden_giant"] = lambda h, a: _set_params(a, hidden={"__tuple__": [10**9]})
    E["hidden_many"] = lambda h, a: _set_params(a, hidden={"__tuple__": [5] * 100_000})
    E["hidden_bad"] = lambda h, a: _set_params(a, hidden={"__tuple__": [-1, "x"]})
    E["tuple_not_list"] = lambda h, a: _set_params(a, hidden={"__tuple__": 5})
    E["estimator_nested_unknown"] = lambda h, a: _set_params(
        a, hidden={"__estimator__": "Evil", "params": {}})
    E["unknown_param"] = lambda h, a: _set_params(a, evil=1)
    E["lr_negative"] = lambda h, a: _set_params(a, lr=-1.0)
    E["lr_nan"] = lambda h, a: a.__setitem__("meta/params", np.array(
        str(a["meta/params"]).replace('"lr": ', '"lr": NaN, "x_lr": ')))
    E["epochs_huge"] = lambda h, a: _set_params(a, epochs=10**18)
    E["batch_size_zero"] = lambda h, a: _set_params(a, batch_size=0)
    E["params_list"] = lambda h, a: a.__setitem__("meta/params", np.array("[1, 2]"))
    E["params_not_json"] = lambda h, a: a.__setitem__("meta/params", np.array("{nope"))
    E["params_nested"] = lambda h, a: a.__setitem__("meta/params", np.array(
        '{"hidden": ' + _nested(50_000) + "}"))
    E["params_nested_dicts"] = lambda h, a: a.__setitem__("meta/params", np.array(
        '{"a": ' * 3000 + "1" + "}" * 3000))
    E["params_bigint"] = lambda h, a: a.__setitem__("meta/params", np.array(
        '{"epochs": ' + "9" * 10_000 + "}"))
    E["params_array"] = lambda h, a: a.__setitem__("meta/params", np.ones(3))
    E["params_missing"] = lambda h, a: a.pop("meta/params")
    E["header_nested"] = lambda h, a: h.__setitem__("x", json.loads(_nested(500)))
    for v in (None, [1], float("inf"), "1", 2, 1.5, True, -1, 10**30):
        E[f"format_version_{v!r}"] = lambda h, a, v=v: h.__setitem__("format_version", v)
    E["format_missing"] = lambda h, a: h.pop("format")
    E["format_wrong"] = lambda h, a: h.__setitem__("format", "pickle")
    E["estimator_unknown"] = lambda h, a: (h.__setitem__("estimator", "Evil"),
                                           a.__setitem__("meta/estimator", np.array("Evil")))
    E["estimator_mismatch"] = lambda h, a: a.__setitem__("meta/estimator",
                                                         np.array("MLPRegressor"))
    E["estimator_array"] = lambda h, a: a.__setitem__("meta/estimator", np.zeros(2))
    for v in (10**12, 0, -1, 2.5, [3, 3]):
        E[f"n_features_in_{v!r}"] = lambda h, a, v=v: a.__setitem__("meta/n_features_in",
                                                                    np.array(v))
    for v in (10**9, 0, 7):
        E[f"n_outputs_{v}"] = lambda h, a, v=v: a.__setitem__("meta/n_outputs", np.array(v))
    E["classes_one"] = lambda h, a: a.__setitem__("meta/classes", np.array([0]))
    E["classes_unsorted"] = lambda h, a: a.__setitem__("meta/classes", np.array([2, 0, 1]))
    E["classes_dup"] = lambda h, a: a.__setitem__("meta/classes", np.array([0, 0, 1]))
    E["classes_nan"] = lambda h, a: a.__setitem__("meta/classes", np.array([0.0, np.nan, 2]))
    E["classes_2d"] = lambda h, a: a.__setitem__("meta/classes", np.eye(3))
    E["classes_many"] = lambda h, a: a.__setitem__("meta/classes", np.arange(10_000))
    E["classes_complex"] = lambda h, a: a.__setitem__("meta/classes", np.array([0j, 1j, 2j]))
    E["y_ndim_5"] = lambda h, a: a.__setitem__("meta/y_ndim", np.array(5))
    for v in (-1, 10**12, 2.5):
        E[f"epoch_{v}"] = lambda h, a, v=v: a.__setitem__("trainer/epoch", np.array(v))
    E["step_negative"] = lambda h, a: a.__setitem__("trainer/step", np.array(-3))
    E["active_2d"] = lambda h, a: a.__setitem__("trainer/active", np.ones((2, 2), bool))
    E["active_int"] = lambda h, a: a.__setitem__("trainer/active", np.array([5]))
    E["active_empty"] = lambda h, a: a.__setitem__("trainer/active", np.ones(0, bool))
    E["active_long"] = lambda h, a: a.__setitem__("trainer/active", np.ones(10**5, bool))
    E["rng_missing"] = lambda h, a: a.pop("rng/0")
    E["rng_extra"] = lambda h, a: a.__setitem__("rng/9", a["rng/0"])
    E["rng_not_json"] = lambda h, a: a.__setitem__("rng/0", np.array("{{"))
    E["rng_nested"] = lambda h, a: a.__setitem__("rng/0", np.array(_nested(100_000)))
    E["rng_numbers"] = lambda h, a: a.__setitem__("rng/0", np.arange(4))

    def rng_edit(fn: Callable[[dict], None]) -> Callable[[dict, dict], None]:
        def edit(h: dict, a: dict) -> None:
            s = json.loads(str(a["rng/0"]))
            fn(s)
            a["rng/0"] = np.array(json.dumps(s))
        return edit

    E["rng_mt19937"] = rng_edit(lambda s: s.__setitem__("bit_generator", "MT19937"))
    E["rng_even_inc"] = rng_edit(lambda s: s["state"].__setitem__("inc", 2))
    E["rng_state_huge"] = rng_edit(lambda s: s["state"].__setitem__("state", 2**200))
    E["rng_state_float"] = rng_edit(lambda s: s["state"].__setitem__("state", 1.5))
    E["rng_extra_key"] = rng_edit(lambda s: s.__setitem__("evil", 1))
    E["rng_uinteger"] = rng_edit(lambda s: s.__setitem__("uinteger", -1))
    E["history_short"] = lambda h, a: a.__setitem__("history/epoch", np.arange(1))
    E["history_0d"] = lambda h, a: a.__setitem__("history/epoch", np.array(3))
    E["history_3d"] = lambda h, a: a.__setitem__("history/lr", np.ones((3, 1, 1)))
    E["history_text"] = lambda h, a: a.__setitem__("history/lr", np.array(["a"] * 3))
    E["history_long"] = lambda h, a: a.__setitem__("history/lr", np.ones(10**5))
    E["opt_lr_nan"] = lambda h, a: a.__setitem__("opt/lr", np.array(np.nan))
    E["opt_lr_negative"] = lambda h, a: a.__setitem__("opt/lr", np.array(-1.0))
    E["opt_steps_text"] = lambda h, a: a.__setitem__("opt/steps", np.array("x"))
    E["opt_slot_unknown"] = lambda h, a: a.__setitem__("opt/evil/momentum_buffer", np.ones(3))
    E["opt_slot_noslash"] = lambda h, a: a.__setitem__("opt/evil", np.ones(3))
    E["opt_slot_shape"] = lambda h, a: a.__setitem__("opt/0.weight/exp_avg", np.ones(10**5))
    E["stop_shape"] = lambda h, a: a.__setitem__("stop/early/best", np.ones(50))
    E["frozen_unknown"] = lambda h, a: a.__setitem__("frozen/evil", np.ones(2))

    def weights(value: Callable[[np.ndarray], Any]) -> Callable[[dict, dict], None]:
        def edit(h: dict, a: dict) -> None:
            key = next(k for k in a if k.startswith("net/") and k.endswith("weight"))
            a[key] = value(np.asarray(a[key]))
        return edit

    E["w_nan"] = weights(lambda w: np.full_like(w, np.nan))
    E["w_inf"] = weights(lambda w: np.where(w == w.flat[0], np.inf, w))
    E["w_complex"] = weights(lambda w: w.astype(np.complex128))
    E["w_datetime"] = weights(lambda w: np.zeros(w.shape, "datetime64[s]"))
    E["w_timedelta"] = weights(lambda w: np.zeros(w.shape, "timedelta64[s]"))
    E["w_int8"] = weights(lambda w: w.astype(np.int8))
    E["w_bool"] = weights(lambda w: w > 0)
    E["w_float16"] = weights(lambda w: w.astype(np.float16))
    E["w_bigendian"] = weights(lambda w: w.astype(w.dtype.newbyteorder(">")))
    E["w_structured"] = weights(lambda w: np.zeros(w.shape, [("a", "f8"), ("b", "i4")]))
    E["w_object"] = weights(lambda w: np.array([{"x": 1}] * w.size, dtype=object))
    E["w_text"] = weights(lambda w: np.full(w.shape, "x"))
    E["w_bytes"] = weights(lambda w: np.full(w.shape, b"x"))
    E["w_shape"] = weights(lambda w: np.ones((7, 7)))
    E["w_big"] = weights(lambda w: np.ones((1000, 1000)))
    E["w_0d"] = weights(lambda w: np.array(1.0))
    E["w_fortran"] = weights(lambda w: np.asfortranarray(w))
    E["w_missing"] = lambda h, a: a.pop(next(k for k in a if k.startswith("net/")))
    E["w_extra"] = lambda h, a: a.__setitem__("net/99.weight", np.ones((2, 2)))
    E["only_header"] = lambda h, a: [a.pop(k) for k in list(a)]
    E["n_classes_huge"] = lambda h, a: h.__setitem__("n_classes", 10**9)
    E["n_classes_inf"] = lambda h, a: h.__setitem__("n_classes", float("inf"))
    E["n_classes_text"] = lambda h, a: h.__setitem__("n_classes", "x")
    return E


def _raw_model_files(folder: Path, valid: Path) -> list[Path]:
    """Hostile files built below the array level: headers, zip directories, bombs."""
    out: list[Path] = []

    def add(name: str, data: bytes) -> None:
        out.append(folder / name)
        out[-1].write_bytes(data)

    header, arrays = load_arrays(valid)
    members = {f"{k}.npy": npy_bytes(np.asarray(v)) for k, v in arrays.items()}
    members[f"{HEADER_KEY}.npy"] = npy_bytes(np.array(json.dumps(header)))

    def with_member(name: str, data: bytes, *, compressed: bool = False) -> bytes:
        m = dict(members)
        m[name] = data
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED if compressed
                             else zipfile.ZIP_STORED) as zf:
            for k, v in m.items():
                zf.writestr(k, v)
        return buf.getvalue()

    w = next(k for k in members if k.startswith("net/"))
    for i, (hdr, data) in enumerate([
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (10**12,), }", b""),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,), }", b"\0" * 64),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (-5,), }", b""),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (2,) * 40, }", b""),
        ("{'descr': '<U1000000000', 'fortran_order': False, 'shape': (), }", b"x" * 16),
        ("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", b"\x80\x04N."),
        ("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1,), }", b"\0" * 8),
        ("{'descr': 'garbage', 'fortran_order': False, 'shape': (1,), }", b"\0" * 8),
        ("{'descr': '<f8', 'fortran_order': 'yes', 'shape': (1,), }", b"\0" * 8),
        ("{'descr': '<f8', 'shape': (1,), }", b"\0" * 8),
        ("[1, 2, 3]", b""),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': " + "(" * 300 + ")" * 300 + "}",
         b""),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'x': '" + "y" * 20000
         + "'}", b"\0" * 8),
        ("__import__('os').system('echo pwned')", b""),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", b"\0" * 8),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", b"\0" * 800),
    ]):
        for compressed in (False, True):
            add(f"npyhdr{i}{'_z' if compressed else ''}.npz",
                with_member(w, raw_npy(hdr, data), compressed=compressed))
    add("npy_v3.npz", with_member(w, raw_npy(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", b"\0" * 8, (3, 0))))
    add("npy_v9.npz", with_member(w, raw_npy(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", b"\0" * 8, (9, 9))))
    add("npy_badmagic.npz", with_member(w, b"\x93NUMPZ\x01\x00" + b"\0" * 100))
    add("npy_empty_member.npz", with_member(w, b""))
    long_header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), " + " " * 70000 + "}"
    add("npy_header_70k.npz", with_member(w, raw_npy(long_header, b"\0" * 8, (2, 0))))
    add("header_deep_text.npz", with_member(f"{HEADER_KEY}.npy", npy_bytes(np.array(
        '{"format": "neuralab-arrays", "x": ' + _nested(100_000) + "}"))))
    add("header_list.npz", with_member(f"{HEADER_KEY}.npy", npy_bytes(np.array("[]"))))
    add("header_bytes.npz", with_member(f"{HEADER_KEY}.npy", npy_bytes(np.array(b"{}"))))
    add("header_2d.npz", with_member(f"{HEADER_KEY}.npy", npy_bytes(np.array([["{}"]]))))
    add("header_infinity.npz", with_member(f"{HEADER_KEY}.npy", npy_bytes(np.array(
        '{"format": "neuralab-arrays", "format_version": Infinity}'))))
    add("header_nan.npz", with_member(f"{HEADER_KEY}.npy", npy_bytes(np.array(
        '{"format": "neuralab-arrays", "format_version": NaN}'))))
    add("member_not_npy.npz", with_member("evil.pkl", b"\x80\x04N."))
    add("member_dir.npz", with_member("dir/", b""))
    stored = with_member(w, members[w])
    add("declares_3gb.npz", patch_zip(stored, "size", 3 * 2**30))
    add("declares_zero.npz", patch_zip(stored, "size", 0))
    add("encrypted.npz", patch_zip(stored, "flags", 1))
    # real bombs: 100 MiB of zeros deflated to ~450 KiB; 8 MiB referenced 400 times
    add("bomb_100mb.npz", deflated_member(w, raw_npy(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (13107200,), }"), 100 * 2**20))
    add("overlap_bomb.npz", overlapping_zip(raw_npy(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1048576,), }", bytes(2**23)), 400))
    for method, label in ((zipfile.ZIP_BZIP2, "bzip2"), (zipfile.ZIP_LZMA, "lzma")):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", method) as zf:
            for k, v in members.items():
                zf.writestr(k, v)
        add(f"method_{label}.npz", buf.getvalue())
    many = {f"a{i}.npy": npy_bytes(np.zeros(1)) for i in range(12_000)}
    many.update(members)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for k, v in many.items():
            zf.writestr(k, v)
    add("members_12000.npz", buf.getvalue())
    dup = io.BytesIO()
    with zipfile.ZipFile(dup, "w") as zf, __import__("warnings").catch_warnings():
        __import__("warnings").simplefilter("ignore")
        for k, v in members.items():
            zf.writestr(k, v)
        zf.writestr(w, npy_bytes(np.ones((9, 9))))
    add("duplicate_member.npz", dup.getvalue())
    crc = bytearray(stored)
    pos = crc.find(b"PK\x01\x02")
    crc[pos + 16:pos + 20] = b"\0\0\0\0"
    add("bad_crc.npz", bytes(crc))
    # files that are not archives at all
    import pickle

    add("pickle.npz", pickle.dumps({"a": 1}))
    add("passwd.npz", b"root:x:0:0:root:/root:/bin/bash\n" * 20)
    add("empty.npz", b"")
    add("pk_only.npz", b"PK")
    add("pk_garbage.npz", b"PK\x03\x04" + bytes(range(256)) * 4)
    add("random.npz", np.random.default_rng(5).bytes(4096))
    npy = io.BytesIO()
    np.save(npy, np.ones(3))
    add("bare.npy.npz", npy.getvalue())
    add("object_pickled.npz", with_member(w, npy_bytes(np.array([{"x": 1}], dtype=object))))
    return out


def _special_files(folder: Path, stem: str) -> list[Path]:
    """A FIFO, a symlink loop, a dangling symlink and a folder, each named like a file."""
    out = []
    fifo = folder / f"{stem}_fifo"
    if hasattr(os, "mkfifo"):
        os.mkfifo(fifo)
        out.append(fifo)
    loop = folder / f"{stem}_loop"
    os.symlink(loop, loop)
    out.append(loop)
    dangling = folder / f"{stem}_dangling"
    os.symlink(folder / "nowhere", dangling)
    out.append(dangling)
    d = folder / f"{stem}_dir"
    d.mkdir()
    out.append(d)
    return out


def _model_cases(root: Path, rng: np.random.Generator, n_random: int) -> list[Case]:
    folder = root / "models"
    folder.mkdir()
    (folder / "base").mkdir()
    bases = _base_models(folder / "base")
    cases = [Case(f"model/valid_{k}", "model", p) for k, p in bases.items()]
    edits = _model_edits()
    targets = ("mlp", "mlp_ens", "linear", "ovr")
    for name, edit in edits.items():
        for target in targets:
            if target == "ovr" and not name.startswith(("n_classes", "params", "header",
                                                        "format", "w_")):
                continue
            if name.startswith("n_classes") and target != "ovr":
                continue
            compressed = len(cases) % 2 == 1
            dst = folder / f"{name}_{target}.npz"
            if target == "ovr" and name.startswith("w_"):
                def edit_ovr(h: dict, a: dict, edit=edit) -> None:
                    sub = {k[5:]: v for k, v in a.items() if k.startswith("est0/")}
                    edit(h, sub)
                    for k in [k for k in a if k.startswith("est0/")]:
                        del a[k]
                    a.update({f"est0/{k}": v for k, v in sub.items()})
                _rewrite(bases[target], dst, edit_ovr, compressed=compressed)
            else:
                _rewrite(bases[target], dst, edit, compressed=compressed)
            cases.append(Case(f"model/{name}_{target}", "model", dst))
    cases += [Case(f"model/raw_{p.name}", "model", p)
              for p in _raw_model_files(folder, bases["mlp"])]
    cases += [Case(f"model/{p.name}", "model", p) for p in _special_files(folder, "model")]
    # random corruption of plain and compressed model files
    sources = []
    for name, p in bases.items():
        sources.append(p)
        z = folder / f"{name}_z.npz"
        header, arrays = load_arrays(p)
        arrays[HEADER_KEY] = np.array(json.dumps(header))
        write_arrays(z, arrays, compressed=True)
        sources.append(z)
    blobs = [p.read_bytes() for p in sources]
    for i in range(n_random):
        k = i % len(sources)
        dst = folder / f"rand{i}_{sources[k].stem}.npz"
        dst.write_bytes(corrupt(blobs[k], rng))
        cases.append(Case(f"model/rand{i}_{sources[k].stem}", "model", dst, random=True))
    return cases


# -- run folders ---------------------------------------------------------------------------
def _base_run(root: Path) -> Path:
    from neuralab.cli import main

    code = main(["train", "--data", "moons", "--model", "mlp", "--hidden", "8",
                 "--epochs", "3", "--set", "data.options.n=100", "--out", str(root),
                 "--name", "base", "--no-plots", "--quiet", "--set", "data.scaling='standardize'"])
    assert code == 0, code
    (run,) = [p for p in root.iterdir() if p.name.startswith("base")]
    return run


PREPROCESS = {
    "not_object": [], "text": "x", "null_json": None, "nested": "NESTED",
    "unknown_key": {"evil": 1}, "n_inputs_huge": {"n_inputs": 10**12},
    "n_inputs_text": {"n_inputs": "2"}, "degree_huge": {"n_inputs": 2, "degree": 10**6},
    "degree_float": {"n_inputs": 2, "degree": 2.5}, "features_unknown": {"features": ["x9"]},
    "features_text": {"features": "x1"}, "features_many": {"features": ["x1"] * 10**5},
    "both_maps": {"features": ["x1"], "degree": 2},
    "scaler_list": {"n_inputs": 2, "scaler": [1]},
    "scaler_kind": {"n_inputs": 2, "scaler": {"kind": "evil"}},
    "scaler_param": {"n_inputs": 2, "scaler": {"kind": "divide", "c": 0}},
    "scaler_param_text": {"n_inputs": 2, "scaler": {"kind": "divide", "c": "255"}},
    "scaler_unknown_param": {"n_inputs": 2, "scaler": {"kind": "standardize", "x": 1,
                                                      "mean_": [0, 0], "scale_": [1, 1]}},
    "scaler_missing_stats": {"n_inputs": 2, "scaler": {"kind": "standardize"}},
    "scaler_nan": {"n_inputs": 2, "scaler": {"kind": "standardize", "mean_": [0, 0],
                                             "scale_": [1, "NaN"]}},
    "scaler_length": {"n_inputs": 2, "scaler": {"kind": "standardize", "mean_": [0],
                                                "scale_": [1]}},
    "scaler_long": {"n_inputs": 2, "scaler": {"kind": "standardize", "mean_": [0] * 10**5,
                                              "scale_": [1] * 10**5}},
    "scaler_zero_scale": {"n_inputs": 2, "scaler": {"kind": "standardize", "mean_": [0, 0],
                                                    "scale_": [0, 1]}},
    "scaler_nested": {"n_inputs": 2, "scaler": {"kind": "standardize", "mean_": [[0, 0]],
                                                "scale_": [[1, 1]]}},
    "minmax_range": {"n_inputs": 2, "scaler": {"kind": "minmax", "feature_range": [1, 0],
                                               "min_": [0, 0], "max_": [1, 1]}},
    "minmax_range_text": {"n_inputs": 2, "scaler": {"kind": "minmax", "feature_range": "ab",
                                                    "min_": [0, 0], "max_": [1, 1]}},
    "wrong_inputs": {"n_inputs": 2, "features": ["x1", "x2", "x1^2"]},
}


def _run_cases(root: Path, rng: np.random.Generator, n_random: int) -> list[Case]:
    folder = root / "runs"
    folder.mkdir()
    base = _base_run(folder)
    cases = [Case("run/valid", "run", base)]

    def variant(name: str, **files: bytes | None) -> Path:
        dst = folder / name
        shutil.copytree(base, dst)
        for fname, data in files.items():
            target = dst / fname.replace("_", ".")
            if data is None:
                target.unlink()
            else:
                target.write_bytes(data)
        return dst

    for name, value in PREPROCESS.items():
        text = ('{"n_inputs": 2, "x": ' + _nested(100_000) + "}" if value == "NESTED"
                else json.dumps(value))
        cases.append(Case(f"run/pre_{name}", "run", variant(f"pre_{name}",
                                                            preprocess_json=text.encode())))
    cases.append(Case("run/pre_not_utf8", "run", variant("pre_not_utf8",
                                                         preprocess_json=b"\xff\xfe{}")))
    cases.append(Case("run/pre_huge", "run", variant("pre_huge", preprocess_json=b" " * (
        20 * 2**20) + b"{}")))
    cases.append(Case("run/pre_not_json", "run", variant("pre_not_json",
                                                         preprocess_json=b"{nope")))
    pre_blob = (base / "preprocess.json").read_bytes()
    model_blob = (base / "model.npz").read_bytes()
    for i in range(n_random):
        if i % 3 == 0:
            dst = variant(f"rand{i}_pre", preprocess_json=corrupt(pre_blob, rng))
        else:
            dst = variant(f"rand{i}_model", model_npz=corrupt(model_blob, rng))
        cases.append(Case(f"run/rand{i}", "run", dst, random=True))
    # a run whose model file is a FIFO or a symlink loop
    for special in ("fifo", "loop"):
        dst = variant(f"model_{special}")
        (dst / "model.npz").unlink()
        if special == "fifo":
            os.mkfifo(dst / "model.npz")
        else:
            os.symlink(dst / "model.npz", dst / "model.npz")
        cases.append(Case(f"run/model_{special}", "run", dst))
    return cases


# -- data files ----------------------------------------------------------------------------
def _npz_cases(folder: Path, rng: np.random.Generator, n_random: int) -> list[Case]:
    folder.mkdir()
    r = np.random.default_rng(1)
    X = r.normal(size=(30, 2))
    y = (X[:, 0] > 0).astype(np.int64)
    variants: dict[str, dict[str, Any]] = {
        "valid": {"X": X, "y": y}, "valid_regression": {"X": X, "y": X[:, 0] * 0.5},
        "y_half": {"X": X, "y": np.full(30, 0.5)}, "y_1e29": {"X": X, "y": np.full(30, 1e29)},
        "y_uint64_max": {"X": X, "y": np.full(30, 2**64 - 1, np.uint64)},
        "y_nan": {"X": X, "y": np.full(30, np.nan)}, "y_inf": {"X": X, "y": np.full(30, np.inf)},
        "x_nan": {"X": np.full((30, 2), np.nan), "y": y},
        "x_complex": {"X": X.astype(complex), "y": y}, "x_object": {
            "X": np.array([{}] * 30, dtype=object), "y": y},
        "x_text": {"X": np.full((30, 2), "a"), "y": y}, "y_text": {"X": X, "y": np.array(
            ["a"] * 30)}, "x_datetime": {"X": np.zeros((30, 2), "M8[s]"), "y": y},
        "x_0d": {"X": np.array(1.0), "y": y}, "y_2d": {"X": X, "y": np.ones((30, 3))},
        "mismatch": {"X": X, "y": y[:5]}, "missing_y": {"X": X}, "empty": {},
        "x_structured": {"X": np.zeros(30, [("a", "f8")]), "y": y},
    }
    cases = []
    for name, arrays in variants.items():
        for compressed in (False, True):
            p = folder / f"{name}{'_z' if compressed else ''}.npz"
            write_arrays(p, arrays, compressed=compressed)
            cases.append(Case(f"npz/{p.stem}", "npz", p))
    stored = (folder / "valid.npz").read_bytes()
    (folder / "declares_3gb.npz").write_bytes(patch_zip(stored, "size", 3 * 2**30))
    (folder / "bomb.npz").write_bytes(deflated_member("X.npy", raw_npy(  # 100 MiB of zeros
        "{'descr': '<f4', 'fortran_order': False, 'shape': (13107200, 2), }"), 100 * 2**20))
    cases += [Case("npz/declares_3gb", "npz", folder / "declares_3gb.npz"),
              Case("npz/bomb", "npz", folder / "bomb.npz")]
    cases += [Case(f"npz/{p.name}", "npz", p) for p in _special_files(folder, "npz")]
    blobs = [(folder / "valid.npz").read_bytes(), (folder / "valid_z.npz").read_bytes()]
    for i in range(n_random):
        p = folder / f"rand{i}.npz"
        p.write_bytes(corrupt(blobs[i % 2], rng))
        cases.append(Case(f"npz/rand{i}", "npz", p, random=True))
    return cases


def _csv_cases(folder: Path, rng: np.random.Generator, n_random: int) -> list[Case]:
    folder.mkdir()
    good = "x1,x2,label\n" + "".join(f"{i * 0.1:.1f},{-i * 0.2:.1f},{i % 2}\n"
                                     for i in range(20))
    texts: dict[str, bytes] = {
        "valid": good.encode(), "label_1e29": b"x1,x2,label\n1,2,1e29\n3,4,0\n",
        "label_nan": b"x1,x2,label\n1,2,nan\n3,4,0\n", "label_inf": b"x1,x2,label\n1,2,inf\n",
        "x_nan": b"x1,x2,label\n1,nan,1\n3,4,0\n", "x_inf": b"x1,x2,label\n1e999,2,1\n3,4,0\n",
        "x_f32_overflow": b"x1,x2,label\n1e39,2,1\n3,4,0\n",
        "field_200k": b"x1,x2,label\n" + b"1" * 200_000 + b",2,1\n",
        "field_quote_200k": b'x1,x2,label\n"' + b"a" * 200_000 + b'",2,1\n',
        "nul": b"x1,x2,label\n1,\x002,1\n", "latin1": b"x1,x2,label\n1,2,\xe9\n",
        "binary": bytes(range(256)) * 8, "empty": b"", "header_only": b"x1,x2,label\n",
        "no_label": b"a,b\n1,2\n", "ragged": b"x1,x2,label\n1,2\n",
        "text_x": b"x1,x2,label\n1,two,1\n", "bom": b"\xef\xbb\xbfx1,x2,label\n1,2,1\n3,4,0\n",
        "one_class_text": b"x1,x2,label\n1,2,a\n", "huge_int": b"x1,x2,label\n1,2," + b"9" * 5000
        + b"\n3,4,0\n", "unterminated": b'x1,x2,label\n"1,2,1\n',
    }
    cases = []
    for name, data in texts.items():
        p = folder / f"{name}.csv"
        p.write_bytes(data)
        cases.append(Case(f"csv/{name}", "csv", p))
    cases += [Case(f"csv/{p.name}", "csv", p) for p in _special_files(folder, "csv")]
    for i in range(n_random):
        p = folder / f"rand{i}.csv"
        p.write_bytes(corrupt(texts["valid"], rng))
        cases.append(Case(f"csv/rand{i}", "csv", p, random=True))
    return cases


def _medmnist_arrays() -> dict[str, np.ndarray]:
    r = np.random.default_rng(3)
    out = {}
    for split, n in (("train", 12), ("val", 6), ("test", 8)):
        out[f"{split}_images"] = r.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        out[f"{split}_labels"] = r.integers(0, 4, (n, 1)).astype(np.uint8)
    return out


def _medmnist_cases(folder: Path, rng: np.random.Generator, n_random: int) -> list[Case]:
    folder.mkdir()
    base = _medmnist_arrays()

    def changed(**kw: Any) -> dict[str, Any]:
        a = dict(base)
        for k, v in kw.items():
            if v is None:
                a.pop(k)
            else:
                a[k] = v
        return a

    variants = {
        "valid": base, "labels_half": changed(train_labels=np.full((12, 1), 0.5)),
        "labels_float_ok": changed(train_labels=base["train_labels"].astype(float)),
        "labels_7": changed(val_labels=np.full((6, 1), 7)),
        "labels_negative": changed(val_labels=np.full((6, 1), -1)),
        "labels_nan": changed(val_labels=np.full((6, 1), np.nan)),
        "labels_1e29": changed(val_labels=np.full((6, 1), 1e29)),
        "labels_multi": changed(val_labels=np.zeros((6, 3))),
        "labels_0d": changed(val_labels=np.array(1)),
        "labels_text": changed(val_labels=np.full((6, 1), "a")),
        "images_float": changed(train_images=base["train_images"].astype(float)),
        "images_32": changed(train_images=np.zeros((12, 32, 32), np.uint8)),
        "images_1d": changed(train_images=np.zeros(12, np.uint8)),
        "images_object": changed(train_images=np.array([None] * 12, dtype=object)),
        "missing_val": changed(val_images=None),
        "count_mismatch": changed(test_labels=np.zeros((3, 1), np.uint8)),
    }
    cases = []
    for name, arrays in variants.items():
        for compressed in (False, True):
            p = folder / f"{name}{'_z' if compressed else ''}.npz"
            write_arrays(p, arrays, compressed=compressed)
            cases.append(Case(f"medmnist/{p.stem}", "medmnist", p))
    p = folder / "declares_3gb.npz"
    p.write_bytes(patch_zip((folder / "valid.npz").read_bytes(), "size", 3 * 2**30))
    cases.append(Case("medmnist/declares_3gb", "medmnist", p))
    cases += [Case(f"medmnist/{p.name}", "medmnist", p)
              for p in _special_files(folder, "medmnist")]
    blobs = [(folder / "valid.npz").read_bytes(), (folder / "valid_z.npz").read_bytes()]
    for i in range(n_random):
        p = folder / f"rand{i}.npz"
        p.write_bytes(corrupt(blobs[i % 2], rng))
        cases.append(Case(f"medmnist/rand{i}", "medmnist", p, random=True))
    return cases


def _idx_folder(folder: Path, gz: bool = True) -> None:
    folder.mkdir(parents=True)
    r = np.random.default_rng(2)
    for (images, labels), n in zip(SPLIT_FILES.values(), (12, 6), strict=True):
        sfx = ".gz" if gz else ""
        write_idx(folder / (images + sfx), r.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(folder / (labels + sfx), r.integers(0, 10, n).astype(np.uint8))


def _idx_header(magic: int, dims: tuple[int, ...]) -> bytes:
    return magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in dims)


def _idx_cases(folder: Path, rng: np.random.Generator, n_random: int) -> list[Case]:
    folder.mkdir()
    base = folder / "valid"
    _idx_folder(base)
    raw = folder / "valid_raw"
    _idx_folder(raw, gz=False)
    cases = [Case("idx/valid", "idx", base), Case("idx/valid_raw", "idx", raw)]
    img = SPLIT_FILES["train"][0] + ".gz"
    lab = SPLIT_FILES["train"][1] + ".gz"
    payloads: dict[str, tuple[str, bytes]] = {
        "dims_huge": (img, gzip.compress(_idx_header(0x803, (60000, 100000, 100000)))),
        "dims_overflow": (img, gzip.compress(bytes([0, 0, 8, 255]) + b"\xff" * 1020)),
        "dims_wrap": (img, gzip.compress(bytes([0, 0, 8, 3]) + (2**32 - 1).to_bytes(4, "big")
                                         + (0).to_bytes(4, "big") + (5).to_bytes(4, "big"))),
        "longer_bomb": (img, deflated(_idx_header(0x803, (12, 28, 28)), 12 * 784 + 2**27,
                                      gzip_container=True)),
        "ratio_bomb": (img, deflated(_idx_header(0x803, (120_000, 28, 28)), 120_000 * 784,
                                     gzip_container=True)),
        "truncated_gz": (img, gzip.compress(_idx_header(0x803, (12, 28, 28))
                                            + bytes(12 * 784))[:-30]),
        "bad_magic": (img, gzip.compress(_idx_header(0x801, (12,)) + bytes(12))),
        "wrong_type": (img, gzip.compress(_idx_header(0xD03, (12, 28, 28))
                                          + bytes(12 * 784 * 4))),
        "image_size": (img, gzip.compress(_idx_header(0x803, (12, 20, 20)) + bytes(12 * 400))),
        "labels_big": (lab, gzip.compress(_idx_header(0x801, (12,)) + bytes([200]) * 12)),
        "labels_count": (lab, gzip.compress(_idx_header(0x801, (5,)) + bytes(5))),
        "not_gzip": (img, b"\x1f\x8b" + bytes(100)),
        "empty": (img, b""), "text": (img, b"hello world\n"),
        "zero_dims": (img, gzip.compress(bytes([0, 0, 8, 0]))),
    }
    for name, (fname, data) in payloads.items():
        dst = folder / name
        shutil.copytree(base, dst)
        (dst / fname).write_bytes(data)
        cases.append(Case(f"idx/{name}", "idx", dst))
    for special in ("fifo", "loop", "dir"):
        dst = folder / f"special_{special}"
        shutil.copytree(base, dst)
        (dst / img).unlink()
        if special == "fifo":
            os.mkfifo(dst / img)
        elif special == "loop":
            os.symlink(dst / img, dst / img)
        else:
            (dst / img).mkdir()
        cases.append(Case(f"idx/special_{special}", "idx", dst))
    files = [(base, f) for f in sorted(p.name for p in base.iterdir())] + \
            [(raw, f) for f in sorted(p.name for p in raw.iterdir())]
    blobs = {(src, f): (src / f).read_bytes() for src, f in files}
    for i in range(n_random):
        src, fname = files[i % len(files)]
        dst = folder / f"rand{i}"
        shutil.copytree(src, dst)
        (dst / fname).write_bytes(corrupt(blobs[(src, fname)], rng))
        cases.append(Case(f"idx/rand{i}", "idx", dst, random=True))
    return cases


# -- the corpus ----------------------------------------------------------------------------
RANDOM_COUNTS = {"model": 300, "run": 40, "npz": 80, "csv": 60, "medmnist": 80, "idx": 80}
# Hand-made cases that are valid files and must load (everything else hand-made is refused):
# weights in another float type or byte order are the same numbers; a regressor ignores
# stored classes; 0.5 labels in an NPZ make a regression set; float MedMNIST labels that
# are whole numbers are labels.
EXPECT_LOADS = {"model/valid_mlp", "model/valid_mlp_ens", "model/valid_logistic",
                "model/valid_perceptron", "model/valid_linear", "model/valid_mlp_reg",
                "model/valid_ovr", "model/classes_many_linear", "run/valid",
                *(f"model/w_{kind}_{target}" for kind in ("float16", "bigendian", "fortran")
                  for target in ("mlp", "mlp_ens", "linear", "ovr")),
                "npz/valid", "npz/valid_z", "npz/valid_regression", "npz/valid_regression_z",
                "npz/y_half", "npz/y_half_z", "csv/valid", "csv/bom", "csv/one_class_text",
                "medmnist/valid", "medmnist/valid_z", "medmnist/labels_float_ok",
                "medmnist/labels_float_ok_z", "idx/valid", "idx/valid_raw"}


def build(root: Path, seed: int = 0, counts: dict[str, int] | None = None) -> list[Case]:
    """Write the corpus under ``root``; returns its cases (same seed, same files)."""
    counts = {**RANDOM_COUNTS, **(counts or {})}
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    cases = _model_cases(root, rng, counts["model"])
    cases += _run_cases(root, rng, counts["run"])
    cases += _npz_cases(root / "npz", rng, counts["npz"])
    cases += _csv_cases(root / "csv", rng, counts["csv"])
    cases += _medmnist_cases(root / "medmnist", rng, counts["medmnist"])
    cases += _idx_cases(root / "idx", rng, counts["idx"])
    write_points(root)
    return cases


def write_points(root: Path) -> None:
    """CSVs of input points for ``predict``: 3 columns (base models), 2 (the run)."""
    (root / "points3.csv").write_text("a,b,c\n0.1,0.2,0.3\n-1,0.5,2\n")
    (root / "points2.csv").write_text("x1,x2\n0.1,0.2\n-1,0.5\n")


# -- reading a case ------------------------------------------------------------------------
def load_api(case: Case) -> Any:
    """Read ``case`` through the Python API, as a user's script would."""
    from neuralab import data
    from neuralab.data.prepare import read_preprocess
    from neuralab.models import load

    p = case.path
    if case.kind == "model":
        return load(p)
    if case.kind == "run":
        est = load(p / "model.npz")
        return est, read_preprocess(p / "preprocess.json", n_features=est.n_features_in_)
    if case.kind == "npz":
        return data.load_npz(p)
    if case.kind == "csv":
        return data.load_csv(p)
    if case.kind == "medmnist":
        return data.load_medmnist("octmnist", path=p, download=False)
    if case.kind == "idx":
        return data.load_idx_set("mnist", root=p, download=False)
    raise AssertionError(case.kind)


def cli_argv(case: Case, root: Path, out: Path) -> list[list[str]]:
    """The ``neuralab`` commands that read ``case`` (each writes only under ``out``)."""
    p = str(case.path)
    if case.kind == "model":
        return [["predict", p, str(root / "points3.csv"), "-o", str(out / "pred.csv")]]
    if case.kind == "run":
        return [["eval", p, "--offline"],
                ["predict", p, str(root / "points2.csv"), "-o", str(out / "pred.csv")]]
    picture = ["-o", str(out / "show.png"), "--offline"]
    if case.kind in ("npz", "csv"):
        return [["data", "show", case.kind, "--path", p, *picture]]
    if case.kind == "medmnist":
        return [["data", "show", "octmnist", "--path", p, *picture]]
    if case.kind == "idx":
        return [["data", "show", "mnist", "--root", p, *picture]]
    raise AssertionError(case.kind)
