"""Shared machinery of the benchmarks: child environments, thread pinning, the BLAS report,
a round-robin subprocess runner and Markdown tables of medians.

Why subprocesses: NumPy's OpenBLAS and PyTorch's MKL/OpenMP are two thread pools; in one
process they fight over the cores and each library's first call pays for the other's
warm-up. So every (library, thread count) runs in its own fresh process, the processes are
interleaved round-robin over several rounds (slow drifts of the machine hit every library
alike), and the tables show medians.

Why the environment is cleaned: ``OPENBLAS_CORETYPE`` / ``OPENBLAS_L2_SIZE`` force an older
OpenBLAS kernel on some machines; the benchmark children run without them (only the children:
tests and CI keep the machine's settings) and print which kernel actually ran.
"""

from __future__ import annotations

import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

#: Environment variables removed from the children (they pin an older OpenBLAS kernel).
DROPPED_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
#: Thread-count variables set in the children *before* any BLAS library is imported.
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
              "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
RESULT_PREFIX = "@@RESULT "


def child_env(threads: int) -> dict[str, str]:
    """The environment of a benchmark child: thread counts set, kernel overrides removed."""
    env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV}
    env.update({k: str(threads) for k in THREAD_ENV})
    env.setdefault("PYTHONHASHSEED", "0")
    return env


_LIMITER: Any = None


def pin_threads(threads: int, *, torch_too: bool = False) -> None:
    """Inside a child: hold every BLAS/OpenMP pool to ``threads`` (threadpoolctl), and
    PyTorch's intra-op pool too when ``torch_too``. Call after the libraries are imported."""
    global _LIMITER
    if torch_too:
        import torch

        torch.set_num_threads(threads)
        try:
            torch.set_num_interop_threads(1)  # only allowed before any inter-op work
        except RuntimeError:
            pass
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # the env variables already did the job
        return
    _LIMITER = threadpool_limits(limits=threads)


def blas_report() -> list[dict[str, Any]]:
    """What threadpoolctl sees: one entry per loaded BLAS/OpenMP library."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return [{"internal_api": "unknown (install threadpoolctl)"}]
    keys = ("user_api", "internal_api", "prefix", "version", "architecture", "num_threads",
            "threading_layer")
    report = [{k: info.get(k) for k in keys if info.get(k) is not None}
              for info in threadpool_info()]
    torch = sys.modules.get("torch")
    if torch is not None:  # PyTorch links its BLAS statically: threadpoolctl cannot see it
        config = torch.__config__.show()
        blas = re.search(r"BLAS_INFO=(\w+)", config)
        cpu = re.search(r"CPU capability usage: (\w+)", config)
        report.append({"internal_api": f"torch {torch.__version__} "
                                       f"(BLAS {blas[1] if blas else '?'}, "
                                       f"{cpu[1] if cpu else '?'} kernels)",
                       "num_threads": torch.get_num_threads(), "prefix": "torch intra-op"})
    return report


def format_blas(report: list[dict[str, Any]]) -> str:
    """One line per library: ``openblas 0.3.31 SkylakeX, 1 thread(s) (libscipy_openblas)``."""
    lines = []
    for r in report:
        arch = f" {r['architecture']}" if "architecture" in r else ""
        ver = f" {r['version']}" if r.get("version") else ""
        lines.append(f"{r.get('internal_api')}{ver}{arch}, {r.get('num_threads')} thread(s) "
                     f"({r.get('prefix')})")
    return "; ".join(lines)


def machine_line() -> str:
    """CPU model, core count, Python and NumPy versions (for the table headers)."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import numpy

    return (f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, "
            f"NumPy {numpy.__version__}")


def emit(result: dict[str, Any]) -> None:
    """A child's last word: its result as one JSON line the parent can find."""
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def run_child(argv: Sequence[str], threads: int, timeout: float = 900) -> dict[str, Any]:
    """Run ``python argv...`` with :func:`child_env` and return the JSON it emitted."""
    proc = subprocess.run([sys.executable, *argv], env=child_env(threads), capture_output=True,
                          text=True, timeout=timeout)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX):])
    raise RuntimeError(f"benchmark child {' '.join(argv)} failed (exit {proc.returncode}):\n"
                       f"{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")


def round_robin(jobs: Sequence[tuple[str, Sequence[str], int]], rounds: int,
                log: Callable[[str], None] = print) -> dict[str, list[dict[str, Any]]]:
    """Run every job ``(key, argv, threads)`` once per round, interleaved; the order rotates
    each round so that no library always runs first. Returns ``{key: [result per round]}``."""
    out: dict[str, list[dict[str, Any]]] = {key: [] for key, _, _ in jobs}
    for r in range(rounds):
        shift = r % len(jobs)
        for key, argv, threads in list(jobs[shift:]) + list(jobs[:shift]):
            t0 = time.perf_counter()
            out[key].append(run_child(argv, threads))
            log(f"  round {r + 1}/{rounds}  {key:<28s} {time.perf_counter() - t0:6.1f} s")
    return out


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]],
                   align: str | None = None) -> str:
    """A GitHub Markdown table; ``align`` is one of l/r per column (default: first left)."""
    align = align or "l" + "r" * (len(headers) - 1)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
