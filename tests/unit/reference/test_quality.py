"""Every expectation of each suite refuses a real file that breaks it, and only that one."""

from __future__ import annotations

import pytest

from connectors.reference.formats import read_table
from connectors.reference.mapping import feed_mapping
from connectors.reference.quality import prepare, validate

from .files import FORMATS, alert_rows, permit_rows, status_rows, write

MAPPINGS = {
    "alert": feed_mapping("stolen_vehicles", {"attributes": ["case"]}),
    "lez_status": feed_mapping("lez_vehicle_status", {"zones": ["BXL", "ANT", "GNT"]}),
    "lez_permit": feed_mapping("lez_permits", {"zones": ["BXL", "ANT", "GNT"]}),
}
ROWS = {"alert": alert_rows, "lez_status": status_rows, "lez_permit": permit_rows}


def check(tmp_path, kind, rows, fmt, published=None):
    mapping = MAPPINGS[kind]
    path = write(tmp_path, rows, fmt)
    raw = read_table(fmt, path)
    return validate(prepare(raw, mapping), mapping, published)


def _set(rows, index, **values):
    rows[index].update(values)
    return rows


def _drop(rows, column):
    return [{k: v for k, v in row.items() if k != column} for row in rows]


@pytest.mark.parametrize("kind,fmt", [("alert", "csv"), ("alert", "parquet"), ("alert", "jsonl"),
                                      ("lez_status", "jsonl"), ("lez_permit", "csv")])
def test_a_good_file_passes_every_expectation(tmp_path, kind, fmt):
    result = check(tmp_path, kind, ROWS[kind](), fmt, published=3)
    assert result.success, [c.description for c in result.failures]
    assert len(result.checks) >= 10
    assert [p.name for p in tmp_path.iterdir()] == [f"export.{fmt}"]  # validating writes no files


# (kind, format, break the rows, expectation type, column, failing file rows)
BREAKS = [
    ("alert", "csv", lambda r: _drop(r, "entry_id"), "expect_column_to_exist", "entry_id", ()),
    ("alert", "parquet", lambda r: _drop(r, "plate"), "expect_column_to_exist", "plate", ()),
    ("alert", "jsonl", lambda r: _set(r, 1, entry_id=None), "expect_column_values_to_not_be_null", "entry_id", (2,)),
    ("alert", "csv", lambda r: _set(r, 2, plate=None), "expect_column_values_to_not_be_null", "plate", (3,)),
    ("alert", "parquet", lambda r: _set(r, 2, entry_id="E1"), "expect_column_values_to_be_unique", "entry_id", (1, 3)),
    ("alert", "jsonl", lambda r: _set(r, 1, plate="-.-"), "expect_column_values_to_be_in_set", "plate_survives", (2,)),
    ("alert", "csv", lambda r: _set(r, 0, plate="1234567890ABC"), "expect_column_values_to_be_in_set", "plate_survives", (1,)),
    ("alert", "csv", lambda r: _set(r, 1, plate="AB*C*D?"), "expect_column_values_to_be_in_set", "plate_wildcards_ok", (2,)),
    ("alert", "parquet", lambda r: _set(r, 1, plate="AB?*"), "expect_column_values_to_be_in_set", "plate_wildcards_ok", (2,)),
    ("alert", "jsonl", lambda r: _set(r, 0, valid_from="yesterday"), "expect_column_values_to_be_in_set", "valid_from_parses", (1,)),
    ("alert", "csv", lambda r: _set(r, 2, valid_until="31/12/2026"), "expect_column_values_to_be_in_set", "valid_until_parses", (3,)),
    ("alert", "parquet", lambda r: _set(r, 0, valid_from="2027-01-01T00:00:00Z"),
     "expect_column_pair_values_a_to_be_greater_than_b", "valid_until_ms", (1,)),
    ("alert", "jsonl", lambda r: _set(r, 2, severity="101"), "expect_column_values_to_be_in_set", "severity_ok", (3,)),
    ("lez_status", "csv", lambda r: _drop(r, "admitted"), "expect_column_to_exist", "admitted", ()),
    ("lez_status", "parquet", lambda r: _set(r, 1, admitted=None), "expect_column_values_to_not_be_null", "admitted", (2,)),
    ("lez_status", "jsonl", lambda r: _set(r, 0, admitted="yes"), "expect_column_values_to_be_in_set", "admitted", (1,)),
    ("lez_status", "csv", lambda r: _set(r, 2, zone="MARS"), "expect_column_values_to_be_in_set", "zone", (3,)),
    ("lez_status", "parquet", lambda r: _set(r, 0, plate="1ABC*"), "expect_column_values_to_be_in_set", "plate_wildcards_ok", (1,)),
    ("lez_permit", "jsonl", lambda r: _drop(r, "zone"), "expect_column_to_exist", "zone", ()),
    ("lez_permit", "csv", lambda r: _set(r, 1, zone=None), "expect_column_values_to_not_be_null", "zone", (2,)),
    ("lez_permit", "parquet", lambda r: _set(r, 2, zone="LIEGE"), "expect_column_values_to_be_in_set", "zone", (3,)),
    ("lez_permit", "jsonl", lambda r: _set(r, 0, valid_until="2025-12-31"),
     "expect_column_pair_values_a_to_be_greater_than_b", "valid_until_ms", (1,)),
]


