"""LeNet-5 training throughput (issue #11): neuralab's CNN layers vs PyTorch CPU vs the floor.

The network is the issue's LeNet-5 on 28×28 single-channel inputs (conv 5×5 pad 2 → 6,
ReLU, max-pool 2, conv 5×5 → 16, ReLU, max-pool 2, flatten, 400-120-84-10), trained with
plain SGD (lr 0.05, no momentum) on random images and labels, one epoch per batch size.
Every library starts from the same initial weights; after the epoch each reports the loss
on the first 256 samples, so the tables show that the same work was done.

- ``neuralab``  the loop a student writes: ``net.forward``, ``loss.forward``,
                ``net.backward(loss.backward())``, ``opt.step()``
- ``torch``     PyTorch 2.13 CPU: ``zero_grad(set_to_none=True); cross_entropy; backward();
                step()``
- ``floor``     only the matrix products of one step, exactly as neuralab's layers do them
                (each conv as ``W (O, K) @ cols (K, N)`` and its two backward products
                ``cols @ gᵀ`` and ``Wᵀ @ g``, the first conv without the input gradient;
                the three dense layers with all three), into preallocated outputs: what
                the same algorithm cannot beat

Each library runs in its own process with pinned BLAS threads, round-robin over rounds,
medians. Seconds per epoch; ``×`` columns are PyTorch's time ÷ neuralab's, and at 2 threads
neuralab's time at 1 thread ÷ its time at 2 (the goal: never below 1).

    python benchmarks/cnn_throughput.py                 # batch 1, 16, 64, 256; 1 and 2 threads
    python benchmarks/cnn_throughput.py --quick         # fewer samples, 1 round
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    blas_report,
    emit,
    format_blas,
    machine_line,
    markdown_table,
    median,
    pin_threads,
    round_robin,
)

BATCHES = (1, 16, 64, 256)
LR = 0.05
N_EVAL = 256
LIBS = ("neuralab", "torch", "floor")
#: the issue's goals: × PyTorch by batch size (≥ 2× at batch 1, ≥ 0.7× from 64), and the
#: share of the floor
GOALS = {1: 2.0, 64: 0.7, 256: 0.7}
FLOOR_GOAL = 0.7


def samples_for(batch: int, quick: bool) -> int:
    if batch == 1:
        return 200 if quick else 1000
    return 1024 if quick else 4096


def make_data(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.random((n, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, n)
    return X, y


def initial_weights() -> dict[str, np.ndarray]:
    """PyTorch's layout: conv (out, in, kH, kW), dense (out, in), as PyTorch stores them."""
    rng = np.random.default_rng(1)

    def u(shape: tuple[int, ...], fan_in: int) -> np.ndarray:
        bound = 1.0 / np.sqrt(fan_in)
        return rng.uniform(-bound, bound, shape).astype(np.float32)

    return {"c1.w": u((6, 1, 5, 5), 25), "c1.b": u((6,), 25),
            "c2.w": u((16, 6, 5, 5), 150), "c2.b": u((16,), 150),
            "f1.w": u((120, 400), 400), "f1.b": u((120,), 400),
            "f2.w": u((84, 120), 120), "f2.b": u((84,), 120),
            "f3.w": u((10, 84), 84), "f3.b": u((10,), 84)}


# -- the workers ------------------------------------------------------------------------------
def neuralab_worker():
    from neuralab import nn, optim

    rng = np.random.default_rng(0)
    net = nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, kernel_size=5, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 5 * 5, 120, rng=rng), nn.ReLU(),
        nn.Linear(120, 84, rng=rng), nn.ReLU(), nn.Linear(84, 10, rng=rng))
    loss = nn.SoftmaxCrossEntropy()
    opt = optim.SGD(net, LR)

    def load(w):
        # neuralab's Linear stores (in, out): the transpose of PyTorch's (out, in)
        net.load_state_dict({"0.weight": w["c1.w"], "0.bias": w["c1.b"],
                             "3.weight": w["c2.w"], "3.bias": w["c2.b"],
                             "7.weight": w["f1.w"].T, "7.bias": w["f1.b"],
                             "9.weight": w["f2.w"].T, "9.bias": w["f2.b"],
                             "11.weight": w["f3.w"].T, "11.bias": w["f3.b"]})

    def train(X, y, batch):
        for i in range(0, len(X), batch):
            out = net.forward(X[i:i + batch])
            loss.forward(out, y[i:i + batch])
            net.backward(loss.backward())
            opt.step()

    def eval_loss(X, y):
        net.eval()
        try:
            return float(loss.forward(net.forward(X), y))
        finally:
            net.train()

    return load, train, eval_loss


