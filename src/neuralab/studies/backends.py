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
import time
import types
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

#: Environment of local worker processes: one BLAS thread each, so N workers use N cores
#: (and NumPy's and SciPy's OpenBLAS pools never fight, docs/performance.md).
WORKER_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
#: seconds to reach a scheduler's port and to greet it: an unroutable address or a server
#: that is not a Dask scheduler is one line after this long, not Dask's 30 s
CONNECT_TIMEOUT_S = 5
#: a cluster with no worker this long (all killed, or none started) stops the study with one
#: line: tasks would otherwise wait for a worker forever, in silence
NO_WORKERS_TIMEOUT_S = 60.0
#: the address schemes a scheduler can have (inproc:// lives in one process; ucx:// needs
#: ucx-py)
SCHEMES = ("tcp", "tls", "ws", "wss")
SPAWN_HINT = ("a study with workers cannot start from inside a child process (a worker of "
              "another pool, or a script re-run by multiprocessing's \"spawn\"); run it from "
              "the main process, under `if __name__ == \"__main__\":` in a script, or use "
              "workers=1")


class ClusterError(RuntimeError):
    """The cluster cannot run the study: no worker for a long time, or workers that cannot
    import neuralab. The study stops; its finished chunks stay (``--resume`` runs the rest).
    """

    exit_code = 1


def check_backend(workers: int | None, scheduler: str | None) -> None:
    """Validate the backend settings before anything is written."""
    if workers is not None and scheduler is not None:
        raise ValueError("give workers or scheduler, not both (a running cluster has its own "
                         "workers)")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or not 1 <= workers <= 256):
        raise ValueError(f"workers={workers!r} is not allowed; give an integer in [1, 256]")
    if scheduler is not None:
        _host_port(scheduler)


def _host_port(scheduler: Any) -> tuple[str, int]:
    """The host and port of ``scheme://host:port``, else a ValueError naming the address
    and what is allowed."""
    from urllib.parse import urlsplit

    allowed = "tcp://HOST:PORT (or tls://, ws://, wss://), e.g. tcp://127.0.0.1:8786"
    if not isinstance(scheduler, str) or not scheduler.strip():
        raise ValueError(f"scheduler={scheduler!r} is not a Dask scheduler address; give "
                         f"{allowed}")
    if "://" not in scheduler:
        raise ValueError(f"scheduler={scheduler!r} has no scheme; give tcp://{scheduler} "
                         f"(addresses are {allowed})")
    parts = urlsplit(scheduler)
    if parts.scheme not in SCHEMES:
        raise ValueError(f"scheduler={scheduler!r}: {parts.scheme}:// is not a Dask scheduler "
                         f"address scheme; give {allowed}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:  # a port out of range or not a number
        host, port = parts.hostname, -1
    if not host or port is None or not 1 <= port <= 65535 or parts.path not in ("", "/"):
        raise ValueError(f"scheduler={scheduler!r} is not HOST:PORT with a port in [1, 65535]; "
                         f"give {allowed}")
    return host, port


@contextlib.contextmanager
def scheduler_client(scheduler: str | None) -> Iterator[Any]:
    """A checked Client of ``scheduler`` (:func:`connect_scheduler`) for a whole study, closed
    at the end; None without a scheduler. The study checks the cluster and runs its tasks
    on this one connection (``run_tasks(client=...)``)."""
    client = connect_scheduler(scheduler) if scheduler is not None else None
    try:
        yield client
    finally:
        if client is not None:
            client.close()


def connect_scheduler(scheduler: str) -> Any:
    """An open Client of the Dask scheduler at ``scheduler`` whose workers can import
    neuralab; a ValueError (one line, within about CONNECT_TIMEOUT_S seconds) otherwise."""
    import socket

    host, port = _host_port(scheduler)
    hint = "start one with `dask scheduler` or check the address"
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S) as sock:
            greeting = _greeting(sock) if scheduler.startswith("tcp://") else b"?"
    except TimeoutError:
        raise ValueError(f"cannot reach the Dask scheduler at {scheduler} (no answer within "
                         f"{CONNECT_TIMEOUT_S} s); {hint}") from None
    except OSError as exc:
        raise ValueError(f"cannot reach the Dask scheduler at {scheduler} ({exc.strerror or exc}"
                         f"); {hint}") from None
    if not greeting:
        # a web server (the dashboard's port 8787) waits for a request: Dask's Client then
        # waited forever, its timeout notwithstanding
        raise ValueError(f"no Dask scheduler answers at {scheduler}: something listens there "
                         f"but said nothing within {CONNECT_TIMEOUT_S} s; is it the "
                         "scheduler's port (the dashboard's 8787 is not)?")
    client = _client(scheduler)
    try:
        _check_workers(client, scheduler)
    except BaseException:
        client.close()
        raise
    return client


