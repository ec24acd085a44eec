"""The README's shell commands run as written, top to bottom, in a fresh shell.

Every fenced ``bash`` block of README.md is run in order by one ``bash`` process in an empty
folder holding only ``examples/`` and the project's ``.venv`` (both linked), with a bare PATH:
``neuralab`` is found only because the README's first command activates the environment.
The parts that install (``python3 -m venv``, ``pip install``, ``bash .ci/run``) are left out;
the rest of each line runs, so the first command still activates the environment and trains.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VENV = Path(sys.prefix)
INSTALLS = re.compile(r"^(python3? -m venv\b|\S*pip install\b|bash \.ci/run\b)")
MARK = "::readme-command::"


def bash_blocks(markdown: str) -> list[str]:
    """The text of every fenced ```bash block, in order."""
    return re.findall(r"^```bash\n(.*?)^```", markdown, flags=re.S | re.M)


def commands(markdown: str) -> list[str]:
    """The README's commands in order, one per line (``\\`` continuations joined), with the
    installing parts of each ``&&`` chain left out."""
    out = []
    for block in bash_blocks(markdown):
        for line in block.replace("\\\n", " ").splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            parts = [p.strip() for p in line.split("&&")]
            kept = [p for p in parts if not INSTALLS.match(p)]
            if kept:
                out.append(" && ".join(kept))
    return out


@dataclass
class Outcome:
    returncode: int
    failed: str | None  # the command that failed, None when all ran
    output: str


def run_commands(cmds: list[str], folder: Path, timeout: float = 1500) -> Outcome:
    """Run ``cmds`` in order in one fresh ``bash`` in ``folder``; stop at the first failure."""
    script = ["set -eo pipefail"]
    for i, cmd in enumerate(cmds):
        script += [f"echo {shlex.quote(f'{MARK}{i}')} >&2", cmd]
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(folder / "home"),
           "LANG": "C.UTF-8", "MPLBACKEND": "Agg", "NEURALAB_OFFLINE": "1",
           "NEURALAB_DATA": str(folder / "data-cache"), "COLUMNS": "80"}
    proc = subprocess.run(["bash", "--noprofile", "--norc", "-c", "\n".join(script)],
                          cwd=folder, env=env, capture_output=True, text=True,
                          timeout=timeout)
    started = [int(m) for m in re.findall(rf"{MARK}(\d+)", proc.stderr)]
    failed = cmds[started[-1]] if proc.returncode != 0 and started else None
    return Outcome(proc.returncode, failed, proc.stdout + proc.stderr)


def fresh_folder(tmp_path: Path) -> Path:
    (tmp_path / "home").mkdir()
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    (tmp_path / ".venv").symlink_to(VENV)
    return tmp_path


def test_commands_are_extracted_without_the_installs():
    text = ("x\n```bash\npython3 -m venv .venv && source .venv/bin/activate && pip install "
            "-e '.[cli]' && neuralab train --data moons\n```\n```bash\nbash .ci/run\n```\n"
            "```python\nprint(1)\n```\n```bash\n# a comment\nneuralab report \\\n  runs/*\n```\n")
    assert commands(text) == ["source .venv/bin/activate && neuralab train --data moons",
                              "neuralab report    runs/*"]


def test_a_failing_command_fails_and_is_named(tmp_path):
    folder = fresh_folder(tmp_path)
    outcome = run_commands(["true", "neuralab --help", "false", "echo never"], folder)
    assert outcome.returncode != 0
    # a bare PATH: neuralab is not found before the README activates the environment
    assert outcome.failed == "neuralab --help"
    outcome = run_commands(["true", "ls /nonexistent-folder", "echo never"], folder)
    assert outcome.failed == "ls /nonexistent-folder" and "never" not in outcome.output


def test_the_two_commands_open_the_readme():
    """The first two commands are the main job and the full test suite, before anything else,
    and the second is CI's own entry point, which ends in the whole pytest run."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    top = text.split("\n## ", 2)[1]  # the section after the title's paragraph
    assert top.startswith("Two commands"), top[:40]
    assert bash_blocks(top) == bash_blocks(text)[:2] and len(bash_blocks(top)) == 2
    main, suite = (b.strip() for b in bash_blocks(top))
    assert main == ("python3 -m venv .venv && source .venv/bin/activate && "
                    "pip install -e '.[cli]' && neuralab train --data moons --model mlp")
    assert suite == "bash .ci/run"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r'^\.venv/bin/python -m pytest .*"\$@"$', ci, flags=re.M), \
        ".ci/run should end in the whole pytest run (extra arguments passed on)"


@pytest.mark.slow
def test_readme_commands_run_top_to_bottom(tmp_path):
    if not (VENV / "bin" / "activate").is_file():
        pytest.skip("not running from a virtual environment; the README activates .venv")
    cmds = commands((ROOT / "README.md").read_text(encoding="utf-8"))
    assert any(c.startswith("source .venv/bin/activate && neuralab train") for c in cmds), cmds
    folder = fresh_folder(tmp_path)
    outcome = run_commands(cmds, folder)
    assert outcome.returncode == 0, (
        f"README command failed: {outcome.failed}\n{outcome.output[-3000:]}")
    runs = sorted(p for p in (folder / "runs").iterdir() if p.is_dir())
    assert len(runs) == 3 and all((r / "summary.json").is_file() for r in runs)
    assert (folder / "compare.html").is_file() and (folder / "study.html").is_file()


def test_readme_python_blocks_run(tmp_path):
    """Each ```python block runs as pasted into ``python`` in the activated environment, in
    an empty folder (the README's Python session: data, an MLP, its scores)."""
    blocks = re.findall(r"^```python\n(.*?)^```", (ROOT / "README.md").read_text(
        encoding="utf-8"), flags=re.S | re.M)
    assert blocks
    for block in blocks:
        proc = subprocess.run([sys.executable, "-c", block], cwd=tmp_path, capture_output=True,
                              text=True, timeout=300, env={"PATH": "/usr/bin:/bin",
                                                           "HOME": str(tmp_path),
                                                           "MPLBACKEND": "Agg"})
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert "Traceback" not in proc.stderr and "Warning" not in proc.stderr, proc.stderr
