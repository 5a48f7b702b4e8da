"""The reference index: updates one at a time (spec §1, §8) and its hash tables."""

import random

import numpy as np
import pytest

from udfs import index as index_module
from udfs.index import ReferenceIndex
from udfs.inttable import IntTable
from udfs.platecode import OcrClasses, decode, encode, encode_many

from .helpers import T0, delete, entry


def found(ix, plate, t=T0, country=None, zones=()):
    result = ix.match(plate, country, t, zones)
    return {(m.list_name, m.entry_id, m.kind, m.substitutions) for m in result.matches}


def test_spec_1_upsert_replaces_the_same_list_and_entry_id():
    """§1: an UPSERT replaces the entry with the same (list_name, entry_id)."""
    ix = ReferenceIndex()
    ix.apply(entry(plate="1ABC123"))
    ix.apply(entry(plate="2XYZ999", severity=99))
    assert found(ix, "1ABC123") == set()
    assert found(ix, "2XYZ999") == {("stolen_vehicles", "E1", "EXACT", 0)}
    assert len(ix) == 1 and ix.get("stolen_vehicles", "E1").severity == 99


def test_spec_1_delete_removes_it():
    """§1: a DELETE removes (list_name, entry_id); deleting twice or unknown is harmless."""
    ix = ReferenceIndex()
    ix.apply(entry())
    ix.apply(delete("stolen_vehicles", "E1"))
    ix.apply(delete("stolen_vehicles", "E1"))
    ix.apply(delete("nowhere", "X"))
    assert found(ix, "1ABC123") == set() and len(ix) == 0


def test_spec_1_entry_ids_are_unique_within_their_list_only():
    """§1: entry_id is unique within its list: the same id in two lists is two entries."""
    ix = ReferenceIndex()
    ix.apply(entry(list_name="stolen_vehicles"))
    ix.apply(entry(list_name="judicial_alerts"))
    ix.apply(delete("stolen_vehicles", "E1"))
    assert found(ix, "1ABC123") == {("judicial_alerts", "E1", "EXACT", 0)}


def test_spec_1_upsert_can_turn_plain_into_wildcard_and_back():
    ix = ReferenceIndex()
    ix.apply(entry(plate="1ABC123"))
    ix.apply(entry(plate="1ABC*"))
    assert found(ix, "1ABC999") == {("stolen_vehicles", "E1", "WILDCARD", 0)}
    ix.apply(entry(plate="ABCDEFGHIJKLMNOP"))
    assert found(ix, "1ABC999") == set() and len(ix) == 1
    ix.apply(entry(plate="1ABC123"))
    assert found(ix, "1ABC123") == {("stolen_vehicles", "E1", "EXACT", 0)} and len(ix) == 1


def test_reupsert_updates_in_place():
    """A re-UPSERT (or DELETE then UPSERT) reuses the slot: no growth."""
    ix = ReferenceIndex()
    for i in range(50):
        ix.apply(entry(entry_id=f"E{i}", plate=f"AB{i:03d}"))
    size, blob = len(ix._severity), len(ix._eid_blob)
    for i in range(50):
        ix.apply(entry(entry_id=f"E{i}", plate=f"ZZ{i:03d}"))
        ix.apply(delete("stolen_vehicles", f"E{i}"))
        ix.apply(entry(entry_id=f"E{i}", plate=f"AB{i:03d}"))
    assert (len(ix._severity), len(ix._eid_blob)) == (size, blob)
    assert found(ix, "AB007") == {("stolen_vehicles", "E7", "EXACT", 0)}


def test_several_entries_share_a_plate_and_chain():
    """Entries of several lists with one plate or one OCR key all answer, and survive
    deleting any one of them (head, middle, tail of the chain)."""
    ix = ReferenceIndex()
    plates = ["1ABC123", "IABC123", "1A8C123", "1ABC123"]
    for i, p in enumerate(plates):
        ix.apply(entry(list_name="judicial_alerts", entry_id=f"J{i}", plate=p))
    assert {m[1] for m in found(ix, "1ABC123")} == {"J0", "J1", "J2", "J3"}
    for victim in ("J1", "J3", "J0"):
        ix.apply(delete("judicial_alerts", victim))
    assert found(ix, "1ABC123") == {("judicial_alerts", "J2", "OCR", 1)}


