"""The playground's web server: FastAPI, one websocket and one :class:`Session` per page.

- ``GET /`` the page (``static/index.html``), ``GET /static/...`` its files, ``GET /healthz``.
- ``/ws``: the message contract of docs/playground.md. The sessions' engine work runs on
  one engine thread, in turn (the event loop never runs NumPy); "run n seeds" studies train
  in threads of their own.
- Back-pressure: a frame goes into a one-frame slot that the sender empties; a newer frame
  replaces one not yet sent (``frames_dropped`` counts them), so a slow client gets fewer
  frames and never a growing queue. Training is tied to frames (one epoch per frame, at
  most ``frame_rate`` per second), so a session costs the same whoever watches it.
- Security: a token (when set) is checked before anything else (close code 4401); the page
  never names a file; uploads are CSV text with caps; sessions are capped in number, reaped
  when idle, and share nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from neuralab.playground.session import Session, check_seeds, run_seeds, seeds_budget
from neuralab.playground.state import (
    MAX_MESSAGE_BYTES,
    AddPointMsg,
    MessageError,
    PlaygroundState,
    SeedsMsg,
    SetBiasMsg,
    SetMsg,
    SetWeightMsg,
    UploadMsg,
    from_link,
    from_query,
    parse_message,
    updated,
)

STATIC = Path(str(files("neuralab.playground") / "static"))
LOG = logging.getLogger("neuralab.playground")
MAX_SESSIONS = 50
IDLE_TIMEOUT = 1800.0  # seconds without a message from the page
FRAME_RATE = 30.0  # frames per second per session, at most
CONTROL_QUEUE = 64  # messages other than frames waiting for one client (errors, state, ...)
CLOSE_TOKEN, CLOSE_BUSY, CLOSE_IDLE = 4401, 1013, 4408

PLACEHOLDER = """<!doctype html><meta charset="utf-8"><title>neuralab playground</title>
<p>The playground page is not installed (static/index.html is missing). The server runs:
connect a websocket to <code>/ws</code>.</p>"""


class Hub:
    """The server's sessions: how many there are (capped) and the counters /healthz shows."""

    def __init__(self, max_sessions: int) -> None:
        self.max_sessions = max_sessions
        self.active = 0
        self.opened = 0
        self.frames_sent = 0
        self.frames_dropped = 0
        self.errors = 0
        self.seeds_running = 0  # "run n seeds" studies training now, all sessions together
        self.max_seeds_running = max(1, (os.cpu_count() or 1))
        # Every session's engine work runs on ONE engine thread, the sessions in turn (the
        # pool's queue is first come, first served and a session waits for its last call).
        # The engine is Python and small NumPy calls that hold the GIL: a thread per session
        # made 20 playing pages fight for it (15 ms of server CPU per frame instead of 5;
        # 4.1 frames/s per page), a thread per core still cost 7.2 frames/s, one thread gives
        # 9.7 (tests/playground/test_load.py, 2 cores, 2026-12-01).
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="playground-engine")


