"""The user guide's examples work as written.

- Every ```python block of the README and the guides runs, in order, one namespace each (in an
  empty folder, offline; data.md's MNIST and OCTMNIST loads read small stand-in files put
  where the guide's calls look for them).
- docs/config.md's table of keys gives the defaults the config really has.
- The guides' ```bash blocks run top to bottom in a fresh shell (``tests/test_readme.py``'s
  runner), except the lines that download.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
GUIDES = ["README.md", "docs/engine.md", "docs/models.md", "docs/data.md",
          "docs/experiments.md"]


def python_blocks(markdown: str) -> list[str]:
    """Every fenced ```python block, in order (a block indented in a list is an error: it
    cannot be pasted into ``python`` as it is)."""
    return re.findall(r"^```python\n(.*?)^```", markdown, flags=re.S | re.M)


def stand_in_data(home: Path, cache: Path) -> None:
    """Small files of the real formats where docs/data.md's calls read them: MNIST's four IDX
    files in ``~/data/mnist`` and OCTMNIST's .npz in the cache (the IST test subset needs
    182 / 55 / 42 / 250 test images of classes 0-3)."""
    from neuralab.data import write_idx

    rng = np.random.default_rng(0)
    mnist = home / "data" / "mnist"
    mnist.mkdir(parents=True)
    for prefix, n in (("train", 60), ("t10k", 20)):
        write_idx(mnist / f"{prefix}-images-idx3-ubyte.gz",
                  rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(mnist / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n, dtype=np.uint8) % 10)
    octmnist = cache / "octmnist"
    octmnist.mkdir(parents=True)
    test_labels = np.repeat(np.arange(4), [190, 60, 50, 260])
    arrays = {"test_labels": test_labels[:, None].astype(np.uint8)}
    for split, n in (("train", 40), ("val", 8)):
        arrays[f"{split}_labels"] = (np.arange(n) % 4)[:, None].astype(np.uint8)
    for split in ("train", "val", "test"):
        arrays[f"{split}_images"] = rng.integers(
            0, 256, (len(arrays[f"{split}_labels"]), 28, 28), dtype=np.uint8)
    np.savez(octmnist / "octmnist.npz", **arrays)


def test_an_indented_block_is_not_a_python_block():
    text = "- a list item\n  ```python\n  x = 1\n  ```\n```python\ny = 2\n```\n"
    assert python_blocks(text) == ["y = 2\n"]


@pytest.mark.parametrize("name", GUIDES)
def test_guide_examples_run(name: str, tmp_path, monkeypatch) -> None:
    doc = ROOT / name
    text = doc.read_text(encoding="utf-8")
    blocks = python_blocks(text)
    assert blocks, f"{name} should show runnable examples"
    # an indented block (inside a list) cannot be pasted into python as it is
    assert not re.search(r"^[ \t]+```python", text, flags=re.M), f"{name}: indented example"
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    (tmp_path / "examples").symlink_to(ROOT / "examples")  # as from the repository's root
    monkeypatch.setenv("NEURALAB_OFFLINE", "1")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NEURALAB_DATA", str(tmp_path / "cache"))
    stand_in_data(tmp_path / "home", tmp_path / "cache")
    namespace: dict = {}
    for i, block in enumerate(blocks):
        exec(compile(block, f"{doc.name} block {i}", "exec"), namespace)


# ---------------------------------------------------------------- docs/config.md's defaults

MODEL_KINDS = ("perceptron", "logistic", "linear", "mlp", "mlp_regressor", "cnn", "ovr")


def documented_defaults(markdown: str) -> list[tuple[str, str, object]]:
    """(key, model kind or data name, default) for every cell of docs/config.md's key tables
    that gives a value: "`v`" (the default model, mlp, or the data set moons), "a, b: `v`"
    (those kinds or data sets), "`v` (a, b)" (a key of those kinds only); "unset" is None."""
    out = []
    for key, cell in re.findall(r"^\| `([a-z_]+\.[a-z_.]+)` \| (.*?) \|", markdown, flags=re.M):
        only = re.search(r" \(([a-z_, ]+)\)$", cell)
        if only:
            cell = cell[:only.start()]
        plain = [only.group(1).split(", ")[0]] if only else (
            ["moons"] if key.startswith("data.") else ["mlp"])
        for part in cell.split("; "):
            m = re.fullmatch(r"(?:([a-z_, ]+): )?(`([^`]*)`|unset)", part)
            if not m:
                continue  # prose ("(table)", "the base's defaults")
            value = None if m.group(2) == "unset" else tomllib.loads(f"v = {m.group(3)}")["v"]
            names = m.group(1).split(", ") if m.group(1) else plain
            out += [(key, "digits" if n == "others" else n, value) for n in names]
    return out


def resolved(key: str, name: str):
    from neuralab.experiments.config import parse_config

    section = {"data": {"name": name}} if key.startswith("data.") else {"model": {"kind": name}}
    value = parse_config(section)
    for part in key.split("."):
        value = getattr(value, part)
    return value


def test_config_md_gives_the_real_defaults():
    text = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    cells = documented_defaults(text)
    checked = {key for key, _, _ in cells}
    for key in ("train.epochs", "train.batch_size", "train.eval_every", "optim.lr",
                "data.options", "model.init"):
        assert key in checked, f"docs/config.md: no default read for {key}"
    wrong = [(key, name, value, resolved(key, name)) for key, name, value in cells
             if resolved(key, name) != value]
    assert not wrong, "docs/config.md gives defaults the config does not have " \
        "(key, model or data, documented, real):\n" + "\n".join(map(str, wrong))


def test_the_defaults_reader_reads_each_form_of_cell():
    text = ('| `train.batch_size` | `32`; logistic: `64`; perceptron, linear: `"full"` | x |\n'
            '| `model.mode` | `"online"` (perceptron) | x |\n'
            '| `data.options` | moons: `{n = 2}`; others: `{}` | x |\n'
            '| `data.path` | unset | x |\n| `train.early_stopping` | (table) | x |\n')
    assert documented_defaults(text) == [
        ("train.batch_size", "mlp", 32), ("train.batch_size", "logistic", 64),
        ("train.batch_size", "perceptron", "full"), ("train.batch_size", "linear", "full"),
        ("model.mode", "perceptron", "online"), ("data.options", "moons", {"n": 2}),
        ("data.options", "digits", {}), ("data.path", "moons", None)]


# ---------------------------------------------------------------- the guides' shell blocks

SHELL_GUIDES = ["docs/experiments.md", "docs/data.md"]
DOWNLOADS = re.compile(r"^neuralab data get\b")


@pytest.mark.slow
@pytest.mark.parametrize("name", SHELL_GUIDES)
def test_guide_commands_run_top_to_bottom(name: str, tmp_path) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from test_readme import VENV, commands, fresh_folder, run_commands

    if not (VENV / "bin" / "activate").is_file():
        pytest.skip("not running from a virtual environment")
    cmds = [c for c in commands((ROOT / name).read_text(encoding="utf-8"))
            if not DOWNLOADS.match(c)]
    assert cmds, f"{name} has no ```bash block"
    folder = fresh_folder(tmp_path)
    # the guides assume the README's first command: the environment is active
    outcome = run_commands(["source .venv/bin/activate", *cmds], folder)
    assert outcome.returncode == 0, (
        f"{name}: command failed: {outcome.failed}\n{outcome.output[-3000:]}")
