"""Ensembles: 200 MLPs 2-20-20-2 on make_moons(200, noise=0.2) (the first 160 points train).

Full batch, 1,000 epochs, plain SGD (lr 0.1), float32, softmax cross-entropy:

- ``ensemble``      neuralab, the 200 models stacked on a leading axis, one process
- ``loop``          neuralab, a Python loop over 200 single models (the same seeds)
- ``torch-bmm``     PyTorch, the same stack with ``baddbmm`` (1 and 2 threads)
- ``ensemble-2p``   neuralab, the stack split in two halves run by 2 worker processes
                    (timed end to end: forking the workers, training, collecting the weights)

Batch size 1 (per-member sample order, one permutation per epoch drawn from the member's own
generator), 200 models × 20 epochs:

- ``ensemble-sgd1`` the stack, gathering one sample per member per step
- ``loop-sgd1``     a Python loop over the 200 single models

Member i of the ensemble starts from the weights of the single model built with the i-th
spawned seed and sees the same samples; the report shows how far their final weights are
apart (float32 round-off only).

    python benchmarks/ensemble.py            # full run, 3 rounds
    python benchmarks/ensemble.py --quick    # fewer epochs, 1 round
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
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

N_MODELS, SEED, LR = 200, 0, 0.1
EPOCHS, EPOCHS_SGD1 = 1000, 20


def moons() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_moons

    X, y = make_moons(200, noise=0.2, random_state=0)
    return X[:160].astype(np.float32), y[:160].astype(np.int64)


def member_generators(lo: int = 0, hi: int = N_MODELS) -> list[np.random.Generator]:
    from neuralab.rng import spawn_generators

    return spawn_generators(SEED, N_MODELS)[lo:hi]


def build(rng):
    """The 2-20-20-2 network; ``rng`` is one Generator (a single model) or a list (ensemble)."""
    from neuralab import nn

    return nn.Sequential(nn.Linear(2, 20, rng=rng, input_grad=False), nn.ReLU(),
                         nn.Linear(20, 20, rng=rng), nn.ReLU(), nn.Linear(20, 2, rng=rng))


def train_full_batch(net, X, y, epochs):
    from neuralab import nn, optim

    loss_fn, opt = nn.SoftmaxCrossEntropy(), optim.SGD(net, lr=LR)
    for _ in range(epochs):
        loss_fn.forward(net.forward(X), y)
        net.backward(loss_fn.backward())
        opt.step()
    return net


def train_sgd1(net, gens, X, y, epochs):
    """Batch size 1; each member visits the samples in its own order (one permutation of
    its generator per epoch, after the weight draws: the library's seeding rule)."""
    from neuralab import nn, optim

    loss_fn, opt = nn.SoftmaxCrossEntropy(), optim.SGD(net, lr=LR)
    ensemble = isinstance(gens, list)
    for _ in range(epochs):
        if ensemble:
            order = np.stack([g.permutation(len(X)) for g in gens])  # (E, n)
            for j in range(len(X)):
                idx = order[:, j]
                loss_fn.forward(net.forward(X[idx][:, None, :]), y[idx][:, None])
                net.backward(loss_fn.backward())
                opt.step()
        else:
            for i in gens.permutation(len(X)):
                loss_fn.forward(net.forward(X[i:i + 1]), y[i:i + 1])
                net.backward(loss_fn.backward())
                opt.step()
    return net


def weights_of(net) -> list[np.ndarray]:
    return [p for _, p, _ in net.named_parameters()]


def _half(lo_hi_epochs):
    lo, hi, epochs = lo_hi_epochs
    X, y = moons()
    return weights_of(train_full_batch(build(member_generators(lo, hi)), X, y, epochs))


def torch_bmm(weights, X, y, epochs, threads):
    import torch
    import torch.nn.functional as F

    pin_threads(threads, torch_too=True)
    params = []
    for w in weights:  # (E, in, out) weights; biases (E, out) -> (E, 1, out) for baddbmm
        t = torch.from_numpy(w.copy() if w.ndim == 3 else w[:, None, :].copy())
        params.append(t.requires_grad_(True))
    W1, b1, W2, b2, W3, b3 = params
    opt = torch.optim.SGD(params, lr=LR)
    E, n = W1.shape[0], len(X)
    Xe = torch.from_numpy(X).expand(E, n, 2)
    ye = torch.from_numpy(y).repeat(E)
    t0 = time.perf_counter()
    for _ in range(epochs):
        opt.zero_grad(set_to_none=True)
        h = torch.relu(torch.baddbmm(b1, Xe, W1))
        h = torch.relu(torch.baddbmm(b2, h, W2))
        z = torch.baddbmm(b3, h, W3)
        # the sum over members of each member's mean loss: every member gets its own gradient
        loss = F.cross_entropy(z.reshape(-1, 2), ye, reduction="sum") / n
        loss.backward()
        opt.step()
    seconds = time.perf_counter() - t0
    out = [p.detach().numpy() for p in params]
    return seconds, [o if i % 2 == 0 else o[:, 0, :] for i, o in enumerate(out)]  # b: (E, out)


def worker(name: str, threads: int, quick: bool, out: str) -> None:
    X, y = moons()
    epochs = 100 if quick else EPOCHS
    epochs1 = 4 if quick else EPOCHS_SGD1
    n_loop = N_MODELS
    result: dict = {"name": name, "threads": threads}
    if name != "torch-bmm":
        pin_threads(threads)
    t0 = time.perf_counter()
    if name == "ensemble":
        w = weights_of(train_full_batch(build(member_generators()), X, y, epochs))
    elif name == "loop":
        ws = [weights_of(train_full_batch(build(g), X, y, epochs)) for g in member_generators()]
        w = [np.stack(k) for k in zip(*ws, strict=True)]
    elif name == "ensemble-2p":
        half = N_MODELS // 2
        import multiprocessing as mp

        with ProcessPoolExecutor(2, mp_context=mp.get_context("fork")) as pool:
            parts = list(pool.map(_half, [(0, half, epochs), (half, N_MODELS, epochs)]))
        w = [np.concatenate(k) for k in zip(*parts, strict=True)]
    elif name == "ensemble-sgd1":
        gens = member_generators()
        w = weights_of(train_sgd1(build(gens), gens, X, y, epochs1))
    elif name == "loop-sgd1":
        ws = []
        for g in member_generators():
            ws.append(weights_of(train_sgd1(build(g), g, X, y, epochs1)))
        w = [np.stack(k) for k in zip(*ws, strict=True)]
    elif name == "torch-bmm":
        init = weights_of(build(member_generators()))
        seconds, w = torch_bmm(init, X, y, epochs, threads)
        t0 = time.perf_counter() - seconds
    else:
        raise SystemExit(f"unknown worker {name!r}")
    result["seconds"] = time.perf_counter() - t0
    result["models"] = n_loop
    result["epochs"] = epochs1 if name.endswith("sgd1") else epochs
    np.savez(Path(out) / f"{name}@{threads}.npz", *w)  # final weights, for the parent's check
    result["blas"] = blas_report()
    emit(result)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="100 / 4 epochs and 1 round")
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, args.threads, args.quick, args.out)
        return
    rounds = args.rounds or (1 if args.quick else 3)
    script = str(Path(__file__).resolve())
    q = ["--quick"] if args.quick else []
    plan = [("ensemble", 1), ("loop", 1), ("torch-bmm", 1), ("torch-bmm", 2),
            ("ensemble-2p", 1), ("ensemble-sgd1", 1), ("loop-sgd1", 1)]
    print(f"# ensemble: {machine_line()}")
    print(f"# command: python benchmarks/{Path(__file__).name} {' '.join(sys.argv[1:])}")
    with tempfile.TemporaryDirectory() as tmp:
        jobs = [(f"{n}@{t}", [script, "--worker", n, "--threads", str(t), "--out", tmp, *q], t)
                for n, t in plan]
        t0 = time.perf_counter()
        results = round_robin(jobs, rounds)
        print(f"# total {time.perf_counter() - t0:.0f} s, {rounds} round(s)\n")
        weights = {key: list(np.load(Path(tmp) / f"{key}.npz").values()) for key in results}
    print(report(results, weights, rounds))


