"""Studies (issue #8's speed bars): seed 000's studies end to end vs the loops they replace.

Measured side by side in one run, every contender in its own fresh process with one BLAS
thread (the environment variables and threadpoolctl; PyTorch ``set_num_threads(1)``):

Seed 000's Leaky ReLU study (``examples/cs324/000-leaky-relu.study.toml``: 4 settings ×
``--seeds`` seeds × up to 1,000 full-batch epochs, MLP 2-20-20-2, moons 1,000 points):

- ``leaky-study``      ``Study.from_file(...).run()`` in-process, timed end to end: the
                       ensembles, runs.csv / cells.csv / curves, the statistics and plots
- ``leaky-study-w2``   the same with ``run(workers=2)`` (a Dask LocalCluster of 2 worker
                       processes, its start-up included)
- ``leaky-loop``       a Python loop over single models: for each cell config and run seed
                       (``study.cell_configs``, ``study.spec.run_seeds(cell)``),
                       ``prepare_experiment(cfg)``'s ``MLPClassifier`` with
                       ``random_state=seed`` (target accuracy 1.0: each stops at the target)
                       fitted on the same sets as the study (train, and test evaluated every
                       epoch, as the study records it). It may run the first ``--loop-seeds``
                       seeds of each cell only; its time is then scaled linearly to every seed
                       (the output says so and compares the subset's epochs with the study's).
- ``leaky-torch``      PyTorch, the same models stacked per cell (``torch.bmm``, float32, full
                       batch, lr 1, the same initial weights): a member that reaches the target
                       is masked (its update multiplied by 0); after each step the train and
                       test sets are evaluated, as the study does. Timed: the training loops
                       only (not the data or the initial weights), which favours PyTorch.
- ``leaky-study-100``  the Leaky ReLU study with a 100-epoch budget (its seeds reach the
                       target by epoch ~100): members that stop must stop costing compute, so
                       the 1,000-epoch study may take at most 1.5× this one.

Seed 000's momentum table (``examples/cs324/000-momentum.study.toml``: batch size 1 and 64
× momentum 0 / 0.4 / 0.7 / 0.9 × ``--momentum-seeds`` seeds, up to ``--momentum-epochs``):

- ``momentum-study``   the study end to end, in-process
- ``momentum-loop``    the loop over single models (first ``--momentum-loop-seeds`` seeds of
                       each cell, scaled linearly like ``leaky-loop``)

``leaky-study-np``, ``leaky-study-w2-np`` and ``momentum-study-np`` are the studies with
``plots=False``: what the six figures cost (not a bar).

    python benchmarks/studies.py                 # 200 seeds, 2 rounds (~9-11 min, 2 cores)
    python benchmarks/studies.py --quick         # 40 seeds, 300 epochs, 1 round (~1.5 min)
    python benchmarks/studies.py --seeds 100 --rounds 3

Nothing is extrapolated but the loops' linear scaling: the tables say what ran.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

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

ROOT = Path(__file__).resolve().parents[1]
LEAKY = ROOT / "examples" / "cs324" / "000-leaky-relu.study.toml"
MOMENTUM = ROOT / "examples" / "cs324" / "000-momentum.study.toml"
SHORT_BUDGET = 100  # epochs of leaky-study-100
BARS = {"loop": 4.0, "workers": 1.7, "budget": 1.5, "momentum": 20.0}
#: the same studies with ``plots=False`` (``neuralab report`` draws the figures later): not
#: a bar, what the figures cost
NO_PLOTS = ("leaky-study-np", "leaky-study-w2-np", "momentum-study-np")


# -- the studies ------------------------------------------------------------------------------
def load_study(path: Path, seeds: int, epochs: int | None) -> Any:
    """The study file with ``seeds`` seeds and (if given) ``train.epochs = epochs``.

    Run seeds depend on the cell and the seed index only, so every variant of a study trains
    the same (cell, seed) runs."""
    from neuralab.studies.runner import Study

    study = Study.from_file(path, seeds=seeds)
    if epochs is None:
        return study
    base = study.base.to_dict()
    base.pop("output", None)
    base["train"]["epochs"] = epochs
    spec = study.spec
    return Study(base, grid=spec.grid, zip=spec.zip, seeds=spec.seeds, target=spec.target,
                 vary=spec.vary, seed=spec.seed, name=study.name)


def run_key(cell: int, seed_index: int) -> str:
    return f"{cell}:{seed_index}"


def study_worker(study: Any, workers: int | None, plots: bool = True) -> dict[str, Any]:
    """Run ``study`` end to end into a temporary folder; seconds and what it found."""
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        result = study.run(workers=workers, out=tmp, quiet=True, plots=plots)
        seconds = time.perf_counter() - t0
        files = sorted(p.name for p in result.folder.iterdir())
        plots = len(list((result.folder / "plots").glob("*.png")))
    runs = result.runs
    # What stacking would cost if a chunk trained all its members until its last one stops
    # (the study drops stopped members, so it trains fewer: the "member-epochs" column).
    by_run = {(int(c), int(i)): int(e) for c, i, e in
              zip(runs["cell"], runs["seed_index"], runs["epochs"], strict=True)}
    stacked = sum(len(ch.members) * max(by_run[(m.cell, m.seed_index)] for m in ch.members)
                  for ch in study.chunks())
    return {"seconds": seconds, "train_s": float(runs["wall_s"].sum()),
            "train_s_by_cell": {str(c): float(s) for c, s in
                                runs.groupby("cell")["wall_s"].sum().items()},
            "runs": len(runs), "cells": len(study.cells), "chunks": len(study.chunks()),
            "member_epochs": int(runs["epochs"].sum()), "stacked_member_epochs": stacked,
            "epoch_converged": _epochs_by_run(runs["cell"], runs["seed_index"],
                                              runs["epoch_converged"]),
            "files": files, "plots": plots}


def _epochs_by_run(cells: Any, indices: Any, epochs: Any) -> dict[str, float | None]:
    return {run_key(int(c), int(i)): (None if e is None or math.isnan(e) else float(e))
            for c, i, e in zip(cells, indices, epochs, strict=True)}


def cluster_overhead(workers: int) -> float:
    """Seconds to start and close a LocalCluster like the study's (Dask already imported):
    the fixed cost ``workers=N`` pays before any chunk runs."""
    from distributed import Client, LocalCluster

    from neuralab.studies.backends import WORKER_ENV

    os.environ.update(WORKER_ENV)
    t0 = time.perf_counter()
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      host="127.0.0.1", dashboard_address=None, silence_logs=50) as cluster, \
            Client(cluster) as client:
        client.wait_for_workers(workers)
    return time.perf_counter() - t0


# -- the loop a student writes ----------------------------------------------------------------
def loop_worker(study: Any, n_seeds: int) -> dict[str, Any]:
    """Single models, one (cell, seed) after another, for the first ``n_seeds`` seeds."""
    from neuralab.experiments import prepare_experiment
    from neuralab.models import clone

    epochs: dict[str, float | None] = {}
    trained = 0
    by_cell: dict[str, float] = {}
    seconds = 0.0
    for cell, cfg in zip(study.cells, study.cell_configs, strict=True):
        t0 = time.perf_counter()
        exp = prepare_experiment(cfg)
        (X, y), validation, eval_sets = exp.data.fit_sets()
        for i, seed in list(zip(study.spec.seed_indices(), study.spec.run_seeds(cell),
                                strict=True))[:n_seeds]:
            est = clone(exp.estimator).set_params(random_state=seed)
            est.fit(X, y, validation=validation, eval_sets=eval_sets)
            c = est.converged_epoch_
            epochs[run_key(cell.index, i)] = None if c is None else float(c)
            trained += len(est.history_)
        by_cell[str(cell.index)] = time.perf_counter() - t0
        seconds += by_cell[str(cell.index)]
    return {"seconds": seconds, "train_s_by_cell": by_cell, "runs": len(epochs),
            "member_epochs": trained, "epoch_converged": epochs}


# -- PyTorch: the same models stacked ---------------------------------------------------------
def initial_weights(estimator: Any, X: np.ndarray, y: np.ndarray, seeds: list[int]
                    ) -> list[np.ndarray]:
    """The study members' initial weights: the cell's ensemble after one epoch at lr 1e-30
    (an update far below float32's resolution of the weights), via the public API only."""
    from neuralab.models import clone

    est = clone(estimator).set_params(n_models=len(seeds), random_state=list(seeds),
                                      lr=1e-30, epochs=1, target_accuracy=None)
    est.fit(X, y)
    return [np.array(p) for _, p, _ in est.net_.named_parameters()]


def torch_worker(study: Any) -> dict[str, Any]:
    import torch
    import torch.nn.functional as F

    from neuralab.experiments import prepare_experiment

    pin_threads(1, torch_too=True)
    epochs: dict[str, float | None] = {}
    seconds, trained = 0.0, 0
    for cell, cfg in zip(study.cells, study.cell_configs, strict=True):
        exp = prepare_experiment(cfg)
        (X, y), _, eval_sets = exp.data.fit_sets()
        Xt, yt = eval_sets["test"]
        seeds = study.spec.run_seeds(cell)
        init = initial_weights(exp.estimator, X, y, seeds)
        lr, budget = cfg.optim.lr, cfg.train.epochs
        target = study.spec.target.get("train_acc", 1.0)
        slope = cfg.model.negative_slope if cfg.model.activation == "leaky_relu" else 0.0
        # weights (E, in, out); biases (E, out) -> (E, 1, out) for baddbmm
        params = [torch.from_numpy(w if w.ndim == 3 else w[:, None, :].copy())
                  .requires_grad_(True) for w in init]
        E = len(seeds)
        data = {name: (torch.from_numpy(np.ascontiguousarray(A, dtype=np.float32))
                       .expand(E, *A.shape), torch.from_numpy(np.asarray(b, dtype=np.int64)))
                for name, (A, b) in {"train": (X, y), "test": (Xt, yt)}.items()}

        def act(h: Any, slope: float = slope) -> Any:
            return torch.relu(h) if slope == 0 else F.leaky_relu(h, slope)

        def logits(x: Any, params: list[Any] = params) -> Any:
            W1, b1, W2, b2, W3, b3 = params
            h = act(torch.baddbmm(b1, x, W1))
            h = act(torch.baddbmm(b2, h, W2))
            return torch.baddbmm(b3, h, W3)

        t0 = time.perf_counter()
        active = torch.ones(E)
        conv = np.full(E, np.nan)
        xs, ys = data["train"]
        n = len(ys)
        for epoch in range(1, budget + 1):
            z = logits(xs)
            # the sum over members of each member's mean loss: each gets its own gradient
            loss = F.cross_entropy(z.reshape(-1, z.shape[-1]), ys.repeat(E), reduction="sum") / n
            grads = torch.autograd.grad(loss, params)
            with torch.no_grad():
                step = (-lr * active).view(E, 1, 1)
                for p, g in zip(params, grads, strict=True):
                    p.addcmul_(g, step)
                metrics = {}
                for name, (x, t) in data.items():  # what the study evaluates each epoch
                    out = logits(x)
                    metrics[f"{name}_loss"] = F.cross_entropy(
                        out.reshape(-1, out.shape[-1]), t.repeat(E), reduction="none"
                    ).view(E, -1).mean(1)
                    metrics[f"{name}_acc"] = (out.argmax(-1) == t).float().mean(1)
            trained += int(active.sum())
            new = (metrics["train_acc"] >= target) & (active > 0)
            conv[new.numpy()] = epoch
            active[new] = 0.0
            if not active.any():
                break
        seconds += time.perf_counter() - t0
        epochs.update({run_key(cell.index, i): (None if math.isnan(c) else float(c))
                       for i, c in zip(study.spec.seed_indices(), conv, strict=True)})
    return {"seconds": seconds, "runs": len(epochs), "member_epochs": trained,
            "epoch_converged": epochs}


# -- the child process ------------------------------------------------------------------------
def worker(name: str, args: argparse.Namespace) -> None:
    from sklearn.datasets import make_moons  # noqa: F401  (imported by every contender alike)

    import neuralab.studies.runner  # noqa: F401

    pin_threads(1)  # after the imports: threadpoolctl limits the libraries loaded so far

    seeds, epochs = args.seeds, args.epochs
    leaky = lambda budget=epochs: load_study(LEAKY, seeds, budget)  # noqa: E731
    momentum = lambda: load_study(MOMENTUM, args.momentum_seeds,  # noqa: E731
                                  args.momentum_epochs)
    if name == "leaky-study":
        result = study_worker(leaky(), None)
    elif name == "leaky-study-w2":
        result = study_worker(leaky(), 2)
        result["cluster_s"] = cluster_overhead(2)
    elif name == "leaky-study-100":
        result = study_worker(leaky(SHORT_BUDGET), None)
    elif name == "leaky-loop":
        result = loop_worker(leaky(), args.loop_seeds)
    elif name == "leaky-torch":
        result = torch_worker(leaky())
    elif name == "momentum-study":
        result = study_worker(momentum(), None)
    elif name == "leaky-study-np":
        result = study_worker(leaky(), None, plots=False)
    elif name == "leaky-study-w2-np":
        result = study_worker(leaky(), 2, plots=False)
    elif name == "momentum-study-np":
        result = study_worker(momentum(), None, plots=False)
    elif name == "momentum-loop":
        result = loop_worker(momentum(), args.momentum_loop_seeds)
    else:
        raise SystemExit(f"unknown worker {name!r}")
    result.update(name=name, blas=blas_report())
    emit(result)


# -- the parent: run, then tables -------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="40 seeds, 300 epochs, fewer loop seeds, 1 round")
    ap.add_argument("--seeds", type=int, default=None, help="Leaky ReLU study seeds (200)")
    ap.add_argument("--epochs", type=int, default=None,
                    help="Leaky ReLU epoch budget (the file's 1,000)")
    ap.add_argument("--loop-seeds", type=int, default=None,
                    help="seeds per cell the Leaky ReLU loop runs (50; scaled to --seeds)")
    ap.add_argument("--momentum-seeds", type=int, default=None, help="momentum seeds (30)")
    ap.add_argument("--momentum-epochs", type=int, default=None,
                    help="momentum epoch budget (the file's 300)")
    ap.add_argument("--momentum-loop-seeds", type=int, default=None,
                    help="seeds per cell the momentum loop runs (10; scaled)")
    ap.add_argument("--rounds", type=int, default=None, help="rounds (2; 1 with --quick)")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    quick = args.quick
    args.seeds = _positive("--seeds", args.seeds, 40 if quick else 200)
    args.loop_seeds = min(args.seeds, _positive("--loop-seeds", args.loop_seeds,
                                                20 if quick else 50))
    args.momentum_seeds = _positive("--momentum-seeds", args.momentum_seeds, 10 if quick else 30)
    args.momentum_loop_seeds = min(args.momentum_seeds, _positive(
        "--momentum-loop-seeds", args.momentum_loop_seeds, 3 if quick else 10))
    if quick and args.epochs is None:
        args.epochs = 300
    if quick and args.momentum_epochs is None:
        args.momentum_epochs = 100
    if args.epochs is not None:
        _positive("--epochs", args.epochs, 1)
    if args.momentum_epochs is not None:
        _positive("--momentum-epochs", args.momentum_epochs, 1)
    if args.worker:
        worker(args.worker, args)
        return
    rounds = _positive("--rounds", args.rounds, 1 if quick else 2)
    script = str(Path(__file__).resolve())
    passed = ["--seeds", str(args.seeds), "--loop-seeds", str(args.loop_seeds),
              "--momentum-seeds", str(args.momentum_seeds),
              "--momentum-loop-seeds", str(args.momentum_loop_seeds)]
    for flag, value in (("--epochs", args.epochs), ("--momentum-epochs", args.momentum_epochs)):
        if value is not None:
            passed += [flag, str(value)]
    names = ["leaky-study", "leaky-loop", "leaky-torch", "leaky-study-w2", "leaky-study-100",
             "momentum-study", "momentum-loop", *NO_PLOTS]
    print(f"# studies: {machine_line()}")
    print(f"# command: python benchmarks/{Path(__file__).name} {' '.join(sys.argv[1:])}")
    load0 = os.getloadavg()
    jobs = [(n, [script, "--worker", n, *passed], 1) for n in names]
    t0 = time.perf_counter()
    results = round_robin(jobs, rounds)
    wall = time.perf_counter() - t0
    load1 = os.getloadavg()
    print()
    print(report(results, args, rounds, wall, load0, load1))


def _positive(flag: str, value: int | None, default: int) -> int:
    value = default if value is None else value
    if value < 1:
        raise SystemExit(f"{flag}={value} is not allowed; give an integer >= 1")
    return value


def report(results: dict[str, list[dict[str, Any]]], args: argparse.Namespace, rounds: int,
           wall: float, load0: tuple[float, ...], load1: tuple[float, ...]) -> str:
    sec = {k: median([r["seconds"] for r in v]) for k, v in results.items()}
    first = {k: v[0] for k, v in results.items()}
    leaky_epochs = args.epochs or 1000
    mom_epochs = args.momentum_epochs or 300
    # The loops ran a subset of the seeds: scale their time linearly to every seed.
    leaky_scale = args.seeds / args.loop_seeds
    mom_scale = args.momentum_seeds / args.momentum_loop_seeds
    loop = sec["leaky-loop"] * leaky_scale
    mloop = sec["momentum-loop"] * mom_scale
    study = first["leaky-study"]
    n_runs = study["runs"]

    def loop_note(prefix: str, ran: int, seeds: int) -> str:
        if ran == seeds:
            return "The loop ran every seed (no scaling)."
        runs = first[f"{prefix}-loop"]["epoch_converged"]
        return (f"The loop ran the first {ran} of {seeds} seeds of each cell "
                f"({sec[prefix + '-loop']:.1f} s) and was scaled ×{seeds / ran:.3g}; on those "
                f"runs the study's mean epoch to target is "
                f"{mean_epochs(prefix + '-study', runs)}, on all runs "
                f"{mean_epochs(prefix + '-study')}.")

    def mean_epochs(key: str, subset: dict[str, Any] | None = None) -> str:
        e = first[key]["epoch_converged"]
        keys = list(subset) if subset is not None else list(e)
        vals = [e[k] for k in keys if e.get(k) is not None]
        return f"{np.mean(vals):.1f} ({len(vals)}/{len(keys)} reach it)" if vals else "none"

    rows1 = [
        ["neuralab study, in-process (end to end)", n_runs, f"{sec['leaky-study']:.1f}",
         "1.00×", mean_epochs("leaky-study")],
        ["neuralab study, `workers=2` (end to end)", n_runs, f"{sec['leaky-study-w2']:.1f}",
         _rel(sec["leaky-study-w2"], sec["leaky-study"]), mean_epochs("leaky-study-w2")],
        [f"Python loop over single models ({first['leaky-loop']['runs']} runs, ×"
         f"{leaky_scale:.3g})", n_runs, f"{loop:.1f}", _rel(loop, sec["leaky-study"]),
         mean_epochs("leaky-loop")],
        ["PyTorch bmm stacks (training loops only)", first["leaky-torch"]["runs"],
         f"{sec['leaky-torch']:.1f}", _rel(sec["leaky-torch"], sec["leaky-study"]),
         mean_epochs("leaky-torch")],
    ]
    table1 = markdown_table(["Leaky ReLU study, 1 thread", "runs", "seconds", "vs study",
                             "mean epoch to target"], rows1)
    cluster = median([r["cluster_s"] for r in results["leaky-study-w2"]])
    w2_note = (f"Starting and closing a 2-worker Dask LocalCluster alone (Dask already "
               f"imported) takes {cluster:.1f} s, timed in the `workers=2` process after its "
               f"study; the study's {study['chunks']} chunks are the tasks the 2 workers share.")
    subset_note = loop_note("leaky", args.loop_seeds, args.seeds)
    stacked, trained = study["stacked_member_epochs"], study["member_epochs"]
    phases = markdown_table(
        ["where the in-process study's time goes", "seconds", "share"],
        [["training the chunks (ensembles)", f"{study['train_s']:.1f}",
          f"{study['train_s'] / study['seconds']:.0%}"],
         ["everything else (set-up, runs.csv, statistics, plots)",
          f"{study['seconds'] - study['train_s']:.1f}",
          f"{1 - study['train_s'] / study['seconds']:.0%}"],
         [f"member-epochs trained / without dropping stopped members ({study['chunks']} "
          "chunks)", f"{trained} / {stacked}", f"{trained / stacked:.0%}"]])
    short = first["leaky-study-100"]
    table2 = markdown_table(
        ["Leaky ReLU study, epoch budget", "seconds", "reach target", "latest epoch to target",
         "member-epochs without dropping"],
        [[f"{leaky_epochs}", f"{sec['leaky-study']:.1f}",
          _reach(study), _latest(study), study["stacked_member_epochs"]],
         [f"{SHORT_BUDGET}", f"{sec['leaky-study-100']:.1f}", _reach(short), _latest(short),
          short["stacked_member_epochs"]]])
    mst = first["momentum-study"]
    mloop_first = first["momentum-loop"]
    mrows = [["neuralab study, in-process (end to end)", mst["runs"],
              f"{sec['momentum-study']:.1f}", "1.00×", mean_epochs("momentum-study")],
             [f"Python loop over single models ({mloop_first['runs']} runs, ×{mom_scale:.3g})",
              mst["runs"], f"{mloop:.1f}", _rel(mloop, sec["momentum-study"]),
              mean_epochs("momentum-loop")]]
    table3 = markdown_table(["momentum table, 1 thread", "runs", "seconds", "vs study",
                             "mean epoch to target"], mrows)
    per_bs = _momentum_by_batch(results, args, mom_scale)
    bars = markdown_table(["bar (issue #8)", "needed", "measured", "holds"], [
        ["Leaky ReLU study vs loop of single models", f"≥ {BARS['loop']:g}×",
         f"{loop / sec['leaky-study']:.2f}×", _yes(loop / sec["leaky-study"] >= BARS["loop"])],
        ["Leaky ReLU study vs PyTorch bmm stacks", "> 1×",
         f"{sec['leaky-torch'] / sec['leaky-study']:.2f}×",
         _yes(sec["leaky-torch"] > sec["leaky-study"])],
        ["Leaky ReLU study, workers=2 vs in-process", f"≥ {BARS['workers']:g}×",
         f"{sec['leaky-study'] / sec['leaky-study-w2']:.2f}×",
         _yes(sec["leaky-study"] / sec["leaky-study-w2"] >= BARS["workers"])],
        [f"{leaky_epochs}-epoch budget vs {SHORT_BUDGET}-epoch budget", f"≤ {BARS['budget']:g}×",
         f"{sec['leaky-study'] / sec['leaky-study-100']:.2f}×",
         _yes(sec["leaky-study"] / sec["leaky-study-100"] <= BARS["budget"])],
        ["momentum table: study vs loop", f"≥ {BARS['momentum']:g}×",
         f"{mloop / sec['momentum-study']:.2f}×",
         _yes(mloop / sec["momentum-study"] >= BARS["momentum"])],
    ])
    noplots = markdown_table(
        ["the same without the figures (`plots=False`)", "seconds", "with figures", "ratio"],
        [["Leaky ReLU study, in-process", f"{sec['leaky-study-np']:.1f}",
          f"{sec['leaky-study']:.1f}", f"{loop / sec['leaky-study-np']:.2f}× the loop"],
         ["Leaky ReLU study, workers=2", f"{sec['leaky-study-w2-np']:.1f}",
          f"{sec['leaky-study-w2']:.1f}",
          f"{sec['leaky-study-np'] / sec['leaky-study-w2-np']:.2f}× in-process"],
         ["momentum table, in-process", f"{sec['momentum-study-np']:.1f}",
          f"{sec['momentum-study']:.1f}", f"{mloop / sec['momentum-study-np']:.2f}× the loop"]])
    same = markdown_table(["epoch to target, run by run, compared with the in-process study",
                           "runs equal"], [
        ["study, workers=2", _agree(first["leaky-study"], first["leaky-study-w2"])],
        ["loop of single models (Leaky ReLU)", _agree(first["leaky-study"],
                                                      first["leaky-loop"])],
        ["PyTorch bmm (float32, another summation order)",
         _agree(first["leaky-study"], first["leaky-torch"])],
        ["loop of single models (momentum)", _agree(first["momentum-study"],
                                                    first["momentum-loop"])],
    ])
    rows = []
    for key, runs in results.items():
        rows.append([key, " ".join(f"{r['seconds']:.1f}" for r in runs),
                     f"{sec[key]:.1f}"])
    raw = markdown_table(["contender", "seconds per round", "median"], rows)
    blas = "\n".join(f"- {k}: {format_blas(v[0]['blas'])}" for k, v in results.items())
    setup = (f"Leaky ReLU study: {first['leaky-study']['cells']} cells × {args.seeds} seeds, "
             f"up to {leaky_epochs} epochs; momentum table: {mst['cells']} cells × "
             f"{args.momentum_seeds} seeds, up to {mom_epochs} epochs. Median of {rounds} "
             f"round{'s' * (rounds > 1)}; {wall:.0f} s in all. Load average (1, 5, 15 min) "
             f"before: {_load(load0)}, after: {_load(load1)} (2 cores here are shared).")
    return "\n\n".join([
        setup,
        "### 1. Leaky ReLU study vs a loop, PyTorch and 2 workers", table1, subset_note,
        w2_note, phases,
        "### 2. Members that reach the target stop costing compute", table2,
        "### 3. Momentum table vs a loop", table3,
        loop_note("momentum", args.momentum_loop_seeds, args.momentum_seeds), per_bs,
        "### Bars", bars,
        "### 4. What the figures cost (not a bar: `neuralab report` can draw them later)",
        noplots,
        "### Same runs? (epoch at which each run reached the target)", same,
        "### Every round", raw, "BLAS as seen by each contender (threadpoolctl):\n\n" + blas])


def _momentum_by_batch(results: dict[str, list[dict[str, Any]]], args: argparse.Namespace,
                       scale: float) -> str:
    """Training seconds per batch size: the study's chunks vs the loop's cells (medians)."""
    from neuralab.studies.runner import Study

    study = Study.from_file(MOMENTUM, seeds=args.momentum_seeds)
    groups: dict[Any, list[str]] = {}
    for cell in study.cells:
        groups.setdefault(cell.values.get("train.batch_size"), []).append(str(cell.index))
    rows = []
    for bs, cells in groups.items():
        s = median([sum(r["train_s_by_cell"][c] for c in cells)
                    for r in results["momentum-study"]])
        ell = median([sum(r["train_s_by_cell"][c] for c in cells)
                      for r in results["momentum-loop"]]) * scale
        rows.append([f"batch size {bs} ({len(cells)} cells)", f"{s:.1f}", f"{ell:.1f}",
                     f"{ell / s:.1f}×"])
    return markdown_table(["training only", "study (s)", "loop (s, scaled)", "loop / study"],
                          rows)


def _agree(ref: dict[str, Any], other: dict[str, Any]) -> str:
    a, b = ref["epoch_converged"], other["epoch_converged"]
    keys = [k for k in b if k in a]
    equal = sum(a[k] == b[k] for k in keys)
    return f"{equal}/{len(keys)}"


def _reach(result: dict[str, Any]) -> str:
    e = result["epoch_converged"]
    return f"{sum(v is not None for v in e.values())}/{len(e)}"


def _latest(result: dict[str, Any]) -> str:
    vals = [v for v in result["epoch_converged"].values() if v is not None]
    return f"{max(vals):.0f}" if vals else "none"


def _load(load: tuple[float, ...]) -> str:
    return ", ".join(f"{x:.2f}" for x in load)


def _rel(seconds: float, reference: float) -> str:
    r = seconds / reference
    return f"{r:.2f}× slower" if r >= 1 else f"{1 / r:.2f}× faster"


def _yes(ok: bool) -> str:
    return "yes" if ok else "**no**"


if __name__ == "__main__":
    main()
