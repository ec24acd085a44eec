"""The playground (issue #12's speed bar): what one frame costs and how many frames a page gets.

A frame is what the page draws after a step: one epoch of training (Playground's ``oneStep``,
with the train and test loss and accuracy the curves need), the 100×100 output heat map and
the 25×25 neuron thumbnails (one forward pass of the plane through the network), the weights,
biases and confusion matrix, and the JSON text sent. Measured for the default network
(TensorFlow Playground's: circle, 500 points, half to train, features x and y, hidden 4-2
tanh, lr 0.03, batch 10), one BLAS thread:

- ``in-process``  the parts, timed one by one on a :class:`neuralab.playground.session.Session`
                  (``--frames`` frames after a warm-up; medians), and their sum as frames/s
- ``websocket``   ``neuralab playground --port 0 --no-browser`` in its own process, and 1 and
                  20 websocket clients (``--clients``) pressing play for ``--seconds`` seconds:
                  frames/s each client received, epochs trained, the server's CPU per frame

    python benchmarks/playground.py                # 200 frames, 1 and 20 clients × 20 s (~1 min)
    python benchmarks/playground.py --quick        # 50 frames, 1 and 20 clients × 5 s
    python benchmarks/playground.py --clients 1 5 20 --seconds 30

The server caps a session at 30 frames/s (``FRAME_RATE``: one epoch per frame), so 30 is
the most one client can see.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import blas_report, child_env, format_blas, machine_line, markdown_table, pin_threads

THREADS = 1
PARTS = ("train one epoch (+ train/test loss and accuracy)",
         "forward pass of the plane (100×100 points)", "heat map + thumbnails encoded",
         "confusion matrix", "weights, biases, the rest of the frame", "JSON text")


# -- in-process: the parts of a frame ---------------------------------------------------------
def time_parts(frames: int) -> dict[str, Any]:
    """Median milliseconds of each part of a frame, the default network, ``frames`` frames.

    ``Session.frame()`` is timed whole and its callees through wrappers (the forward pass,
    the encoders, the confusion matrix); the rest of it is the weights and biases."""
    from neuralab.playground import session as session_mod
    from neuralab.playground.session import Session
    from neuralab.viz import weights as weights_mod

    pin_threads(THREADS)
    clock = time.perf_counter
    spent: dict[str, float] = {}

    def timed(part: str, fn: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t0 = clock()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[part] = spent.get(part, 0.0) + clock() - t0
        return wrapper

    t0 = clock()
    s = Session()
    setup = clock() - t0
    for _ in range(5):  # warm-up: first calls pay for imports and buffers
        s.step()
        json.dumps(s.frame())
    saved = (weights_mod.layer_outputs, session_mod.encode_unit, session_mod.encode_bytes)
    weights_mod.layer_outputs = timed(PARTS[1], saved[0])
    session_mod.encode_unit = timed(PARTS[2], saved[1])
    session_mod.encode_bytes = timed(PARTS[2], saved[2])
    s.confusion = timed(PARTS[3], s.confusion)  # type: ignore[method-assign]
    times: dict[str, list[float]] = {p: [] for p in PARTS}
    totals, sizes = [], []
    try:
        for _ in range(frames):
            spent.clear()
            t0 = clock()
            s.step()
            t1 = clock()
            frame = s.frame()
            t2 = clock()
            text = json.dumps(frame)
            t3 = clock()
            inner = sum(spent.get(p, 0.0) for p in PARTS[1:4])
            for part, seconds in zip(PARTS, (t1 - t0, spent.get(PARTS[1], 0.0),
                                             spent.get(PARTS[2], 0.0), spent.get(PARTS[3], 0.0),
                                             (t2 - t1) - inner, t3 - t2), strict=True):
                times[part].append(seconds)
            totals.append(t3 - t0)
            sizes.append(len(text))
    finally:
        weights_mod.layer_outputs, session_mod.encode_unit, session_mod.encode_bytes = saved
    return {"ms": {p: 1e3 * statistics.median(v) for p, v in times.items()},
            "total_ms": 1e3 * statistics.median(totals), "bytes": int(statistics.median(sizes)),
            "setup_ms": 1e3 * setup, "epoch": s.epoch, "test_loss": s.frame()["test_loss"],
            "blas": format_blas(blas_report())}


# -- over a websocket: the real server in its own process ------------------------------------
def start_server() -> tuple[subprocess.Popen[str], int]:
    """``neuralab playground --port 0 --no-browser`` with one BLAS thread; (process, port)."""
    proc = subprocess.Popen([sys.executable, "-m", "neuralab", "playground", "--port", "0",
                             "--no-browser"], env=child_env(THREADS), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    for line in proc.stdout:
        found = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        if found:  # read on, so that a chatty server never blocks on a full pipe
            threading.Thread(target=proc.stdout.read, daemon=True).start()
            return proc, int(found[1])
        if time.monotonic() > deadline:
            break
    proc.kill()
    raise RuntimeError("the playground server did not start (no URL printed)")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def play_client(url: str, seconds: float, start: asyncio.Event) -> dict[str, Any]:
    """One page: wait for the greeting, press play, count frames for ``seconds``."""
    from websockets.asyncio.client import connect

    async with connect(url, max_size=2**24, open_timeout=60) as ws:
        while json.loads(await ws.recv())["type"] != "frame":
            pass
        await start.wait()
        await ws.send(json.dumps({"type": "play"}))
        frames, errors, first, last = 0, 0, None, None
        t_end = time.monotonic() + seconds
        while (left := t_end - time.monotonic()) > 0:
            try:
                message = json.loads(await asyncio.wait_for(ws.recv(), left))
            except asyncio.TimeoutError:
                break
            if message["type"] == "frame":
                frames += 1
                first = message["epoch"] if first is None else first
                last = message["epoch"]
            errors += message["type"] == "error"
        await ws.send(json.dumps({"type": "pause"}))
    return {"fps": frames / seconds, "epochs": (last or 0) - (first or 0), "errors": errors}


async def play_clients(port: int, pid: int, clients: int,
                       seconds: float) -> tuple[list[dict[str, Any]], float, float]:
    """Every client's counts, and the server's CPU seconds and the wall seconds of play."""
    start = asyncio.Event()
    tasks = [asyncio.create_task(play_client(f"ws://127.0.0.1:{port}/ws", seconds, start))
             for _ in range(clients)]
    await asyncio.sleep(0.5 + 0.1 * clients)  # every page connected and greeted
    cpu0, t0 = cpu_seconds(pid), time.perf_counter()
    start.set()
    results = await asyncio.gather(*tasks)
    return results, cpu_seconds(pid) - cpu0, time.perf_counter() - t0


def over_websocket(clients: int, seconds: float) -> dict[str, Any]:
    proc, port = start_server()
    try:
        asyncio.run(play_clients(port, proc.pid, 1, 1.0))  # warm-up: imports, first session
        results, cpu, wall = asyncio.run(play_clients(port, proc.pid, clients, seconds))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    fps = [r["fps"] for r in results]
    frames = sum(fps) * seconds
    return {"clients": clients, "min_fps": min(fps), "median_fps": statistics.median(fps),
            "total_fps": sum(fps), "epochs": statistics.median(r["epochs"] for r in results),
            "errors": sum(r["errors"] for r in results),
            "cpu_ms_per_frame": 1e3 * cpu / max(frames, 1), "server_cpu": cpu / wall}


# -- the report -------------------------------------------------------------------------------
def report(parts: dict[str, Any], ws: list[dict[str, Any]], args: argparse.Namespace) -> str:
    ms = parts["ms"]
    rows = [[p, f"{ms[p]:.2f}"] for p in PARTS]
    rows.append(["**a frame** (step + `Session.frame()` + JSON)",
                 f"**{parts['total_ms']:.2f}**"])
    lines = [f"#### One frame of the default network, in-process (median of {args.frames})", "",
             markdown_table(["part", "ms"], rows), "",
             f"A frame is {parts['bytes'] / 1024:.0f} KB of JSON; **{1e3 / parts['total_ms']:.0f} "
             f"frames/s** on one core (bar ≥ 10). A new session (data + network): "
             f"{parts['setup_ms']:.0f} ms. BLAS: {parts['blas']}.", ""]
    if ws:
        lines += [f"#### Over a websocket: `neuralab playground` in its own process, clients "
                  f"playing for {args.seconds:g} s", "",
                  markdown_table(["clients", "frames/s, slowest client",
                                  "frames/s, median client", "frames/s, all clients",
                                  "epochs per client", "server CPU per frame (ms)",
                                  "server CPU (cores)", "error frames"],
                                 [[r["clients"], f"{r['min_fps']:.1f}", f"{r['median_fps']:.1f}",
                                   f"{r['total_fps']:.0f}", f"{r['epochs']:.0f}",
                                   f"{r['cpu_ms_per_frame']:.1f}", f"{r['server_cpu']:.2f}",
                                   r["errors"]] for r in ws]), "",
                  "One epoch per frame, at most 30 frames/s per session (the server's cap); "
                  "the bar for 20 clients is ≥ 5 frames/s each.", ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="50 frames; 5 s per client count")
    ap.add_argument("--frames", type=int, default=None, help="frames timed in-process (200)")
    ap.add_argument("--clients", type=int, nargs="*", default=[1, 20],
                    help="websocket client counts (1 20; none: in-process only)")
    ap.add_argument("--seconds", type=float, default=None, help="seconds of play (20)")
    args = ap.parse_args()
    args.frames = args.frames or (50 if args.quick else 200)
    args.seconds = args.seconds or (5.0 if args.quick else 20.0)
    if args.frames < 1 or args.seconds <= 0 or any(c < 1 for c in args.clients):
        raise SystemExit("--frames, --seconds and --clients must be positive")
    os.environ.update(child_env(THREADS))  # before NumPy is imported (machine_line does)
    print(f"# playground: {machine_line()}")
    print(f"# command: python benchmarks/{Path(__file__).name} {' '.join(sys.argv[1:])}")
    load0 = os.getloadavg()
    parts = time_parts(args.frames)
    ws = []
    for clients in args.clients:
        ws.append(over_websocket(clients, args.seconds))
        print(f"  {clients} client(s): {ws[-1]['min_fps']:.1f} frames/s (slowest)", flush=True)
    load1 = os.getloadavg()
    print()
    print(report(parts, ws, args))
    print(f"Load average {load0[0]:.1f} at the start, {load1[0]:.1f} at the end "
          f"({time.strftime('%Y-%m-%d %H:%M')}).")


if __name__ == "__main__":
    main()
