"""The index of wildcard entries (spec §4 WILDCARD), apart from the plain entries.

A valid pattern holds at most two wildcards and at least four other characters,
so it always holds a run of two or more adjacent literal characters (four
literals in at most three runs). Each pattern is filed under one *anchor*: a
literal run of up to four characters (longer is more selective: a three-digit
anchor would send a third of all reads to verification), preferably at a fixed
distance from the start of the plate (no ``*`` before it), else from the end,
else floating. A
read looks up, for each anchor shape in use, the one substring of the read at
that place (every substring for floating anchors), and verifies only the
patterns found there. No read scans all wildcard entries.
"""

from __future__ import annotations

import re
from typing import Iterator

from udfs.model import ReferenceEntry

FROM_START, FROM_END, FLOATING = 0, 1, 2
MAX_ANCHOR = 4


class WildcardPattern:
    """One wildcard entry, compiled. ``list_id`` is the index's id of its list."""

    __slots__ = ("list_id", "entry", "regex", "min_len", "max_len", "anchor", "text")

    def __init__(self, list_id: int, entry: ReferenceEntry):
        plate = entry.plate
        self.list_id = list_id
        self.entry = entry
        self.regex = re.compile("".join(
            "." if c == "?" else ".*" if c == "*" else c for c in plate))
        literals_and_q = len(plate) - plate.count("*")
        self.min_len = literals_and_q
        self.max_len = literals_and_q if "*" not in plate else 1 << 30
        self.anchor, self.text = _choose_anchor(plate)


def _runs(plate: str) -> list[tuple[int, str]]:
    return [(m.start(), m.group()) for m in re.finditer(r"[A-Z0-9]+", plate)]


def _choose_anchor(plate: str) -> tuple[tuple[int, int, int], str]:
    star = plate.find("*")
    last_star = plate.rfind("*")
    best: tuple | None = None
    for start, run in _runs(plate):
        width = min(len(run), MAX_ANCHOR)
        if star < 0 or start < star:
            # Only '?' before it: a fixed distance from the start of the plate.
            choice = (width, -FROM_START, (FROM_START, start, width), run[:width])
        elif start > last_star:
            end = start + len(run)
            from_end = len(plate) - end
            choice = (width, -FROM_END, (FROM_END, from_end, width), run[-width:])
        else:
            choice = (width, -FLOATING, (FLOATING, 0, width), run[:width])
        if best is None or choice[:2] > best[:2]:
            best = choice
    assert best is not None and best[0] >= 2, plate  # guaranteed by the §4 limits
    return best[2], best[3]


class WildcardIndex:
    """Wildcard entries by (list id, entry id), filed under their anchors."""

    def __init__(self) -> None:
        self._by_id: dict[tuple[int, str], WildcardPattern] = {}
        self._buckets: dict[tuple[int, int, int], dict[str, list[WildcardPattern]]] = {}
        self._shapes: tuple = ()
        self.fixed: tuple = ()
        self.floating_shapes: tuple = ()

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, list_id: int, entry_id: str) -> ReferenceEntry | None:
        pattern = self._by_id.get((list_id, entry_id))
        return pattern.entry if pattern else None

    def entries(self) -> Iterator[tuple[int, ReferenceEntry]]:
        for pattern in self._by_id.values():
            yield pattern.list_id, pattern.entry

    def add(self, list_id: int, entry: ReferenceEntry) -> None:
        self.remove(list_id, entry.entry_id)
        pattern = WildcardPattern(list_id, entry)
        self._by_id[(list_id, entry.entry_id)] = pattern
        bucket = self._buckets.setdefault(pattern.anchor, {})
        bucket.setdefault(pattern.text, []).append(pattern)
        self._refresh()

    def remove(self, list_id: int, entry_id: str) -> bool:
        pattern = self._by_id.pop((list_id, entry_id), None)
        if pattern is None:
            return False
        bucket = self._buckets[pattern.anchor]
        filed = bucket[pattern.text]
        filed.remove(pattern)
        if not filed:
            del bucket[pattern.text]
            if not bucket:
                del self._buckets[pattern.anchor]
        self._refresh()
        return True

    def _refresh(self) -> None:
        self._shapes = tuple((mode, offset, width, bucket)
                             for (mode, offset, width), bucket in self._buckets.items())
        # For the read path: a slice per fixed anchor place. On a read too short
        # for the place the slice is shorter than the anchor, so it finds nothing.
        self.fixed = tuple(
            (slice(offset, offset + width) if mode == FROM_START
             else slice(-(offset + width), -offset or None), bucket)
            for (mode, offset, width), bucket in self._buckets.items() if mode != FLOATING)
        self.floating_shapes = tuple((width, bucket)
                                     for (mode, _, width), bucket in self._buckets.items()
                                     if mode == FLOATING)

    @staticmethod
    def floating(bucket: dict[str, list[WildcardPattern]], plate: str,
                 width: int) -> list[WildcardPattern]:
        """Patterns of a floating-anchor bucket whose anchor occurs anywhere in ``plate``."""
        found: list[WildcardPattern] = []
        for i in range(len(plate) - width + 1):
            for pattern in bucket.get(plate[i:i + width], ()):
                if pattern not in found:
                    found.append(pattern)
        return found

    def candidates(self, plate: str) -> list[WildcardPattern]:
        """The patterns whose anchor the read holds at the anchor's place (unverified).

        Each pattern is filed under exactly one anchor, so no pattern comes twice.
        """
        n = len(plate)
        found: list[WildcardPattern] = []
        for mode, offset, width, bucket in self._shapes:
            if n < offset + width:
                continue
            if mode == FROM_START:
                found.extend(bucket.get(plate[offset:offset + width], ()))
            elif mode == FROM_END:
                found.extend(bucket.get(plate[n - offset - width:n - offset], ()))
            else:
                found.extend(self.floating(bucket, plate, width))
        return found

    def match(self, plate: str) -> list[WildcardPattern]:
        """The patterns that ``plate`` matches (spec §4 WILDCARD), of any list."""
        n = len(plate)
        return [p for p in self.candidates(plate)
                if p.min_len <= n <= p.max_len and p.regex.fullmatch(plate)]