class Connection:
    """One page: its session, engine lock, frame slot and control queue."""

    def __init__(self, ws: WebSocket, hub: Hub, frame_rate: float, idle_timeout: float) -> None:
        self.ws, self.hub = ws, hub
        self.frame_interval = 1.0 / frame_rate
        self.idle_timeout = idle_timeout
        self.engine_lock = asyncio.Lock()  # one engine call of this session at a time
        self.session: Session | None = None
        self.control: asyncio.Queue[dict[str, Any]] = asyncio.Queue(CONTROL_QUEUE)
        self.slot: dict[str, Any] | None = None
        self.wake = asyncio.Event()
        self.dropped = 0
        self.player: asyncio.Task[None] | None = None
        self.seeds_cancel: threading.Event | None = None
        self.seeds_thread: threading.Thread | None = None
        self.last_message = time.monotonic()
        self.closed = False

    async def run_engine(self, fn: Any, *args: Any) -> Any:
        """``fn(*args)`` on the server's engine threads, after this session's last call."""
        async with self.engine_lock:
            return await asyncio.get_running_loop().run_in_executor(self.hub.pool, fn, *args)

    # -- sending ----------------------------------------------------------------------------
    async def send_control(self, message: dict[str, Any]) -> None:
        await self.control.put(message)
        self.wake.set()

    def post_frame(self, frame: dict[str, Any]) -> None:
        """Put ``frame`` in the slot, replacing one not yet sent."""
        if self.slot is not None:
            self.dropped += 1
            self.hub.frames_dropped += 1
        self.slot = frame
        self.wake.set()

    async def sender(self) -> None:
        while not self.closed:
            await self.wake.wait()
            self.wake.clear()
            while not self.control.empty():
                await self.ws.send_text(json.dumps(self.control.get_nowait()))
            if self.slot is not None:
                frame, self.slot = self.slot, None
                frame["frames_dropped"] = self.dropped
                await self.ws.send_text(json.dumps(frame))
                self.hub.frames_sent += 1

    async def error(self, message: str) -> None:
        self.hub.errors += 1
        await self.send_control({"type": "error", "message": message})

    # -- the engine calls ---------------------------------------------------------------------
    def _frame(self) -> dict[str, Any]:
        assert self.session is not None
        return self.session.frame(self.dropped)

    def _step_frame(self) -> dict[str, Any]:
        assert self.session is not None
        self.session.step()
        return self.session.frame(self.dropped)

    async def frame_now(self) -> None:
        self.post_frame(await self.run_engine(self._frame))

    async def play(self) -> None:
        """Train one epoch per frame while playing, at most ``frame_rate`` frames a second."""
        session = self.session
        assert session is not None
        while session.playing and not self.closed:
            t0 = time.monotonic()
            try:
                frame = await self.run_engine(self._step_frame)
            except Exception as exc:  # the page must not wait for frames that never come
                session.playing = False
                await self.error(internal_error(exc))
                await self.send_control(session.state_message())
                break
            self.post_frame(frame)
            if not session.playing:  # stopped at the target or diverged
                await self.send_control(session.state_message())
                break
            rest = self.frame_interval - (time.monotonic() - t0)
            await asyncio.sleep(max(rest, 0.0))  # also lets other sessions in

    async def stop_playing(self) -> None:
        if self.session is not None:
            self.session.playing = False
        if self.player is not None:
            self.player.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.player
            self.player = None

    def cancel_seeds(self) -> None:
        if self.seeds_cancel is not None:
            self.seeds_cancel.set()
            self.seeds_cancel = None

    # -- messages -----------------------------------------------------------------------------
    async def handle(self, text: str) -> None:
        msg = parse_message(text)
        session = self.session
        assert session is not None
        kind = msg.type  # type: ignore[attr-defined]
        if kind == "ping":
            await self.send_control({"type": "pong"})
        elif kind == "play":
            if session.stopped and "target" in session.stopped:
                session.stopped = None  # play on past the target when asked
            if not session.playing:
                session.playing = True
                self.player = asyncio.create_task(self.play())
            await self.send_control(session.state_message())
        elif kind == "pause":
            await self.stop_playing()
            await self.send_control(session.state_message())
            await self.frame_now()
        elif kind == "step":
            await self.stop_playing()
            self.post_frame(await self.run_engine(self._step_frame))
        elif kind in ("reset", "regenerate"):
            await self.stop_playing()
            self.cancel_seeds()
            await self.run_engine(getattr(session, kind))
            await self.after_change({"data", "net"} if kind == "regenerate" else {"net"})
        elif isinstance(msg, SetMsg):
            await self.set_state(msg)
        elif isinstance(msg, SetWeightMsg):
            await self.run_engine(session.set_weight, msg.layer, msg.source, msg.target,
                                  msg.value)
            await self.frame_now()
        elif isinstance(msg, SetBiasMsg):
            await self.run_engine(session.set_bias, msg.layer, msg.neuron, msg.value)
            await self.frame_now()
        elif isinstance(msg, UploadMsg):
            await self.stop_playing()
            self.cancel_seeds()
            await self.run_engine(session.upload, msg.csv)
            await self.after_change({"data", "net"})
        elif isinstance(msg, AddPointMsg):
            self.cancel_seeds()
            await self.run_engine(session.add_point, msg.x, msg.y, msg.label)
            await self.after_change({"data", "net"})
        elif kind == "export":
            await self.send_control(await self.run_engine(session.export))
        elif isinstance(msg, SeedsMsg):
            await self.start_seeds(msg.n)
        elif kind == "cancel_seeds":
            self.cancel_seeds()

    async def set_state(self, msg: SetMsg) -> None:
        session = self.session
        assert session is not None
        if msg.query is not None:
            new = from_query(msg.query)
            rebuilt = await self.run_engine(session.set_state, new)
        else:
            rebuilt = await self.run_engine(session.apply, msg.state or {})
        if rebuilt:
            self.cancel_seeds()
        await self.after_change(rebuilt)

    async def after_change(self, rebuilt: set[str]) -> None:
        session = self.session
        assert session is not None
        if rebuilt:
            self.slot = None  # a frame of the network before the change: never show it after
        await self.send_control(session.state_message())
        if "data" in rebuilt:
            await self.send_control(await self.run_engine(session.data_message))
        await self.frame_now()

    async def start_seeds(self, n: int) -> None:
        session = self.session
        assert session is not None
        if self.seeds_thread is not None and self.seeds_thread.is_alive():
            raise MessageError("a seeds run of this page is still training (or stopping); "
                               "wait for its result, or send cancel_seeds and try again")
        hub = self.hub
        if hub.seeds_running >= hub.max_seeds_running:
            raise MessageError(f"the server trains {hub.seeds_running} seeds runs already, "
                               "its most at once; try again in a minute")
        target = session.state.targetAccuracy or 1.0
        config = session.config(seeds_budget(session.epoch))
        check_seeds(config)
        cancel = threading.Event()
        self.seeds_cancel = cancel
        loop = asyncio.get_running_loop()

        def post(message: dict[str, Any]) -> None:
            if not cancel.is_set() and not self.closed:
                with contextlib.suppress(asyncio.QueueFull):
                    self.control.put_nowait(message)
                self.wake.set()

        def notify(fn: Any, *args: Any) -> None:
            """``fn(*args)`` on the server's loop; nothing once the server has stopped."""
            with contextlib.suppress(RuntimeError):  # "Event loop is closed"
                loop.call_soon_threadsafe(fn, *args)

        def progress(done: int, total: int) -> None:
            notify(post, {"type": "seeds_progress", "done": done, "total": total})

        def work() -> None:
            try:
                result = run_seeds(config, n, target, cancel=cancel, progress=progress)
            except Exception as exc:  # a setting the study refuses: one line to the page
                text = " ".join(str(exc).split()) or type(exc).__name__
                result = {"type": "error", "message": f"run {n} seeds: {text}"}
            finally:
                notify(self._seeds_done)
            if result is not None:
                notify(post, result)

        await self.send_control({"type": "seeds_progress", "done": 0, "total": n})
        hub.seeds_running += 1
        self.seeds_thread = threading.Thread(target=work, name="playground-seeds", daemon=True)
        self.seeds_thread.start()

    def _seeds_done(self) -> None:
        self.hub.seeds_running -= 1

    # -- the connection's life --------------------------------------------------------------
    async def serve(self, initial: PlaygroundState | None, query_error: str | None) -> None:
        try:
            self.session = await self.run_engine(Session, initial)
        except MessageError as exc:  # e.g. a link to dataset=upload: its data are not in it
            try:  # the link's other settings on Playground's default data
                fallback = updated(initial, {"dataset": "circle"}) if initial else None
                self.session = await self.run_engine(Session, fallback)
                query_error = f"the page's URL: {exc}; showing the circle data set instead"
            except MessageError:
                query_error = f"the page's URL: {exc}; starting from the defaults"
                self.session = await self.run_engine(Session, None)
        session = self.session
        if query_error:
            await self.error(query_error)
        await self.send_control(session.state_message())
        await self.send_control(await self.run_engine(session.data_message))
        await self.frame_now()
        sender = asyncio.create_task(self.sender())
        reaper = asyncio.create_task(self.reap())
        try:
            while True:
                received = await self.ws.receive()
                if received["type"] == "websocket.disconnect":
                    break
                self.last_message = time.monotonic()
                text = received.get("text")
                if text is None:
                    await self.error("binary messages are not allowed; send JSON text")
                    continue
                try:
                    await self.handle(text)
                except MessageError as exc:
                    await self.error(str(exc))
                except ValueError as exc:  # the engine refused a value: still one line
                    await self.error(" ".join(str(exc).split()))
                except Exception as exc:  # a bug: logged here, one line to the page
                    await self.error(internal_error(exc))
                if sender.done():
                    break
        finally:
            self.closed = True
            self.wake.set()
            await self.stop_playing()
            self.cancel_seeds()
            reaper.cancel()
            sender.cancel()
            for task in (sender, reaper):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await self.run_engine(session.close)

    async def reap(self) -> None:
        """Close the connection after ``idle_timeout`` seconds without a message."""
        while not self.closed:
            left = self.last_message + self.idle_timeout - time.monotonic()
            if left <= 0:
                with contextlib.suppress(Exception):
                    await self.ws.close(code=CLOSE_IDLE, reason="idle")
                return
            await asyncio.sleep(min(left, 5.0))


