"""File readers by name and the per-feed column mapping."""

from __future__ import annotations

from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from connectors.reference.diff import records
from connectors.reference.formats import UnknownFormat, UnreadableFile, format_of, read_table, reader
from connectors.reference.mapping import MappingError, feed_mapping, load_mapping
from connectors.reference.quality import prepare

from .files import FORMATS, alert_rows, write


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_gives_the_same_records(tmp_path, fmt):
    mapping = feed_mapping("stolen_vehicles", {"attributes": ["case"]})
    raw = read_table(fmt, write(tmp_path, alert_rows(), fmt))
    got = records(prepare(raw, mapping), raw, mapping)
    assert sorted(got) == ["E1", "E2", "E3"]
    assert got["E1"] == {"list_name": "stolen_vehicles", "entry_id": "E1", "op": "UPSERT", "plate": "1ABC123",
                         "country": "BE", "valid_from": 1767225600000, "valid_until": 1798761600000,
                         "severity": 80, "zone": None, "attributes": {"case": "C-1"}}
    assert got["E2"]["plate"] == "AB?C12*" and got["E2"]["attributes"] == {}
    assert got["E3"]["valid_from"] == 1767225600000 and got["E3"]["severity"] == 0


def test_parquet_timestamps_and_integers_are_fields(tmp_path):
    path = tmp_path / "typed.parquet"
    pq.write_table(pa.table({"entry_id": ["T1"], "plate": ["1ABC123"], "severity": pa.array([70], pa.int32()),
                             "valid_from": pa.array([datetime(2026, 1, 1, tzinfo=timezone.utc)], pa.timestamp("ms", "UTC"))}), path)
    mapping = feed_mapping("stolen_vehicles")
    raw = read_table("parquet", path)
    got = records(prepare(raw, mapping), raw, mapping)["T1"]
    assert (got["valid_from"], got["severity"]) == (1767225600000, 70)


def test_an_unknown_format_names_the_known_ones():
    with pytest.raises(UnknownFormat, match="csv, parquet, jsonl"):
        reader("xlsx")
    assert format_of("a/b.ndjson") == "jsonl" and format_of("x.PQ") == "parquet"


def test_a_broken_jsonl_line_is_named(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"entry_id": "A"}\n{not json\n')
    with pytest.raises(UnreadableFile, match=":2: not JSON"):
        read_table("jsonl", path)


def test_a_mapping_renames_columns_and_sets_kind(tmp_path):
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds:\n  lez_vehicle_status:\n    format: parquet\n    columns: {entry_id: id, plate: reg, admitted: ok}\n"
                    "    zones: [BXL]\n    row_count_change: 0.2\n")
    mapping = load_mapping(path, "lez_vehicle_status")
    assert (mapping.kind, mapping.format, mapping.column("plate"), mapping.column("zone")) == ("lez_status", "parquet", "reg", "zone")
    assert mapping.zones == ("BXL",) and mapping.row_count_change == 0.2
    with pytest.raises(MappingError, match="no feed 'new_list' \\(its feeds: lez_vehicle_status\\)"):
        load_mapping(path, "new_list")  # a mapping given for a list must be used, not skipped
    path.write_text("feeds:\n  new_list: {}\n")
    other = load_mapping(path, "new_list")
    assert other.kind == "alert" and other.columns == {}


@pytest.mark.parametrize("text,message", [
    ("feeds:\n  x:\n    colums: {}\n", "unknown keys \\['colums'\\]"),
    ("feeds:\n  x:\n    columns: {licence: a}\n", "unknown field 'licence'"),
    ("feeds:\n  x:\n    columns: {admitted: a}\n", "only lists of kind lez_status"),
    ("feeds:\n  x:\n    kind: whitelist\n", "kind: must be one of"),
    ("feeds:\n  x:\n    format: xlsx\n", "format: must be one of"),
    ("feeds:\n  x:\n    row_count_change: -1\n", "row_count_change"),
    ("feeds:\n  x:\n    zones: BXL\n", "zones: must be a list"),
    ("lists: {}\n", "unknown keys \\['lists'\\]"),
])
def test_a_bad_mapping_is_refused_with_its_key(tmp_path, text, message):
    path = tmp_path / "feeds.yaml"
    path.write_text(text)
    with pytest.raises(MappingError, match=message):
        load_mapping(path, "x")
