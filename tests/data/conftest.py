"""Fixtures for the data tests (helpers live in data_helpers.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from data_helpers import FileServer


@pytest.fixture
def file_server() -> Iterator[FileServer]:
    with FileServer() as server:
        yield server


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache folder as $NEURALAB_DATA, with no mirror or offline override."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("NEURALAB_DATA", str(folder))
    monkeypatch.delenv("NEURALAB_MIRROR", raising=False)
    monkeypatch.delenv("NEURALAB_OFFLINE", raising=False)
    return folder
