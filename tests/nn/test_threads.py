"""The CNN layers' thread pool (nn/_threads.py): results are bit-for-bit the same whatever
the thread count, for Conv1d/Conv2d (forward, weight, bias and input gradients), the pools
and a whole LeNet-5 step; NEURALAB_THREADS is checked; errors in a thread reach the caller."""

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
