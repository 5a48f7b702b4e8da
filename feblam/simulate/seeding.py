"""Deterministic randomness for the simulator: one seed, many independent streams.

Every generator takes its own ``random.Random`` from ``stream(seed, name)``, so
adding draws to one component never shifts the numbers another one sees, and
the same ``--seed`` always gives the same bytes. No module of the simulator
touches the global ``random`` state or the clock.

Entries of the large lists are *index-addressable*: ``mix64`` and
``IndexPermutation`` derive everything about entry ``j`` from ``(seed, j)``
alone, so millions of entries are streamed without being held, and an update
of entry ``j`` later in the run regenerates exactly the same plate.
"""

from __future__ import annotations

import math
import random

_MASK = (1 << 64) - 1


def stream(seed: int, name: str) -> random.Random:
    """An independent ``random.Random`` for component ``name`` under ``seed``.

    String seeds are hashed with SHA-512 by ``random`` (not with ``hash()``),
    so the stream does not depend on ``PYTHONHASHSEED``.
    """
    return random.Random(f"feblam-simulate:{seed}:{name}")


def mix64(value: int) -> int:
    """SplitMix64 finaliser: 64 well-mixed bits from any integer, deterministically."""
    z = (value + 0x9E3779B97F4A7C15) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def key64(seed: int, name: str) -> int:
    """A 64-bit key for ``(seed, name)``, stable across processes."""
    return stream(seed, name).getrandbits(64)


class IndexPermutation:
    """A bijection of ``range(size)`` onto itself: ``j -> (a*j + c) mod size``.

    Consecutive indices land far apart, so the plates of a list built from
    ``0, 1, 2, ...`` look random while staying distinct for ``j < size``.
    """

    __slots__ = ("size", "a", "c")

    def __init__(self, size: int, key: int):
        if size < 1:
            raise ValueError("an index permutation needs a non-empty range")
        self.size = size
        a = (key | 1) % size or 1
        while math.gcd(a, size) != 1:
            a = (a + 1) % size or 1
        self.a = a
        self.c = mix64(key) % size

    def __call__(self, j: int) -> int:
        return (self.a * (j % self.size) + self.c) % self.size
