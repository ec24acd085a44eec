"""Fixtures shared across the test tree (kept small: most helpers live next to their tests)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def torch_double() -> Iterator[Any]:
    """PyTorch in float64 on one thread for this test only (skips when torch is missing)."""
    torch = pytest.importorskip("torch")
    dtype, threads = torch.get_default_dtype(), torch.get_num_threads()
    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(1)
    try:
        yield torch
    finally:
        torch.set_default_dtype(dtype)
        torch.set_num_threads(threads)


@pytest.fixture
def here(tmp_path, monkeypatch) -> Any:
    """A fresh working folder for a command-line test (figures headless)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    return tmp_path
