"""The reference index: every list's entries, updated one at a time, matched per read.

Layout (docs/matching.md says why):

* plain entries (no wildcard, 1..12 characters) live in *slots*: one record of
  four int64 per slot in ``_rec`` (plate code, valid_from, valid_until, and a
  packed word holding the next slot of its chain, list, country, zone and
  flags), so checking a candidate costs one cache miss, not one per field;
  severity and the entry id (offset into one bytes blob) sit apart, read on hits;
* ``_by_key`` maps the OCR-class key of a plate to the first slot of the chain
  of every slot sharing that key, of every list, LEZ lists included: one hash
  probe per read finds every EXACT, OCR and LEZ candidate;
* ``_by_id`` maps a 63-bit hash of (list, entry id) to the slot, for UPSERT and
  DELETE; a hash collision between two different ids goes to ``_id_overflow``;
* wildcard entries live in ``WildcardIndex``; entries that can never match a
  read (a plain plate longer than 12 characters) are merely kept, for deletes.

Deleted slots go to a free list and are reused by the next insert, so a DELETE
followed by an UPSERT, or a re-UPSERT, updates in place.
"""

from __future__ import annotations

from array import array
from typing import Iterator, Mapping, NamedTuple, Sequence

from udfs import lez
from udfs.config import ALERT, LEZ_PERMIT, LEZ_STATUS, MatchingSettings
from udfs.inttable import PRIME, IntTable
from udfs.model import (DELETE, EXACT, LEZ_NOT_ADMITTED, LEZ_UNREGISTERED, OCR, UPSERT,
                        WILDCARD, ReferenceEntry)
from udfs.platecode import MAX_CODED_LENGTH, OFFSET, OcrClasses, decode, encode
from udfs.wildcard import WildcardIndex

KIND_ALERT, KIND_STATUS, KIND_PERMIT = 0, 1, 2
_KIND_CODE = {ALERT: KIND_ALERT, LEZ_STATUS: KIND_STATUS, LEZ_PERMIT: KIND_PERMIT}
# The packed word of a slot: next+1 in bits 0-31, list 32-39, country 40-47,
# zone 48-60, LIVE bit 61, NOT_ADMITTED bit 62 (always below 2**63).
NEXT_MASK = (1 << 32) - 1
LIST_SHIFT, COUNTRY_SHIFT, ZONE_SHIFT = 32, 40, 48
MAX_LISTS, MAX_COUNTRIES, MAX_ZONES = 255, 255, (1 << 13) - 1
LIVE, NOT_ADMITTED = 1 << 61, 1 << 62
_M64 = (1 << 64) - 1
_M63 = (1 << 63) - 1
FNV_OFFSET, FNV_PRIME = 0xCBF29CE484222325, 0x100000001B3
_NO_ATTRIBUTES: Mapping[str, str] = {}


def id_hash(list_id: int, entry_id: bytes) -> int:
    """FNV-1a over the list id byte and the UTF-8 entry id, folded to 63 bits."""
    h = ((FNV_OFFSET ^ list_id) * FNV_PRIME) & _M64
    for byte in entry_id:
        h = ((h ^ byte) * FNV_PRIME) & _M64
    return h & _M63


class Match(NamedTuple):
    """One way a read matches one entry. ``severity`` is the entry's own (or None)."""

    list_name: str
    entry_id: str
    kind: str
    substitutions: int
    severity: int | None
    attributes: Mapping[str, str]


class ReadMatches(NamedTuple):
    """All a read matched: alert ``matches`` and, per LEZ zone, a ``lez.LezVerdict``."""

    matches: list[Match]
    lez: list[tuple[str, lez.LezVerdict]]


NO_MATCHES = ReadMatches([], [])
_NO_VERDICTS: list = []
_UNREGISTERED = lez.LezVerdict(LEZ_UNREGISTERED, None)


