"""Bulk loading (spec §8 start-up) must equal applying the same UPSERTs in order."""

import numpy as np
import pytest
from hypothesis import example, given, settings, strategies as st

from udfs.bulkload import EntryBatch, load_batch
from udfs.index import ReferenceIndex
from udfs.model import FOR_EVER, SINCE_EVER
from udfs.reference import BAD_SEVERITY, EMPTY_PLATE, BAD_WILDCARD, InvalidEntry, parse_entry

from .helpers import T0, entry

PLATES = ["1ABC", "IABC", "1A8C", "1-abc", "1ABC*", "AB?", "", "ABCDEFGHIJKLMN", "ÄBC1", "7ABC"]


def rows_strategy():
    return st.lists(st.tuples(
        st.sampled_from(["a", "b", "c", "d", "e", "f", "é", "", "a\0"]),
        st.sampled_from(PLATES),
        st.sampled_from(["", "BE", "NL", "B", "??", "BE\0"]),
        st.sampled_from([SINCE_EVER, T0, T0 + 5]),
        st.sampled_from([FOR_EVER, T0 + 5]),
        st.sampled_from([-1, 0, 55, 100, 101]),
        st.sampled_from(["", "Z1", "Z2", "Z1\0"]),
        st.sampled_from(["true", "false", " FALSE ", "false\0", "\u00a0false"]),
        st.sampled_from([None, {}, {"case": "C-1"}, {"case": "C-2", "covert": "true"}]),
    ), max_size=25)


def snapshot(index):
    return {k: index.get(*k) for k in index.keys()}


def probe(index, plates=("1ABC", "IABC", "1A8C", "7ABC", "1ABC9", "ABC1")):
    out = []
    for p in plates:
        for t in (T0 - 1, T0, T0 + 5):
            for zones in ((), ("Z1", "Z2")):
                r = index.match(p, "BE", t, zones)
                out.append((sorted(r.matches), sorted(r.lez, key=repr)))
    return out


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["stolen_vehicles", "judicial_alerts", "lez_vehicle_status"]),
       st.lists(st.tuples(st.sampled_from(["a", "b", "z"]), st.sampled_from(PLATES[:5])),
                max_size=4),
       rows_strategy(), st.booleans())
@example("stolen_vehicles", [], [("a\0", "1ABC", "", SINCE_EVER, FOR_EVER, -1, "", "true", None)], False)
@example("lez_vehicle_status", [],
         [("a", "1ABC", "BE\0", SINCE_EVER, FOR_EVER, -1, "Z1\0", "false\0", {"case": "C-1"})], False)
def test_load_batch_equals_applying_in_order(list_name, existing, rows, as_numpy):
    """§1/§8: loading a list as columns gives the index that applying each row as an
    UPSERT, in order, gives, including refused rows, repeats and ids already held."""
    bulk, serial = ReferenceIndex(), ReferenceIndex()
    for i, (eid, plate) in enumerate(existing):
        other = "lez_vehicle_status" if i % 2 else "stolen_vehicles"
        for ix in (bulk, serial):
            ix.apply(entry(list_name=list_name, entry_id=eid, plate=plate))
            ix.apply(entry(list_name=other, entry_id=eid + "-x", plate=plate))
    cols = list(zip(*rows)) if rows else [[] for _ in range(9)]
    text = (lambda c: np.array(c, dtype="U")) if as_numpy else list
    batch = EntryBatch(list_name, text(cols[0]), text(cols[1]), countries=text(cols[2]),
                       valid_from=np.array(cols[3], np.int64),
                       valid_until=np.array(cols[4], np.int64),
                       severity=np.array(cols[5], np.int64), zones=text(cols[6]),
                       admitted=text(cols[7]) if list_name == "lez_vehicle_status" else None,
                       attributes=list(cols[8]))
    refused = load_batch(bulk, batch)
    serial_refused = []
    for i in range(len(rows)):
        try:
            serial.apply(parse_entry(batch.record(i)))
        except InvalidEntry as err:
            serial_refused.append((i, err.reason))
    assert [(i, e.reason) for i, e in refused] == serial_refused
    assert snapshot(bulk) == snapshot(serial)
    assert probe(bulk) == probe(serial)


