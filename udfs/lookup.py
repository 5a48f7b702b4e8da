"""The read path of the reference index: what one read matches (spec §4, §5).

These functions are the methods ``ReferenceIndex.match`` and its helpers, kept
apart from the update path; they read the slot layout of ``udfs.layout``.
"""

from __future__ import annotations

from typing import Sequence

from udfs import lez
from udfs.inttable import PRIME
from udfs.layout import (COUNTRY_SHIFT, HEAD_MASK, KIND_ALERT, KIND_STATUS, LIST_SHIFT,
                         MAX_ZONES, NEXT_MASK, NO_MATCHES, NO_VERDICTS,
                         NOT_ADMITTED, SOLE_ADMITTING, SOLE_COUNTRY_SHIFT,
                         SOLE_ZONE_SHIFT, ZONE_SHIFT, Match, ReadMatches)
from udfs.model import EXACT, OCR, WILDCARD
from udfs.platecode import OFFSET, decode


def match(self, plate: str, country: str | None, t: int,
          zones: Sequence[str] = ()) -> ReadMatches:
    """Every active, country-compatible entry ``plate`` matches, and the LEZ verdicts.

    ``plate`` is canonical (1..12 characters). ``zones`` are the LEZ zones to
    decide (spec §5); the caller passes none when the camera is unknown, has
    no zone, or the read's confidence is below the floor. One match per
    entry, the best way (EXACT, then fewest substitutions, then WILDCARD).
    The result and its lists are read-only: some are shared between reads
    (``NO_MATCHES`` when nothing matched, the LEZ_UNREGISTERED verdicts).
    The hot path: one probe of the (small) alert table by the read's OCR-class
    key and a walk of its short chain; when there is a zone to decide, one probe
    of the LEZ table by the exact plate (a sole admitting status entry is decided
    from the table alone); one probe per wildcard anchor shape in use.
    """
    n = len(plate)
    key = int(plate.encode().translate(self._ocr_bytes), 36) + OFFSET[n]
    code = -1
    cid = self._country_ids.get(country, -1) if country is not None else 0
    matches: list[Match] | None = None
    rec = self._rec
    # Alert entries: the chain of the read's OCR-class key (EXACT and OCR).
    # The open-addressing probe is written out here and for the LEZ table below
    # rather than called: a call costs about 40 ns a probe (148 against 107 ns in a
    # timeit of the two forms, Python 3.11 here), on a read path of about 3 µs.
    table = self._by_key
    pairs = table.pairs
    j = ((key % PRIME) & table.mask) << 1
    k = pairs[j]
    while k != key and k != -1:
        j = (j + 2) & table.pair_mask
        k = pairs[j]
    if k == key:
        code = int(plate, 36) + OFFSET[n]
        slot = pairs[j + 1] & HEAD_MASK
        while slot >= 0:
            b = slot << 2
            meta = rec[b + 3]
            if rec[b + 1] <= t < rec[b + 2]:
                c = (meta >> COUNTRY_SHIFT) & 255
                if cid == 0 or c == 0 or c == cid:
                    lid = (meta >> LIST_SHIFT) & 255
                    if rec[b] == code:
                        found = self._match(slot, lid, EXACT, 0)
                    elif self._max_subs[lid]:
                        subs = sum(x != y for x, y in zip(decode(rec[b]), plate))
                        found = self._match(slot, lid, OCR, subs) \
                            if subs <= self._max_subs[lid] else None
                    else:
                        found = None
                    if found is not None:
                        if matches is None:
                            matches = [found]
                        else:
                            matches.append(found)
            slot = (meta & NEXT_MASK) - 1
    # LEZ entries, only when there is a zone to decide: the chain of the exact plate.
    lez_slots: list[int] | None = None
    admitting_zone = -1  # zone id of a sole admitting status entry (0: no zone)
    if zones:
        if code < 0:
            code = int(plate, 36) + OFFSET[n]
        table = self._by_code
        pairs = table.pairs
        j = ((code % PRIME) & table.mask) << 1
        k = pairs[j]
        while k != code and k != -1:
            j = (j + 2) & table.pair_mask
            k = pairs[j]
        if k == code:
            chain = pairs[j + 1]
            c = (chain >> SOLE_COUNTRY_SHIFT) & 255
            if chain & SOLE_ADMITTING and (cid == 0 or c == 0 or c == cid):
                # One admitting status entry valid for ever, country compatible:
                # decided from the table alone.
                admitting_zone = (chain >> SOLE_ZONE_SHIFT) & MAX_ZONES
            else:
                slot = chain & HEAD_MASK
                while slot >= 0:
                    b = slot << 2
                    meta = rec[b + 3]
                    if rec[b + 1] <= t < rec[b + 2]:
                        c = (meta >> COUNTRY_SHIFT) & 255
                        if cid == 0 or c == 0 or c == cid:
                            if lez_slots is None:
                                lez_slots = [slot]
                            else:
                                lez_slots.append(slot)
                    slot = (meta & NEXT_MASK) - 1
    wildcards = self.wildcards
    for place, bucket in wildcards.fixed:
        filed = bucket.get(plate[place])
        if filed:
            if matches is None:
                matches = []
            self._match_wildcards(filed, plate, country, t, matches)
    for width, bucket in wildcards.floating_shapes:
        filed = wildcards.floating(bucket, plate, width)
        if filed:
            if matches is None:
                matches = []
            self._match_wildcards(filed, plate, country, t, matches)
    if not zones:
        verdicts = NO_VERDICTS
    elif admitting_zone >= 0:
        verdicts = self._admitted_only_in(zones, admitting_zone)
    elif lez_slots is not None and len(lez_slots) == 1 and not (
            meta := self._rec[(lez_slots[0] << 2) + 3]) & NOT_ADMITTED \
            and self._kind[(meta >> LIST_SHIFT) & 255] == KIND_STATUS:
        # The common case: one status entry that admits, and no permit.
        verdicts = self._admitted_only_in(zones, (meta >> ZONE_SHIFT) & MAX_ZONES)
    else:
        verdicts = self._decide_lez(zones, lez_slots)
    if not matches and not verdicts:
        return NO_MATCHES
    return ReadMatches(matches or [], verdicts)


