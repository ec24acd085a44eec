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


# -- generator states read from files ------------------------------------------------------
# NumPy's SeedSequence does work quadratic in pool_size and linear in the entropy and
# spawn_key lengths, so a file's seed must be bounded before NumPy sees it. neuralab stores
# only what NumPy produces: pool size 4, 128-bit entropy (or a short list of user ints).
POOL_SIZE = 4  # numpy.random.bit_generator.DEFAULT_POOL_SIZE
MAX_SEED_WORDS = 64  # ints in an entropy list or a spawn key
MAX_SEED_BITS = 1024  # bits of one entropy int


def _seed_int(value: object, bits: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**bits:
        raise ValueError(f"{what} {_short(value)} is not allowed; it must be an int in "
                         f"[0, 2**{bits})")
    return value


def seed_sequence_from_json(obj: object) -> np.random.SeedSequence:
    """The SeedSequence a file describes as ``{"entropy": ..., "spawn_key": [...],
    "pool_size": 4}`` (what neuralab writes); ValueError for anything else, before NumPy
    does any work."""
    if not isinstance(obj, dict) or set(obj) != {"entropy", "spawn_key", "pool_size"}:
        raise ValueError(f"a stored SeedSequence must be {{'entropy', 'spawn_key', "
                         f"'pool_size'}}; found {_short(obj)}")
    if obj["pool_size"] != POOL_SIZE or isinstance(obj["pool_size"], bool):
        raise ValueError(f"a stored SeedSequence has pool_size {_short(obj['pool_size'])}; "
                         f"only NumPy's pool size {POOL_SIZE} is allowed")
    entropy = obj["entropy"]
    if isinstance(entropy, list):
        if not 1 <= len(entropy) <= MAX_SEED_WORDS:
            raise ValueError(f"a stored SeedSequence's entropy list has {len(entropy)} ints; "
                             f"1 to {MAX_SEED_WORDS} are allowed")
        entropy = [_seed_int(e, 64, "SeedSequence entropy") for e in entropy]
    else:
        entropy = _seed_int(entropy, MAX_SEED_BITS, "SeedSequence entropy")
    key = obj["spawn_key"]
    if not isinstance(key, list) or len(key) > MAX_SEED_WORDS:
        raise ValueError(f"a stored SeedSequence's spawn_key must be a list of at most "
                         f"{MAX_SEED_WORDS} ints; found {_short(key)}")
    spawn_key = tuple(_seed_int(k, 64, "SeedSequence spawn_key entry") for k in key)
    return np.random.SeedSequence(entropy, spawn_key=spawn_key, pool_size=POOL_SIZE)


def check_generator_state(obj: object) -> dict:
    """``obj`` if it is exactly the state of a PCG64 generator as NumPy writes it
    (``Generator.bit_generator.state``); ValueError naming what is wrong otherwise."""
    keys = {"bit_generator", "state", "has_uint32", "uinteger"}
    if not isinstance(obj, dict) or set(obj) != keys:
        raise ValueError(f"a generator state must have the keys {sorted(keys)}; found "
                         f"{_short(obj)}")
    if obj["bit_generator"] != "PCG64":
        raise ValueError(f"a generator state is for {_short(obj['bit_generator'])}; "
                         "neuralab's generators are PCG64")
    inner = obj["state"]
    if not isinstance(inner, dict) or set(inner) != {"state", "inc"}:
        raise ValueError(f"a PCG64 state must be {{'state': int, 'inc': int}}; found "
                         f"{_short(inner)}")
    _seed_int(inner["state"], 128, "PCG64 state")
    if _seed_int(inner["inc"], 128, "PCG64 increment") % 2 == 0:
        raise ValueError(f"PCG64 increment {inner['inc']} is even; NumPy's are always odd")
    if obj["has_uint32"] not in (0, 1) or isinstance(obj["has_uint32"], float):
        raise ValueError(f"has_uint32 {_short(obj['has_uint32'])} must be 0 or 1")
    _seed_int(obj["uinteger"], 32, "uinteger")
    return obj


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
