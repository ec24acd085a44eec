"""Random streams: every random draw in neuralab comes from a ``numpy.random.Generator``.

Nothing here touches NumPy's global state. A seed may be an int, a ``SeedSequence``,
a ``Generator`` (used as is) or None (fresh entropy).
"""

from __future__ import annotations

import numpy as np

SeedLike = int | np.integer | np.random.SeedSequence | np.random.Generator | None


def as_generator(seed: SeedLike) -> np.random.Generator:
    """A Generator for ``seed``; a Generator passes through unchanged."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (bool, np.bool_)) or (
        seed is not None and not isinstance(seed, (int, np.integer, np.random.SeedSequence))
    ):
        raise ValueError(
            f"seed={seed!r} is not allowed; use an int >= 0, a numpy SeedSequence, "
            "a numpy Generator or None"
        )
    if isinstance(seed, (int, np.integer)) and seed < 0:
        raise ValueError(f"seed={seed!r} is not allowed; it must be an int >= 0")
    return np.random.default_rng(seed)


def as_seed_sequence(seed: SeedLike) -> np.random.SeedSequence:
    """A SeedSequence for ``seed`` (a Generator contributes its bit generator's sequence)."""
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, np.random.Generator):
        return seed.bit_generator.seed_seq  # type: ignore[return-value]
    as_generator(seed)  # validates
    return np.random.SeedSequence(None if seed is None else int(seed))


def spawn_seeds(seed: SeedLike, n: int) -> list[np.random.SeedSequence]:
    """``n`` independent child seeds; member ``i`` of an ensemble uses child ``i``."""
    return as_seed_sequence(seed).spawn(n)


def spawn_generators(seed: SeedLike, n: int) -> list[np.random.Generator]:
    """One Generator per ensemble member, from :func:`spawn_seeds`."""
    return [np.random.default_rng(s) for s in spawn_seeds(seed, n)]