def internal_error(exc: BaseException) -> str:
    """The page's line for an unexpected exception (the traceback goes to the server's log)."""
    if isinstance(exc, MessageError):
        return str(exc)
    LOG.exception("playground session error")
    text = " ".join(str(exc).split())[:300]
    return (f"internal error ({type(exc).__name__}: {text}); this is a bug in neuralab, "
            "please report it; reset or reload the page to go on")


def uvicorn_config(host: str, port: int) -> dict[str, Any]:
    """uvicorn's settings for the playground (the CLI and the tests use the same): the
    websocket message cap, pings to notice pages that went away, quiet logs."""
    return {"host": host, "port": port, "ws_max_size": MAX_MESSAGE_BYTES,
            "ws_ping_interval": 20.0, "ws_ping_timeout": 20.0, "log_level": "warning",
            "access_log": False, "lifespan": "off"}


def _token_ok(expected: str | None, given: str | None) -> bool:
    if expected is None:
        return True
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


def create_app(token: str | None = None, *, max_sessions: int = MAX_SESSIONS,
               idle_timeout: float = IDLE_TIMEOUT, frame_rate: float = FRAME_RATE,
               static_dir: str | Path | None = None) -> FastAPI:
    """The playground's ASGI app. ``token``: required as ``?token=`` by ``/`` and ``/ws``."""
    if frame_rate <= 0 or idle_timeout <= 0 or max_sessions < 1:
        raise ValueError(f"frame_rate={frame_rate}, idle_timeout={idle_timeout} and "
                         f"max_sessions={max_sessions} must be positive")
    static = Path(static_dir) if static_dir is not None else STATIC
    app = FastAPI(title="neuralab playground", docs_url=None, redoc_url=None,
                  openapi_url=None)
    hub = Hub(max_sessions)
    app.state.hub = hub
    if static.is_dir():
        app.mount("/static", StaticFiles(directory=static), name="static")

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"ok": True, "sessions": hub.active, "max_sessions": hub.max_sessions}

    @app.get("/stats")
    async def stats(request: Request) -> Response:
        if not _token_ok(token, request.query_params.get("token")):
            return JSONResponse({"error": "a token is required"}, status_code=401)
        return JSONResponse({"sessions": hub.active, "opened": hub.opened,
                             "frames_sent": hub.frames_sent,
                             "frames_dropped": hub.frames_dropped, "errors": hub.errors})

    @app.get("/")
    async def index(request: Request) -> Response:
        if not _token_ok(token, request.query_params.get("token")):
            return HTMLResponse("<p>This playground needs its token: open the URL the "
                                "teacher's <code>neuralab playground</code> printed.</p>",
                                status_code=401)
        page = static / "index.html"
        if not page.is_file():
            return HTMLResponse(PLACEHOLDER)
        return HTMLResponse(page.read_text(encoding="utf-8"),
                            headers={"Cache-Control": "no-store"})

    @app.websocket("/ws")
    async def ws_endpoint(ws: WebSocket) -> None:
        params = dict(ws.query_params)
        await ws.accept()
        if not _token_ok(token, params.pop("token", None)):
            await ws.close(code=CLOSE_TOKEN, reason="a valid token is required")
            return
        if hub.active >= hub.max_sessions:
            await ws.send_text(json.dumps({"type": "error", "message": (
                f"the server has its maximum of {hub.max_sessions} sessions; try again "
                "later")}))
            await ws.close(code=CLOSE_BUSY, reason="too many sessions")
            return
        initial, query_error = None, None
        if params:
            try:
                initial, problems = from_link(str(ws.url.query))
            except MessageError as exc:
                query_error = f"the page's URL: {exc}; starting from the defaults"
            else:  # a bad key is left out; the link's other settings stay
                if problems:
                    query_error = (f"the page's URL: {problems[0]}"
                                   + (f" (and {len(problems) - 1} more)" if len(problems) > 1
                                      else "")
                                   + "; the link's other settings are kept")
        hub.active += 1
        hub.opened += 1
        conn = Connection(ws, hub, frame_rate, idle_timeout)
        try:
            await conn.serve(initial, query_error)
        except (WebSocketDisconnect, RuntimeError):
            pass  # the page went away mid-send
        finally:
            hub.active -= 1

    return app


__all__ = ["CLOSE_BUSY", "CLOSE_IDLE", "CLOSE_TOKEN", "FRAME_RATE", "IDLE_TIMEOUT",
           "MAX_SESSIONS", "create_app", "uvicorn_config"]
