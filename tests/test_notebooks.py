"""examples/notebooks run top to bottom in a fresh Jupyter kernel (nbclient), as a reader's
"Run all" would, and show what the first hour promises: figures inline, the estimator's HTML
repr, a notebook progress bar."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "examples" / "notebooks")
                   .glob("*.ipynb"))


def _outputs(nb, mime: str) -> list[str]:
    return [o["data"][mime] for c in nb.cells if c.cell_type == "code" for o in c.outputs
            if mime in o.get("data", {})]


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    monkeypatch.setenv("MPLBACKEND", "Agg")  # as CI sets it: figures must still draw inline
    nb = nbformat.read(path, as_version=4)
    t0 = time.perf_counter()
    # a temporary working folder: the notebook must not need (or litter) the repository
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    seconds = time.perf_counter() - t0
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors, errors
    assert seconds < 120, f"{path.name} took {seconds:.0f} s; keep it under a minute"
    if path.name == "first-hour.ipynb":
        assert len(_outputs(nb, "image/png")) >= 4  # the data, boundaries, curves
        html = _outputs(nb, "text/html")
        assert any("<progress" in h and "done" in h for h in html)  # fit(verbose=1)
        assert any("MLPClassifier" in h and "parameters" in h for h in html)  # the repr
