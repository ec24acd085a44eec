"""Studies on a real Dask cluster (a `dask scheduler` and two `dask worker` processes on
127.0.0.1), a worker killed mid-study, and `neuralab study` SIGKILLed at random moments then
resumed: every run present exactly once, results equal to the in-process study."""

from __future__ import annotations

import csv
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from study_helpers import cli, env, runs_rows, study_toml

pytest.importorskip("distributed")
pytestmark = pytest.mark.slow

KILLS = 10


def cluster_study(epochs: int, seeds: int) -> str:
    return study_toml(epochs, seeds, n=200, hidden=8, target=0.97, lrs="0.3, 1.0",
                      name="cluster")


def dask_bin(name: str) -> list[str]:
    exe = shutil.which("dask", path=str(Path(sys.executable).parent)) or shutil.which("dask")
    if exe is None:
        pytest.skip("the dask command is not installed")
    return [exe, name]


@pytest.fixture
def cluster(tmp_path):
    """A scheduler and two single-threaded workers on 127.0.0.1; yields (address, workers)."""
    info = tmp_path / "scheduler.json"
    procs = [subprocess.Popen([*dask_bin("scheduler"), "--host", "127.0.0.1", "--port", "0",
                               "--no-dashboard", "--scheduler-file", str(info)],
                              env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.time() + 60
        while not info.is_file() and time.time() < deadline:
            time.sleep(0.2)
        address = json.loads(info.read_text())["address"]
        workers = [subprocess.Popen([*dask_bin("worker"), address, "--nthreads", "1",
                                     "--nworkers", "1", "--no-dashboard", "--host",
                                     "127.0.0.1", "--death-timeout", "60"],
                                    env=env(), stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL) for _ in range(2)]
        procs += workers
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        yield address, workers
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def test_a_running_cluster_gives_the_in_process_results(tmp_path, cluster):
    address, _ = cluster
    (tmp_path / "s.toml").write_text(cluster_study(40, 60))
    local = cli("study", "s.toml", "--out", "local", "-q", cwd=tmp_path)
    remote = cli("study", "s.toml", "--out", "remote", "--scheduler", address, "-q",
                      cwd=tmp_path)
    assert local.returncode == 0, local.stderr
    assert remote.returncode == 0, remote.stderr
    a, b = (next((tmp_path / d).iterdir()) for d in ("local", "remote"))
    assert runs_rows(a) == runs_rows(b)
    summary = json.loads((b / "summary.json").read_text())
    assert summary["backend"] == address and summary["status"] == "finished"


def test_a_killed_worker_costs_no_run(tmp_path, cluster):
    address, workers = cluster
    (tmp_path / "s.toml").write_text(cluster_study(300, 150))
    study = subprocess.Popen([sys.executable, "-m", "neuralab", "study", "s.toml", "--out",
                              "out", "--scheduler", address, "-q"], cwd=tmp_path, env=env(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    manifest = None
    while time.time() < deadline and study.poll() is None:
        found = list((tmp_path / "out").glob("*/manifest.json"))
        if found:
            manifest = found[0]
            break
        time.sleep(0.05)
    assert manifest is not None, "no chunk finished"
    workers[0].kill()  # mid-study: its chunk in flight is lost and must run elsewhere
    _, err = study.communicate(timeout=600)
    assert study.returncode == 0, err
    assert workers[0].poll() is not None  # the worker really died mid-study
    with open(manifest.parent / "runs.csv", newline="") as f:
        pairs = [(r["cell"], r["seed_index"]) for r in csv.DictReader(f)]
    assert len(pairs) == len(set(pairs)) == 4 * 150  # every run exactly once


def test_sigkilled_study_resumes_to_the_uninterrupted_results(tmp_path):
    (tmp_path / "s.toml").write_text(cluster_study(100, 60))
    whole = cli("study", "s.toml", "--out", "whole", "-q", cwd=tmp_path)
    assert whole.returncode == 0, whole.stderr
    reference = runs_rows(next((tmp_path / "whole").iterdir()))
    rng = np.random.default_rng(0)
    for k in range(KILLS):
        out = tmp_path / f"killed{k}"
        proc = subprocess.Popen([sys.executable, "-m", "neuralab", "study", "s.toml", "--out",
                                 str(out), "-q"], cwd=tmp_path, env=env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(float(rng.uniform(0.5, 4.0)))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        folders = list(out.glob("*")) if out.exists() else []
        if not folders:  # killed before the folder existed: nothing to resume
            continue
        done = cli("study", "--resume", str(folders[0]), "-q", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert runs_rows(folders[0]) == reference, f"kill {k}"


def test_a_script_without_the_main_guard_runs_its_study_once(tmp_path):
    """The issue's example pasted into a file, no ``if __name__ == "__main__":``: the
    worker processes must not run the script again (multiprocessing's "spawn" would, and
    each copy would start workers of its own). The script runs once and the study ends
    with the results of the in-process run."""
    script = tmp_path / "study_script.py"
    script.write_text(
        "from pathlib import Path\n"
        "from neuralab.studies import Study\n"
        "with open('ran.txt', 'a') as f:\n"
        "    f.write('ran\\n')\n"
        "base = {'data': {'name': 'moons', 'options': {'n': 100}},\n"
        "        'model': {'kind': 'mlp', 'hidden': [4]}, 'train': {'epochs': 2}}\n"
        "res = Study(base, grid={'optim.lr': [0.1, 1.0]}, seeds=4).run(workers=2, "
        "out='studies')\n"
        "ref = Study(base, grid={'optim.lr': [0.1, 1.0]}, seeds=4).run(out='ref')\n"
        "cols = ['cell', 'seed', 'final_train_loss', 'final_test_acc']\n"
        "assert res.runs[cols].equals(ref.runs[cols]), (res.runs[cols], ref.runs[cols])\n"
        "print('runs', len(res.runs))\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path, env=env())
    assert done.returncode == 0, done.stderr
    assert "runs 8" in done.stdout
    assert (tmp_path / "ran.txt").read_text() == "ran\n"


def test_ctrl_c_in_a_terminal_stops_the_workers_without_a_traceback(tmp_path):
    """A terminal's Ctrl-C reaches every process of the foreground group, the Dask worker
    processes too (each printed a screenful of traceback): the user sees the one line, and
    no worker process outlives the study."""
    import os

    (tmp_path / "s.toml").write_text(cluster_study(epochs=300, seeds=40))

    def own_group() -> None:  # like a shell's foreground job: its own process group
        os.setsid()
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    proc = subprocess.Popen([sys.executable, "-m", "neuralab", "study", "s.toml", "--out",
                             "studies", "--workers", "2", "--no-plots"], cwd=tmp_path,
                            env=env(), text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, preexec_fn=own_group)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(tmp_path.glob("studies/*/chunks/*.npz")):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    if proc.returncode == 0:
        pytest.skip("the study finished before the signal arrived")
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert err.strip().splitlines()[-1].startswith("neuralab: interrupted; ")
    deadline, left = time.monotonic() + 30, "?"
    while left and time.monotonic() < deadline:  # workers and helpers wind down
        left = subprocess.run(["pgrep", "-g", str(proc.pid)], capture_output=True,
                              text=True).stdout.strip()
        time.sleep(0.2)
    assert not left, f"processes left in the group: {left}"
