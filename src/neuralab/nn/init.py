"""Weight initialisation schemes for ``Linear`` (weights ``(in, out)``, fan_in = ``in``).

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
=========== ============================================= =====================
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from neuralab._checks import check_choice

Sampler = Callable[[np.random.Generator, int, int, float], tuple[np.ndarray, np.ndarray]]


def _normal(std_of: Callable[[int, int], float]) -> Sampler:
    def sample(rng, fan_in, fan_out, std):
        w = rng.normal(0.0, std_of(fan_in, fan_out), size=(fan_in, fan_out))
        return w, np.zeros(fan_out)
    return sample


def _uniform(bound_of: Callable[[int, int], float], bias: bool = False) -> Sampler:
    def sample(rng, fan_in, fan_out, std):
        bound = bound_of(fan_in, fan_out)
        w = rng.uniform(-bound, bound, size=(fan_in, fan_out))
        b = rng.uniform(-bound, bound, size=fan_out) if bias else np.zeros(fan_out)
        return w, b
    return sample


def _fixed_normal(rng, fan_in, fan_out, std):
    return rng.normal(0.0, std, size=(fan_in, fan_out)), np.zeros(fan_out)


def _zeros(rng, fan_in, fan_out, std):
    return np.zeros((fan_in, fan_out)), np.zeros(fan_out)


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
}


def init_linear(
    name: str, rng: np.random.Generator, fan_in: int, fan_out: int, std: float = 1e-4
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``(weight (fan_in, fan_out), bias (fan_out,))`` in float64 from ``rng``."""
    check_choice("init", name, INITS)
    return INITS[name](rng, fan_in, fan_out, std)
