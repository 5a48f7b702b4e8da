"""The records a checked export stands for, and their difference from the published list.

``records(frame, raw, mapping)`` builds one ReferenceEntry record (the Avro
shape, times as epoch milliseconds) per row of a prepared frame that passed
its suite. ``diff(published, wanted)`` is what must be written to turn the
published list into the wanted one: an UPSERT for every entry that is new or
differs in any field, a DELETE for every published entry the export no longer
holds. The same export against the list it produced gives an empty ``Diff``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from connectors.reference.mapping import FeedMapping
from connectors.reference.quality import to_millis, to_severity, to_text
from udfs.normalise import canon_pattern, country

RECORD_FIELDS = ("list_name", "entry_id", "op", "plate", "country", "valid_from", "valid_until",
                 "severity", "zone", "attributes")


@dataclass(frozen=True)
class Diff:
    upserts: tuple[dict, ...]
    deletes: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.upserts or self.deletes)


def comparable(record: dict) -> dict:
    """``record`` reduced to the fields of the contract, as ``diff`` compares them."""
    out = {name: record.get(name) for name in RECORD_FIELDS}
    out["attributes"] = dict(out["attributes"] or {})
    return out


def records(frame: pd.DataFrame, raw: pd.DataFrame, mapping: FeedMapping) -> dict[str, dict]:
    """entry_id -> record for every row of ``frame`` (prepared from ``raw``; checked)."""
    out: dict[str, dict] = {}
    for index, row in frame.iterrows():
        attributes = {}
        for column in mapping.attributes:
            value = to_text(raw.at[index, column]) if column in raw.columns else None
            if value is not None:
                attributes[column] = value
        if row.get("admitted") is not None:
            attributes["admitted"] = row["admitted"]
        entry_id = row["entry_id"]
        out[entry_id] = {
            "list_name": mapping.list_name,
            "entry_id": entry_id,
            "op": "UPSERT",
            "plate": canon_pattern(to_text(row["plate"])),
            "country": country(to_text(row.get("country"))),
            "valid_from": to_millis(row.get("valid_from")),
            "valid_until": to_millis(row.get("valid_until")),
            "severity": to_severity(row.get("severity")),
            "zone": to_text(row.get("zone")),
            "attributes": attributes,
        }
    return out


def diff(published: dict[str, dict], wanted: dict[str, dict]) -> Diff:
    """The updates that turn ``published`` into ``wanted`` (both entry_id -> record)."""
    upserts = tuple(record for entry_id, record in sorted(wanted.items())
                    if entry_id not in published
                    or comparable(published[entry_id]) != comparable(record))
    deletes = tuple(sorted(entry_id for entry_id in published if entry_id not in wanted))
    return Diff(upserts=upserts, deletes=deletes)
