"""glibc's thresholds are raised once per process (Linux), and nothing breaks elsewhere."""

from __future__ import annotations

import subprocess
import sys


def test_keep_large_allocations_is_idempotent_and_reports_success():
    code = ("from neuralab._malloc import keep_large_allocations as k; "
            "import sys; first, again = k(), k(); "
            "print(first == again, first == sys.platform.startswith('linux'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out[0] == "True"
    if sys.platform.startswith("linux"):
        import ctypes.util

        if "musl" not in (ctypes.util.find_library("c") or ""):
            assert out[1] == "True"