def torch_worker():
    import torch
    import torch.nn.functional as F

    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 6, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(6, 16, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(400, 120), torch.nn.ReLU(),
        torch.nn.Linear(120, 84), torch.nn.ReLU(), torch.nn.Linear(84, 10))
    opt = torch.optim.SGD(net.parameters(), lr=LR)
    keys = {"0": "c1", "3": "c2", "7": "f1", "9": "f2", "11": "f3"}

    def load(w):
        with torch.no_grad():
            for idx, name in keys.items():
                net[int(idx)].weight.copy_(torch.from_numpy(w[f"{name}.w"]))
                net[int(idx)].bias.copy_(torch.from_numpy(w[f"{name}.b"]))

    def train(X, y, batch):
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
        for i in range(0, len(X), batch):
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(net(Xt[i:i + batch]), yt[i:i + batch]).backward()
            opt.step()

    def eval_loss(X, y):
        with torch.no_grad():
            return float(F.cross_entropy(net(torch.from_numpy(X)), torch.from_numpy(y)))

    return load, train, eval_loss


def floor_worker():
    """The matrix products of one step, in the layers' own im2col form and memory layout,
    into preallocated outputs."""
    bufs: dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
    rng = np.random.default_rng(2)

    def products(B: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        # (left, right, out) triples, as nn/conv.py and nn/linear.py compute them: a conv
        # (K = C·kH·kW, N = B·Ho·Wo) does out (O, N) = W (O, K) @ cols (K, N), then
        # dWᵀ = cols @ gᵀ and dcols = Wᵀ @ g (not for the first conv: no input gradient); a
        # Linear does x (B, in) @ W (in, out), dW = xᵀ @ g and dx = g @ Wᵀ
        convs = [(6, 25, B * 28 * 28),    # conv1: 5×5×1 windows on the padded 32×32 → 28×28
                 (16, 150, B * 10 * 10)]  # conv2: 5×5×6 windows on 14×14 → 10×10
        dense = [(B, 400, 120), (B, 120, 84), (B, 84, 10)]
        out = []
        for k, (o, kk, n) in enumerate(convs):
            W = rng.random((o, kk), dtype=np.float32)
            cols = rng.random((kk, n), dtype=np.float32)
            g = rng.random((o, n), dtype=np.float32)
            out.append((W, cols, np.empty((o, n), np.float32)))          # forward
            out.append((cols, g.T, np.empty((kk, o), np.float32)))      # weight gradient
            if k > 0:                                                     # input gradient
                out.append((W.T, g, np.empty((kk, n), np.float32)))
        for m, n_in, n_out in dense:
            x = rng.random((m, n_in), dtype=np.float32)
            W = rng.random((n_in, n_out), dtype=np.float32)
            g = rng.random((m, n_out), dtype=np.float32)
            out.append((x, W, np.empty((m, n_out), np.float32)))
            out.append((x.T, g, np.empty((n_in, n_out), np.float32)))
            out.append((g, W.T, np.empty((m, n_in), np.float32)))
        return out

    def train(X, y, batch):
        if batch not in bufs:
            bufs[batch] = products(batch)
        prods = bufs[batch]
        for _ in range(0, len(X), batch):
            for left, right, out in prods:
                np.dot(left, right, out=out)  # np.dot, as the layers call it

    return (lambda w: None), train, None


def worker(name: str, threads: int, batches: list[int], quick: bool) -> None:
    X, y = make_data(max(samples_for(b, quick) for b in batches))
    if name == "neuralab":
        load, train, eval_loss = neuralab_worker()
    elif name == "torch":
        load, train, eval_loss = torch_worker()
    elif name == "floor":
        load, train, eval_loss = floor_worker()
    else:
        raise SystemExit(f"unknown worker {name!r}; choose from {LIBS}")
    pin_threads(threads, torch_too=name == "torch")
    w0 = initial_weights()
    times, losses = {}, {}
    for batch in batches:
        n = samples_for(batch, quick)
        Xn, yn = X[:n], y[:n]
        load(w0)
        warm = min(n, batch * 8)
        train(Xn[:warm], yn[:warm], batch)  # caches, allocator, lazy initialisation
        load(w0)
        t0 = time.perf_counter()
        train(Xn, yn, batch)
        times[batch] = time.perf_counter() - t0
        if eval_loss is not None:
            losses[batch] = eval_loss(X[:N_EVAL], y[:N_EVAL])
    emit({"lib": name, "threads": threads, "times": times, "losses": losses,
          "blas": blas_report()})


# -- the parent ---------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer samples and 1 round")
    ap.add_argument("--rounds", type=int, default=None, help="rounds (default 3, quick 1)")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--batches", type=int, nargs="+", default=list(BATCHES))
    ap.add_argument("--libs", nargs="+", default=list(LIBS), choices=LIBS)
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, args.threads[0], args.batches, args.quick)
        return
    rounds = args.rounds or (1 if args.quick else 3)
    script = str(Path(__file__).resolve())
    common = ["--batches", *map(str, args.batches)] + (["--quick"] if args.quick else [])
    jobs = [(f"{lib}@{t}", [script, "--worker", lib, "--threads", str(t), *common], t)
            for t in args.threads for lib in args.libs]
    print(f"# cnn_throughput: {machine_line()}")
    print(f"# command: python benchmarks/cnn_throughput.py {' '.join(sys.argv[1:])}")
    # the 2-thread columns mean little if something else holds a core: say how busy it was
    print(f"# {time.strftime('%Y-%m-%d %H:%M')}, load average before: {_load()}")
    t0 = time.perf_counter()
    results = round_robin(jobs, rounds)
    print(f"# total {time.perf_counter() - t0:.0f} s, {rounds} round(s); load average after: "
          f"{_load()}\n")
    for t in args.threads:
        med = {lib: {b: median([r["times"][str(b)] for r in results[f"{lib}@{t}"]])
                     for b in args.batches} for lib in args.libs}
        rows = [[b, samples_for(b, args.quick), *(f"{med[lib][b]:.3f}" for lib in args.libs)]
                for b in args.batches]
        print(f"### {t} thread(s): seconds per epoch (median of {rounds} round(s))\n")
        print(markdown_table(["batch", "samples", *args.libs], rows) + "\n")
        if "neuralab" in args.libs:
            ratio_rows = []
            if "torch" in args.libs:
                ratio_rows.append(["× PyTorch", *(
                    _mark(med["torch"][b] / med["neuralab"][b], GOALS.get(b), "×")
                    for b in args.batches)])
            if "floor" in args.libs:
                ratio_rows.append(["of the floor", *(
                    _mark(med["floor"][b] / med["neuralab"][b], FLOOR_GOAL, "")
                    for b in args.batches)])
            if t != 1 and 1 in args.threads:
                one = {b: median([r["times"][str(b)] for r in results["neuralab@1"]])
                       for b in args.batches}
                ratio_rows.append(["× itself at 1 thread", *(
                    _mark(one[b] / med["neuralab"][b], 1.0, "×") for b in args.batches)])
            if ratio_rows:
                print(markdown_table(["neuralab", *(f"batch {b}" for b in args.batches)],
                                     ratio_rows) + "\n")
        loss_rows = [[b, *(f"{results[f'{lib}@{t}'][0]['losses'].get(str(b), float('nan')):.5f}"
                          for lib in args.libs if lib != "floor")] for b in args.batches]
        print(f"Loss on {N_EVAL} samples after the epoch (same work, same loss):\n")
        print(markdown_table(["batch", *(lib for lib in args.libs if lib != "floor")],
                             loss_rows) + "\n")
    print("BLAS as seen by each worker (threadpoolctl):\n")
    for key, runs in results.items():
        print(f"- {key}: {format_blas(runs[0]['blas'])}")
    print(f"\nGoals (issue 11): ≥ 2× PyTorch at batch 1, ≥ 0.7× at batch 64 and above, ≥ "
          f"{FLOOR_GOAL} of the floor (✓ holds, ✗ misses).")


def _load() -> str:
    """The 1, 5 and 15 minute load averages (Unix), or "n/a"."""
    try:
        return ", ".join(f"{v:.2f}" for v in os.getloadavg())
    except (AttributeError, OSError):
        return "n/a"


def _mark(value: float, goal: float | None, unit: str) -> str:
    text = f"{value:.2f}{unit}"
    if goal is None:
        return text
    return f"{text} {'✓' if value >= goal else '✗'}"


if __name__ == "__main__":
    main()
