"""The reference lists a sequence of updates leaves, as columns: what a start-up
snapshot holds (connectors.reference.snapshot, spec §8).

Applied one by one to a ``ReferenceIndex``, updates leave for each (list, entry
id) the last accepted UPSERT, unless an accepted DELETE came after it; a refused
update changes nothing (spec §1). ``ListState`` folds updates the same way with
no index, keeping only the parsed entries, so that the lists can be stored as
columns and later loaded into an index at once (``HitEngine.load_columns``,
through ``udfs.bulkload``) instead of record by record.

Contract: for any sequence of update records, ``load_columns`` of every batch of
``ListState.batches()`` into a fresh engine leaves it matching every read as
applying the same records in order with ``HitEngine.apply_records`` does. The
refusals are the same too: ``apply`` raises the ``InvalidEntry`` that
``apply_records`` reports.

Pure: no Flink, no Kafka, no files.
"""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from udfs.bulkload import EntryBatch
from udfs.model import DELETE, ReferenceEntry
from udfs.reference import parse_entry

# The attribute the LEZ status list reads as admission (spec §5). A batch keeps it in
# a column of its own, whatever the list's kind: the kind is the job's configuration,
# not the snapshot's, and `HitEngine.load_columns` decides with the configuration of
# the engine it loads into.
ADMITTED = "admitted"


class ListState:
    """The entries in force of every list, after the updates given to `apply`."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], ReferenceEntry] = {}

    def apply(self, raw: Any) -> ReferenceEntry:
        """Apply one update record (as ``parse_entry`` takes it); raises ``InvalidEntry``
        when it is refused, and the state is then unchanged."""
        entry = parse_entry(raw)
        key = (entry.list_name, entry.entry_id)
        if entry.op == DELETE:
            self._entries.pop(key, None)
        else:
            self._entries[key] = entry
        return entry

    def __len__(self) -> int:
        return len(self._entries)

    def batches(self) -> Iterator[EntryBatch]:
        """One batch per list, its rows in no particular order (the index's answers do
        not depend on it: ``HitEngine.evaluate`` sorts its hits)."""
        by_list: dict[str, list[ReferenceEntry]] = {}
        for (name, _), entry in self._entries.items():
            by_list.setdefault(name, []).append(entry)
        for name in sorted(by_list):
            yield entry_columns(name, by_list[name])


def entry_columns(list_name: str, entries: list[ReferenceEntry]) -> EntryBatch:
    """Parsed UPSERTs of one list as the columns of an ``EntryBatch``; the
    ``admitted`` attribute in a column of its own (None where absent)."""
    admitted: list[str | None] = []
    attributes: list[dict | None] = []
    for entry in entries:
        rest = dict(entry.attributes)
        admitted.append(rest.pop(ADMITTED, None))
        attributes.append(rest or None)
    return EntryBatch(
        list_name,
        [e.entry_id for e in entries],
        [e.plate for e in entries],
        countries=[e.country for e in entries],
        valid_from=np.fromiter((e.valid_from for e in entries), np.int64, len(entries)),
        valid_until=np.fromiter((e.valid_until for e in entries), np.int64, len(entries)),
        severity=np.fromiter((-1 if e.severity is None else e.severity for e in entries), np.int64, len(entries)),
        zones=[e.zone for e in entries],
        admitted=admitted if any(a is not None for a in admitted) else None,
        attributes=attributes if any(attributes) else None,
    )


def admitted_as_attribute(batch: EntryBatch) -> EntryBatch:
    """``batch`` with its ``admitted`` column back among each row's attributes: how a
    list that is not the LEZ status list holds it (``HitEngine`` does the same for
    records)."""
    if batch.admitted is None:
        return batch
    attributes = list(batch.attributes) if batch.attributes is not None else [None] * len(batch)
    for row, value in enumerate(batch.admitted):
        if isinstance(value, bytes):
            value = value.decode("utf-8")
        if value not in (None, ""):
            attributes[row] = {**(attributes[row] or {}), ADMITTED: value}
    return EntryBatch(batch.list_name, batch.entry_ids, batch.plates, countries=batch.countries,
                      valid_from=batch.valid_from, valid_until=batch.valid_until, severity=batch.severity,
                      zones=batch.zones, admitted=None, attributes=attributes)
