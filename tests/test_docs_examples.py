"""Every ```python block of the README and the user guides runs, in order, one namespace each."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# data.md is left out: its examples load MNIST and OCTMNIST files, which need a download.
GUIDES = ["README.md", "docs/engine.md", "docs/models.md"]


@pytest.mark.parametrize("name", GUIDES)
def test_guide_examples_run(name: str, tmp_path, monkeypatch, capsys) -> None:
    doc = ROOT / name
    blocks = re.findall(r"```python\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)
    assert blocks, f"{name} should show runnable examples"
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    monkeypatch.setenv("NEURALAB_OFFLINE", "1")
    namespace: dict = {}
    for i, block in enumerate(blocks):
        exec(compile(block, f"{doc.name} block {i}", "exec"), namespace)