def _greeting(sock: Any) -> bytes:
    """The first frame header a Dask scheduler sends on a new connection (a TCP comm
    greets first: 8 bytes, a small length), or b"" when none comes in time."""
    data = b""
    try:
        while len(data) < 8:
            part = sock.recv(8 - len(data))
            if not part:
                return b""
            data += part
    except OSError:  # a timeout included
        return b""
    return data if int.from_bytes(data, "little") < 2**24 else b""


def _client(scheduler: str) -> Any:
    """A Client of the scheduler at ``scheduler``, or a ValueError in CONNECT_TIMEOUT_S."""
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - the studies extra installs it
        raise ValueError("workers/scheduler need Dask: pip install 'neuralab[studies]'") \
            from None
    try:
        return Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s")
    except Exception as exc:  # anything but a Dask greeting: one line
        # a web server (the dashboard's port 8787, a proxy) makes Dask read its reply as a
        # frame length and ask for exabytes: a MemoryError; TLS or ws mismatches, OSError
        detail = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
        raise ValueError(f"no Dask scheduler answers at {scheduler} within "
                         f"{CONNECT_TIMEOUT_S} s ({detail}); is it the scheduler's port (the "
                         "dashboard's 8787 is not) and is this its scheme?") from None


_PROBE_SOURCE = """
def probe():
    import sys
    try:
        import neuralab
        import numpy
    except BaseException as exc:
        return f"{type(exc).__name__}: {exc} (Python {sys.executable})"
    return {"neuralab": neuralab.__version__, "numpy": numpy.__version__}
"""


def _versions() -> dict[str, str]:
    """What a worker must run as this process does for the same numbers (the probe's)."""
    import numpy

    import neuralab

    return {"neuralab": neuralab.__version__, "numpy": numpy.__version__}


def _probe() -> Callable[[], str | None]:
    """A function that says why a worker cannot import neuralab (None when it can). It is
    made outside any module, so cloudpickle sends it by value: a worker without neuralab
    can still run it (a function of neuralab would fail to unpickle there, which closes the
    worker's connection and leaves the study waiting)."""
    namespace: dict[str, Any] = {"__name__": "neuralab_worker_probe"}
    exec(_PROBE_SOURCE, namespace)  # a constant source
    return namespace["probe"]


def _check_workers(client: Any, scheduler: str) -> None:
    """ValueError when a worker of the cluster cannot import neuralab, or runs another
    version of neuralab or NumPy than this process (its runs could differ from the
    in-process ones: a study's numbers must not depend on where they ran)."""
    if not client.nthreads():
        return  # none yet: the study waits NO_WORKERS_TIMEOUT_S for one (run_tasks)
    answers = client.run(_probe(), on_error="return")
    fix = (f"start `dask worker {scheduler}` from the Python environment neuralab is "
           f"installed in ({sys.executable})")
    bad = {w: a for w, a in answers.items() if not isinstance(a, dict)}
    if bad:
        worker, why = sorted(bad.items())[0]
        why = " ".join(str(why).split())[:200]
        raise ValueError(f"{len(bad)} of {len(answers)} Dask workers at {scheduler} cannot "
                         f"import neuralab ({worker}: {why}); {fix}")
    ours = _versions()
    other = {w: a for w, a in answers.items() if a != ours}
    if other:
        worker, theirs = sorted(other.items())[0]

        def text(v: dict[str, Any]) -> str:
            return ", ".join(f"{k} {str(v.get(k))[:40]}" for k in ours)

        raise ValueError(f"{len(other)} of {len(answers)} Dask workers at {scheduler} run "
                         f"other versions ({worker}: {text(theirs)}; here: {text(ours)}), "
                         f"whose runs could differ from this process's; {fix}")


