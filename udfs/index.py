"""The reference index: every list's entries, updated one at a time, matched per read.

Layout (docs/matching.md says why):

* plain entries (no wildcard, 1..12 characters) live in *slots*: one record of
  four int64 per slot in ``_rec`` (plate code, valid_from, valid_until, and a
  packed word holding the next slot of its chain, list, country, zone and
  flags), so checking a candidate costs one cache miss, not one per field;
  severity and the entry id (offset into one bytes blob) sit apart, read on hits;
* ``_by_key`` maps the OCR-class key of a plate to the chain of the alert
  entries sharing that key: one probe finds every EXACT and OCR candidate of a
  read; ``_by_code`` maps an exact plate code to the chain of its LEZ entries
  (status and permits), probed only by reads with a zone to decide, and flags
  a chain that is one admitting status entry (``udfs.layout``);
* ``_by_id`` maps a 63-bit hash of (list, entry id) to the slot, for UPSERT and
  DELETE; a hash collision between two different ids goes to ``_id_overflow``;
* wildcard entries live in ``WildcardIndex``; entries that can never match a
  read (a plain plate longer than 12 characters) are merely kept, for deletes.

Deleted slots go to a free list and are reused by the next insert, so a DELETE
followed by an UPSERT, or a re-UPSERT, updates in place.
"""

from __future__ import annotations

from array import array
from typing import Iterator, Mapping

from udfs import lez, lookup
from udfs.config import MatchingSettings
from udfs.inttable import IntTable
from udfs.layout import (COUNTRY_SHIFT, FNV_OFFSET, FNV_PRIME, HEAD_MASK,
                         SOLE_ADMITTING, SOLE_COUNTRY_SHIFT, SOLE_ZONE_SHIFT,
                         KIND_ALERT, KIND_CODE,
                         KIND_PERMIT, KIND_STATUS, LIST_SHIFT, LIVE, MAX_COUNTRIES, MAX_LISTS,
                         MAX_ZONES, NEXT_MASK, NO_ATTRIBUTES, NO_MATCHES, NOT_ADMITTED, ZONE_SHIFT, Match,
                         ReadMatches, id_hash)
from udfs.model import DELETE, FOR_EVER, SINCE_EVER, UPSERT, ReferenceEntry
from udfs.platecode import MAX_CODED_LENGTH, OcrClasses, decode, encode
from udfs.wildcard import WildcardIndex

