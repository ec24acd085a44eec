"""docs/playground.md: "run n seeds" from the exported config with ``neuralab study`` gives the
page's numbers once the config's ``train.epochs`` is the page's budget (the export's is the
epochs trained so far, which is not the budget before 100 epochs)."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from neuralab.playground.session import Session, run_seeds, seeds_budget
from neuralab.playground.state import PlaygroundState

ROOT = Path(__file__).resolve().parents[2]
DOCS = (ROOT / "docs" / "playground.md").read_text(encoding="utf-8")


def neuralab_study(toml: Path, seeds: int) -> list[dict[str, str]]:
    """The runs of ``neuralab study TOML --seeds N --target train_acc=1.0`` (as the docs
    write it), read from the study folder's runs.csv."""
    exe = Path(sys.executable).with_name("neuralab")
    command = [str(exe) if exe.exists() else "neuralab", "study", toml.name, "--seeds",
               str(seeds), "--target", "train_acc=1.0", "-q", "--no-plots"]
    done = subprocess.run(command, cwd=toml.parent, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "MPLBACKEND": "Agg"})
    assert done.returncode == 0, done.stdout + done.stderr
    (runs,) = toml.parent.glob("studies/*/runs.csv")
    with runs.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_the_docs_command_gives_the_pages_seeds_result_at_the_pages_budget(tmp_path) -> None:
    text = " ".join(DOCS.split())
    assert "neuralab study playground.toml --seeds 50 --target train_acc=1.0" in text
    assert "set `epochs = 100` under `[train]`" in text  # the budget the command needs
    session = Session(PlaygroundState(numPoints=200))  # circle, 4-2 tanh, lr 0.03
    session.step(3)
    n = 12
    page = run_seeds(session.config(seeds_budget(session.epoch)), n, 1.0)
    assert page is not None and page["budget"] == 100

    text = session.export()["toml"]
    assert re.search(r"^epochs = 3$", text, flags=re.M)  # the epochs trained, not 100
    as_exported = tmp_path / "as-exported" / "playground.toml"
    at_budget = tmp_path / "at-budget" / "playground.toml"
    for path, body in ((as_exported, text),
                       (at_budget, re.sub(r"^epochs = 3$", "epochs = 100", text, flags=re.M))):
        path.parent.mkdir()
        path.write_text(body, encoding="utf-8")
    runs = neuralab_study(at_budget, n)
    assert len(runs) == n
    assert sum(r["converged"] == "True" for r in runs) == page["successes"] > 0
    # the export as it is: a 3-epoch budget, far fewer seeds reach the target
    short = neuralab_study(as_exported, n)
    assert sum(r["converged"] == "True" for r in short) < page["successes"]


@pytest.mark.slow
def test_the_docs_figures_of_fifty_seeds_on_the_default_setting() -> None:
    m = re.search(r"(\d+) of 50 reached 100 % training accuracy, \[([\d.]+) %, ([\d.]+) %\], "
                  r"median (\d+) epochs", DOCS.replace("\n", " "))
    assert m, "docs/playground.md lost its figure of the default setting"
    session = Session(PlaygroundState())
    result = run_seeds(session.config(seeds_budget(session.epoch)), 50, 1.0)
    assert result is not None
    assert int(m[1]) == result["successes"]
    assert (float(m[2]), float(m[3])) == (round(100 * result["low"], 1),
                                          round(100 * result["high"], 1))
    assert int(m[4]) == result["median_epochs"]