def _decide_lez(self, zones: Sequence[str], slots: list[int] | None) -> list:
    if slots is None:
        return self._unregistered_in(zones)  # unknown to both lists (spec §5 step 3)
    statuses, permits = [], []
    for slot in slots:
        meta = self._meta(slot)
        if self._kind[(meta >> LIST_SHIFT) & 255] == KIND_STATUS:
            statuses.append(self._status(slot))
        else:
            permits.append(self._zones[(meta >> ZONE_SHIFT) & MAX_ZONES])
    verdicts = []
    for zone in zones:
        verdict = lez.decide(zone, statuses, permits)
        if verdict is not None:
            verdicts.append((zone, verdict))
    return verdicts


def _admitted_only_in(self, zones: Sequence[str], zone_id: int) -> list:
    """The verdicts for a vehicle whose one status entry admits, with no permit:
    no hit where the entry decides (its zone, or every zone for zone id 0);
    in the camera's other zones it is unknown, LEZ_UNREGISTERED (spec §5 step 3)."""
    if zone_id == 0:
        return NO_VERDICTS
    return self._unregistered_in(zones, self._zones[zone_id])


def _unregistered_in(self, zones: Sequence[str], but: str | None = None) -> list:
    """LEZ_UNREGISTERED in each of ``zones`` except ``but``. One shared list per
    (zones, but): results are read-only for callers, and cameras share few zone sets."""
    zones = zones if type(zones) is tuple else tuple(zones)
    verdicts = self._unregistered.get((zones, but))
    if verdicts is None:
        verdicts = self._unregistered[(zones, but)] = [
            (z, lez.UNREGISTERED) for z in zones if z != but] or NO_VERDICTS
    return verdicts


def _status(self, slot: int) -> lez.StatusFound:
    meta = self._meta(slot)
    return lez.StatusFound(self.entry_id(slot), self._zones[(meta >> ZONE_SHIFT) & MAX_ZONES],
                           not meta & NOT_ADMITTED, self._sev(slot))


def _sev(self, slot: int) -> int | None:
    severity = self._severity[slot]
    return None if severity < 0 else severity


def _match(self, slot: int, lid: int, kind: str, k: int) -> Match:
    return Match(self._list_names[lid], self.entry_id(slot), kind, k, self._sev(slot),
                 self._attribute_maps[self._attribute_ids[slot]])


def _match_wildcards(self, filed, plate: str, country: str | None, t: int,
                     matches: list[Match]) -> None:
    n = len(plate)
    for pattern in filed:
        if not (pattern.min_len <= n <= pattern.max_len and pattern.regex.fullmatch(plate)):
            continue
        entry = pattern.entry
        if self._kind[pattern.list_id] != KIND_ALERT:
            continue  # spec §5: LEZ lists match exactly, never by wildcard
        if entry.valid_from <= t < entry.valid_until and (
                country is None or entry.country is None or entry.country == country):
            matches.append(Match(entry.list_name, entry.entry_id, WILDCARD, 0,
                                 entry.severity, entry.attributes))

