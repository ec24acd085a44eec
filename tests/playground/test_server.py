"""The playground server: every message type over a real websocket, errors that keep the
session going, back-pressure, tokens, caps, idle reaping, and the command line."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytest.importorskip("websockets")
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

from neuralab.playground.server import (
    CLOSE_BUSY,
    CLOSE_IDLE,
    CLOSE_TOKEN,
    create_app,
)

ROOT = Path(__file__).resolve().parents[2]


def test_http_routes(playground_server) -> None:
    status, body = playground_server.get("/healthz")
    assert status == 200 and json.loads(body)["ok"] is True
    status, body = playground_server.get("/")
    assert status == 200 and "<html" in body.lower()


def test_placeholder_when_the_page_is_missing(start_server, tmp_path) -> None:
    server = start_server(static_dir=tmp_path)
    status, body = server.get("/")
    assert status == 200 and "not installed" in body


def test_connect_gets_state_data_and_a_frame(connect) -> None:
    page = connect("dataset=xor&seed=42&networkShape=3")
    kinds = [m["type"] for m in page.seen]
    assert kinds == ["state", "data", "frame"]
    state, data, frame = page.seen
    assert state["state"]["dataset"] == "xor" and "seed=42" in state["query"]
    assert state["limits"]["maxLayers"] == 8 and state["playing"] is False
    assert data["task"] == "classification" and len(data["train"]) == 250
    assert frame["epoch"] == 0 and len(frame["weights"]) == 2


def test_a_bad_url_query_gives_an_error_and_the_defaults(connect) -> None:
    page = connect("networkShape=4,99")
    assert page.seen[0] == {"type": "error", "message": page.seen[0]["message"]}
    assert "networkShape" in page.seen[0]["message"]
    assert page.seen[1]["state"]["networkShape"] == [4, 2]


def test_play_pause_step_and_frames_flow(connect) -> None:
    page = connect("seed=1")
    page.send({"type": "play"})
    assert page.wait_for("state")["playing"] is True
    frames = [page.wait_for("frame") for _ in range(10)]
    epochs = [f["epoch"] for f in frames]
    assert epochs == sorted(epochs) and epochs[-1] >= 10
    assert frames[-1]["train_loss"] < frames[0]["train_loss"]
    page.send({"type": "pause"})
    stopped = page.wait_for("state", where=lambda m: m["playing"] is False)
    assert stopped["state"]["seed"] == 1
    last = page.wait_for("frame")["epoch"]
    page.send({"type": "step"})
    assert page.wait_for("frame")["epoch"] == last + 1


def test_frame_rate_is_capped(connect) -> None:
    page = connect("seed=2")
    page.send({"type": "play"})
    page.wait_for("frame")
    t0, n = time.monotonic(), 0
    while time.monotonic() - t0 < 1.5:
        if page.recv()["type"] == "frame":
            n += 1
    page.send({"type": "pause"})
    assert 5 <= n / 1.5 <= 32


def test_every_message_type(connect) -> None:
    page = connect("seed=3")
    page.send({"type": "ping"})
    assert page.wait_for("pong") == {"type": "pong"}
    page.send({"type": "set", "state": {"networkShape": [5], "activation": "relu"}})
    state = page.wait_for("state")
    assert state["state"]["networkShape"] == [5] and "networkShape=5" in state["query"]
    assert page.wait_for("frame")["weights"][0].__len__() == 2
    page.send({"type": "set", "query": "dataset=spirals&classes=3&seed=3"})
    assert page.wait_for("state")["state"]["dataset"] == "spirals"
    assert page.wait_for("data")["classes"] == 3
    page.send({"type": "set_weight", "layer": 1, "source": 0, "target": 2, "value": 1.25})
    page.wait_for("frame", where=lambda f: f["weights"][0][0][2] == 1.25)
    page.send({"type": "set_bias", "layer": 2, "neuron": 1, "value": -0.5})
    page.wait_for("frame", where=lambda f: f["biases"][1][1] == -0.5)
    page.send({"type": "step"})
    page.wait_for("frame", where=lambda f: f["epoch"] == 1)
    page.send({"type": "export"})
    export = page.wait_for("export")
    assert export["exact"] is False and "weight 1:0->2" in export["note"]
    assert export["toml"].count("[data]") == 1
    assert base64.b64decode(export["model_npz_base64"])[:2] == b"PK"
    page.send({"type": "reset"})
    assert page.wait_for("frame")["epoch"] == 0
    page.send({"type": "regenerate"})
    assert page.wait_for("state")["state"]["seed"] != 3
    page.wait_for("data")
    csv = "x1,x2,label\n" + "".join(f"{i % 7 - 3},{i % 5 - 2},{i % 2}\n" for i in range(40))
    page.send({"type": "upload", "csv": csv})
    assert page.wait_for("state")["state"]["dataset"] == "upload"
    data = page.wait_for("data")
    assert len(data["train"]) + len(data["test"]) == 40
    page.send({"type": "add_point", "x": 1, "y": 1, "label": 1})
    data = page.wait_for("data")
    assert len(data["train"]) + len(data["test"]) == 41
    page.send({"type": "seeds", "n": 10})
    assert page.wait_for("seeds_progress")["total"] == 10
    result = page.wait_for("seeds", timeout=60)
    assert result["n"] == 10 and result["low"] <= result["rate"] <= result["high"]


def test_seeds_are_cancelled_by_reset(connect) -> None:
    page = connect("seed=4&numPoints=2000&percTrainData=90&batchSize=1")
    page.send({"type": "seeds", "n": 200})
    page.wait_for("seeds_progress")
    page.send({"type": "seeds", "n": 10})  # one run per page at a time
    assert "still training" in page.wait_for("error")["message"]
    page.send({"type": "reset"})
    page.wait_for("frame")
    page.send({"type": "ping"})
    page.wait_for("pong")
    with pytest.raises(TimeoutError):
        page.wait_for("seeds", timeout=3)


def test_bad_messages_get_an_error_and_the_session_goes_on(connect) -> None:
    page = connect("seed=5")
    bad = ["nonsense", json.dumps([1]), json.dumps({"type": "fly"}),
           json.dumps({"type": "set", "state": {"learningRate": 0.02}}),
           json.dumps({"type": "set", "state": {"dataset": "upload"}}),
           json.dumps({"type": "set_weight", "layer": 9, "source": 0, "target": 0,
                       "value": 1}),
           json.dumps({"type": "upload", "csv": "a,b\n"}),
           json.dumps({"type": "add_point", "x": 0, "y": 0, "label": 4})]
    for text in bad:
        page.send(text)
        message = page.wait_for("error")["message"]
        assert message and "\n" not in message and "Traceback" not in message
    page.ws.send(b"\x00\x01")
    assert "binary" in page.wait_for("error")["message"]
    page.send({"type": "step"})
    assert page.wait_for("frame")["epoch"] == 1


@pytest.mark.slow
def test_a_flood_of_malformed_messages_gets_one_error_each(connect, playground_server) -> None:
    page = connect("seed=6")
    for i in range(1000):
        page.send(json.dumps({"type": "set", "state": {"noise": 100 + i}}) if i % 2
                  else f"{{broken {i}")
    errors = 0
    while errors < 1000:
        if page.recv(timeout=30)["type"] == "error":
            errors += 1
    page.send({"type": "ping"})
    page.wait_for("pong")
    assert json.loads(playground_server.get("/healthz")[1])["ok"] is True


def test_oversized_message_is_refused_without_killing_the_server(connect,
                                                                 playground_server) -> None:
    page = connect("seed=7")
    with pytest.raises(ConnectionClosed):
        page.send({"type": "upload", "csv": "1,2,0\n" * 100_000})  # 600 KB > the ws cap
        page.wait_for("pong", timeout=10)
    assert playground_server.get("/healthz")[0] == 200
    connect("seed=7")  # a new page still connects


def test_the_frame_slot_keeps_the_newest_frame_only() -> None:
    from neuralab.playground.server import Connection, Hub

    hub = Hub(1)
    conn = Connection(None, hub, frame_rate=30.0, idle_timeout=60.0)  # type: ignore[arg-type]
    for epoch in range(5):
        conn.post_frame({"type": "frame", "epoch": epoch})
    assert conn.slot == {"type": "frame", "epoch": 4}
    assert conn.dropped == hub.frames_dropped == 4
    hub.pool.shutdown()


def _unread_websocket(port: int, path: str) -> socket.socket:
    """A websocket nobody reads: the handshake by hand on a plain socket with a small receive
    buffer. (A websockets client would not do: its reader thread keeps reading, and the
    server then never meets a slow client.)"""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                  "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:  # byte by byte: the frames after it stay unread
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def _send_text(sock: socket.socket, text: str) -> None:
    """One masked text frame (a client's frames are masked; short payloads only)."""
    payload, mask = text.encode(), os.urandom(4)
    assert len(payload) < 126
    sock.sendall(bytes([0x81, 0x80 | len(payload)]) + mask
                 + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


@pytest.mark.slow
def test_slow_client_gets_fewer_frames_not_a_queue(start_server) -> None:
    """A page that reads nothing while the server makes frames as fast as it can: once the
    kernel's buffers are full, frames are dropped in the server (one-frame slot), never
    queued, and training goes on."""
    server = start_server(frame_rate=200.0)
    port = int(server.url.rsplit(":", 1)[1])
    hub = server.app.state.hub
    sock = _unread_websocket(port, "/ws?seed=8")
    try:
        _send_text(sock, json.dumps({"type": "play"}))
        deadline = time.monotonic() + 60
        while hub.frames_dropped < 20 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert hub.frames_dropped >= 20, f"{hub.frames_dropped} frames dropped in 60 s"
    finally:
        sock.close()


def test_token_is_required_on_the_page_and_the_socket(start_server) -> None:
    server = start_server(token="s3cret-token")
    assert server.get("/")[0] == 401
    assert server.get("/?token=wrong")[0] == 401
    assert server.get("/?token=s3cret-token")[0] == 200
    for query in ("", "?token=wrong"):
        with ws_connect(server.ws_url + query) as ws, pytest.raises(ConnectionClosed) as info:
            ws.recv(timeout=10)
        assert info.value.rcvd.code == CLOSE_TOKEN
    with ws_connect(server.ws_url + "?token=s3cret-token&seed=3") as ws:
        assert json.loads(ws.recv(timeout=20))["state"]["seed"] == 3


def test_session_cap(start_server) -> None:
    server = start_server(max_sessions=1)
    with ws_connect(server.ws_url) as first:
        first.recv(timeout=20)
        with ws_connect(server.ws_url) as second:
            message = json.loads(second.recv(timeout=10))
            assert "maximum of 1 sessions" in message["message"]
            with pytest.raises(ConnectionClosed) as info:
                second.recv(timeout=10)
            assert info.value.rcvd.code == CLOSE_BUSY


def test_idle_sessions_are_reaped(start_server) -> None:
    server = start_server(idle_timeout=1.0)
    with ws_connect(server.ws_url) as ws, pytest.raises(ConnectionClosed) as info:
        while True:
            ws.recv(timeout=15)
    assert info.value.rcvd.code == CLOSE_IDLE
    deadline = time.monotonic() + 5
    while server.app.state.hub.active and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.app.state.hub.active == 0


def test_sessions_share_nothing(connect) -> None:
    a, b = connect("seed=9"), connect("seed=9")
    a.send({"type": "set", "state": {"dataset": "xor"}})
    a.wait_for("data")
    for _ in range(3):
        a.send({"type": "step"})
    a.wait_for("frame", where=lambda f: f["epoch"] == 3)
    b.send({"type": "ping"})
    b.wait_for("pong")
    assert not [m for m in b.seen[3:] if m["type"] in ("data", "frame", "state")]


def test_create_app_refuses_bad_settings() -> None:
    with pytest.raises(ValueError, match="frame_rate=0"):
        create_app(frame_rate=0)


# -- the command line ---------------------------------------------------------------------------
def run_cli(capsys, *args: str) -> tuple[int, str]:
    """``neuralab playground ARGS`` in this process: (exit code, stderr)."""
    from neuralab.cli import main

    code = main(["playground", *args])
    return code, capsys.readouterr().err


def test_cli_needs_a_token_off_loopback() -> None:
    from neuralab.cli.playground import check_token, is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0")
    assert len(check_token("auto", "0.0.0.0")) >= 16
    assert check_token(None, "127.0.0.1") is None


@pytest.mark.parametrize(("args", "words"), [
    (("--host", "0.0.0.0"), "needs a token"),
    (("--host", "no-such-host.invalid"), "can resolve"),
    (("--port", "70000"), "--port 70000"),
    (("--token", "a b"), "--token 'a b'"),
])
def test_cli_errors_are_one_line_exit_2(args, words, capsys) -> None:
    code, err = run_cli(capsys, *args, "--no-browser")
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("neuralab: error: ") and words in lines[0]


def test_cli_port_in_use(capsys) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        code, err = run_cli(capsys, "--port", str(port), "--no-browser")
    assert code == 2 and f"port {port} on 127.0.0.1 is in use" in err
    assert "Traceback" not in err


@pytest.mark.slow
def test_cli_serves_and_stops_cleanly_on_ctrl_c() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "neuralab", "playground", "--port", "0",
                             "--host", "0.0.0.0", "--token", "auto", "--no-browser"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        first = proc.stdout.readline()
        assert first.startswith("neuralab playground: http://") and "?token=" in first
        local = proc.stdout.readline().split("on this machine: ")[1].strip()
        import urllib.request

        token = local.split("?token=")[1]
        port = local.split(":")[2].split("/")[0]
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    assert json.loads(r.read())["ok"]
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        with ws_connect(f"ws://127.0.0.1:{port}/ws?token={token}") as ws:
            assert json.loads(ws.recv(timeout=20))["type"] == "state"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0 and "stopped" in out and "Traceback" not in err


def test_weights_in_frames_match_the_network(connect) -> None:
    page = connect("seed=10&networkShape=2")
    frame = page.seen[2]
    w = np.array(frame["weights"][0])
    assert w.shape == (2, 2) and np.abs(w).max() > 0


def test_cli_help_fits_80_columns(capsys, monkeypatch) -> None:
    from neuralab.cli import main

    monkeypatch.setenv("COLUMNS", "80")
    assert main(["playground", "--help"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("Usage: neuralab playground [OPTIONS]\n")
    assert max(len(line) for line in text.splitlines()) <= 80
    for flag in ("--host", "--port", "--token", "--no-browser", "--max-sessions"):
        assert flag in text


def test_a_bug_in_the_engine_is_one_error_line_and_the_page_goes_on(connect,
                                                                   monkeypatch) -> None:
    from neuralab.playground.session import Session

    page = connect("seed=11")

    def broken(self, epochs: int = 1) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(Session, "step", broken)
    page.send({"type": "step"})
    assert page.wait_for("error")["message"].startswith("internal error (RuntimeError: boom)")
    page.send({"type": "play"})
    assert "boom" in page.wait_for("error")["message"]
    assert page.wait_for("state", where=lambda m: not m["playing"])
    page.send({"type": "ping"})
    page.wait_for("pong")


def test_a_link_with_one_bad_key_keeps_the_others(connect) -> None:
    # a teacher's hand-edited link: one value off the ladder must not throw away the rest
    page = connect("dataset=xor&networkShape=6,3&learningRate=0.05&seed=7&foo=1")
    error, state = page.seen[0], page.seen[1]
    assert error["type"] == "error" and "learningRate=0.05" in error["message"]
    assert "1 more" in error["message"] and "kept" in error["message"]
    assert "\n" not in error["message"]
    s = state["state"]
    assert (s["dataset"], s["networkShape"], s["seed"], s["learningRate"]) == (
        "xor", [6, 3], 7, 0.03)


def test_a_link_to_upload_data_keeps_its_other_settings(connect) -> None:
    page = connect("dataset=upload&networkShape=5&seed=3")
    error, state = page.seen[0], page.seen[1]
    assert "upload" in error["message"] and "circle" in error["message"]
    assert state["state"]["dataset"] == "circle"
    assert state["state"]["networkShape"] == [5] and state["state"]["seed"] == 3


def test_a_diverged_run_says_so_on_step_and_export_is_refused_in_one_line(connect) -> None:
    page = connect("dataset=plane&learningRate=10&networkShape=8,8&activation=relu")
    stopped = None
    for _ in range(5):
        page.send({"type": "step"})
        frame = page.wait_for("frame")
        stopped = frame["stopped"]
        if stopped:
            break
    assert stopped and "diverged" in stopped, stopped
    page.send({"type": "step"})  # again: the same reason, no other error
    again = page.wait_for("frame")
    assert again["stopped"] == stopped and again["epoch"] == frame["epoch"]
    page.send({"type": "export"})
    error = page.wait_for("error")
    assert "diverged" in error["message"] and "internal error" not in error["message"]
    page.send({"type": "reset"})
    fresh = page.wait_for("frame")
    assert fresh["epoch"] == 0 and fresh["stopped"] is None
