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
@example("stolen_vehicles", [], [("a\0", "1ABC", "", SINCE_EVER, FOR_EVER, -1, "", "true")], False)
@example("lez_vehicle_status", [],
         [("a", "1ABC", "BE\0", SINCE_EVER, FOR_EVER, -1, "Z1\0", "false\0")], False)
def test_load_batch_equals_applying_in_order(list_name, existing, rows, as_numpy):
    """§1/§8: loading a list as columns gives the index that applying each row as an
    UPSERT, in order, gives, including refused rows, repeats and ids already held."""
    bulk, serial = ReferenceIndex(), ReferenceIndex()
    for i, (eid, plate) in enumerate(existing):
        other = "lez_vehicle_status" if i % 2 else "stolen_vehicles"
        for ix in (bulk, serial):
            ix.apply(entry(list_name=list_name, entry_id=eid, plate=plate))
            ix.apply(entry(list_name=other, entry_id=eid + "-x", plate=plate))
    cols = list(zip(*rows)) if rows else [[] for _ in range(8)]
    text = (lambda c: np.array(c, dtype="U")) if as_numpy else list
    batch = EntryBatch(list_name, text(cols[0]), text(cols[1]), countries=text(cols[2]),
                       valid_from=np.array(cols[3], np.int64),
                       valid_until=np.array(cols[4], np.int64),
                       severity=np.array(cols[5], np.int64), zones=text(cols[6]),
                       admitted=text(cols[7]) if list_name == "lez_vehicle_status" else None)
    refused = load_batch(bulk, batch)
    serial_refused = []
    for i in range(len(rows)):
        try:
            serial.apply(parse_entry(batch.record(i)))
        except InvalidEntry as err:
            serial_refused.append(err.reason)
    assert [e.reason for e in refused] == serial_refused
    assert snapshot(bulk) == snapshot(serial)
    assert probe(bulk) == probe(serial)


def test_load_batch_refuses_bad_rows_and_keeps_good_ones():
    index = ReferenceIndex()
    batch = EntryBatch("stolen_vehicles", ["a", "b", "c", "d"], ["1ABC", "", "AB?", "2XYZ"],
                       severity=np.array([-1, -1, -1, 500]))
    refused = load_batch(index, batch)
    assert [e.reason for e in refused] == [EMPTY_PLATE, BAD_WILDCARD, BAD_SEVERITY]
    assert sorted(index.keys()) == [("stolen_vehicles", "a")]


def test_admitted_column_only_for_the_status_list():
    with pytest.raises(ValueError):
        load_batch(ReferenceIndex(), EntryBatch("stolen_vehicles", ["a"], ["1ABC"],
                                                admitted=["false"]))
