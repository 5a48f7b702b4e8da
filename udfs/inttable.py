"""An open-addressing hash table from non-negative int64 keys to int32 values.

Why not a ``dict``: at ten million entries a dict of ints costs ~95 bytes per
entry (table plus two int objects); this table costs 12 bytes per slot at a
load of at most one half, and is filled in bulk with numpy. Linear probing,
the home slot is ``key % PRIME`` masked to the table size (one bigint operation
in Python, cheaper than multiplicative hashing and as well spread for plate
codes, whose low bits alone are not), backward-shift deletion (no tombstones). Scalar operations
use ``array.array`` (fast Python ints); bulk ones use numpy views of the same memory.
"""

from __future__ import annotations

from array import array

import numpy as np

EMPTY = -1
MISSING = -1
PRIME = 4_294_967_291  # the largest prime below 2**32; tables hold at most 2**31 slots
_MIN_BITS = 4


class IntTable:
    """Map from keys in [0, 2**63) to values in [0, 2**31). ``get`` returns -1 when absent."""

    def __init__(self, capacity_hint: int = 0):
        bits = _MIN_BITS
        while (1 << bits) < 2 * capacity_hint:
            bits += 1
        self._alloc(bits)
        self.size = 0

    def _alloc(self, bits: int) -> None:
        self.bits = bits
        self.shift = 64 - bits
        self.mask = (1 << bits) - 1
        self.keys = array("q", [EMPTY]) * (1 << bits)
        self.vals = array("i", [MISSING]) * (1 << bits)

    def __len__(self) -> int:
        return self.size

    @property
    def nbytes(self) -> int:
        return self.keys.itemsize * len(self.keys) + self.vals.itemsize * len(self.vals)

    def _home(self, key: int) -> int:
        return (key % PRIME) & self.mask

    def get(self, key: int) -> int:
        keys = self.keys
        mask = self.mask
        i = (key % PRIME) & mask
        while True:
            k = keys[i]
            if k == key:
                return self.vals[i]
            if k == EMPTY:
                return MISSING
            i = (i + 1) & mask

    def put(self, key: int, value: int) -> None:
        if 2 * (self.size + 1) > len(self.keys):
            self._grow(self.bits + 1)
        keys = self.keys
        mask = self.mask
        i = (key % PRIME) & mask
        while True:
            k = keys[i]
            if k == key:
                self.vals[i] = value
                return
            if k == EMPTY:
                keys[i] = key
                self.vals[i] = value
                self.size += 1
                return
            i = (i + 1) & mask

    def delete(self, key: int) -> bool:
        """Remove ``key``; True when it was present."""
        keys, vals, mask = self.keys, self.vals, self.mask
        i = (key % PRIME) & mask
        while True:
            k = keys[i]
            if k == EMPTY:
                return False
            if k == key:
                break
            i = (i + 1) & mask
        j = i
        while True:
            j = (j + 1) & mask
            k = keys[j]
            if k == EMPTY:
                break
            home = (k % PRIME) & mask
            # Move k back into the hole when the hole lies on its probe path.
            if ((j - home) & mask) >= ((j - i) & mask):
                keys[i] = k
                vals[i] = vals[j]
                i = j
        keys[i] = EMPTY
        vals[i] = MISSING
        self.size -= 1
        return True

    # -- bulk operations (numpy) -------------------------------------------------

    def _views(self) -> tuple[np.ndarray, np.ndarray]:
        return np.frombuffer(self.keys, dtype=np.int64), np.frombuffer(self.vals, dtype=np.int32)

    def _homes(self, keys: np.ndarray) -> np.ndarray:
        return (keys % PRIME) & self.mask

    def _grow(self, bits: int) -> None:
        tk, tv = self._views()
        live = tk != EMPTY
        old_keys, old_vals = tk[live].copy(), tv[live].copy()
        del tk, tv
        self._alloc(bits)
        self.size = 0
        self._insert_new(old_keys, old_vals)

    def get_many(self, keys: np.ndarray) -> np.ndarray:
        """Values of ``keys`` (int64 array), -1 where absent."""
        tk, tv = self._views()
        result = np.full(len(keys), MISSING, dtype=np.int32)
        pos = self._homes(keys)
        pending = np.arange(len(keys))
        mask = self.mask
        while pending.size:
            p = pos[pending]
            k = tk[p]
            hit = k == keys[pending]
            result[pending[hit]] = tv[p[hit]]
            go_on = ~hit & (k != EMPTY)
            pending = pending[go_on]
            pos[pending] = (p[go_on] + 1) & mask
        return result

    def put_many(self, keys: np.ndarray, values: np.ndarray) -> None:
        """Insert or overwrite; ``keys`` must be unique within the call."""
        keys = np.asarray(keys, dtype=np.int64)
        values = np.asarray(values, dtype=np.int32)
        present = self.get_many(keys) != MISSING
        if present.any():
            for key, value in zip(keys[present].tolist(), values[present].tolist()):
                self.put(key, value)
            keys, values = keys[~present], values[~present]
        needed = self.size + len(keys)
        bits = self.bits
        while (1 << bits) < 2 * needed:
            bits += 1
        if bits != self.bits:
            self._grow(bits)
        self._insert_new(keys, values)

    def _insert_new(self, keys: np.ndarray, values: np.ndarray) -> None:
        tk, tv = self._views()
        mask = self.mask
        pos = self._homes(keys)
        pending = np.arange(len(keys))
        while pending.size:
            p = pos[pending]
            free = tk[p] == EMPTY
            if free.any():
                cand, cand_pos = pending[free], p[free]
                slots, first = np.unique(cand_pos, return_index=True)
                winners = cand[first]
                tk[slots] = keys[winners]
                tv[slots] = values[winners]
                placed = np.zeros(len(keys), dtype=bool)
                placed[winners] = True
                keep = ~placed[pending]
                pending, p = pending[keep], p[keep]
            # Every pending key now faces an occupied slot: step along its probe path.
            pos[pending] = (p + 1) & mask
        self.size += len(keys)