def run_tasks(fn: Callable[[Any], Any], tasks: Iterable[tuple[str, Any]],
              on_result: Callable[[str, Any], None], *, workers: int | None = None,
              scheduler: str | None = None,
              notice: Callable[[str], None] | None = None, client: Any = None) -> None:
    """Run ``fn(task)`` for each ``(name, task)``; call ``on_result(name, result)`` as each
    finishes. ``workers`` None or 1 and no scheduler: in this process, in order.

    ``client``: an open Client of ``scheduler`` (:func:`scheduler_client`) to run on instead
    of connecting again; the caller closes it. ``notice(line)`` hears when the cluster has
    no worker (the study waits NO_WORKERS_TIMEOUT_S for one, then raises ClusterError)."""
    check_backend(workers, scheduler)
    tasks = list(tasks)
    if not tasks:
        return
    if scheduler is not None:  # a running cluster: the caller's connection, or one of ours
        if client is None:
            with scheduler_client(scheduler) as own:
                _run_on(own, fn, tasks, on_result, scheduler, notice)
            return
        _check_workers(client, scheduler)  # again: workers may have joined since
        _run_on(client, fn, tasks, on_result, scheduler, notice)
        return
    if workers is None or workers == 1:  # one worker: this process
        for name, task in tasks:
            on_result(name, fn(task))
        return
    with _script_hidden():
        client, cluster = _local_cluster(workers)
        try:
            _run_on(client, fn, tasks, on_result, scheduler, notice)
        finally:
            client.close()
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


def _local_cluster(workers: int) -> tuple[Any, Any]:
    """A Client of a new LocalCluster of ``workers`` processes, and the cluster."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - the studies extra installs it
        raise ValueError("workers/scheduler need Dask: pip install 'neuralab[studies]'") \
            from None
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
        # No dashboard; the scheduler's HTTP server (health checks) still starts, on
        # 127.0.0.1 and a free port: at its default 8787 a second study, or any program
        # there, made Dask print "Port 8787 is already in use" and a warning's traceback.
        with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_":
                              None}), _sigint_ignored_by_children():
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   host="127.0.0.1", dashboard_address=None,
                                   scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
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
            on_result: Callable[[str, Any], None], scheduler: str | None,
            notice: Callable[[str], None] | None) -> None:
    from distributed import wait

    where = scheduler or "the local cluster"
    start = f" (`dask worker {scheduler}` starts one)" if scheduler else ""

    run = uuid.uuid4().hex[:8]  # unique keys: nothing is served from an earlier study's cache
    futures = {client.submit(fn, task, key=f"neuralab-{name}-{run}", pure=False, retries=2):
               name for name, task in tasks}
    pending = set(futures)
    alone_since: float | None = None  # since when the cluster has had no worker
    try:
        while pending:
            try:
                done, pending = wait(pending, timeout=1.0, return_when="FIRST_COMPLETED")
            except TimeoutError:
                done = set()
            for future in done:
                try:
                    # a result on a worker killed since is computed again: result() would
                    # wait for it, past the watch below, for ever when no worker is left
                    result = future.result(timeout=1.0)
                except TimeoutError:
                    pending.add(future)
                    done = set()
                    continue
                except ModuleNotFoundError as exc:
                    if not (exc.name or "").startswith("neuralab"):
                        raise
                    raise ClusterError(f"a Dask worker at {where} cannot import neuralab "
                                       f"({exc}); start the workers from the Python "
                                       f"environment neuralab is installed in "
                                       f"({sys.executable})") from None
                future.release()
                on_result(futures[future], result)
            if not pending or done:
                alone_since = None
                continue
            if client.nthreads():
                alone_since = None
            elif alone_since is None:
                alone_since = time.monotonic()
                if notice is not None:
                    notice(f"no Dask worker at {where}; waiting up to "
                           f"{NO_WORKERS_TIMEOUT_S:.0f} s for one{start}")
            elif time.monotonic() - alone_since > NO_WORKERS_TIMEOUT_S:
                raise ClusterError(f"the Dask cluster at {where} has had no worker for "
                                   f"{NO_WORKERS_TIMEOUT_S:.0f} s (killed, or never "
                                   f"started){start}")
    finally:
        client.cancel(list(futures))


__all__ = ["NO_WORKERS_TIMEOUT_S", "WORKER_ENV", "ClusterError", "check_backend",
           "connect_scheduler", "run_tasks", "scheduler_client"]
