"""How fast ``neuralab`` starts: ``--help``, a 5-epoch run, and the imports behind them.

    python benchmarks/startup.py                   # this checkout, 5 rounds, a Markdown table
    python benchmarks/startup.py --before 7dfcf01  # and the same commands at that commit

Each command runs in a fresh process (``python -m neuralab ...``) in an empty folder, the
commands interleaved round-robin over the rounds; the table shows medians:

- ``neuralab --help`` (wall time);
- ``neuralab train --data moons --quick --no-plots -q`` (5 epochs; wall time), and how long
  after its start the run folder's ``config.toml`` is on disk (polled every 2 ms);
- the slowest top-level imports of that run (``python -X importtime``, cumulative).

``--before REF`` exports ``src/`` at REF with ``git archive`` into a temporary folder and
runs the same commands on it (``PYTHONPATH`` puts it ahead of the installed checkout), so
before and after are measured on the same machine in the same minutes. Targets on a quiet
machine (issue 9): ``--help`` < 0.5 s, the quick run < 1.5 s, its folder on disk < 0.5 s.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUICK = ["train", "--data", "moons", "--quick", "--no-plots", "-q", "--out", "runs"]
TARGETS = {"help": 0.5, "quick": 1.5, "folder": 0.5}


def env_for(src: Path | None) -> dict[str, str]:
    env = {**os.environ, "MPLBACKEND": "Agg", "NEURALAB_OFFLINE": "1", "PYTHONHASHSEED": "0"}
    if src is not None:
        env["PYTHONPATH"] = str(src)
    return env


def timed(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float | None]:
    """(wall seconds of ``python -m neuralab ARGS``, seconds until a run folder's
    config.toml appeared, or None)."""
    runs = cwd / "runs"
    before = set(runs.glob("*/config.toml")) if runs.is_dir() else set()
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "neuralab", *args], cwd=cwd, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    folder = None
    while proc.poll() is None:
        if folder is None and runs.is_dir() and set(runs.glob("*/config.toml")) - before:
            folder = time.perf_counter() - t0
        time.sleep(0.002)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"neuralab {' '.join(args)} failed: {proc.stderr.read()[-2000:]}")
    if folder is None and set(runs.glob("*/config.toml")) - before:
        folder = wall  # appeared between the last poll and the exit
    return wall, folder


def top_imports(env: dict[str, str], cwd: Path, n: int = 8) -> list[tuple[str, float]]:
    """The ``n`` slowest top-level imports of the quick run (cumulative seconds)."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "neuralab", *QUICK],
                          cwd=cwd, env=env, capture_output=True, text=True, check=True)
    found = []
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\S.*)$", line)  # one space: top level
        if m:
            found.append((m.group(2), int(m.group(1)) / 1e6))
    return sorted(found, key=lambda t: -t[1])[:n]


def export(ref: str, folder: Path) -> Path:
    """``src/`` of commit ``ref``, extracted into ``folder``."""
    archive = subprocess.run(["git", "archive", ref, "src"], cwd=ROOT, capture_output=True,
                             check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder / "src"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--before", metavar="REF", help="also measure this git commit")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sources: dict[str, Path | None] = {}
        if args.before:
            sources[f"before ({args.before})"] = export(args.before, Path(tmp))
        sources["now"] = None
        folders = {name: Path(tmp) / f"cwd{i}" for i, name in enumerate(sources)}
        samples: dict[str, dict[str, list[float]]] = {
            name: {"help": [], "quick": [], "folder": []} for name in sources}
        for name, src in sources.items():  # warm the file cache and the bytecode
            folders[name].mkdir()
            timed(["--help"], env_for(src), folders[name])
            timed(QUICK, env_for(src), folders[name])
        for _ in range(args.rounds):  # round-robin: a slow minute hits every source alike
            for name, src in sources.items():
                got = samples[name]
                got["help"].append(timed(["--help"], env_for(src), folders[name])[0])
                wall, folder = timed(QUICK, env_for(src), folders[name])
                got["quick"].append(wall)
                if folder is not None:
                    got["folder"].append(folder)
        imports = top_imports(env_for(None), folders["now"])
    medians = {name: {k: statistics.median(v) for k, v in got.items() if v}
               for name, got in samples.items()}
    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, load average "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}; medians of {args.rounds} "
          "rounds\n")
    names = list(medians)
    print("| command | " + " | ".join(names) + " | target |")
    print("|---|" + "---:|" * (len(names) + 1))
    rows = {"help": "`neuralab --help`", "quick": "`neuralab train --data moons --quick "
            "--no-plots -q` (5 epochs)", "folder": "… its run folder on disk after"}
    for key, label in rows.items():
        cells = [f"{medians[n][key]:.2f} s" if key in medians[n] else "-" for n in names]
        print(f"| {label} | " + " | ".join(cells) + f" | < {TARGETS[key]} s |")
    print("\nSlowest top-level imports of the quick run now (`python -X importtime`, "
          "cumulative):\n")
    print("| module | seconds |\n|---|---:|")
    for module, seconds in imports:
        print(f"| `{module}` | {seconds:.3f} |")


if __name__ == "__main__":
    main()
