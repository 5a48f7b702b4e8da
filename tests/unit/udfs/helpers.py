"""Builders shared by the udfs tests, and a deliberately naive matcher.

``NaiveMatcher`` re-reads the spec literally: it keeps entries in a dict and
scans every one of them for every read. The index must agree with it.
"""

from __future__ import annotations

from udfs.config import LEZ_PERMIT, LEZ_STATUS, MatchingSettings
from udfs.instant import parse_instant
from udfs.model import DELETE, PlateRead, ReferenceEntry
from udfs.normalise import canon, country
from udfs.reference import parse_entry

T0 = parse_instant("2026-03-01T08:15:00.000Z")
MIN = 60_000


def read(plate: str = "1ABC123", *, read_id: str = "r1", camera_id: str = "C1",
         t: int = T0, country_code: str | None = "BE", confidence: float = 0.9) -> PlateRead:
    return PlateRead(read_id=read_id, camera_id=camera_id, event_time=t, plate_text=plate,
                     plate=canon(plate), country=country(country_code),
                     ocr_confidence=confidence)


def entry(list_name: str = "stolen_vehicles", entry_id: str = "E1", plate: str = "1ABC123",
          **fields) -> ReferenceEntry:
    record = {"list_name": list_name, "entry_id": entry_id, "plate": plate, **fields}
    return parse_entry(record)


def delete(list_name: str, entry_id: str) -> ReferenceEntry:
    return ReferenceEntry(list_name=list_name, entry_id=entry_id, op=DELETE)


def _wild_match(pattern: str, text: str) -> bool:
    # Textbook recursive matcher: '?' one character, '*' zero or more.
    if not pattern:
        return not text
    head = pattern[0]
    if head == "*":
        return any(_wild_match(pattern[1:], text[i:]) for i in range(len(text) + 1))
    if not text:
        return False
    if head == "?" or head == text[0]:
        return _wild_match(pattern[1:], text[1:])
    return False


class NaiveMatcher:
    """Spec §4 and §5 by brute force. ``match`` returns a set of
    ``(list_name, entry_id, kind, substitutions, zone)``."""

    def __init__(self, settings: MatchingSettings | None = None):
        self.settings = settings or MatchingSettings()
        self.entries: dict[tuple[str, str], ReferenceEntry] = {}
        self.cls = {}
        for i, c in enumerate(self.settings.ocr_classes):
            for ch in c:
                self.cls[ch] = i

    def apply(self, e: ReferenceEntry) -> None:
        self.entries.pop((e.list_name, e.entry_id), None)
        if e.op != DELETE:
            self.entries[(e.list_name, e.entry_id)] = e

    def _ok(self, e: ReferenceEntry, r: PlateRead) -> bool:
        return e.valid_from <= r.event_time < e.valid_until and (
            e.country is None or r.country is None or e.country == r.country)

    def match(self, r: PlateRead, zones=()) -> set:
        out = set()
        p = r.plate
        status_kind = {n for n, s in self.settings.lists.items() if s.kind == LEZ_STATUS}
        permit_kind = {n for n, s in self.settings.lists.items() if s.kind == LEZ_PERMIT}
        for (name, eid), e in self.entries.items():
            if name in status_kind or name in permit_kind or not self._ok(e, r):
                continue
            if "?" in e.plate or "*" in e.plate:
                if _wild_match(e.plate, p):
                    out.add((name, eid, "WILDCARD", 0, None))
                continue
            if e.plate == p:
                out.add((name, eid, "EXACT", 0, None))
                continue
            if len(e.plate) != len(p):
                continue
            diffs = [(a, b) for a, b in zip(e.plate, p) if a != b]
            if all(a in self.cls and self.cls.get(a) == self.cls.get(b) for a, b in diffs) \
                    and 1 <= len(diffs) <= self.settings.for_list(name).max_ocr_substitutions:
                out.add((name, eid, "OCR", len(diffs), None))
        if r.ocr_confidence < self.settings.lez_confidence_floor:
            return out
        for z in zones:
            permits = [e for (n, _), e in self.entries.items() if n in permit_kind
                       and e.plate == p and self._ok(e, r) and e.zone in (z, None)]
            if permits:
                continue
            statuses = [e for (n, _), e in self.entries.items() if n in status_kind
                        and e.plate == p and self._ok(e, r)]
            zoned = sorted((e for e in statuses if e.zone == z), key=lambda e: e.entry_id)
            zoneless = sorted((e for e in statuses if e.zone is None), key=lambda e: e.entry_id)
            deciding = (zoned or zoneless or [None])[0]
            if deciding is None:  # unknown to zone z, whatever other zones know
                out.add(("lez_vehicle_status", None, "LEZ_UNREGISTERED", 0, z))
            elif deciding.attributes.get("admitted", "").lower() == "false":
                out.add(("lez_vehicle_status", deciding.entry_id, "LEZ_NOT_ADMITTED", 0, z))
        return out


def as_set(hits) -> set:
    return {(h.list_name, h.entry_id, h.match_kind, h.substitutions, h.zone) for h in hits}
