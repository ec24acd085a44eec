"""Where a study's tasks run: in this process, on local Dask worker processes, or on a
running Dask cluster.

A task is a chunk of ensemble members (never one seed: Dask costs ~1 ms per task), and its
function is pure in the sense that matters here: the same task gives the same result on any
worker. So tasks are submitted with ``pure=False`` and unique keys (a retried or resumed
task is recomputed, never served from a cache), and a task lost with a killed worker is
simply run again elsewhere. Results arrive through ``on_result`` in completion order; the
caller writes each one to disk at once, so a killed study loses no finished task.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import types
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

#: Environment of local worker processes: one BLAS thread each, so N workers use N cores
#: (and NumPy's and SciPy's OpenBLAS pools never fight, docs/performance.md).
WORKER_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
CONNECT_TIMEOUT_S = 10
SPAWN_HINT = ("a study with workers cannot start from inside a child process (a worker of "
              "another pool, or a script re-run by multiprocessing's \"spawn\"); run it from "
              "the main process, under `if __name__ == \"__main__\":` in a script, or use "
              "workers=1")


def check_backend(workers: int | None, scheduler: str | None) -> None:
    """Validate the backend settings before anything is written."""
    if workers is not None and scheduler is not None:
        raise ValueError("give workers or scheduler, not both (a running cluster has its own "
                         "workers)")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or not 1 <= workers <= 256):
        raise ValueError(f"workers={workers!r} is not allowed; give an integer in [1, 256]")
    if scheduler is not None and (not isinstance(scheduler, str) or "://" not in scheduler):
        raise ValueError(f"scheduler={scheduler!r} is not a Dask scheduler address such as "
                         "tcp://127.0.0.1:8786")


def check_reachable(scheduler: str) -> None:
    """Raise ValueError unless something listens at a ``tcp://host:port`` address (checked
    before a study writes anything, so a typo costs no folder)."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(scheduler)
    if parts.scheme not in ("tcp", "tls"):
        return  # other comms (inproc, ws) are checked when the client connects
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host, port = None, None
    if not host or not port:
        raise ValueError(f"scheduler={scheduler!r} has no host:port; give e.g. "
                         "tcp://127.0.0.1:8786")
    try:
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise ValueError(f"cannot reach the Dask scheduler at {scheduler} ({exc.strerror or exc}"
                         "); start one with `dask scheduler` or check the address") from None


def run_tasks(fn: Callable[[Any], Any], tasks: Iterable[tuple[str, Any]],
              on_result: Callable[[str, Any], None], *, workers: int | None = None,
              scheduler: str | None = None) -> None:
    """Run ``fn(task)`` for each ``(name, task)``; call ``on_result(name, result)`` as each
    finishes. ``workers`` None or 1 and no scheduler: in this process, in order."""
    check_backend(workers, scheduler)
    tasks = list(tasks)
    if not tasks:
        return
    if scheduler is None and (workers is None or workers == 1):  # one worker: this process
        for name, task in tasks:
            on_result(name, fn(task))
        return
    with _script_hidden() if scheduler is None else contextlib.nullcontext():
        client, cluster = _connect(workers, scheduler)
        try:
            _run_on(client, fn, tasks, on_result)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()


@contextlib.contextmanager
def _script_hidden() -> Iterator[None]:
    """While local workers start (and restart), ``__main__`` is a bare module.

    Dask starts worker processes with multiprocessing's "spawn" method, which runs the
    parent's script again in each new process to rebuild ``__main__``: a study at the top
    level of a script (the issue's five-line example, pasted into a file) would then start
    workers of its own in every worker. The tasks never need the script: their function and
    arguments live in neuralab (and cloudpickle sends anything from ``__main__`` by value),
    so the workers are spawned from a ``__main__`` with no file to run.
    """
    main = sys.modules.get("__main__")
    if main is None or getattr(main, "__file__", None) is None:  # a REPL, Jupyter, python -c
        yield
        return
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


def _connect(workers: int | None, scheduler: str | None) -> tuple[Any, Any]:
    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - the studies extra installs it
        raise ValueError("workers/scheduler need Dask: pip install 'neuralab[studies]'") \
            from None
    if scheduler is not None:
        try:
            return Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s"), None
        except (OSError, TimeoutError) as exc:
            raise ValueError(f"cannot reach the Dask scheduler at {scheduler} within "
                             f"{CONNECT_TIMEOUT_S} s ({type(exc).__name__}); start one with "
                             "`dask scheduler` or check the address") from None
    import multiprocessing

    if multiprocessing.parent_process() is not None:
        # a child of another pool (or a script re-run by "spawn" despite _script_hidden):
        # its workers would start workers of their own, without end
        raise RuntimeError(SPAWN_HINT)
    # A child process inherits this environment: pin BLAS before the workers start.
    saved = {k: os.environ.get(k) for k in WORKER_ENV}
    os.environ.update(WORKER_ENV)
    import dask

    try:
        # Dask starts workers with MALLOC_TRIM_THRESHOLD_=65536, which makes glibc unmap and
        # fault in again every multi-megabyte ensemble array: a chunk ran 2.8x slower
        # (benchmarks/README.md). The library default suits our few large arrays.
        with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_":
                              None}), _sigint_ignored_by_children():
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   host="127.0.0.1", dashboard_address=None,
                                   silence_logs=50)  # CRITICAL only: progress is ours
    except RuntimeError as exc:  # "Nanny failed to start"
        raise RuntimeError(f"the {workers} local Dask workers did not start ({exc}); "
                           + SPAWN_HINT) from None
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return Client(cluster), cluster


@contextlib.contextmanager
def _sigint_ignored_by_children() -> Iterator[None]:
    """Start worker processes with Ctrl-C ignored.

    A terminal sends Ctrl-C's SIGINT to every process of the foreground group, the workers
    too: each printed a screenful of traceback before this process could say its one line.
    An ignored signal stays ignored in a spawned child (Python then installs no
    KeyboardInterrupt handler), and this process stops the workers itself. While they start
    (about a second) Ctrl-C is ignored here too; the previous handler is back afterwards.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may change signal handlers
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _run_on(client: Any, fn: Callable[[Any], Any], tasks: list[tuple[str, Any]],
            on_result: Callable[[str, Any], None]) -> None:
    from distributed import as_completed

    run = uuid.uuid4().hex[:8]  # unique keys: nothing is served from an earlier study's cache
    futures = {client.submit(fn, task, key=f"neuralab-{name}-{run}", pure=False, retries=2):
               name for name, task in tasks}
    try:
        for future in as_completed(futures):
            name = futures[future]
            result = future.result()
            future.release()
            on_result(name, result)
    finally:
        client.cancel(list(futures))


__all__ = ["WORKER_ENV", "check_backend", "check_reachable", "run_tasks"]
