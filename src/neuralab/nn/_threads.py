"""A small thread pool for the CNN layers: independent blocks of work on the process's cores.

Why: with 2 BLAS threads only OpenBLAS's products use the second core, while NumPy's copies
and element-wise passes stay on one. A large layer call (:data:`PARALLEL_WORK`) instead
runs whole blocks side by side on separate threads, each with a one-thread BLAS (NumPy and
OpenBLAS release the GIL inside ``matmul``, ``copyto`` and ufuncs; every NumPy call takes it
back, which is what makes short blocks lose). Smaller calls run in order.

A whole network call can hold the BLAS at one thread too (:class:`single_blas`, opened by
``Sequential`` for a network of small products such as LeNet-5): OpenBLAS splitting each of
its small products over two threads made a step up to 2× slower. Inside such a section the
layers' own parallel calls change nothing (the BLAS is at one thread already), and
:func:`threads` still reports the process's count.

Results never depend on the thread count: the layers cut their work into the same blocks
whatever it is and compute each block exactly as with one thread; a thread only decides
WHO computes a block (sums over blocks, such as a weight gradient, are added on one thread
in block order). OpenBLAS's own threads are another matter: on some CPUs (its Haswell
kernels: AVX2, no AVX-512) a product it splits over two threads differs in its last bits
from the same product on one. So a ``Sequential`` of convolutions holds the BLAS at one
thread for every call whose products it would split (its first call included), and a
study computes every chunk at one thread (``studies.runner.run_chunk``): its numbers are
the same on every backend.

How many threads: ``NEURALAB_THREADS`` if set (1 turns the pool off), else the thread count
the BLAS has at the moment of the call (threadpoolctl's view: ``OMP_NUM_THREADS``,
``OPENBLAS_NUM_THREADS``, a ``threadpool_limits`` block), so a process held to one BLAS
thread stays on one core. Without threadpoolctl (an optional package) the count is 1 unless
``NEURALAB_THREADS`` says more, and the BLAS is then left as it is.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

#: environment variable that overrides the thread count (an int >= 1)
ENV = "NEURALAB_THREADS"
#: below this many multiply-adds a layer call skips the thread bookkeeping (~2 µs)
SMALL_WORK = 1 << 18
#: from this many multiply-adds per block on, a layer call runs its blocks side by side. Each
#: NumPy call takes the GIL back, and waking a waiting thread costs tens of µs on a VM, so
#: short blocks lose: on the 2-core host LeNet's convolutions (≤ 6·10⁶ per block at batch
#: 256) were 3-30 % slower on two threads, forward and backward, even with the BLAS already
#: held at one thread; a Conv2d(32, 64, 3) at batch 64 on 32×32 (3.8·10⁷ per block) 1.7×
#: faster forward and 1.4× backward (with the second core idle)
PARALLEL_WORK = 1 << 24
#: OpenBLAS runs a product of fewer multiply-adds (M·N·K) on one thread whatever its thread
#: count (its gemm interface: 65536 × GEMM_MULTITHREAD_THRESHOLD 4)
OPENBLAS_SPLIT = 1 << 18
#: a dense product (batch × a 2-D weight) from this many multiply-adds on keeps OpenBLAS's own
#: threads in a network that would otherwise run them at one (``Sequential._one_blas``)
BLAS_WORK = 1 << 24

_lock = threading.Lock()
_blas: list[Any] | bool | None = None  # blas_libs(): the controllers, False without
_pool: ThreadPoolExecutor | None = None
_pool_pid = 0  # a forked child gets a fresh pool (the parent's threads do not exist there)
_pool_size = 0
_single_depth = 0  # nested / concurrent parallel sections: the first sets BLAS to 1 thread,
_saved: list[int] = []  # the last one puts the saved counts back
_held = 1  # inside a section: the thread count the BLAS had before it (what threads() says)


def blas_libs() -> list[Any] | None:
    """threadpoolctl's controllers of every BLAS in the process, found once (~1 ms); None
    without threadpoolctl. NumPy's and SciPy's wheels each bundle their own OpenBLAS, and
    SciPy's (which ``optim.fused`` calls directly) is loaded first so that it is in the list:
    a thread count is only the process's when both agree."""
    global _blas
    if _blas is None:
        try:
            import scipy.linalg.blas  # noqa: F401  (loads SciPy's BLAS)
        except ImportError:  # (an optional package: NumPy's BLAS alone then)
            pass
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # no threadpoolctl: one thread unless NEURALAB_THREADS says more
            _blas = False
        else:
            _blas = [lib for lib in ThreadpoolController().lib_controllers
                     if lib.user_api == "blas"]
    return None if _blas is False else _blas


