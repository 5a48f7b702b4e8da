"""The reference index: every list's entries, updated one at a time, matched per read.

Layout (see docs/matching.md for the why):

* plain entries (no wildcard, 1..12 characters) live in *slots*: parallel
  ``array.array`` columns (plate code, validity, list, severity, zone, country,
  flags, entry-id offset into one bytes blob), about 50 bytes an entry;
* ``_by_key`` maps the OCR-class key of a plate to the first slot of a chain
  (``_next``) of every slot sharing that key, of every list, LEZ lists included:
  one hash look-up per read finds every EXACT, OCR and LEZ candidate;
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
from udfs.inttable import IntTable
from udfs.inttable import PRIME
from udfs.model import (DELETE, EXACT, FOR_EVER, LEZ_NOT_ADMITTED, LEZ_UNREGISTERED, OCR,
                        SINCE_EVER, UPSERT, WILDCARD, ReferenceEntry)
from udfs.platecode import MAX_CODED_LENGTH, OFFSET, OcrClasses, decode, encode

KIND_ALERT, KIND_STATUS, KIND_PERMIT = 0, 1, 2
_KIND_CODE = {ALERT: KIND_ALERT, LEZ_STATUS: KIND_STATUS, LEZ_PERMIT: KIND_PERMIT}
LIVE, NOT_ADMITTED = 1, 2
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

    Guarantees: ``apply`` of one update leaves the index as if the update had
    been applied to a fresh index in order after all the previous ones; a read
    is matched against the index as it stands (spec §8).
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
        self._code = array("q")
        self._next = array("i")
        self._from = array("q")
        self._until = array("q")
        self._list = array("B")
        self._severity = array("b")
        self._zone = array("H")
        self._country = array("B")
        self._flags = array("B")
        self._eid_off = array("q")
        self._eid_len = array("H")
        self._eid_blob = bytearray()
        self._free: list[int] = []
        self._attributes: dict[int, Mapping[str, str]] = {}
        self._by_key = IntTable()
        self._by_id = IntTable()
        self._id_overflow: dict[tuple[int, str], int] = {}
        self._inert: dict[tuple[int, str], ReferenceEntry] = {}
        from udfs.wildcard import WildcardIndex
        self.wildcards = WildcardIndex()
        self._live = 0

    # -- registries --------------------------------------------------------------

    def list_id(self, name: str) -> int:
        lid = self._list_ids.get(name)
        if lid is None:
            if len(self._list_names) >= 255:
                raise ValueError("more than 255 reference lists")
            lid = len(self._list_names)
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
            if zid > 65_535:
                raise ValueError("more than 65535 LEZ zones")
            self._zones.append(zone)
            self._zone_ids[zone] = zid
        return zid

    def country_id(self, code: str | None) -> int:
        cid = self._country_ids.get(code)
        if cid is None:
            cid = len(self._countries)
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

    def _find_slot(self, lid: int, entry_id: str, eid: bytes) -> int:
        slot = self._by_id.get(id_hash(lid, eid))
        if slot >= 0 and self._list[slot] == lid and self._entry_id_bytes(slot) == eid:
            return slot
        return self._id_overflow.get((lid, entry_id), -1)

    def _entry_id_bytes(self, slot: int) -> bytes:
        off = self._eid_off[slot]
        return bytes(self._eid_blob[off:off + self._eid_len[slot]])

    def entry_id(self, slot: int) -> str:
        off = self._eid_off[slot]
        return self._eid_blob[off:off + self._eid_len[slot]].decode()

    def _remove(self, lid: int, entry_id: str) -> int:
        """Remove (lid, entry_id) wherever it is; returns the freed slot or -1."""
        if self.wildcards.remove(lid, entry_id):
            return -1
        if self._inert.pop((lid, entry_id), None) is not None:
            return -1
        eid = entry_id.encode()
        slot = self._find_slot(lid, entry_id, eid)
        if slot < 0:
            return -1
        if self._id_overflow.pop((lid, entry_id), None) is None:
            self._by_id.delete(id_hash(lid, eid))
        key = self.ocr.key(decode(self._code[slot]))
        head = self._by_key.get(key)
        if head == slot:
            nxt = self._next[slot]
            if nxt >= 0:
                self._by_key.put(key, nxt)
            else:
                self._by_key.delete(key)
        else:
            prev = head
            while prev >= 0 and self._next[prev] != slot:
                prev = self._next[prev]
            if prev < 0:
                raise RuntimeError(f"index corrupt: slot {slot} missing from its chain")
            self._next[prev] = self._next[slot]
        self._flags[slot] = 0
        self._attributes.pop(slot, None)
        self._free.append(slot)
        self._live -= 1
        return slot

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
        flags = LIVE
        if self._kind[lid] == KIND_STATUS:
            if not lez.is_admitted(attributes):
                flags |= NOT_ADMITTED
            attributes.pop("admitted", None)
        if attributes:
            self._attributes[slot] = attributes
        self._code[slot] = encode(plate)
        self._from[slot] = entry.valid_from
        self._until[slot] = entry.valid_until
        self._list[slot] = lid
        self._severity[slot] = -1 if entry.severity is None else entry.severity
        self._zone[slot] = self.zone_id(entry.zone)
        self._country[slot] = self.country_id(entry.country)
        self._flags[slot] = flags
        key = self.ocr.key(plate)
        self._next[slot] = self._by_key.get(key)
        self._by_key.put(key, slot)
        h = id_hash(lid, eid)
        other = self._by_id.get(h)
        if other >= 0 and self._flags[other] & LIVE:
            self._id_overflow[(lid, entry.entry_id)] = slot  # a 63-bit hash collision
        else:
            self._by_id.put(h, slot)
        self._live += 1

    def _new_slot(self) -> int:
        if self._free:
            return self._free.pop()
        self._grow(1)
        return len(self._code) - 1

    def _grow(self, count: int) -> None:
        for column, fill in ((self._code, 0), (self._next, -1), (self._from, 0),
                             (self._until, 0), (self._list, 0), (self._severity, -1),
                             (self._zone, 0), (self._country, 0), (self._flags, 0),
                             (self._eid_off, 0), (self._eid_len, 0)):
            column.extend(array(column.typecode, [fill]) * count)

    # -- reading -----------------------------------------------------------------

    def match(self, plate: str, country: str | None, t: int,
              zones: Sequence[str] = ()) -> ReadMatches:
        """Every active, country-compatible entry ``plate`` matches, and the LEZ verdicts.

        ``plate`` is canonical (1..12 characters). ``zones`` are the LEZ zones to
        decide (spec §5); the caller passes none when the camera is unknown, has
        no zone, or the read's confidence is below the floor. One match per
        entry: the best way (EXACT, then fewest substitutions, then WILDCARD).
        The hot path of the job: one hash probe, a walk of the (short) chain of
        entries sharing the read's OCR-class key, and one probe per wildcard
        anchor shape in use. Returns ``NO_MATCHES`` (shared, empty) when nothing matched.
        """
        n = len(plate)
        key = int(plate.encode().translate(self._ocr_bytes), 36) + OFFSET[n]
        table = self._by_key
        tkeys = table.keys
        mask = table.mask
        i = (key % PRIME) & mask
        k = tkeys[i]
        while k != key and k != -1:
            i = (i + 1) & mask
            k = tkeys[i]
        matches: list[Match] | None = None
        lez_slots: list[int] | None = None
        if k == key:
            slot = table.vals[i]
            code = int(plate, 36) + OFFSET[n]
            cid = self._country_ids.get(country, -1) if country is not None else 0
            frm, until, ctry, codes = self._from, self._until, self._country, self._code
            nxt, lists, kinds = self._next, self._list, self._kind
            while slot >= 0:
                if frm[slot] <= t < until[slot] and (cid == 0 or ctry[slot] == 0
                                                     or ctry[slot] == cid):
                    lid = lists[slot]
                    if kinds[lid] == KIND_ALERT:
                        if codes[slot] == code:
                            found = self._match(slot, lid, EXACT, 0)
                        elif self._max_subs[lid]:
                            subs = sum(a != b for a, b in zip(decode(codes[slot]), plate))
                            found = self._match(slot, lid, OCR, subs) \
                                if subs <= self._max_subs[lid] else None
                        else:
                            found = None
                        if found is not None:
                            if matches is None:
                                matches = [found]
                            else:
                                matches.append(found)
                    elif zones and codes[slot] == code:
                        if lez_slots is None:
                            lez_slots = [slot]
                        else:
                            lez_slots.append(slot)
                slot = nxt[slot]
        shapes = self.wildcards._shapes
        if shapes:
            for mode, offset, width, bucket in shapes:
                if n < offset + width:
                    continue
                if mode == 0:
                    hit = plate[offset:offset + width] in bucket
                elif mode == 1:
                    hit = plate[n - offset - width:n - offset] in bucket
                else:
                    hit = True
                if hit:
                    if matches is None:
                        matches = []
                    self._match_wildcards(plate, country, t, matches)
                    break
        verdicts = self._decide_lez(zones, lez_slots) if zones else _NO_VERDICTS
        if not matches and not verdicts:
            return NO_MATCHES
        return ReadMatches(matches or [], verdicts)

    def _decide_lez(self, zones: Sequence[str], slots: list[int] | None) -> list:
        if slots is None:
            # Unknown to both lists: LEZ_UNREGISTERED in every zone (spec §5 step 3).
            return [(zone, _UNREGISTERED) for zone in zones]
        if len(slots) == 1 and self._kind[self._list[slots[0]]] == KIND_STATUS:
            # The common case: one status entry and no permit.
            slot = slots[0]
            if not self._flags[slot] & NOT_ADMITTED:
                return _NO_VERDICTS  # admitted wherever it decides; elsewhere no decider
            entry_zone = self._zones[self._zone[slot]]
            found = None
            return [(zone, lez.LezVerdict(LEZ_NOT_ADMITTED, found or (found := self._status(slot))))
                    for zone in zones if entry_zone is None or entry_zone == zone]
        statuses = []
        permits = []
        for slot in slots:
            if self._kind[self._list[slot]] == KIND_STATUS:
                statuses.append(self._status(slot))
            else:
                permits.append(self._zones[self._zone[slot]])
        verdicts = []
        for zone in zones:
            verdict = lez.decide(zone, statuses, permits)
            if verdict is not None:
                verdicts.append((zone, verdict))
        return verdicts

    def _status(self, slot: int) -> lez.StatusFound:
        return lez.StatusFound(self.entry_id(slot), self._zones[self._zone[slot]],
                               not self._flags[slot] & NOT_ADMITTED, self._sev(slot))

    def _sev(self, slot: int) -> int | None:
        severity = self._severity[slot]
        return None if severity < 0 else severity

    def _match(self, slot: int, lid: int, kind: str, k: int) -> Match:
        return Match(self._list_names[lid], self.entry_id(slot), kind, k, self._sev(slot),
                     self._attributes.get(slot, _NO_ATTRIBUTES))

    def _match_wildcards(self, plate: str, country: str | None, t: int,
                         matches: list[Match]) -> None:
        for pattern in self.wildcards.match(plate):
            entry = pattern.entry
            if self._kind[pattern.list_id] != KIND_ALERT:
                continue  # spec §5: LEZ lists match exactly, never by wildcard
            if entry.valid_from <= t < entry.valid_until and (
                    country is None or entry.country is None or entry.country == country):
                # Wildcard entries are a different entry from any plain one, so
                # no entry is matched twice here.
                matches.append(Match(entry.list_name, entry.entry_id, WILDCARD, 0,
                                     entry.severity, entry.attributes))

    # -- inspection ----------------------------------------------------------------

    def get(self, list_name: str, entry_id: str) -> ReferenceEntry | None:
        """The entry held for (list_name, entry_id), rebuilt from the columns; or None."""
        lid = self._list_ids.get(list_name)
        if lid is None:
            return None
        found = self.wildcards.get(lid, entry_id) or self._inert.get((lid, entry_id))
        if found is not None:
            return found
        slot = self._find_slot(lid, entry_id, entry_id.encode())
        if slot < 0:
            return None
        attributes = dict(self._attributes.get(slot, {}))
        if self._kind[lid] == KIND_STATUS:
            attributes["admitted"] = "false" if self._flags[slot] & NOT_ADMITTED else "true"
        return ReferenceEntry(list_name=list_name, entry_id=entry_id, op=UPSERT,
                              plate=decode(self._code[slot]),
                              country=self._countries[self._country[slot]],
                              valid_from=self._from[slot], valid_until=self._until[slot],
                              severity=self._sev(slot), zone=self._zones[self._zone[slot]],
                              attributes=attributes)

    def keys(self) -> Iterator[tuple[str, str]]:
        """(list_name, entry_id) of every entry held."""
        for slot in range(len(self._code)):
            if self._flags[slot] & LIVE:
                yield self._list_names[self._list[slot]], self.entry_id(slot)
        for lid, entry in self.wildcards.entries():
            yield self._list_names[lid], entry.entry_id
        for (lid, entry_id) in self._inert:
            yield self._list_names[lid], entry_id

    @property
    def nbytes(self) -> int:
        """Bytes of the columns and tables (a cross-check; the benchmark measures RSS)."""
        columns = (self._code, self._next, self._from, self._until, self._list,
                   self._severity, self._zone, self._country, self._flags, self._eid_off,
                   self._eid_len)
        return (sum(c.itemsize * len(c) for c in columns) + len(self._eid_blob)
                + self._by_key.nbytes + self._by_id.nbytes)
