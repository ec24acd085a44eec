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
        # the text says which single model member(i) is; the last cell checks it
        assert _outputs(nb, "text/plain")[-1] == "True"


STUDENT_CELLS = [
    """from neuralab import data, models, viz
from neuralab.train.callbacks import Callback
ds = data.moons(n=200, noise=0.2, seed=0)
ens = models.MLPClassifier(hidden=(8,), epochs=20, n_models=5, verbose=1, random_state=0)
ens.fit(ds.X, ds.y, validation=(ds.X, ds.y))""",
    """fig = viz.plot_curves(ens.history_)
print([len(ax.get_lines()) for ax in fig.axes])
fig""",
    """class CtrlC(Callback):
    def on_epoch_end(self, est, epoch, logs):
        if epoch == 7:
            raise KeyboardInterrupt
clf = models.MLPClassifier(hidden=(8,), epochs=50, verbose=1, callbacks=[CtrlC()])
clf.fit(ds.X, ds.y)""",
    "clf.set_params(callbacks=None).partial_fit(ds.X, ds.y, epochs=3)",
    """from neuralab.studies import Study
res = Study({"data": {"name": "moons", "options": {"n": 100}},
             "model": {"kind": "mlp", "hidden": [4]}, "train": {"epochs": 3}},
            grid={"optim.lr": [0.1, 1.0]}, seeds=3).run(out="studies", plots=False)""",
]


@pytest.mark.slow
def test_a_students_cells(tmp_path):
    """What a student does in the first weeks, in a real kernel: an ensemble's curves draw
    (they were an empty axes), a Ctrl-C mid-fit leaves the bar at the epoch history_ has,
    training continues, a small study shows its progress, and nothing is written to stderr
    (no warning a student cannot act on)."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in STUDENT_CELLS])
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    ens_fit, curves, interrupted, resumed, study = (c.outputs for c in nb.cells)
    assert [o.output_type for o in ens_fit] == ["display_data", "execute_result"]
    assert "mean of 5 models" in ens_fit[1]["data"]["text/html"]
    assert curves[0].text == "[2, 2]\n"  # loss and accuracy, train and val means
    assert "image/png" in curves[1]["data"]
    bar, error = interrupted
    assert bar["data"]["text/plain"].startswith("epoch 7/50") and "interrupted" in \
        bar["data"]["text/plain"]
    assert error.output_type == "error" and error.ename == "KeyboardInterrupt"
    assert resumed[0]["data"]["text/plain"].startswith("epoch 10/10")  # 7 + 3, done
    # a study was silent until it finished: its bar ends at every run done
    assert study[0]["data"]["text/plain"].startswith("runs 6/6  cells 2/2")
    assert '<progress value="6" max="6"' in study[0]["data"]["text/html"]
    streams = [o.text for c in nb.cells for o in c.outputs
               if o.output_type == "stream" and o.name == "stderr"]
    assert not streams, streams
