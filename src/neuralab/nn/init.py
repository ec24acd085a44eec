"""Weight initialisation schemes for ``Linear`` (weights ``(in, out)``, fan_in = ``in``) and
the convolutions (weights ``(out, in, *kernel)``, fan_in = ``in·kH·kW``, fan_out =
``out·kH·kW``, as PyTorch counts them).

=========== ============================================= =====================
name        weight                                        bias
=========== ============================================= =====================
he          N(0, 2 / fan_in)            (alias kaiming)   0
he_uniform  U(±sqrt(6 / fan_in))                          0
xavier      U(±sqrt(6 / (fan_in + fan_out))) (glorot)     0
xavier_normal N(0, 2 / (fan_in + fan_out))                0
normal      N(0, std²), std default 1e-4 (CS324 skeleton) 0
uniform     U(±1/sqrt(fan_in))  (PyTorch's Linear default) U(±1/sqrt(fan_in))
zeros       0                                             0
playground  U(-0.5, 0.5)  (TensorFlow Playground's)          0.1
=========== ============================================= =====================

Convolutions also take ``"torch"`` (PyTorch's Conv default, ``kaiming_uniform(a=√5)``: the
same bounds as ``uniform``) and ``"auto"`` (He: CNNs are ReLU networks).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from neuralab._checks import check_choice

# sample(rng, fan_in, fan_out, std, shape=None, n_bias=None): the weight has ``shape``
# (default ``(fan_in, fan_out)``, Linear's) and the bias ``n_bias`` entries (default fan_out)
Sampler = Callable[..., tuple[np.ndarray, np.ndarray]]


def _normal(std_of: Callable[[int, int], float]) -> Sampler:
    def sample(rng, fan_in, fan_out, std, shape=None, n_bias=None):
        w = rng.normal(0.0, std_of(fan_in, fan_out), size=shape or (fan_in, fan_out))
        return w, np.zeros(n_bias or fan_out)
    return sample


def _uniform(bound_of: Callable[[int, int], float], bias: bool = False) -> Sampler:
    def sample(rng, fan_in, fan_out, std, shape=None, n_bias=None):
        bound = bound_of(fan_in, fan_out)
        w = rng.uniform(-bound, bound, size=shape or (fan_in, fan_out))
        n_b = n_bias or fan_out
        b = rng.uniform(-bound, bound, size=n_b) if bias else np.zeros(n_b)
        return w, b
    return sample


def _fixed_normal(rng, fan_in, fan_out, std, shape=None, n_bias=None):
    return rng.normal(0.0, std, size=shape or (fan_in, fan_out)), np.zeros(n_bias or fan_out)


def _zeros(rng, fan_in, fan_out, std, shape=None, n_bias=None):
    return np.zeros(shape or (fan_in, fan_out)), np.zeros(n_bias or fan_out)


def _playground(rng, fan_in, fan_out, std, shape=None, n_bias=None):
    """TensorFlow Playground's (nn.ts): every weight U(-0.5, 0.5), every bias 0.1."""
    return (rng.uniform(-0.5, 0.5, size=shape or (fan_in, fan_out)),
            np.full(n_bias or fan_out, 0.1))


INITS: dict[str, Sampler] = {
    "he": _normal(lambda i, o: np.sqrt(2.0 / i)),
    "kaiming": _normal(lambda i, o: np.sqrt(2.0 / i)),
    "he_uniform": _uniform(lambda i, o: np.sqrt(6.0 / i)),
    "xavier": _uniform(lambda i, o: np.sqrt(6.0 / (i + o))),
    "glorot": _uniform(lambda i, o: np.sqrt(6.0 / (i + o))),
    "xavier_normal": _normal(lambda i, o: np.sqrt(2.0 / (i + o))),
    "normal": _fixed_normal,
    "uniform": _uniform(lambda i, o: 1.0 / np.sqrt(i), bias=True),
    "zeros": _zeros,
    "playground": _playground,
}


def init_linear(
    name: str, rng: np.random.Generator, fan_in: int, fan_out: int, std: float = 1e-4
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``(weight (fan_in, fan_out), bias (fan_out,))`` in float64 from ``rng``."""
    check_choice("init", name, INITS)
    return INITS[name](rng, fan_in, fan_out, std)


#: the schemes a convolution takes: every Linear scheme, "torch" and "auto"
CONV_INITS: tuple[str, ...] = (*INITS, "torch", "auto")


def init_conv(
    name: str, rng: np.random.Generator, out_channels: int, in_channels: int,
    kernel_size: tuple[int, ...], std: float = 1e-4,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``(weight (out, in, *kernel), bias (out,))`` in float64 from ``rng``.

    fan_in = ``in·prod(kernel)`` and fan_out = ``out·prod(kernel)`` (PyTorch's counts);
    ``"auto"`` is He, ``"torch"`` is PyTorch's Conv default (``uniform``'s bounds).
    """
    check_choice("init", name, CONV_INITS)
    name = {"auto": "he", "torch": "uniform"}.get(name, name)
    field = int(np.prod(kernel_size))
    shape = (out_channels, in_channels, *kernel_size)
    return INITS[name](rng, in_channels * field, out_channels * field, std,
                       shape=shape, n_bias=out_channels)
