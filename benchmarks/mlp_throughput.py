"""MLP 784-200-10 training throughput: neuralab vs PyTorch CPU vs scikit-learn vs the GEMM floor.

One epoch of plain SGD (ReLU, softmax cross-entropy, float32, lr 0.01, no shuffle) over
60,000 synthetic MNIST-shaped samples at batch sizes 1 (first 5,000 samples only), 16, 64,
256 and 1024. Every library starts from the same weights and sees the same batches in the
same order; each runs in its own process, round-robin over the rounds, and the tables show
medians. The loss of every library after the epoch is printed too: equal losses are the
evidence that the libraries did the same work.

    python benchmarks/mlp_throughput.py              # full run (1 and 2 threads, 3 rounds)
    python benchmarks/mlp_throughput.py --quick      # a fast look (fewer samples, 1 round)

Workers (``--worker NAME``) are what the parent starts; each prints one JSON line.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
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

N_IN, N_HIDDEN, N_OUT = 784, 200, 10
LR = 0.01
BATCHES = (1, 16, 64, 256, 1024)
N_EVAL = 2000

LIBS = {
    "neuralab": "neuralab: `net.backward(loss.backward()); opt.step()` (the reference path)",
    "neuralab-fused": "neuralab: `opt.backward_step(loss.backward())` (backward fused with "
                      "the SGD update, see docs/performance.md)",
    "torch": "PyTorch: `zero_grad(set_to_none=True); cross_entropy; backward(); step()`",
    "sklearn": "scikit-learn `MLPClassifier(solver='sgd', momentum=0).partial_fit` (one epoch; "
               "it also validates X and computes the training loss of every batch)",
    "gemm": "GEMM floor: only the five matrix products (X·W1, H·W2, Hᵀ·G, G·W2ᵀ, Xᵀ·dH) "
            "into preallocated outputs, no element-wise work",
    "neuralab-model": "`neuralab.models.MLPClassifier(hidden=(200,), optimizer='sgd', "
                      "epochs=1, shuffle=False).fit`: the estimator, configured like the loops "
                      "above (plain SGD, no shuffle; it takes the fused step by itself). The "
                      "whole `fit`: it also validates X, builds the network from its own seed, "
                      "and evaluates train loss/accuracy after the epoch (one more forward pass "
                      "over the training set)",
}
#: columns derived from a worker's extra timings: name -> (worker, description)
DERIVED = {
    "neuralab-model-epoch": ("neuralab-model",
                             "the same `fit`, only the seconds inside `Trainer.train_epoch` "
                             "(the epoch itself, without validation, set-up and evaluation)"),
}


# -- the shared problem ------------------------------------------------------------------------
def make_data(n: int) -> tuple[np.ndarray, np.ndarray]:
    """MNIST-shaped data: 10 random 'digit' prototypes in [0, 1]^784 plus noise, float32."""
    rng = np.random.default_rng(0)
    protos = (rng.random((N_OUT, N_IN)) < 0.2) * rng.random((N_OUT, N_IN))
    y = rng.integers(0, N_OUT, n)
    X = np.clip(protos[y] + 0.3 * rng.random((n, N_IN)), 0, 1).astype(np.float32)
    return X, y.astype(np.int64)


def initial_weights() -> dict[str, np.ndarray]:
    """He-normal weights and zero biases, float32, ``W`` as ``(in, out)``."""
    rng = np.random.default_rng(1)
    return {
        "W1": (rng.standard_normal((N_IN, N_HIDDEN)) * np.sqrt(2 / N_IN)).astype(np.float32),
        "b1": np.zeros(N_HIDDEN, np.float32),
        "W2": (rng.standard_normal((N_HIDDEN, N_OUT)) * np.sqrt(2 / N_HIDDEN)).astype(np.float32),
        "b2": np.zeros(N_OUT, np.float32),
    }


def eval_loss(w: dict[str, np.ndarray], X: np.ndarray, y: np.ndarray) -> float:
    """Mean cross-entropy in float64 (the same yardstick for every library)."""
    h = np.maximum(X.astype(np.float64) @ w["W1"] + w["b1"], 0)
    z = h @ w["W2"] + w["b2"]
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(y)), y].mean())


def samples_for(batch: int, quick: bool) -> int:
    if batch == 1:
        return 1000 if quick else 5000
    return 12000 if quick else 60000


# -- workers: each builds its model, and returns train(n, batch) and weights() ----------------
def neuralab_worker(fused: bool):
    from neuralab import nn, optim

    net = nn.Sequential(nn.Linear(N_IN, N_HIDDEN, input_grad=False), nn.ReLU(),
                        nn.Linear(N_HIDDEN, N_OUT))
    loss_fn = nn.SoftmaxCrossEntropy()
    opt = optim.SGD(net, lr=LR)

    def load(w):
        net.load_state_dict({"0.weight": w["W1"], "0.bias": w["b1"],
                             "2.weight": w["W2"], "2.bias": w["b2"]})

    def train(X, y, batch):
        for i in range(0, len(X), batch):
            loss_fn.forward(net.forward(X[i:i + batch]), y[i:i + batch])
            if fused:
                opt.backward_step(loss_fn.backward())
            else:
                net.backward(loss_fn.backward())
                opt.step()

    def weights():
        s = net.state_dict()
        return {"W1": s["0.weight"], "b1": s["0.bias"], "W2": s["2.weight"], "b2": s["2.bias"]}

    return load, train, weights


def torch_worker():
    import torch
    import torch.nn.functional as F

    net = torch.nn.Sequential(torch.nn.Linear(N_IN, N_HIDDEN), torch.nn.ReLU(),
                              torch.nn.Linear(N_HIDDEN, N_OUT))
    opt = torch.optim.SGD(net.parameters(), lr=LR)

    def load(w):
        with torch.no_grad():
            net[0].weight.copy_(torch.from_numpy(w["W1"].T.copy()))
            net[0].bias.copy_(torch.from_numpy(w["b1"]))
            net[2].weight.copy_(torch.from_numpy(w["W2"].T.copy()))
            net[2].bias.copy_(torch.from_numpy(w["b2"]))

    def train(X, y, batch):
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
        for i in range(0, len(X), batch):
            xb, yb = Xt[i:i + batch], yt[i:i + batch]
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(net(xb), yb)
            loss.backward()
            opt.step()

    def weights():
        return {"W1": net[0].weight.detach().numpy().T, "b1": net[0].bias.detach().numpy(),
                "W2": net[2].weight.detach().numpy().T, "b2": net[2].bias.detach().numpy()}

    return load, train, weights


def sklearn_worker():
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    state = {}

    def load(w):
        # partial_fit on one batch builds the model; then the weights are overwritten in place
        # (the SGD optimizer keeps references to these very arrays).
        batch = state["batch"]
        clf = MLPClassifier(hidden_layer_sizes=(N_HIDDEN,), activation="relu", solver="sgd",
                            learning_rate_init=LR, momentum=0.0, nesterovs_momentum=False,
                            batch_size=batch, max_iter=1, shuffle=False, alpha=0.0, tol=0.0,
                            n_iter_no_change=10**9)
        X0, y0 = state["init_data"]
        clf.partial_fit(X0, y0, classes=np.arange(N_OUT))
        for dst, key in zip(clf.coefs_ + clf.intercepts_, ("W1", "W2", "b1", "b2"), strict=True):
            dst[...] = w[key]
        state["clf"] = clf

    def train(X, y, batch):
        state["clf"].partial_fit(X, y)

    def weights():
        c = state["clf"]
        return {"W1": c.coefs_[0], "b1": c.intercepts_[0], "W2": c.coefs_[1],
                "b2": c.intercepts_[1]}

    return load, train, weights, state


def gemm_worker():
    """The matrix products of one SGD step alone, into preallocated outputs."""
    w = initial_weights()
    W1, W2 = w["W1"], w["W2"]
    bufs: dict[int, tuple[np.ndarray, ...]] = {}

    def train(X, y, batch):
        for i in range(0, len(X), batch):
            xb = X[i:i + batch]
            b = len(xb)
            if b not in bufs:
                f32 = np.float32
                bufs[b] = (np.empty((b, N_HIDDEN), f32), np.empty((b, N_OUT), f32),
                           np.ones((b, N_OUT), f32), np.empty((N_HIDDEN, N_OUT), f32),
                           np.empty((b, N_HIDDEN), f32), np.empty((N_IN, N_HIDDEN), f32))
            H, Z, G, dW2, dH, dW1 = bufs[b]
            np.dot(xb, W1, out=H)
            np.dot(H, W2, out=Z)
            np.dot(H.T, G, out=dW2)
            np.dot(G, W2.T, out=dH)
            np.dot(xb.T, dH, out=dW1)

    return (lambda w: None), train, None


def model_worker():
    """The estimator, timed through ``fit`` (its own seeded init: no loss comparison).

    ``train`` returns the seconds spent inside ``Trainer.train_epoch`` too (the
    ``neuralab-model-epoch`` column), read through a wrapper around the method.
    """
    from neuralab.models import MLPClassifier
    from neuralab.train.loop import Trainer

    epoch_seconds: list[float] = []
    train_epoch = Trainer.train_epoch

    def timed_epoch(self, X, T):
        t0 = time.perf_counter()
        try:
            return train_epoch(self, X, T)
        finally:
            epoch_seconds.append(time.perf_counter() - t0)

    Trainer.train_epoch = timed_epoch

    def train(X, y, batch):
        MLPClassifier(hidden=(N_HIDDEN,), activation="relu", optimizer="sgd", lr=LR,
                      batch_size=batch, epochs=1, shuffle=False, seed=0).fit(X, y)
        return {"neuralab-model-epoch": epoch_seconds[-1]}

    return (lambda w: None), train, None


def worker(name: str, threads: int, batches: list[int], quick: bool) -> None:
    X, y = make_data(60000)
    extra = None
    if name in ("neuralab", "neuralab-fused"):
        load, train, weights = neuralab_worker(fused=name == "neuralab-fused")
    elif name == "torch":
        load, train, weights = torch_worker()
    elif name == "sklearn":
        load, train, weights, extra = sklearn_worker()
    elif name == "gemm":
        load, train, weights = gemm_worker()
    elif name == "neuralab-model":
        load, train, weights = model_worker()
    else:
        raise SystemExit(f"unknown worker {name!r}; choose from {sorted(LIBS)}")
    pin_threads(threads, torch_too=name == "torch")
    w0 = initial_weights()
    times, losses, parts = {}, {}, {}
    for batch in batches:
        n = samples_for(batch, quick)
        Xn, yn = X[:n], y[:n]
        if extra is not None:
            extra["batch"], extra["init_data"] = batch, (X[:batch], y[:batch])
        # warm-up: a few steps (caches, allocator, lazy initialisation), then reset
        load(w0)
        warm = min(n, batch * (20 if batch < 256 else 4))
        train(X[n - warm:n] if n > warm else Xn, y[n - warm:n] if n > warm else yn, batch)
        load(w0)
        t0 = time.perf_counter()
        extra_times = train(Xn, yn, batch)
        times[batch] = time.perf_counter() - t0
        for key, seconds in (extra_times or {}).items():
            parts.setdefault(key, {})[batch] = seconds
        if weights is not None:
            losses[batch] = eval_loss(weights(), X[:N_EVAL], y[:N_EVAL])
    emit({"lib": name, "threads": threads, "times": times, "losses": losses, "parts": parts,
          "blas": blas_report()})


# -- the parent: schedule, collect, tabulate -------------------------------------------------
def model_available() -> bool:
    try:
        from neuralab.models import MLPClassifier  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer samples and 1 round")
    ap.add_argument("--rounds", type=int, default=None, help="rounds (default 3, quick 1)")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--batches", type=int, nargs="+", default=list(BATCHES))
    ap.add_argument("--libs", nargs="+", default=None, choices=sorted(LIBS))
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, args.threads[0], args.batches, args.quick)
        return

    rounds = args.rounds or (1 if args.quick else 3)
    libs = args.libs or ["neuralab", "neuralab-fused", "torch", "sklearn", "gemm"] + (
        ["neuralab-model"] if model_available() else [])
    script = str(Path(__file__).resolve())
    common = ["--batches", *map(str, args.batches)] + (["--quick"] if args.quick else [])
    jobs = [(f"{lib}@{t}", [script, "--worker", lib, "--threads", str(t), *common], t)
            for t in args.threads for lib in libs]
    print(f"# mlp_throughput: {machine_line()}")
    print(f"# command: python benchmarks/{Path(__file__).name} {' '.join(sys.argv[1:])}")
    t0 = time.perf_counter()
    results = round_robin(jobs, rounds)
    print(f"# total {time.perf_counter() - t0:.0f} s, {rounds} round(s)\n")
    print(report(results, libs, args.threads, args.batches, args.quick, rounds))


#: issue 2's bars: neuralab ÷ PyTorch, neuralab ÷ scikit-learn, GEMM floor ÷ neuralab
BAR_TORCH = {1: 3.0, 16: 2.0, 64: 1.5, 256: 1.2, 1024: 1.0}
BAR_FLOOR = 0.85  # at batch >= 256


def bar_sklearn(batch: int) -> float:
    return 2.0 if batch <= 64 else 1.3


def report(results, libs, threads_list, batches, quick, rounds) -> str:
    out = []
    derived = [name for name, (src, _) in DERIVED.items() if src in libs]
    libs_in = libs
    libs = [*libs, *derived]
    ours = [lib for lib in libs if lib.startswith("neuralab")]
    for threads in threads_list:
        med = {lib: {b: median([r["times"][str(b)] for r in results[f"{lib}@{threads}"]])
                     for b in batches} for lib in libs_in}
        for name in derived:
            runs = results[f"{DERIVED[name][0]}@{threads}"]
            med[name] = {b: median([r["parts"][name][str(b)] for r in runs]) for b in batches}
        s = "s" if threads > 1 else ""
        out.append(f"### {threads} thread{s}: seconds per epoch (median of {rounds} "
                   f"round{'s' if rounds > 1 else ''})\n")
        out.append(markdown_table(
            ["batch", "samples", *libs],
            [[b, samples_for(b, quick), *(f"{med[lib][b]:.3f}" for lib in libs)]
             for b in batches]))
        out.append("")
        out.append(f"### {threads} thread{s}: speed-ups (× = faster by; floor = GEMM floor time "
                   "÷ neuralab time) and issue 2's bars (✓ holds, ✗ misses)\n")
        head, rows = ["batch"], []
        for lib in ours:
            head += [f"{lib} vs PyTorch", f"{lib} vs sklearn", f"{lib} of floor"]
        for b in batches:
            row = [b]
            for lib in ours:
                t = med[lib][b]
                vs_torch = med["torch"][b] / t if "torch" in med else None
                vs_sk = med["sklearn"][b] / t if "sklearn" in med else None
                floor = med["gemm"][b] / t if "gemm" in med else None
                row += [_mark(vs_torch, BAR_TORCH.get(b)), _mark(vs_sk, bar_sklearn(b)),
                        _mark(floor, BAR_FLOOR if b >= 256 else None, suffix="")]
            rows.append(row)
        out.append(markdown_table(head, rows))
        out.append("")
        out.append("BLAS as seen by each worker (threadpoolctl):\n")
        out += [f"- {lib}: {format_blas(results[f'{lib}@{threads}'][0]['blas'])}"
                for lib in libs_in]
        out.append("")
        loss_libs = [lib for lib in libs_in if results[f"{lib}@{threads}"][0]["losses"]]
        out.append(f"Loss on {N_EVAL:,} training samples after the epoch (same work, same loss):\n")
        out.append(markdown_table(
            ["batch", *loss_libs],
            [[b] + [f"{results[f'{lib}@{threads}'][0]['losses'][str(b)]:.5f}" for lib in loss_libs]
             for b in batches]))
        out.append("")
    out.append("Columns:\n")
    out += [f"- `{lib}`: {LIBS[lib] if lib in LIBS else DERIVED[lib][1]}" for lib in libs]
    return "\n".join(out)


def _mark(value: float | None, bar: float | None, suffix: str = "×") -> str:
    if value is None:
        return "–"
    text = f"{value:.2f}{suffix}"
    return text if bar is None else f"{text} {'✓' if value >= bar else '✗'}"


if __name__ == "__main__":
    main()
