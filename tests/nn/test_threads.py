"""The CNN layers' thread pool (nn/_threads.py): results are bit-for-bit the same whatever
the thread count, for Conv1d/Conv2d (forward, weight, bias and input gradients), the pools
and a whole LeNet-5 step; NEURALAB_THREADS is checked; errors in a thread reach the caller;
a Sequential with convolutions runs each call with a one-thread BLAS and restores it."""

from __future__ import annotations

import os

import numpy as np
import pytest
from threadpoolctl import threadpool_info

import neuralab.nn.conv as conv_module
import neuralab.nn.pooling as pooling_module
from neuralab import nn, optim
from neuralab.nn import _threads

THREADS = ("1", "2", "3")


@pytest.fixture
def parallel_everywhere(monkeypatch) -> list[int]:
    """Thresholds off, so that even these small inputs take the threaded paths; returns the
    thread counts ``_threads.run`` was asked for (to show the threads really ran)."""
    monkeypatch.setattr(_threads, "SMALL_WORK", 0)
    monkeypatch.setattr(_threads, "PARALLEL_WORK", 0)
    monkeypatch.setattr(pooling_module, "PARALLEL_SIZE", 1)
    asked: list[int] = []
    run = _threads.run

    def counting_run(fn, n_items, n_slots):
        asked.append(n_slots)
        return run(fn, n_items, n_slots)

    monkeypatch.setattr(_threads, "run", counting_run)
    return asked


def _blas_threads() -> list[int]:
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def _with_threads(monkeypatch, n: str, fn):
    """``fn()`` with n threads: the BLAS's and the pool's (as a process given n cores)."""
    from threadpoolctl import threadpool_limits

    monkeypatch.setenv(_threads.ENV, n)
    with threadpool_limits(int(n), user_api="blas"):
        return fn()


def _conv_run(layer_cls, kwargs, x, dtype):
    conv = layer_cls(**kwargs, rng=0, dtype=dtype)
    out = conv.forward(x)
    g = np.random.default_rng(8).normal(size=out.shape).astype(dtype)
    dx = conv.backward(g)
    grads = {k: v.copy() for k, v in conv.grads.items()}
    first = layer_cls(**kwargs, rng=0, dtype=dtype)  # the first-layer path: no dx
    first.forward(x)
    first.backward_params(g)
    return out, dx, grads, {k: v.copy() for k, v in first.grads.items()}


