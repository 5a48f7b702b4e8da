"""An open-addressing hash table from non-negative int64 keys to int values.

Why not a ``dict``: at ten million entries a dict of ints costs ~95 bytes per
entry (table plus two int objects); this table costs 16 bytes per slot at a
load of at most ``max_load``, and is filled in bulk with numpy. The load trades
memory for the length of unsuccessful probes: the plate-key table, probed by
every read (most of them misses), keeps the default 0.5; the entry-id table,
used by updates only, runs fuller.

Layout: one ``array('q')`` of (key, value) pairs, so a probe touches one cache
line (at ten million entries every random memory access is a cache and TLB
miss, and misses, not bytecodes, dominate a look-up). Linear probing; the home
slot is ``key % PRIME`` masked to the table size (one bigint operation in
Python, and well spread for plate codes, whose low bits alone are not);
backward-shift deletion, so no tombstones. Scalar operations go through the
``array`` (fast Python ints); bulk ones through numpy views of the same memory.
"""

from __future__ import annotations

from array import array

import numpy as np

EMPTY = -1
MISSING = -1
PRIME = 4_294_967_291  # the largest prime below 2**32; tables hold at most 2**31 slots
_MIN_BITS = 4


class IntTable:
    """Map from keys in [0, 2**63) to values in [0, 2**63). ``get`` returns -1 when absent.

    ``pairs[2*i]`` is the key of slot ``i`` (``EMPTY`` when free) and
    ``pairs[2*i+1]`` its value; readers may probe ``pairs`` directly, starting
    at ``2 * ((key % PRIME) & mask)`` and stepping by 2 modulo ``pair_mask + 1``.
    """

    def __init__(self, capacity_hint: int = 0, max_load: float = 0.5):
        if not 0.1 <= max_load <= 0.9:
            raise ValueError(f"max_load must be in [0.1, 0.9], got {max_load}")
        self.max_load = max_load
        self._alloc(self._bits_for(capacity_hint))
        self.size = 0

    def _bits_for(self, count: int) -> int:
        bits = _MIN_BITS
        while (1 << bits) * self.max_load < count:
            bits += 1
        return bits

    def _alloc(self, bits: int) -> None:
        self.bits = bits
        self.mask = (1 << bits) - 1
        self.pair_mask = (2 << bits) - 1
        self.pairs = array("q", [EMPTY, MISSING]) * (1 << bits)

    def __len__(self) -> int:
        return self.size

    @property
    def capacity(self) -> int:
        return len(self.pairs) // 2

    @property
    def nbytes(self) -> int:
        return self.pairs.itemsize * len(self.pairs)

    def get(self, key: int) -> int:
        pairs = self.pairs
        j = ((key % PRIME) & self.mask) << 1
        while True:
            k = pairs[j]
            if k == key:
                return pairs[j + 1]
            if k == EMPTY:
                return MISSING
            j = (j + 2) & self.pair_mask

    def put(self, key: int, value: int) -> None:
        if self.size + 1 > self.capacity * self.max_load:
            self._grow(self.bits + 1)
        pairs = self.pairs
        j = ((key % PRIME) & self.mask) << 1
        while True:
            k = pairs[j]
            if k == key:
                pairs[j + 1] = value
                return
            if k == EMPTY:
                pairs[j] = key
                pairs[j + 1] = value
                self.size += 1
                return
            j = (j + 2) & self.pair_mask

    def delete(self, key: int) -> bool:
        """Remove ``key``; True when it was present."""
        pairs, mask = self.pairs, self.mask
        i = (key % PRIME) & mask
        while True:
            k = pairs[2 * i]
            if k == EMPTY:
                return False
            if k == key:
                break
            i = (i + 1) & mask
        j = i
        while True:
            j = (j + 1) & mask
            k = pairs[2 * j]
            if k == EMPTY:
                break
            home = (k % PRIME) & mask
            # Move k back into the hole when the hole lies on its probe path.
            if ((j - home) & mask) >= ((j - i) & mask):
                pairs[2 * i] = k
                pairs[2 * i + 1] = pairs[2 * j + 1]
                i = j
        pairs[2 * i] = EMPTY
        pairs[2 * i + 1] = MISSING
        self.size -= 1
        return True

    # -- bulk operations (numpy) -------------------------------------------------

    def _views(self) -> tuple[np.ndarray, np.ndarray]:
        both = np.frombuffer(self.pairs, dtype=np.int64).reshape(-1, 2)
        return both[:, 0], both[:, 1]

    def _homes(self, keys: np.ndarray) -> np.ndarray:
        return (keys % PRIME) & self.mask

    def _grow(self, bits: int) -> None:
        tk, tv = self._views()
        live = tk != EMPTY
        old_keys, old_vals = tk[live].copy(), tv[live].copy()
        del tk, tv, live
        self._alloc(bits)
        self.size = 0
        self._insert_new(old_keys, old_vals)

    def get_many(self, keys: np.ndarray) -> np.ndarray:
        """Values of ``keys`` (int64 array), -1 where absent."""
        keys = np.asarray(keys, dtype=np.int64)
        tk, tv = self._views()
        result = np.full(len(keys), MISSING, dtype=np.int64)
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
        values = np.asarray(values, dtype=np.int64)
        present = self.get_many(keys) != MISSING
        if present.any():
            for key, value in zip(keys[present].tolist(), values[present].tolist()):
                self.put(key, value)
            keys, values = keys[~present], values[~present]
        bits = max(self.bits, self._bits_for(self.size + len(keys)))
        if bits != self.bits:
            self._grow(bits)
        self._insert_new(keys, values)

    def _insert_new(self, keys: np.ndarray, values: np.ndarray) -> None:
        tk, tv = self._views()
        mask = self.mask
        pos = self._homes(keys)
        pending = np.arange(len(keys))
        placed = np.zeros(len(keys), dtype=bool)
        while pending.size:
            p = pos[pending]
            free = tk[p] == EMPTY
            if free.any():
                cand, cand_pos = pending[free], p[free]
                slots, first = np.unique(cand_pos, return_index=True)
                winners = cand[first]
                tk[slots] = keys[winners]
                tv[slots] = values[winners]
                placed[winners] = True
                keep = ~placed[pending]
                pending, p = pending[keep], p[keep]
            # Every pending key now faces an occupied slot: step along its probe path.
            pos[pending] = (p + 1) & mask
        self.size += len(keys)