def test_load_batch_refuses_bad_rows_and_keeps_good_ones():
    index = ReferenceIndex()
    batch = EntryBatch("stolen_vehicles", ["a", "b", "c", "d"], ["1ABC", "", "AB?", "2XYZ"],
                       severity=np.array([-1, -1, -1, 500]))
    refused = load_batch(index, batch)
    assert [(i, e.reason) for i, e in refused] == [(1, EMPTY_PLATE), (2, BAD_WILDCARD), (3, BAD_SEVERITY)]
    assert sorted(index.keys()) == [("stolen_vehicles", "a")]


def test_admitted_column_only_for_the_status_list():
    with pytest.raises(ValueError):
        load_batch(ReferenceIndex(), EntryBatch("stolen_vehicles", ["a"], ["1ABC"],
                                                admitted=["false"]))


def _lez(index, plate, t=T0):
    return sorted((zone, v.kind, v.status.entry_id if v.status else None)
                  for zone, v in index.match(plate, "BE", t, ("Z1",)).lez)


def test_bulk_loaded_status_joining_a_held_chain_is_decided_with_it():
    """§5 smallest entry_id decides: a loaded admitting entry does not hide a held
    not-admitted one for the same plate."""
    index = ReferenceIndex()
    index.apply(entry(list_name="lez_vehicle_status", entry_id="a", plate="1ABC",
                      attributes={"admitted": "false"}))
    load_batch(index, EntryBatch("lez_vehicle_status", ["b"], ["1ABC"], admitted=["true"]))
    assert _lez(index, "1ABC") == [("Z1", "LEZ_NOT_ADMITTED", "a")]


def test_bulk_loaded_status_counts_only_within_its_validity():
    """§5 only active entries count, for bulk-loaded entries too."""
    index = ReferenceIndex()
    load_batch(index, EntryBatch("lez_vehicle_status", ["a"], ["1ABC"], admitted=["true"],
                                 valid_from=np.array([T0 + 5])))
    assert _lez(index, "1ABC", T0) == [("Z1", "LEZ_UNREGISTERED", None)]
    assert _lez(index, "1ABC", T0 + 5) == []


def test_bulk_loaded_status_of_another_country_leaves_the_vehicle_unknown():
    """§5 country compatibility, for bulk-loaded entries too."""
    index = ReferenceIndex()
    load_batch(index, EntryBatch("lez_vehicle_status", ["a"], ["1ABC"], admitted=["true"],
                                 countries=["NL"]))
    assert _lez(index, "1ABC") == [("Z1", "LEZ_UNREGISTERED", None)]


def test_bulk_loaded_status_for_another_zone_leaves_the_vehicle_unregistered():
    """§5 step 3: a loaded admitting entry for one zone decides there only; the
    vehicle is unknown to the other zones (the table-only path, as one by one)."""
    for load in ("batch", "apply"):
        index = ReferenceIndex()
        if load == "batch":
            load_batch(index, EntryBatch("lez_vehicle_status", ["a", "b"], ["1ABC", "2ABC"],
                                         admitted=["true", "true"], zones=["Z2", "Z1"]))
        else:
            for eid, plate, zone in (("a", "1ABC", "Z2"), ("b", "2ABC", "Z1")):
                index.apply(entry(list_name="lez_vehicle_status", entry_id=eid, plate=plate,
                                  zone=zone, attributes={"admitted": "true"}))
        assert _lez(index, "1ABC") == [("Z1", "LEZ_UNREGISTERED", None)], load
        assert _lez(index, "2ABC") == [], load