def threads() -> int:
    """The number of threads the CNN layers may use now (see the module docstring)."""
    env = os.environ.get(ENV)
    if env:
        try:
            n = int(env)
        except ValueError:
            n = 0
        if n < 1:
            raise ValueError(f"{ENV}={env!r} is not allowed; it must be an int >= 1")
        return n
    if _single_depth:  # inside a section the BLAS says 1: the process still has _held
        return _held
    return max((lib.get_num_threads() or 1 for lib in blas_libs() or ()), default=1)


def slots(n_items: int, work: int) -> int:
    """How to run ``n_items`` independent blocks of ``work`` multiply-adds in all (see
    :func:`run`): 0 (in order, the BLAS as it is) when the work is small (under
    :data:`SMALL_WORK`), the process has one thread, there is one block or the blocks are
    short (under :data:`PARALLEL_WORK` each); else the number of threads to use."""
    if work < SMALL_WORK or n_items < 2 or work < PARALLEL_WORK * n_items:
        return 0
    return min(n_items, threads())


def split(n: int, work: int, minimum: int) -> list[slice]:
    """``range(n)`` cut into one contiguous piece per thread, or one piece when ``work``
    (elements, say) is under ``minimum``: for element-wise passes, whose results do not
    depend on how they are cut."""
    k = 1 if work < minimum else min(n, threads())
    bounds = [n * i // k for i in range(k + 1)]
    return [slice(a, b) for a, b in itertools.pairwise(bounds)]


def run(fn: Callable[[int, int], None], n_items: int, n_slots: int) -> None:
    """Call ``fn(item, slot)`` for every item in ``range(n_items)``; ``n_slots`` comes from
    :func:`slots`. 0 or 1: in order on the calling thread, the BLAS as it is; 2 or more: on
    that many threads (the caller's included) with one BLAS thread each, ``slot``
    (``0 … n_slots − 1``) telling ``fn`` which thread runs it (for its scratch buffers)."""
    if n_slots <= 1:
        for i in range(n_items):
            fn(i, 0)
        return
    items = itertools.count()  # next() is atomic under the GIL: a shared queue of items

    def work(slot: int) -> None:
        for i in items:
            if i >= n_items:
                return
            fn(i, slot)

    pool = _get_pool(n_slots - 1)
    with single_blas():
        futures = [pool.submit(work, slot) for slot in range(1, n_slots)]
        try:
            work(0)
        finally:
            for f in futures:  # wait for all, then raise the first error
                f.exception()
        for f in futures:
            f.result()


def _get_pool(size: int) -> ThreadPoolExecutor:
    global _pool, _pool_pid, _pool_size
    with _lock:
        if _pool is None or _pool_pid != os.getpid() or _pool_size < size:
            if _pool is not None and _pool_pid == os.getpid():
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(size, thread_name_prefix="neuralab-nn")
            _pool_pid, _pool_size = os.getpid(), size
        return _pool


class single_blas:  # lower case: used as a function, ``with single_blas():``
    """A block of code during which the BLAS runs one thread (a parallel section, as inside
    :func:`run`), while :func:`threads` still says how many the process has; the counts are
    restored on leaving, also after an exception. For a whole forward or backward of a small
    network (``Sequential``): one change of the thread count per call rather than per layer,
    and the layers' own blocks, not OpenBLAS, use the other cores. (A class, not a
    ``contextmanager`` generator: ~1 µs less per call, which a batch of 1 notices.)"""

    def __enter__(self) -> None:
        _single_blas(True)

    def __exit__(self, *exc: object) -> None:
        _single_blas(False)


def _single_blas(enter: bool) -> None:
    """Enter / leave a parallel section: the BLAS runs 1 thread inside (else every thread's
    product would queue for OpenBLAS's own thread pool); counts are restored on leaving.
    Not free: after a change of its thread count OpenBLAS 0.3.31 re-creates its per-thread
    buffers, and its next multi-threaded product took ~1-9 ms on the 2-core host, which is
    why only a parallel section changes it, and why ``Sequential`` opens one per call, not
    per layer (in a training loop only the loss and the optimizer run between its sections:
    no products)."""
    global _single_depth, _saved, _held
    with _lock:
        libs = blas_libs() or []
        if enter:
            if _single_depth == 0:
                _saved = [lib.get_num_threads() for lib in libs]
                _held = max(_saved, default=1)
                for lib, n in zip(libs, _saved, strict=True):
                    if n != 1:  # a library already at one thread is left alone
                        lib.set_num_threads(1)
            _single_depth += 1
        else:
            _single_depth -= 1
            if _single_depth == 0:
                for lib, n in zip(libs, _saved, strict=True):
                    if n != 1:
                        lib.set_num_threads(n)