class ReferenceIndex:
    """Entries of every list. Not thread-safe; one instance per Flink subtask.

    Guarantees: after any sequence of ``apply`` calls the index answers as a
    fresh index to which the same updates were applied in the same order; a
    read is matched against the index as it stands (spec §8).
    """

    def __init__(self, settings: MatchingSettings | None = None):
        self.settings = settings or MatchingSettings()
        self.ocr = OcrClasses(self.settings.ocr_classes)
        self._ocr_bytes = self.ocr.bytes_table
        self._list_names: list[str] = []
        self._list_ids: dict[str, int] = {}
        self._kind: list[int] = []
        self._max_subs: list[int] = []
        self._zones: list[str | None] = [None]
        self._zone_ids: dict[str | None, int] = {None: 0}
        self._countries: list[str | None] = [None]
        self._country_ids: dict[str | None, int] = {None: 0}
        self._rec = array("q")
        self._severity = array("b")
        self._eid_off = array("q")
        self._eid_len = array("H")
        self._eid_blob = bytearray()
        self._free: list[int] = []
        self._attributes: dict[int, Mapping[str, str]] = {}
        self._by_key = IntTable()
        self._by_id = IntTable(max_load=0.75)  # updates only: fuller is fine
        self._id_overflow: dict[tuple[int, str], int] = {}
        self._inert: dict[tuple[int, str], ReferenceEntry] = {}
        self.wildcards = WildcardIndex()
        self._live = 0
        self._unregistered: dict[tuple, list] = {}

    # -- registries --------------------------------------------------------------

    def list_id(self, name: str) -> int:
        lid = self._list_ids.get(name)
        if lid is None:
            lid = len(self._list_names)
            if lid >= MAX_LISTS:
                raise ValueError(f"more than {MAX_LISTS} reference lists")
            settings = self.settings.for_list(name)
            self._list_names.append(name)
            self._list_ids[name] = lid
            self._kind.append(_KIND_CODE[settings.kind])
            self._max_subs.append(settings.max_ocr_substitutions)
        return lid

    def zone_id(self, zone: str | None) -> int:
        zid = self._zone_ids.get(zone)
        if zid is None:
            zid = len(self._zones)
            if zid > MAX_ZONES:
                raise ValueError(f"more than {MAX_ZONES} LEZ zones")
            self._zones.append(zone)
            self._zone_ids[zone] = zid
        return zid

    def country_id(self, code: str | None) -> int:
        cid = self._country_ids.get(code)
        if cid is None:
            cid = len(self._countries)
            if cid > MAX_COUNTRIES:
                raise ValueError(f"more than {MAX_COUNTRIES} countries")
            self._countries.append(code)
            self._country_ids[code] = cid
        return cid

    def __len__(self) -> int:
        """Entries held: plain, wildcard and never-matching ones."""
        return self._live + len(self.wildcards) + len(self._inert)

    # -- updates -----------------------------------------------------------------

    def apply(self, entry: ReferenceEntry) -> None:
        """Apply one update (spec §1): UPSERT replaces (list, entry id), DELETE removes it."""
        lid = self.list_id(entry.list_name)
        self._remove(lid, entry.entry_id)
        if entry.op == UPSERT:
            self._insert(lid, entry)
        elif entry.op != DELETE:
            raise ValueError(f"unknown op {entry.op!r}")

    def _meta(self, slot: int) -> int:
        return self._rec[4 * slot + 3]

    def _find_slot(self, lid: int, entry_id: str, eid: bytes) -> int:
        slot = self._by_id.get(id_hash(lid, eid))
        if slot >= 0 and (self._meta(slot) >> LIST_SHIFT) & 255 == lid \
                and self._entry_id_bytes(slot) == eid:
            return slot
        return self._id_overflow.get((lid, entry_id), -1)

    def _entry_id_bytes(self, slot: int) -> bytes:
        off = self._eid_off[slot]
        return bytes(self._eid_blob[off:off + self._eid_len[slot]])

    def entry_id(self, slot: int) -> str:
        off = self._eid_off[slot]
        return self._eid_blob[off:off + self._eid_len[slot]].decode()

    def _set_next(self, slot: int, nxt: int) -> None:
        b = 4 * slot + 3
        self._rec[b] = (self._rec[b] & ~NEXT_MASK) | (nxt + 1)

    def _next(self, slot: int) -> int:
        return (self._rec[4 * slot + 3] & NEXT_MASK) - 1

    def _remove(self, lid: int, entry_id: str) -> None:
        """Remove (lid, entry_id) wherever it is held."""
        if self.wildcards.remove(lid, entry_id) or \
                self._inert.pop((lid, entry_id), None) is not None:
            return
        eid = entry_id.encode()
        slot = self._find_slot(lid, entry_id, eid)
        if slot < 0:
            return
        if self._id_overflow.pop((lid, entry_id), None) is None:
            self._by_id.delete(id_hash(lid, eid))
        key = self.ocr.key(decode(self._rec[4 * slot]))
        head = self._by_key.get(key)
        if head == slot:
            nxt = self._next(slot)
            if nxt >= 0:
                self._by_key.put(key, nxt)
            else:
                self._by_key.delete(key)
        else:
            prev = head
            while prev >= 0 and self._next(prev) != slot:
                prev = self._next(prev)
            if prev < 0:
                raise RuntimeError(f"index corrupt: slot {slot} missing from its chain")
            self._set_next(prev, self._next(slot))
        self._rec[4 * slot + 3] = 0
        self._attributes.pop(slot, None)
        self._free.append(slot)
        self._live -= 1

    def _insert(self, lid: int, entry: ReferenceEntry) -> None:
        plate = entry.plate
        if entry.is_wildcard:
            self.wildcards.add(lid, entry)
            return
        if len(plate) > MAX_CODED_LENGTH:
            # No canonical read is longer than 12 characters: it can never match.
            self._inert[(lid, entry.entry_id)] = entry
            return
        eid = entry.entry_id.encode()
        slot = self._new_slot()
        if self._entry_id_bytes(slot) != eid:
            if len(eid) <= self._eid_len[slot]:
                # A recycled slot with room: overwrite the old id in place.
                off = self._eid_off[slot]
                self._eid_blob[off:off + len(eid)] = eid
            else:
                self._eid_off[slot] = len(self._eid_blob)
                self._eid_blob += eid
            self._eid_len[slot] = len(eid)
        attributes = dict(entry.attributes)
        meta = LIVE | (lid << LIST_SHIFT) | (self.country_id(entry.country) << COUNTRY_SHIFT) \
            | (self.zone_id(entry.zone) << ZONE_SHIFT)
        if self._kind[lid] == KIND_STATUS:
            if not lez.is_admitted(attributes):
                meta |= NOT_ADMITTED
            attributes.pop("admitted", None)
        if attributes:
            self._attributes[slot] = attributes
        key = self.ocr.key(plate)
        meta |= self._by_key.get(key) + 1  # hang the slot in front of its chain
        b = 4 * slot
        self._rec[b:b + 4] = array("q", (encode(plate), entry.valid_from, entry.valid_until,
                                         meta))
        self._severity[slot] = -1 if entry.severity is None else entry.severity
        self._by_key.put(key, slot)
        h = id_hash(lid, eid)
        other = self._by_id.get(h)
        if other >= 0 and self._meta(other) & LIVE:
            self._id_overflow[(lid, entry.entry_id)] = slot  # a 63-bit hash collision
        else:
            self._by_id.put(h, slot)
        self._live += 1

    def _new_slot(self) -> int:
        if self._free:
            return self._free.pop()
        slot = len(self._severity)
        self._rec.extend((0, 0, 0, 0))
        self._severity.append(-1)
        self._eid_off.append(0)
        self._eid_len.append(0)
        return slot

    # -- reading -----------------------------------------------------------------

    def match(self, plate: str, country: str | None, t: int,
              zones: Sequence[str] = ()) -> ReadMatches:
        """Every active, country-compatible entry ``plate`` matches, and the LEZ verdicts.

        ``plate`` is canonical (1..12 characters). ``zones`` are the LEZ zones to
        decide (spec §5); the caller passes none when the camera is unknown, has
        no zone, or the read's confidence is below the floor. One match per
        entry, the best way (EXACT, then fewest substitutions, then WILDCARD).
        The result and its lists are read-only: some are shared between reads
        (``NO_MATCHES`` when nothing matched, the LEZ_UNREGISTERED verdicts).
        The hot path: one hash probe, a walk of the short chain of slots sharing
        the read's OCR-class key, and one probe per wildcard anchor shape in use.
        """
        n = len(plate)
        key = int(plate.encode().translate(self._ocr_bytes), 36) + OFFSET[n]
        table = self._by_key
        pairs = table.pairs
        j = ((key % PRIME) & table.mask) << 1
        k = pairs[j]
        while k != key and k != -1:
            j = (j + 2) & table.pair_mask
            k = pairs[j]
        matches: list[Match] | None = None
        lez_slots: list[int] | None = None
        if k == key:
            slot = pairs[j + 1]
            code = int(plate, 36) + OFFSET[n]
            cid = self._country_ids.get(country, -1) if country is not None else 0
            rec, kinds = self._rec, self._kind
            while slot >= 0:
                b = slot << 2
                meta = rec[b + 3]
                if rec[b + 1] <= t < rec[b + 2]:
                    c = (meta >> COUNTRY_SHIFT) & 255
                    if cid == 0 or c == 0 or c == cid:
                        lid = (meta >> LIST_SHIFT) & 255
                        if kinds[lid] == KIND_ALERT:
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
                        elif zones and rec[b] == code:
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
            verdicts = _NO_VERDICTS
        elif lez_slots is not None and len(lez_slots) == 1 and not (
                meta := self._rec[(lez_slots[0] << 2) + 3]) & NOT_ADMITTED \
                and self._kind[(meta >> LIST_SHIFT) & 255] == KIND_STATUS:
            # The common case: one status entry that admits, and no permit. It
            # admits where it decides, and elsewhere decides nothing: no hit.
            verdicts = _NO_VERDICTS
        else:
            verdicts = self._decide_lez(zones, lez_slots)
        if not matches and not verdicts:
            return NO_MATCHES
        return ReadMatches(matches or [], verdicts)

    def _decide_lez(self, zones: Sequence[str], slots: list[int] | None) -> list:
        if slots is None:
            # Unknown to both lists: LEZ_UNREGISTERED in every zone (spec §5 step 3).
            # One shared list per zone tuple: results are read-only for callers.
            zones = zones if type(zones) is tuple else tuple(zones)
            verdicts = self._unregistered.get(zones)
            if verdicts is None:
                verdicts = self._unregistered[zones] = [(z, _UNREGISTERED) for z in zones]
            return verdicts
        meta = self._rec[(slots[0] << 2) + 3]
        if len(slots) == 1 and self._kind[(meta >> LIST_SHIFT) & 255] == KIND_STATUS:
            # The common case, one status entry and no permit: it decides in its
            # zone, or in every zone when it has none, and nowhere else.
            if not meta & NOT_ADMITTED:
                return _NO_VERDICTS
            entry_zone = self._zones[(meta >> ZONE_SHIFT) & MAX_ZONES]
            status = self._status(slots[0])
            return [(zone, lez.LezVerdict(LEZ_NOT_ADMITTED, status))
                    for zone in zones if entry_zone is None or entry_zone == zone]
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

    def _status(self, slot: int) -> lez.StatusFound:
        meta = self._meta(slot)
        return lez.StatusFound(self.entry_id(slot), self._zones[(meta >> ZONE_SHIFT) & MAX_ZONES],
                               not meta & NOT_ADMITTED, self._sev(slot))

    def _sev(self, slot: int) -> int | None:
        severity = self._severity[slot]
        return None if severity < 0 else severity

    def _match(self, slot: int, lid: int, kind: str, k: int) -> Match:
        return Match(self._list_names[lid], self.entry_id(slot), kind, k, self._sev(slot),
                     self._attributes.get(slot, _NO_ATTRIBUTES))

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

    # -- inspection ----------------------------------------------------------------

    def get(self, list_name: str, entry_id: str) -> ReferenceEntry | None:
        """The entry held for (list_name, entry_id), rebuilt from the slot; or None."""
        lid = self._list_ids.get(list_name)
        if lid is None:
            return None
        found = self.wildcards.get(lid, entry_id) or self._inert.get((lid, entry_id))
        if found is not None:
            return found
        slot = self._find_slot(lid, entry_id, entry_id.encode())
        if slot < 0:
            return None
        code, valid_from, valid_until, meta = self._rec[4 * slot:4 * slot + 4]
        attributes = dict(self._attributes.get(slot, {}))
        if self._kind[lid] == KIND_STATUS:
            attributes["admitted"] = "false" if meta & NOT_ADMITTED else "true"
        return ReferenceEntry(list_name=list_name, entry_id=entry_id, op=UPSERT,
                              plate=decode(code),
                              country=self._countries[(meta >> COUNTRY_SHIFT) & 255],
                              valid_from=valid_from, valid_until=valid_until,
                              severity=self._sev(slot),
                              zone=self._zones[(meta >> ZONE_SHIFT) & MAX_ZONES],
                              attributes=attributes)

    def keys(self) -> Iterator[tuple[str, str]]:
        """(list_name, entry_id) of every entry held."""
        for slot in range(len(self._severity)):
            meta = self._meta(slot)
            if meta & LIVE:
                yield self._list_names[(meta >> LIST_SHIFT) & 255], self.entry_id(slot)
        for lid, entry in self.wildcards.entries():
            yield self._list_names[lid], entry.entry_id
        for (lid, entry_id) in self._inert:
            yield self._list_names[lid], entry_id

    @property
    def nbytes(self) -> int:
        """Bytes of the slots and tables (a cross-check; the benchmark measures RSS)."""
        columns = (self._rec, self._severity, self._eid_off, self._eid_len)
        return (sum(c.itemsize * len(c) for c in columns) + len(self._eid_blob)
                + self._by_key.nbytes + self._by_id.nbytes)
