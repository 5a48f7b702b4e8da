"""The difference between the published list and an export."""

from __future__ import annotations

from connectors.reference.diff import diff


def entry(entry_id, plate="1ABC123", **fields):
    return {"list_name": "l", "entry_id": entry_id, "op": "UPSERT", "plate": plate, "country": None,
            "valid_from": None, "valid_until": None, "severity": None, "zone": None, "attributes": {}, **fields}


def test_the_same_list_gives_no_update():
    listed = {"A": entry("A"), "B": entry("B", attributes={"case": "1"})}
    assert not diff(listed, {k: dict(v) for k, v in listed.items()})


def test_new_changed_and_gone_entries():
    published = {"A": entry("A"), "B": entry("B"), "C": entry("C")}
    wanted = {"A": entry("A"), "B": entry("B", severity=90), "D": entry("D")}
    changes = diff(published, wanted)
    assert [r["entry_id"] for r in changes.upserts] == ["B", "D"]
    assert changes.deletes == ("C",)


def test_every_field_counts_as_a_change():
    for field, value in [("plate", "9XYZ999"), ("country", "BE"), ("valid_from", 1), ("valid_until", 2),
                         ("zone", "BXL"), ("attributes", {"admitted": "false"})]:
        assert diff({"A": entry("A")}, {"A": entry("A", **{field: value})}).upserts, field


def test_applying_the_diff_then_diffing_again_is_empty():
    published = {"A": entry("A"), "C": entry("C")}
    wanted = {"A": entry("A", severity=1), "B": entry("B")}
    changes = diff(published, wanted)
    applied = dict(published)
    for record in changes.upserts:
        applied[record["entry_id"]] = record
    for entry_id in changes.deletes:
        applied.pop(entry_id)
    assert applied == wanted and not diff(applied, wanted)