def test_id_hash_collisions_are_told_apart(monkeypatch):
    """Two different ids with one 63-bit hash stay two entries (overflow map)."""
    monkeypatch.setattr(index_module, "id_hash", lambda lid, eid: 42)
    ix = ReferenceIndex()
    ix.apply(entry(entry_id="A", plate="AAAA1"))
    ix.apply(entry(entry_id="B", plate="BBBB1"))
    assert found(ix, "AAAA1") and found(ix, "BBBB1")
    ix.apply(entry(entry_id="B", plate="BBBB2"))
    assert found(ix, "BBBB2") and not found(ix, "BBBB1")
    ix.apply(delete("stolen_vehicles", "A"))
    assert not found(ix, "AAAA1") and found(ix, "BBBB2")
    ix.apply(delete("stolen_vehicles", "B"))
    assert len(ix) == 0


def test_get_rebuilds_the_entry():
    ix = ReferenceIndex()
    e = entry(list_name="lez_vehicle_status", plate="1ABC123", country="BE", severity=5,
              zone="GENT", valid_from=T0, attributes={"admitted": "false", "note": "x"})
    ix.apply(e)
    assert ix.get("lez_vehicle_status", "E1") == e
    assert ix.get("lez_vehicle_status", "nope") is None and ix.get("nolist", "E1") is None
    assert sorted(ix.keys()) == [("lez_vehicle_status", "E1")]


def test_plate_codes_are_one_to_one():
    """Codes keep leading zeros apart and invert exactly."""
    assert encode("0AB") != encode("AB")
    for p in ["0", "Z", "00", "ZZZZZZZZZZZZ", "000000000000", "1ABC123"]:
        assert decode(encode(p)) == p
    assert encode("ZZZZZZZZZZZZ") < 2**63


def test_encode_many_agrees_with_encode_and_flags_non_canonical():
    ocr = OcrClasses(("0ODQ", "1I"))
    plates = np.array([b"1ABC123", b"0", b"ZZZZZZZZZZZZ", b"1-AB", b"", b"ABCDEFGHIJKLM",
                       b"ab1"])
    codes, ok = encode_many(plates)
    assert ok.tolist() == [True, True, True, False, False, False, False]
    assert codes[:3].tolist() == [encode("1ABC123"), encode("0"), encode("ZZZZZZZZZZZZ")]
    keys, _ = encode_many(plates[:1], ocr.byte_table)
    assert keys[0] == ocr.key("1ABC123")


def test_int_table_against_a_dict():
    rng = random.Random(7)
    table, model = IntTable(), {}
    for _ in range(5000):
        key = rng.choice([rng.randrange(2**63), rng.randrange(64)])
        op = rng.random()
        if op < 0.6:
            value = rng.randrange(2**31)
            table.put(key, value)
            model[key] = value
        elif model and op < 0.9:
            victim = rng.choice(list(model))
            assert table.delete(victim)
            del model[victim]
        else:
            assert table.delete(key) == (key in model)
            model.pop(key, None)
        assert len(table) == len(model)
    for key, value in model.items():
        assert table.get(key) == value
    keys = np.array(list(model) + [12345678901], dtype=np.int64)
    assert table.get_many(keys).tolist() == [*model.values(), -1]


def test_int_table_bulk_insert_matches_scalar_puts():
    rng = np.random.default_rng(3)
    keys = np.unique(rng.integers(0, 2**62, 20000))
    values = np.arange(len(keys), dtype=np.int64)
    table = IntTable()
    table.put(int(keys[0]), 999)
    table.put_many(keys, values)
    assert len(table) == len(keys)
    assert table.get(int(keys[0])) == 0
    assert table.get_many(keys).tolist() == values.tolist()
    for key in keys[:500].tolist():
        assert table.delete(key)
    assert table.get_many(keys[500:]).tolist() == values[500:].tolist()


def test_int_table_respects_its_max_load():
    table = IntTable(max_load=0.75)
    table.put_many(np.arange(1000, dtype=np.int64), np.arange(1000, dtype=np.int64))
    assert len(table) / table.capacity <= 0.75
    for key in range(1000, 2000):
        table.put(key, key)
    assert len(table) / table.capacity <= 0.75 and table.get(1500) == 1500
    with pytest.raises(ValueError):
        IntTable(max_load=1.0)


def test_match_accepts_zones_as_any_sequence():
    ix = ReferenceIndex()
    assert [z for z, _ in ix.match("1ABC123", None, T0, ["GENT", "ANTWERPEN"]).lez] == [
        "GENT", "ANTWERPEN"]