def report(results, weights, rounds) -> str:
    sec = {k: median([r["seconds"] for r in v]) for k, v in results.items()}
    first = {k: v[0] for k, v in results.items()}

    def per(k):  # µs per model-epoch
        r = first[k]
        return sec[k] / (r["models"] * r["epochs"]) * 1e6

    def agree(a, b):  # largest |w_a − w_b| over all members and parameters
        return max(float(np.abs(x - z).max()) for x, z in zip(weights[a], weights[b],
                                                                 strict=True))

    ep, ep1 = first["ensemble@1"]["epochs"], first["ensemble-sgd1@1"]["epochs"]
    rows = [
        ["neuralab ensemble (1 process)", 1, sec["ensemble@1"], per("ensemble@1"), "1.00×"],
        ["neuralab loop over 200 single models", 1, sec["loop@1"], per("loop@1"),
         _rel(sec["loop@1"], sec["ensemble@1"], 2)],
        ["PyTorch bmm (baddbmm) over the stack", 1, sec["torch-bmm@1"], per("torch-bmm@1"),
         _rel(sec["torch-bmm@1"], sec["ensemble@1"], 2)],
        ["PyTorch bmm (baddbmm) over the stack", 2, sec["torch-bmm@2"], per("torch-bmm@2"),
         _rel(sec["torch-bmm@2"], sec["ensemble@1"], 2)],
        ["neuralab ensemble, 2 worker processes × 100 models", "2 × 1", sec["ensemble-2p@1"],
         per("ensemble-2p@1"), _rel(sec["ensemble-2p@1"], sec["ensemble@1"], 2)],
    ]
    table1 = markdown_table(
        ["full batch (160), 200 models", "threads", f"seconds ({ep} epochs)",
         "µs / model-epoch", "vs ensemble"],
        [[a, b, f"{c:.2f}", f"{d:.1f}", e] for a, b, c, d, e in rows])
    rows1 = [
        ["neuralab ensemble", sec["ensemble-sgd1@1"], per("ensemble-sgd1@1"), "1.00×"],
        ["neuralab loop over 200 single models", sec["loop-sgd1@1"], per("loop-sgd1@1"),
         _rel(sec["loop-sgd1@1"], sec["ensemble-sgd1@1"], 1)],
    ]
    table2 = markdown_table(
        ["batch size 1, 200 models, 1 thread", f"seconds ({ep1} epochs)", "µs / model-epoch",
         "vs ensemble"],
        [[a, f"{b:.2f}", f"{c:.1f}", d] for a, b, c, d in rows1])
    bars = markdown_table(["bar", "needed", "measured", "holds"], [
        ["ensemble vs loop (full batch)", "≥ 2×", f"{sec['loop@1'] / sec['ensemble@1']:.2f}×",
         _yes(sec["loop@1"] / sec["ensemble@1"] >= 2)],
        ["ensemble vs PyTorch bmm, 1 thread", "≥ 1×",
         f"{sec['torch-bmm@1'] / sec['ensemble@1']:.2f}×",
         _yes(sec["torch-bmm@1"] >= sec["ensemble@1"])],
        ["2 worker processes vs PyTorch bmm, 2 threads", "> 1×",
         f"{sec['torch-bmm@2'] / sec['ensemble-2p@1']:.2f}×",
         _yes(sec["torch-bmm@2"] > sec["ensemble-2p@1"])],
        ["ensemble vs loop, batch size 1", "≥ 20×",
         f"{sec['loop-sgd1@1'] / sec['ensemble-sgd1@1']:.1f}×",
         _yes(sec["loop-sgd1@1"] / sec["ensemble-sgd1@1"] >= 20)],
    ])
    check = markdown_table(["final weights compared with the loop of single models",
                            "largest absolute difference"], [
        ["ensemble (full batch)", f"{agree('ensemble@1', 'loop@1'):.1e}"],
        ["ensemble, 2 worker processes", f"{agree('ensemble-2p@1', 'loop@1'):.1e}"],
        ["PyTorch bmm", f"{agree('torch-bmm@1', 'loop@1'):.1e}"],
        ["ensemble (batch size 1)", f"{agree('ensemble-sgd1@1', 'loop-sgd1@1'):.1e}"],
    ])
    blas = "\n".join(f"- {k}: {format_blas(v[0]['blas'])}" for k, v in results.items())
    return "\n\n".join([
        f"### Full batch (median of {rounds} round{'s' * (rounds > 1)})", table1,
        "### Batch size 1 (SGD)", table2, "### Bars", bars,
        "### Same models? (final weights)", check, "BLAS as seen by each worker:\n\n" + blas])


def _rel(seconds: float, reference: float, digits: int) -> str:
    r = seconds / reference
    return f"{r:.{digits}f}× slower" if r >= 1 else f"{1 / r:.{digits}f}× faster"


def _yes(ok: bool) -> str:
    return "yes" if ok else "**no**"


if __name__ == "__main__":
    main()