CONVS = [  # (class, kwargs, input shape): several blocks each with the small BLOCK_BYTES
    (nn.Conv2d, dict(in_channels=3, out_channels=4, kernel_size=5, padding=2), (5, 3, 12, 11)),
    (nn.Conv2d, dict(in_channels=2, out_channels=3, kernel_size=(3, 2), stride=(2, 1),
                     padding=(1, 2), dilation=(2, 1)), (4, 2, 13, 7)),
    (nn.Conv2d, dict(in_channels=2, out_channels=2, kernel_size=2, stride=3), (3, 2, 11, 9)),
    (nn.Conv1d, dict(in_channels=2, out_channels=3, kernel_size=4, padding=3, dilation=2),
     (6, 2, 9)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("block_bytes", [1, 2_000, 1 << 40], ids=["row", "rows", "one"])
@pytest.mark.parametrize(("cls", "kwargs", "shape"), CONVS, ids=str)
def test_conv_results_do_not_depend_on_the_thread_count(cls, kwargs, shape, block_bytes,
                                                        dtype, monkeypatch,
                                                        parallel_everywhere) -> None:
    monkeypatch.setattr(conv_module, "BLOCK_BYTES", block_bytes)
    x = np.random.default_rng(7).normal(size=shape).astype(dtype)
    runs = [_with_threads(monkeypatch, n, lambda: _conv_run(cls, kwargs, x, dtype))
            for n in THREADS]
    for other in runs[1:]:
        out, dx, grads, first = other
        np.testing.assert_array_equal(out, runs[0][0])
        np.testing.assert_array_equal(dx, runs[0][1])
        for k in grads:
            np.testing.assert_array_equal(grads[k], runs[0][2][k])
            np.testing.assert_array_equal(first[k], runs[0][3][k])
    if block_bytes == 1 and cls is nn.Conv2d:  # a row per block: forward on 3 threads
        assert max(parallel_everywhere) == 3


@pytest.mark.parametrize("cls", [nn.MaxPool2d, nn.MaxPool1d, nn.AvgPool2d])
def test_pool_results_do_not_depend_on_the_thread_count(cls, monkeypatch,
                                                        parallel_everywhere) -> None:
    shape = (4, 5, 9, 8) if cls is not nn.MaxPool1d else (4, 5, 9)
    # ties (integers) so that the first-maximum rule is exercised in every thread's share
    x = np.random.default_rng(3).integers(0, 3, size=shape).astype(np.float64)
    runs = []
    for n in THREADS:
        monkeypatch.setenv(_threads.ENV, n)
        pool = cls(2)
        out = pool.forward(x)
        runs.append((out, pool.backward(np.arange(out.size, dtype=float).reshape(out.shape))))
    for out, dx in runs[1:]:
        np.testing.assert_array_equal(out, runs[0][0])
        np.testing.assert_array_equal(dx, runs[0][1])
    assert max(parallel_everywhere, default=0) == (0 if cls is nn.AvgPool2d else 3)  # avg: 1


def _lenet_steps(batch: int, steps: int = 3) -> tuple[np.ndarray, list[np.ndarray]]:
    rng = np.random.default_rng(0)
    layers = [nn.Conv2d(1, 6, 5, padding=2, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
              nn.Conv2d(6, 16, 5, rng=rng), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten()]
    for n_in, n_out in ((400, 120), (120, 84), (84, 10)):  # the dense part, ReLU between
        layers += [nn.Linear(n_in, n_out, rng=rng), nn.ReLU()]
    net = nn.Sequential(*layers[:-1])  # float32, the library's default (the benchmark's)
    loss, opt = nn.SoftmaxCrossEntropy(), optim.SGD(net, 0.05)
    data = np.random.default_rng(1)
    X = data.random((steps * batch, 1, 28, 28), dtype=np.float32)
    y = data.integers(0, 10, steps * batch)
    for s in range(steps):
        out = net.forward(X[s * batch:(s + 1) * batch])
        loss.forward(out, y[s * batch:(s + 1) * batch])
        dx = net.backward(loss.backward(), input_grad=True)
        opt.step()
    return dx, [p.copy() for _, p, _ in net.named_parameters()]


@pytest.mark.parametrize("batch", [1, 64])
def test_lenet5_training_does_not_depend_on_the_thread_count(batch, monkeypatch,
                                                             parallel_everywhere) -> None:
    """Three SGD steps at the benchmark's sizes (batch 64: several blocks per convolution):
    every parameter and the input gradient are equal."""
    runs = [_with_threads(monkeypatch, n, lambda: _lenet_steps(batch)) for n in ("1", "2")]
    assert max(parallel_everywhere) == 2
    np.testing.assert_array_equal(runs[1][0], runs[0][0])
    for a, b in zip(runs[0][1], runs[1][1], strict=True):
        np.testing.assert_array_equal(b, a)


def test_the_blas_thread_count_is_restored(monkeypatch) -> None:
    monkeypatch.setenv(_threads.ENV, "2")
    before = _blas_threads()
    seen = []
    _threads.run(lambda i, slot: seen.append(_blas_threads()), 4, 2)
    assert _blas_threads() == before
    assert all(n == [1] * len(before) for n in seen)  # one BLAS thread inside


def test_threads_follow_the_blas_unless_the_environment_says(monkeypatch) -> None:
    from threadpoolctl import threadpool_limits

    monkeypatch.delenv(_threads.ENV, raising=False)
    with threadpool_limits(1, user_api="blas"):
        assert _threads.threads() == 1
        assert _threads.slots(8, 1 << 30) == 1  # in order
        assert _threads.split(6, 1 << 30, 1) == [slice(0, 6)]
    with threadpool_limits(2, user_api="blas"):
        assert _threads.threads() == 2
        assert _threads.slots(8, 1 << 30) == 2 and _threads.slots(1, 1 << 30) == 0
        assert _threads.slots(8, 1000) == 0  # too small to bother
        assert _threads.slots(8, 8 * _threads.PARALLEL_WORK - 1) == 0  # short blocks
        assert _threads.split(5, 1 << 30, 1) == [slice(0, 2), slice(2, 5)]
        assert _threads.split(5, 10, 100) == [slice(0, 5)]  # too small to hand over
    monkeypatch.setenv(_threads.ENV, "3")
    assert _threads.threads() == 3


@pytest.mark.parametrize("value", ["0", "two", "-1"])
def test_a_bad_thread_count_is_refused(value, monkeypatch) -> None:
    monkeypatch.setenv(_threads.ENV, value)
    with pytest.raises(ValueError, match=rf"NEURALAB_THREADS='{value}' is not allowed; it must "
                                         r"be an int >= 1"):
        _threads.threads()


def test_an_error_in_a_thread_reaches_the_caller_after_all_threads_end(monkeypatch) -> None:
    done = []

    def item(i: int, slot: int) -> None:
        if i == 1:
            raise RuntimeError("item 1 failed")
        done.append(i)

    before = _blas_threads()
    with pytest.raises(RuntimeError, match="item 1 failed"):
        _threads.run(item, 6, 2)
    assert _blas_threads() == before  # the section was closed: counts restored
    assert sorted(done) == [0, 2, 3, 4, 5]  # the other thread finished its items


def _run_in_child() -> list[int]:
    done: list[int] = []
    _threads.run(lambda i, slot: done.append(i), 6, 2)
    return sorted(done)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_gets_a_pool_of_its_own(monkeypatch) -> None:
    """The parent's pool threads do not exist in a forked child (a Dask or multiprocessing
    worker): the child must make its own pool rather than wait for them forever."""
    import multiprocessing

    monkeypatch.setenv(_threads.ENV, "2")
    _threads.run(lambda i, slot: None, 4, 2)  # the parent's pool now exists
    with multiprocessing.get_context("fork").Pool(1) as workers:
        assert workers.apply_async(_run_in_child).get(timeout=60) == [0, 1, 2, 3, 4, 5]


# -- Sequential: one BLAS thread per call ------------------------------------------------------
class Spy(nn.Module):
    """Records, at each forward and backward, the BLAS's thread counts and threads()."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, list[int], int]] = []
        self.fail = ""

    def forward(self, x):
        self.seen.append(("forward", _blas_threads(), _threads.threads()))
        if self.fail == "forward":
            raise RuntimeError("forward failed")
        return x

    def backward(self, grad_out):
        self.seen.append(("backward", _blas_threads(), _threads.threads()))
        if self.fail == "backward":
            raise RuntimeError("backward failed")
        return grad_out


def _small_cnn(spy: Spy, *, conv: bool = True) -> nn.Sequential:
    """Conv2d → spy → Flatten → Linear; without ``conv`` an MLP: Flatten → Linear → spy →
    Linear (the spy sits after a layer with parameters, so backward reaches it)."""
    if not conv:
        return nn.Sequential(nn.Flatten(), nn.Linear(36, 8, rng=0), spy, nn.Linear(8, 3, rng=0))
    return nn.Sequential(nn.Conv2d(1, 2, 3, rng=0), spy, nn.Flatten(),
                         nn.Linear(2 * 4 * 4, 3, rng=0))


def _one_step(net: nn.Sequential, spy: Spy | None = None, batch: int = 5) -> None:
    """A first forward (the convolutions learn their sizes), then the step that counts."""
    x = np.random.default_rng(0).random((batch, 1, 6, 6))
    net.forward(x)
    if spy is not None:
        spy.seen.clear()
    out = net.forward(x)
    net.backward(np.ones_like(out))


@pytest.fixture
def small_split(monkeypatch) -> None:
    """These tiny convolutions count as products OpenBLAS would split (2 threads, no env)."""
    monkeypatch.delenv(_threads.ENV, raising=False)
    monkeypatch.setattr(_threads, "OPENBLAS_SPLIT", 1)


def test_a_cnn_sequential_runs_each_call_with_one_blas_thread(small_split) -> None:
    from threadpoolctl import threadpool_limits

    spy = Spy()
    with threadpool_limits(2, user_api="blas"):
        before = _blas_threads()
        _one_step(_small_cnn(spy), spy)
        assert _blas_threads() == before  # restored after forward and after backward
    ones = [1] * len(before)
    # inside: the BLAS at one thread, while the layers still see the process's 2 threads
    assert spy.seen == [("forward", ones, 2), ("backward", ones, 2)]


@pytest.mark.parametrize("where", ["forward", "backward"])
def test_the_blas_count_is_restored_after_an_error_in_a_layer(where, small_split) -> None:
    from threadpoolctl import threadpool_limits

    spy = Spy()
    net = _small_cnn(spy)
    with threadpool_limits(2, user_api="blas"):
        before = _blas_threads()
        _one_step(net)
        spy.fail = where
        with pytest.raises(RuntimeError, match=f"{where} failed"):
            _one_step(net)
        assert spy.seen[-1][1] == [1] * len(before)  # it failed inside the section
        assert _blas_threads() == before
        assert _threads._single_depth == 0 and _threads.threads() == 2


@pytest.mark.parametrize("case", ["mlp", "large dense", "one thread", "small products"])
def test_the_blas_is_left_alone_where_holding_it_gains_nothing(case, monkeypatch,
                                                               small_split) -> None:
    """No convolution (an MLP), a dense product of BLAS_WORK or more, a process held to one
    thread, or convolutions whose products OpenBLAS would not split (LeNet-5 at batch 1,
    the real threshold): the Sequential does not touch the BLAS (after the first call)."""
    from threadpoolctl import threadpool_limits

    if case == "large dense":
        monkeypatch.setattr(_threads, "BLAS_WORK", 5 * 32 * 3)  # batch 5 × Linear(32, 3)
    n = 1 if case == "one thread" else 2
    spy = Spy()
    if case == "small products":
        monkeypatch.setattr(_threads, "OPENBLAS_SPLIT", 1 << 18)
        net = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2, rng=0), spy, nn.MaxPool2d(2),
                            nn.Conv2d(6, 16, 5, rng=0), nn.MaxPool2d(2), nn.Flatten(),
                            nn.Linear(400, 10))
        x = np.zeros((1, 1, 28, 28))
    else:
        net, x = _small_cnn(spy, conv=case != "mlp"), np.zeros((5, 1, 6, 6))
    with threadpool_limits(n, user_api="blas"):
        net.backward(np.ones_like(net.forward(x)))
        # The first forward, before the convolutions have seen an input, counts their
        # products as split: held at one thread where it matters, so it computes what later
        # calls do (its backward knows their sizes)
        first = 1 if case == "small products" else n
        assert [seen[1] for seen in spy.seen] == [[first] * len(_blas_threads()),
                                                  [n] * len(_blas_threads())]
        spy.seen.clear()
        for _ in range(2):
            net.backward(np.ones_like(net.forward(x)))
    assert [seen[1] for seen in spy.seen] == [[n] * len(_blas_threads())] * 4


def test_lenet5_training_at_the_default_thresholds_does_not_depend_on_the_thread_count(
        monkeypatch) -> None:
    """As above without forcing the thresholds: the Sequential's section (one BLAS thread)
    at 2 threads, the blocks run as the thresholds decide, against 1 thread."""
    runs = [_with_threads(monkeypatch, n, lambda: _lenet_steps(64, steps=2)) for n in ("1", "2")]
    np.testing.assert_array_equal(runs[1][0], runs[0][0])
    for a, b in zip(runs[0][1], runs[1][1], strict=True):
        np.testing.assert_array_equal(b, a)


@pytest.mark.parametrize("input_grad", [True, False], ids=["dx", "params only"])
def test_a_conv_backward_runs_its_blocks_on_threads(input_grad, monkeypatch,
                                                    parallel_everywhere) -> None:
    """The backward's blocks on 2 threads (their own shares of dW, summed in block order;
    col2im on this thread): the same numbers as one thread, and the pool really ran."""
    monkeypatch.setattr(conv_module, "BLOCK_BYTES", 2_000)  # several blocks
    x = np.random.default_rng(7).normal(size=(6, 3, 12, 10))
    runs = []
    for n in ("1", "2"):
        monkeypatch.setenv(_threads.ENV, n)
        conv = nn.Conv2d(3, 4, 3, padding=1, rng=0, dtype=np.float64)
        out = conv.forward(x)
        parallel_everywhere.clear()
        g = np.random.default_rng(8).normal(size=out.shape)
        dx = conv.backward(g) if input_grad else conv.backward_params(g)
        runs.append((dx, {k: v.copy() for k, v in conv.grads.items()}))
        # 1 thread: the plain loop; 2: the pool, two blocks at a time (12 blocks: 6 calls)
        assert parallel_everywhere == ([] if n == "1" else [2] * 6)
    assert (runs[0][0] is None) == (not input_grad)
    if input_grad:
        np.testing.assert_array_equal(runs[1][0], runs[0][0])
    for k in runs[0][1]:
        np.testing.assert_array_equal(runs[1][1][k], runs[0][1][k])


def test_a_fresh_network_computes_its_first_call_as_it_computes_the_next(monkeypatch) -> None:
    """The first forward of a new LeNet-5 at batch 64 on a 2-thread process equals a second
    forward of the same weights bit for bit (resumed runs start with such a first call). On
    OpenBLAS's Haswell kernels a product split over 2 threads differs in its last bits from
    the same product on one, so this failed there while the first call ran split."""
    from threadpoolctl import threadpool_limits

    monkeypatch.delenv(_threads.ENV, raising=False)
    x = np.random.default_rng(1).random((64, 1, 28, 28), dtype=np.float32)

    def lenet() -> nn.Sequential:
        rng = np.random.default_rng(0)
        return nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5, rng=rng), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(400, 120, rng=rng), nn.ReLU(), nn.Linear(120, 10, rng=rng))

    with threadpool_limits(2, user_api="blas"):
        if _threads.threads() < 2:
            pytest.skip("the BLAS cannot be given 2 threads here")
        spy_net = lenet()
        assert spy_net._one_blas(x)  # unseen convolutions count as split products
        net = lenet()
        first = net.forward(x).copy()
        np.testing.assert_array_equal(net.forward(x), first)
