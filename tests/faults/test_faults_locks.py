"""One process at a time in a run (or study) folder: a second ``--resume`` of a live run is
refused with one line, and metrics.csv never gets a duplicate row."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from fault_helpers import cli, metrics_epochs, one_line, start, write_config

from neuralab._lock import FolderBusy, lock_folder

EPOCHS = 1000  # several seconds of training: long enough to overlap a second process


def _wait_for(path: Path, proc, timeout: float = 120) -> None:
    t0 = time.monotonic()
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() - t0 < timeout, f"{path} never appeared"
        time.sleep(0.05)


def _first_run(runs: Path, proc) -> Path:
    """The run folder ``proc`` makes in ``runs`` (``runs`` itself appears a moment before)."""
    _wait_for(runs, proc)
    t0 = time.monotonic()
    while not (found := next(runs.iterdir(), None)):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() - t0 < 120, f"no run folder appeared in {runs}"
        time.sleep(0.05)
    return found


def test_lock_is_exclusive_and_released(tmp_path):
    with lock_folder(tmp_path):
        with pytest.raises(FolderBusy, match="in use by another neuralab process"):
            with lock_folder(tmp_path):
                pass
    with lock_folder(tmp_path):  # released on exit
        pass


def test_lock_removes_stale_temporary_files_only(tmp_path):
    (tmp_path / "checkpoints").mkdir()
    stale = [tmp_path / ".model.npz.a1b2c3d4.tmp",
             tmp_path / "checkpoints" / ".last.npz.x_9y8z7w.tmp"]
    kept = [tmp_path / "model.npz", tmp_path / "notes.tmp", tmp_path / ".hidden"]
    for p in stale + kept:
        p.write_text("x")
    with lock_folder(tmp_path):
        pass
    assert not any(p.exists() for p in stale)
    assert all(p.exists() for p in kept)


@pytest.mark.slow
def test_second_resume_of_a_live_run_is_refused(tmp_path):
    cfg = write_config(tmp_path / "long.toml", tmp_path / "runs", epochs=EPOCHS, eval_every=10,
                       checkpoint_every=50)
    first = start("train", str(cfg), "--quiet", cwd=tmp_path)
    try:
        run = _first_run(tmp_path / "runs", first)
        _wait_for(run / "checkpoints" / "last.npz", first)
        second = cli("train", "--resume", str(run), "--quiet", cwd=tmp_path)
        assert first.poll() is None, "the first run ended before the test could overlap it"
        line = one_line(second, 2)
        assert "in use by another neuralab process" in line and str(run) in line
    finally:
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=60)
    # killed: the kernel released the lock, so the run resumes
    resumed = cli("train", "--resume", str(run), "--quiet", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert metrics_epochs(run) == list(range(10, EPOCHS + 1, 10))


@pytest.mark.slow
def test_two_concurrent_resumes_one_wins(tmp_path):
    cfg = write_config(tmp_path / "long.toml", tmp_path / "runs", epochs=EPOCHS, eval_every=10,
                       checkpoint_every=50)
    first = start("train", str(cfg), "--quiet", cwd=tmp_path)
    run = _first_run(tmp_path / "runs", first)
    _wait_for(run / "checkpoints" / "last.npz", first)
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=60)

    both = [start("train", "--resume", str(run), "--quiet", cwd=tmp_path) for _ in range(2)]
    seen = []  # metrics.csv while they run: epochs never repeat or go backwards
    while any(p.poll() is None for p in both):
        text = (run / "metrics.csv").read_text()
        lines = text.splitlines()[1:] if text.endswith("\n") else text.splitlines()[1:-1]
        epochs = [int(line.split(",")[1]) for line in lines]  # whole lines only
        seen.append(epochs)
        assert epochs == sorted(set(epochs)), epochs
        time.sleep(0.1)
    results = [p.communicate(timeout=60) for p in both]
    codes = sorted(p.returncode for p in both)
    assert codes == [0, 2], results
    loser = next(err for p, (_, err) in zip(both, results, strict=True) if p.returncode == 2)
    assert loser.strip().startswith("neuralab: error: run folder") and "in use" in loser
    assert len(loser.strip().splitlines()) == 1
    assert metrics_epochs(run) == list(range(10, EPOCHS + 1, 10))
    assert len(seen) > 3
