"""Downloads through a local HTTP server on 127.0.0.1: never the real network."""

from __future__ import annotations

import dataclasses
import gzip
import urllib.request

import numpy as np
import pytest
from data_helpers import fake_images, leftovers, md5, write_medmnist

from neuralab import data
from neuralab.data import download as dl
from neuralab.data import medmnist, mnist
from neuralab.data.idx import write_idx
from neuralab.data.mnist import SPLIT_FILES
from neuralab.exceptions import DataError


@pytest.fixture
def no_network(monkeypatch):
    """Fail the test if anything opens a URL."""
    def refuse(*args, **kwargs):
        raise AssertionError("the network was touched")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


def serve_idx_set(server, tmp_path) -> dict[str, str]:
    """Put a small MNIST-format set on ``server``; returns md5 per file name."""
    src = tmp_path / "src"
    src.mkdir()
    arrays = {"train": fake_images(30, 1), "test": fake_images(10, 2)}
    sums = {}
    for split, names in SPLIT_FILES.items():
        for name, array in zip(names, arrays[split], strict=True):
            body = write_idx(src / f"{name}.gz", array).read_bytes()
            server.files[f"{name}.gz"] = body
            sums[f"{name}.gz"] = md5(body)
    return sums


def test_download_ok_verifies_and_renames(cache, file_server):
    body = bytes(range(256)) * 100
    file_server.files["blob.bin"] = body
    remote = dl.RemoteFile("blob.bin", "https://example.invalid/blob.bin", md5=md5(body))
    path = dl.download(remote, cache / "x" / "blob.bin", mirror=file_server.url, progress=False)
    assert path.read_bytes() == body
    assert leftovers(cache) == ["x/blob.bin"]
    assert file_server.requests == ["blob.bin"]


def test_download_checksum_mismatch_leaves_nothing(cache, file_server):
    file_server.files["blob.bin"] = b"tampered"
    remote = dl.RemoteFile("blob.bin", "https://example.invalid/blob.bin", md5="0" * 32)
    with pytest.raises(DataError, match=r"blob\.bin .* failed verification: md5 checksum "
                                        "mismatch: expected 0{32}"):
        dl.download(remote, cache / "blob.bin", mirror=file_server.url, progress=False)
    assert leftovers(cache) == []


def test_download_sha256_checked(cache, file_server):
    import hashlib

    file_server.files["a"] = b"abc"
    good = dl.RemoteFile("a", "u", sha256=hashlib.sha256(b"abc").hexdigest())
    dl.download(good, cache / "a", mirror=file_server.url, progress=False)
    bad = dataclasses.replace(good, sha256="f" * 64)
    with pytest.raises(DataError, match="sha256 checksum mismatch"):
        dl.download(bad, cache / "b", mirror=file_server.url, progress=False)
    assert leftovers(cache) == ["a"]


def test_interrupted_download_leaves_nothing(cache, file_server):
    body = b"x" * 100_000
    file_server.files["big.gz"] = body
    file_server.cut.add("big.gz")
    remote = dl.RemoteFile("big.gz", "https://example.invalid/big.gz", md5=md5(body))
    with pytest.raises(DataError, match=r"big\.gz .* (interrupted|could not download)"):
        dl.download(remote, cache / "big.gz", mirror=file_server.url, progress=False)
    assert leftovers(cache) == []


def test_missing_file_on_server(cache, file_server):
    remote = dl.RemoteFile("nope.gz", "https://example.invalid/nope.gz", md5="0" * 32)
    with pytest.raises(DataError, match=r"could not download nope\.gz from http://127\.0\.0\.1"):
        dl.download(remote, cache / "nope.gz", mirror=file_server.url, progress=False)
    assert leftovers(cache) == []


def test_load_mnist_downloads_into_cache(cache, file_server, tmp_path, monkeypatch):
    sums = serve_idx_set(file_server, tmp_path)
    spec = dataclasses.replace(mnist.IDX_SETS["mnist"], md5=sums)
    monkeypatch.setitem(mnist.IDX_SETS, "mnist", spec)
    monkeypatch.setenv("NEURALAB_MIRROR", file_server.url)
    splits = data.load("mnist", n_train=20)
    assert splits.sizes == {"train": 20, "test": 10}
    assert sorted(leftovers(cache)) == sorted(f"mnist/{n}" for n in sums)
    assert data.info("mnist").is_offline()
    # second load reads the cache without the network
    monkeypatch.setattr(urllib.request, "urlopen", None)
    assert len(data.load("mnist", download=False).train) == 30


def test_load_mnist_real_checksums_reject_other_files(cache, file_server, tmp_path):
    serve_idx_set(file_server, tmp_path)
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz .* md5 checksum mismatch: "
                                        "expected f68b3c2dcbeaaa9fbdd348bbdeb94873"):
        data.load("mnist", mirror=file_server.url)
    assert leftovers(cache) == []


def test_get_octmnist_through_mirror_and_verify_cache(cache, file_server, tmp_path, monkeypatch):
    write_medmnist(tmp_path / "octmnist.npz")
    body = (tmp_path / "octmnist.npz").read_bytes()
    file_server.files["octmnist.npz"] = body
    spec = dataclasses.replace(medmnist.MEDMNIST["octmnist"], md5=md5(body))
    monkeypatch.setitem(medmnist.MEDMNIST, "octmnist", spec)
    info = dataclasses.replace(data.info("octmnist"), remotes=(spec.remote,))
    monkeypatch.setitem(data.registry.REGISTRY, "octmnist", info)
    [path] = data.get("octmnist", mirror=file_server.url, progress=False)
    assert path == cache / "octmnist" / "octmnist.npz" and path.read_bytes() == body
    assert len(data.load("octmnist", download=False).test) == 570
    path.write_bytes(body[:-1] + b"!")  # corrupted in the cache: get says so
    with pytest.raises(DataError, match="fails verification"):
        data.get("octmnist")


def test_offline_never_touches_network(cache, no_network, monkeypatch):
    with pytest.raises(DataError, match=r"mnist: train-images-idx3-ubyte\.gz is not in .* "
                                        r"downloading is off \(offline\); run `neuralab data "
                                        r"get mnist`"):
        data.load("mnist", download=False)
    with pytest.raises(DataError, match=r"octmnist\.npz is not in"):
        data.get("octmnist", download=False)
    elsewhere = cache.parent / "my data"  # not the cache: the hint fills this very folder
    with pytest.raises(DataError, match=r"run `neuralab data get mnist --root '.*my data'`"):
        data.load("mnist", root=elsewhere, download=False)
    monkeypatch.setenv("NEURALAB_OFFLINE", "1")
    with pytest.raises(DataError, match="offline"):
        data.load("kmnist")  # download=True, but the environment forbids it
    assert not data.info("kmnist").is_offline()
    assert leftovers(cache) == []


def test_progress_bar_runs(cache, file_server):
    body = gzip.compress(np.arange(1000).tobytes())
    file_server.files["p.gz"] = body
    remote = dl.RemoteFile("p.gz", "u", md5=md5(body))
    assert dl.download(remote, cache / "p.gz", mirror=file_server.url, progress=True).is_file()


def test_cache_dir_rules(monkeypatch, tmp_path):
    monkeypatch.setenv("NEURALAB_DATA", str(tmp_path))
    assert dl.cache_dir() == tmp_path
    monkeypatch.delenv("NEURALAB_DATA")
    assert str(dl.cache_dir()).endswith(".cache/neuralab")
    assert dl.cache_dir("~/x") == dl.cache_dir("~/x").expanduser()
