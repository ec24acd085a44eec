"""Run ``neuralab`` commands in one process under a memory bound, one JSON line per command.

``python cli_worker.py LIMIT_MB COMMANDS.json``: COMMANDS.json is a list of
``[name, argv]``. The process's address space is limited to LIMIT_MB (``RLIMIT_AS``) before
neuralab is imported, so every command runs under that bound: one that needs more ends in
a MemoryError, which the CLI reports as "out of memory" and the test counts as a failure.
Each result line: ``{"name", "code", "stderr", "seconds"}``.
"""

from __future__ import annotations

import contextlib
import io
import json
import resource
import sys
import time


def main() -> None:
    limit = int(sys.argv[1]) * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    with open(sys.argv[2], encoding="utf-8") as f:
        commands = json.load(f)
    from neuralab.cli import main as neuralab

    for name, argv in commands:
        err, out = io.StringIO(), io.StringIO()
        start = time.perf_counter()
        try:
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
                code: object = neuralab(argv)
        except BaseException as exc:  # the test reports whatever escaped
            code = f"raised {type(exc).__name__}: {exc}"
        print(json.dumps({"name": name, "code": code, "stderr": err.getvalue(),
                          "seconds": time.perf_counter() - start}), flush=True)


if __name__ == "__main__":
    main()