__all__ = ["ReferenceIndex", "Match", "ReadMatches", "NO_MATCHES", "id_hash", "KIND_ALERT",
           "KIND_STATUS", "KIND_PERMIT", "LIVE", "NOT_ADMITTED", "LIST_SHIFT",
           "COUNTRY_SHIFT", "ZONE_SHIFT", "FNV_OFFSET", "FNV_PRIME", "HEAD_MASK",
           "SOLE_ADMITTING", "SOLE_COUNTRY_SHIFT", "SOLE_ZONE_SHIFT"]


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
        # Each slot's attributes as a number into `_attribute_maps`, where equal maps are
        # one shared (read-only) dict: the LEZ register's few distinct (fuel, norm)
        # pairs cost 4 bytes an entry, not a dict of ~400 bytes each (issue of national
        # scale: at 9,300,000 status entries that was 4 GB a subtask).
        self._attribute_ids = array("I")
        self._attribute_maps: list[Mapping[str, str]] = [NO_ATTRIBUTES]
        self._attribute_numbers: dict[tuple, int] = {}
        self._by_key = IntTable()    # alert chains, by OCR-class key
        self._by_code = IntTable()   # LEZ chains, by exact plate code
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
            self._kind.append(KIND_CODE[settings.kind])
            self._max_subs.append(settings.max_ocr_substitutions)
        return lid

    def zone_id(self, zone: str | None) -> int:
        return _intern(zone, self._zones, self._zone_ids, MAX_ZONES, "LEZ zones")

    def country_id(self, code: str | None) -> int:
        return _intern(code, self._countries, self._country_ids, MAX_COUNTRIES, "countries")

    def __len__(self) -> int:
        """Entries held: plain, wildcard and never-matching ones."""
        return self._live + len(self.wildcards) + len(self._inert)

    # -- updates -----------------------------------------------------------------

    def apply(self, entry: ReferenceEntry) -> None:
        """Apply one update (spec §1): UPSERT replaces (list, entry id), DELETE removes it."""
        lid = self.list_id(entry.list_name)
        eid = entry.entry_id.encode()
        h = id_hash(lid, eid)  # once per update: FNV-1a in Python is not free
        self._remove(lid, entry.entry_id, eid, h)
        if entry.op == UPSERT:
            self._insert(lid, entry, eid, h)
        elif entry.op != DELETE:
            raise ValueError(f"unknown op {entry.op!r}")

    def _meta(self, slot: int) -> int:
        return self._rec[4 * slot + 3]

    def _find_slot(self, lid: int, entry_id: str, eid: bytes, h: int | None = None) -> int:
        slot = self._by_id.get(id_hash(lid, eid) if h is None else h)
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

    def _remove(self, lid: int, entry_id: str, eid: bytes, h: int) -> None:
        """Remove (lid, entry_id) wherever it is held."""
        if self.wildcards.remove(lid, entry_id) or \
                self._inert.pop((lid, entry_id), None) is not None:
            return
        slot = self._find_slot(lid, entry_id, eid, h)
        if slot < 0:
            return
        if self._id_overflow.pop((lid, entry_id), None) is None:
            self._by_id.delete(h)
        table, key = self._chain_of(lid, decode(self._rec[4 * slot]))
        head = table.get(key) & HEAD_MASK
        if head == slot:
            head = self._next(slot)
        else:
            prev = head
            while prev >= 0 and self._next(prev) != slot:
                prev = self._next(prev)
            if prev < 0:
                raise RuntimeError(f"index corrupt: slot {slot} missing from its chain")
            self._set_next(prev, self._next(slot))
        if head < 0:
            table.delete(key)
        else:
            table.put(key, head | self._chain_flags(head))
        self._rec[4 * slot + 3] = 0
        self._attribute_ids[slot] = 0
        self._free.append(slot)
        self._live -= 1

    def _insert(self, lid: int, entry: ReferenceEntry, eid: bytes, h: int) -> None:
        plate = entry.plate
        if entry.is_wildcard:
            self.wildcards.add(lid, entry)
            return
        if len(plate) > MAX_CODED_LENGTH:
            # No canonical read is longer than 12 characters: it can never match.
            self._inert[(lid, entry.entry_id)] = entry
            return
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
        self._attribute_ids[slot] = self.attributes_number(attributes)
        table, key = self._chain_of(lid, plate)
        chain = table.get(key)
        meta |= (-1 if chain < 0 else chain & HEAD_MASK) + 1  # in front of its chain
        b = 4 * slot
        self._rec[b:b + 4] = array("q", (encode(plate), entry.valid_from, entry.valid_until,
                                         meta))
        self._severity[slot] = -1 if entry.severity is None else entry.severity
        table.put(key, slot | self._chain_flags(slot))
        other = self._by_id.get(h)
        if other >= 0 and self._meta(other) & LIVE:
            self._id_overflow[(lid, entry.entry_id)] = slot  # a 63-bit hash collision
        else:
            self._by_id.put(h, slot)
        self._live += 1

    def _chain_of(self, lid: int, plate: str) -> tuple[IntTable, int]:
        """The table and key of the chain a plain entry of list ``lid`` hangs on."""
        if self._kind[lid] == KIND_ALERT:
            return self._by_key, self.ocr.key(plate)
        return self._by_code, encode(plate)

    def _chain_flags(self, head: int) -> int:
        """``SOLE_ADMITTING``, the country and the zone when the chain from ``head``
        is one admitting status entry valid for ever (see ``udfs.layout``); else 0."""
        meta = self._meta(head)
        _, valid_from, valid_until = self._rec[4 * head:4 * head + 3]
        if (meta & NEXT_MASK) == 0 and self._kind[(meta >> LIST_SHIFT) & 255] == KIND_STATUS \
                and not meta & NOT_ADMITTED and valid_from == SINCE_EVER \
                and valid_until == FOR_EVER:
            return SOLE_ADMITTING | (((meta >> COUNTRY_SHIFT) & 255) << SOLE_COUNTRY_SHIFT) \
                | (((meta >> ZONE_SHIFT) & MAX_ZONES) << SOLE_ZONE_SHIFT)
        return 0

    def _new_slot(self) -> int:
        if self._free:
            return self._free.pop()
        slot = len(self._severity)
        self._rec.extend((0, 0, 0, 0))
        self._severity.append(-1)
        self._eid_off.append(0)
        self._eid_len.append(0)
        self._attribute_ids.append(0)
        return slot

    def attributes_number(self, attributes: Mapping[str, str]) -> int:
        """The number of `attributes` among the index's distinct attribute maps (0: none),
        adding it when it is new."""
        if not attributes:
            return 0
        key = tuple(sorted(attributes.items()))
        number = self._attribute_numbers.get(key)
        if number is None:
            number = self._attribute_numbers[key] = len(self._attribute_maps)
            self._attribute_maps.append(dict(attributes))
        return number

    # -- reading (udfs.lookup) -----------------------------------------------------

    match = lookup.match
    _decide_lez = lookup._decide_lez
    _admitted_only_in = lookup._admitted_only_in
    _unregistered_in = lookup._unregistered_in
    _status = lookup._status
    _sev = lookup._sev
    _match = lookup._match
    _match_wildcards = lookup._match_wildcards

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
        attributes = dict(self._attribute_maps[self._attribute_ids[slot]])
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
                + self._by_key.nbytes + self._by_code.nbytes + self._by_id.nbytes)


def _intern(value: str | None, values: list, ids: dict, limit: int, what: str) -> int:
    """The small id of `value` in `values` (its position) and `ids` (the reverse), given
    on first sight; ValueError past `limit`, the largest id a slot's bits hold."""
    found = ids.get(value)
    if found is None:
        found = len(values)
        if found > limit:
            raise ValueError(f"more than {limit} {what}")
        values.append(value)
        ids[value] = found
    return found
