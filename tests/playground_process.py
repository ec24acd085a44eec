"""``neuralab playground`` started as a user starts it, in its own process, for the tests
that need a real server process (the browser tests, the load test)."""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest


@dataclass
class PlaygroundProcess:
    """The running server: its process, port, base URL and everything it printed."""

    proc: subprocess.Popen[str]
    port: int
    log: list[str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"


@contextlib.contextmanager
def playground_process(token: str | None = None, env: dict[str, str] | None = None,
                       port: int = 0) -> Iterator[PlaygroundProcess]:
    """``python -m neuralab playground --port PORT --no-browser [--token T]`` (port 0: a free
    one); yields once it prints its URL, stops it at the end (skips without the playground
    extra)."""
    pytest.importorskip("fastapi")
    pytest.importorskip("uvicorn")
    args = [sys.executable, "-m", "neuralab", "playground", "--port", str(port),
            "--no-browser"]
    proc = subprocess.Popen(args + (["--token", token] if token else []), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    log: list[str] = []
    found_port = None
    for line in proc.stdout:  # "neuralab playground: http://127.0.0.1:PORT/[?token=...]"
        log.append(line)
        found = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        if found:
            found_port = int(found[1])
            break
    if found_port is None:
        proc.kill()
        pytest.fail("the playground server did not start: " + "".join(log)[-2000:])
    # keep reading what it prints, so a full pipe never blocks it
    threading.Thread(target=lambda: log.extend(proc.stdout or ()), daemon=True).start()
    try:
        yield PlaygroundProcess(proc, found_port, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
