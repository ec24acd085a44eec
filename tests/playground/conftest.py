"""A playground server for the tests: uvicorn in a thread on a free 127.0.0.1 port.

``playground_server`` (one per test module) serves ``create_app()``; ``start_server(**kw)``
serves one with other arguments (a token, a session cap) and stops it at the end of the
test. The websocket client is ``websockets``' synchronous one (``ws_connect``), the HTTP
client the standard library: FastAPI's TestClient needs httpx, which the extras do not
install, and a real server also checks uvicorn's message-size cap.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest


@dataclass
class RunningServer:
    """A served app: ``url`` (http://127.0.0.1:PORT), ``ws_url`` and the app itself."""

    url: str
    ws_url: str
    app: Any
    server: Any
    thread: threading.Thread

    def get(self, path: str) -> tuple[int, str]:
        """``(status, body)`` of ``GET path``."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(**kwargs: Any) -> RunningServer:
    """Start ``create_app(**kwargs)`` under uvicorn in a thread; returns when it listens
    (skips the test without the playground extra)."""
    pytest.importorskip("fastapi")
    uvicorn = pytest.importorskip("uvicorn")

    from neuralab.playground.server import create_app, uvicorn_config

    app = create_app(**kwargs)
    port = free_port()
    config = uvicorn.Config(app, **uvicorn_config("127.0.0.1", port))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True, name="playground-test-server")
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the playground test server did not start")
        time.sleep(0.02)
    return RunningServer(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/ws", app, server,
                         thread)


@pytest.fixture(scope="module")
def playground_server() -> Iterator[RunningServer]:
    running = serve()
    yield running
    running.stop()


@pytest.fixture
def start_server() -> Iterator[Callable[..., RunningServer]]:
    started: list[RunningServer] = []

    def start(**kwargs: Any) -> RunningServer:
        started.append(serve(**kwargs))
        return started[-1]

    yield start
    for running in started:
        running.stop()


class Page:
    """A websocket client as the page is one: send messages, wait for a type."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.seen: list[dict[str, Any]] = []

    def send(self, message: dict[str, Any] | str) -> None:
        self.ws.send(message if isinstance(message, str) else json.dumps(message))

    def recv(self, timeout: float = 30.0) -> dict[str, Any]:
        message = json.loads(self.ws.recv(timeout=timeout))
        self.seen.append(message)
        return message

    def wait_for(self, kind: str, timeout: float = 30.0,
                 where: Callable[[dict[str, Any]], bool] | None = None) -> dict[str, Any]:
        """The next message of type ``kind`` (and ``where``), skipping others."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {kind!r} message within {timeout} s")
            message = self.recv(left)
            if message["type"] == kind and (where is None or where(message)):
                return message


@pytest.fixture
def connect(playground_server: RunningServer) -> Iterator[Callable[..., Page]]:
    """``connect(query="", server=None)``: a :class:`Page` on ``/ws?query``; the first three
    messages (state, data, frame) are read already and kept in ``page.seen``."""
    ws_connect = pytest.importorskip("websockets.sync.client").connect

    with contextlib.ExitStack() as stack:

        def open_page(query: str = "", server: RunningServer | None = None,
                      greet: bool = True) -> Page:
            url = (server or playground_server).ws_url + (f"?{query}" if query else "")
            page = Page(stack.enter_context(ws_connect(url, max_size=2**24,
                                                       open_timeout=20)))
            if greet:
                page.wait_for("frame")
            return page

        yield open_page
