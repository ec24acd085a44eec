"""The export as a user gets it: the files the page downloads, in one folder, and the command
the page shows, run there as written. The model ``neuralab train`` writes equals the
exported model file, every weight equal (the docs say bit for bit)."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from neuralab.models import load
from neuralab.playground.session import Session
from neuralab.playground.state import PlaygroundState


def save_export(export: dict, folder: Path) -> Path:
    """Write the files the page's export links download into ``folder``; the model file."""
    (folder / export["filename"]).write_text(export["toml"], encoding="utf-8")
    model = folder / export["model_filename"]
    model.write_bytes(base64.b64decode(export["model_npz_base64"]))
    if "csv" in export:
        (folder / export["csv_filename"]).write_text(export["csv"], encoding="utf-8")
    return model


def run_command(command: str, cwd: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("neuralab")
    args = command.split()
    args[0] = str(exe) if exe.exists() else "neuralab"
    return subprocess.run([*args, "-q", "--no-plots"], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "MPLBACKEND": "Agg"})


def state_dict(path: Path) -> dict[str, np.ndarray]:
    return {k: np.array(v) for k, v in load(path).net_.state_dict().items()}


def test_own_data_export_trains_again_from_its_folder_and_says_where_to_run(tmp_path) -> None:
    rng = np.random.default_rng(0)
    X = rng.uniform(-5, 5, size=(80, 2))
    session = Session(PlaygroundState(seed=2, optimizer="adam"))
    session.upload("".join(f"{a},{b},{int(a * b > 0)}\n" for a, b in X))
    session.add_point(1.5, -2.5, 1)
    session.step(4)
    export = session.export()
    assert export["exact"], export["note"]
    # the header tells where to run the command: data.path is read from the current folder
    assert "run the command in that folder" in export["toml"]

    folder = tmp_path / "download"
    folder.mkdir()
    model = save_export(export, folder)
    done = run_command(export["command"], folder)
    assert done.returncode == 0, done.stdout + done.stderr
    (trained,) = folder.glob("runs/*/model.npz")
    ours, theirs = state_dict(model), state_dict(trained)
    assert ours.keys() == theirs.keys()
    assert all(np.array_equal(ours[k], theirs[k]) for k in ours)

    # from another folder the relative data file is not found: one line, exit 2
    elsewhere = run_command(f"neuralab train {folder / export['filename']}", tmp_path)
    assert elsewhere.returncode == 2
    assert "playground-data.csv" in elsewhere.stderr and "Traceback" not in elsewhere.stderr
