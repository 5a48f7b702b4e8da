"""HitEngine.apply_records (runs of UPSERTs loaded as columns) must leave the index
exactly as applying every record in order, one by one, does, and refuse the same
records for the same reasons."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from udfs.engine import BULK_MIN_RUN, HitEngine
from udfs.reference import InvalidEntry, parse_entry

from .helpers import T0

LISTS = ["stolen_vehicles", "lez_vehicle_status", "insurance_expired"]


def record_strategy():
    upsert = st.fixed_dictionaries({
        "list_name": st.sampled_from(LISTS),
        "entry_id": st.sampled_from(["a", "b", "c", "d", "e", ""]),
        "op": st.sampled_from(["UPSERT", "UPSERT", "upsert"]),
        "plate": st.sampled_from(["1ABC", "1-abc", "IABC", "1ABC*", "", "2XYZ"]),
        "country": st.sampled_from([None, "B", "NL", ""]),
        "valid_from": st.sampled_from([None, T0, "2026-03-01T08:00:00Z", "yesterday", True]),
        "valid_until": st.sampled_from([None, T0 + 5]),
        "severity": st.sampled_from([None, 40, 101, True, -1, -(2**31)]),
        "zone": st.sampled_from([None, "BXL", ""]),
        "attributes": st.sampled_from([None, {}, {"admitted": "false"}, {"admitted": "true", "case": "C1"},
                                       {"case": "C2"}, {"case": 3}]),
    })
    delete = st.fixed_dictionaries({"list_name": st.sampled_from(LISTS),
                                    "entry_id": st.sampled_from(["a", "b", "c"]), "op": st.just("DELETE")})
    return st.lists(st.one_of(upsert, upsert, delete, st.just("not a record")), max_size=60)


def _snapshot(engine):
    # The entries themselves, not their repr: two equal attribute maps may hold their
    # keys in another order (the column load rebuilds them), and equality ignores that.
    index = engine.index
    return sorted(((k, index.get(*k)) for k in index.keys()), key=lambda item: item[0])


def _one_by_one(records):
    engine, refused = HitEngine(), []
    for i, raw in enumerate(records):
        try:
            engine.apply(parse_entry(raw))
        except InvalidEntry as error:
            refused.append((i, error.reason))
    return engine, refused


@settings(max_examples=200, deadline=None)
@given(record_strategy(), st.integers(0, 3))
def test_apply_records_equals_applying_in_order(records, repeat):
    # Long runs of one list reach the column load; short ones are applied one by one.
    records = records + [{"list_name": "lez_vehicle_status", "entry_id": f"z{i}", "plate": f"{i}LEZ",
                          "attributes": {"admitted": "false" if i % 3 else "true"}}
                         for i in range(BULK_MIN_RUN * repeat)] + records
    bulk = HitEngine()
    refused = [(i, error.reason) for i, error in bulk.apply_records(records)]
    serial, serial_refused = _one_by_one(records)
    assert refused == serial_refused
    assert _snapshot(bulk) == _snapshot(serial)


def test_a_long_run_is_loaded_and_matches_like_one_by_one():
    records = [{"list_name": "stolen_vehicles", "entry_id": f"S{i}", "plate": f"{i:04d}ABC",
                "attributes": {"case": f"C{i}"}} for i in range(200)]
    bulk = HitEngine()
    assert bulk.apply_records(records) == []
    serial, _ = _one_by_one(records)
    assert _snapshot(bulk) == _snapshot(serial)
    assert bulk.index.get("stolen_vehicles", "S7").attributes == {"case": "C7"}


def test_a_negative_severity_is_refused_in_a_long_run_as_alone():
    # The column load keeps -1 for "no severity": a record that says -1, or any negative
    # severity, must not pass as one that says none (parse_entry refuses it).
    records = [{"list_name": "stolen_vehicles", "entry_id": f"E{i}", "op": "UPSERT", "plate": f"1ABC{i:03}",
                "severity": (-1, -(2**31), 40)[i % 3]} for i in range(3 * BULK_MIN_RUN)]
    refused = HitEngine().apply_records(records)
    assert sorted(i for i, _ in refused) == [i for i in range(len(records)) if i % 3 < 2]
    assert {error.reason for _, error in refused} == {"BAD_SEVERITY"}