@pytest.mark.parametrize("kind,fmt,breaking,expectation,column,rows", BREAKS,
                         ids=[f"{b[0]}-{b[4]}-{b[3].removeprefix('expect_')}-{b[1]}" for b in BREAKS])
def test_a_file_breaking_one_expectation_is_refused_by_it(tmp_path, kind, fmt, breaking, expectation, column, rows):
    result = check(tmp_path, kind, breaking(ROWS[kind]()), fmt)
    assert not result.success
    assert [(c.expectation, c.column) for c in result.failures] == [(expectation, column)]
    assert result.failures[0].failing_rows == rows


@pytest.mark.parametrize("rows,ok", [(1, False), (2, True), (4, True), (5, False)])
def test_the_row_count_guard_refuses_a_sudden_drop_or_jump(tmp_path, rows, ok):
    # 3 published entries, 50 % allowed: 2..4 rows pass.
    data = [{"entry_id": f"E{i}", "plate": f"1ABC{i:03d}", "case": None} for i in range(rows)]
    result = check(tmp_path, "alert", data, "csv", published=3)
    assert result.success is ok
    if not ok:
        assert [(c.expectation, c.observed) for c in result.failures] == [
            ("expect_table_row_count_to_be_between", rows)]


def test_the_row_count_threshold_is_configurable(tmp_path):
    data = [{"entry_id": f"E{i}", "plate": f"1ABC{i:03d}"} for i in range(8)]
    raw = read_table("csv", write(tmp_path, data, "csv"))
    strict = feed_mapping("stolen_vehicles", {"row_count_change": 0.1})
    loose = feed_mapping("stolen_vehicles", {"row_count_change": 0.25})
    assert not validate(prepare(raw, strict), strict, 10).success
    assert validate(prepare(raw, loose), loose, 10).success


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_column_the_mapping_names_must_be_in_the_file(tmp_path, fmt):
    # An export that lost its expiry column would otherwise publish entries valid for ever.
    mapping = feed_mapping("stolen_vehicles", {"columns": {"valid_until": "expires"}, "attributes": ["case", "officer"]})
    raw = read_table(fmt, write(tmp_path, alert_rows(), fmt))
    result = validate(prepare(raw, mapping), mapping, None)
    assert [(c.expectation, c.column) for c in result.failures] == [
        ("expect_column_to_exist", "valid_until"), ("expect_column_to_exist", "attributes.officer")]
