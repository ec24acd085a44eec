"""Issue #3 read as an outside tester: failures say what to do, `data list` fits COLUMNS."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from data_helpers import leftovers
from rich.cells import cell_len

from neuralab import data
from neuralab.data import download as dl
from neuralab.exceptions import DataError


def test_network_error_says_what_to_do(cache, file_server):
    # a failed download (here: a file the server does not have) is one line naming the
    # file and what to do next, not only the socket's reason
    remote = dl.RemoteFile("nope.gz", "https://example.invalid/nope.gz", md5="0" * 32)
    with pytest.raises(DataError) as info:
        dl.download(remote, cache / "mnist" / "nope.gz", mirror=file_server.url, progress=False)
    msg = str(info.value)
    assert "\n" not in msg
    assert "could not download nope.gz" in msg
    assert f"put the file into {cache / 'mnist'} yourself" in msg
    assert "--mirror" in msg and "try again" in msg
    assert leftovers(cache) == []


def test_missing_medmnist_path_says_how_to_get_it(cache, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError) as info:
        data.load("octmnist", path="octmnist.npz")
    msg = str(info.value)
    assert "octmnist.npz" in msg and "does not exist" in msg
    assert "`neuralab data get octmnist`" in msg and str(cache / "octmnist") in msg


def test_data_list_piped_with_columns_80_fits(tmp_path):
    # an outside test runs the command through a pipe with COLUMNS=80: every line fits
    env = {**os.environ, "NEURALAB_OFFLINE": "1", "COLUMNS": "80",
           "NEURALAB_DATA": str(tmp_path / "cache")}
    proc = subprocess.run([sys.executable, "-m", "neuralab", "data", "list"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert max(cell_len(s) for s in lines) <= 80, lines
    firsts = {s.split()[0] for s in lines if s.strip()}
    assert {"moons", "playground-multi-gauss", "octmnist", "mnist1d"} <= firsts


def test_data_list_piped_without_columns_keeps_one_row_per_set(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    env.update(NEURALAB_OFFLINE="1", NEURALAB_DATA=str(tmp_path / "cache"))
    proc = subprocess.run([sys.executable, "-m", "neuralab", "data", "list"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)
    row = next(s for s in proc.stdout.splitlines() if s.split()[:1] == ["octmnist"])
    assert "train 97,477, val 10,832, test 1,000" in row and row.rstrip().endswith(" no")


def test_cli_missing_path_names_the_real_cache(tmp_path, monkeypatch):
    from neuralab.experiments.config import ConfigError, DataConfig
    from neuralab.experiments.prepare import check_data_files

    monkeypatch.setenv("NEURALAB_DATA", str(tmp_path / "mycache"))
    with pytest.raises(ConfigError) as info:
        check_data_files(DataConfig(name="octmnist", path=str(tmp_path / "x.npz")))
    assert str(Path(tmp_path / "mycache" / "octmnist")) in str(info.value)
    assert "~/.cache/neuralab" not in str(info.value)
