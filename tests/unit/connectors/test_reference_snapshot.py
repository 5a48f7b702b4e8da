"""Start-up snapshots (connectors.reference.snapshot): written from a feed's
records, read back as columns, they load an engine into the state a load of the
same records gives, with the same refusals; old and incomplete ones are handled."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest

from connectors.codecs import FileCodec
from connectors.reference.snapshot import (MANIFEST, SnapshotError, latest_snapshot, read_manifest,
                                           remove_old, take_snapshot)
from connectors.reference.snapshot_columns import _fixed_width
from udfs.engine import HitEngine
from udfs.reference import MALFORMED, InvalidEntry
from udfs.startup import StartupPositions

from ..udfs.test_apply_records import _snapshot

TOPIC = "ref.stolen_vehicles"


def _records(lines: list[dict | str], topic: str = TOPIC):
    return [(topic, 0, offset, None, (line if isinstance(line, str) else json.dumps(line)).encode())
            for offset, line in enumerate(lines)]


def _take(root, records, keep=3):
    ends = StartupPositions({(t, p): o + 1 for t, p, o, _, _ in records}, {})
    replay = lambda upto: [r for r in records if r[2] <= upto[(r[0], r[1])]]  # noqa: E731
    return take_snapshot(root, ends, replay, FileCodec(TOPIC, "cameras").update, keep=keep)


LINES = [
    {"list_name": "stolen_vehicles", "entry_id": "S1", "plate": "1-abc-123", "severity": 80,
     "attributes": {"case": "C1", "note": "é"}},
    {"list_name": "stolen_vehicles", "entry_id": "S2", "plate": "2XYZ99", "valid_from": "2026-03-01T00:00:00Z"},
    "not json",
    {"list_name": "stolen_vehicles", "entry_id": "S2", "op": "DELETE"},
    {"list_name": "lez_vehicle_status", "entry_id": "V1", "plate": "1LEZ001", "zone": "BXL",
     "attributes": {"admitted": "false"}},
    {"list_name": "lez_vehicle_status", "entry_id": "V2", "plate": "1LEZ002", "attributes": {"admitted": "true"}},
    {"list_name": "stolen_vehicles", "entry_id": "S3", "plate": "", "severity": 10},
]


def test_a_snapshot_loads_the_state_of_its_records(tmp_path):
    records = _records(LINES)
    snapshot = _take(tmp_path, records)
    assert snapshot.positions == {(TOPIC, 0): len(LINES) - 1}
    assert snapshot.entries == 3
    loaded = HitEngine()
    for batch in latest_snapshot(tmp_path).batches():
        assert loaded.load_columns(batch) == []
    serial = HitEngine()
    codec = FileCodec(TOPIC, "cameras")
    decoded, refused = [], []
    for record in records:
        try:
            decoded.append(codec.update(record[0], record[3], record[4]))
        except InvalidEntry as error:
            refused.append((record[2], error.reason))
    refused += [(decoded_offset(records, decoded, i), e.reason) for i, e in serial.apply_records(decoded)]
    assert _snapshot(loaded) == _snapshot(serial)
    assert sorted((r[2], e.reason) for r, e in latest_snapshot(tmp_path).refused_records()) == sorted(refused)


def decoded_offset(records, decoded, i):
    # Offsets of the records that decoded, in order (the one that did not is skipped).
    offsets = [r[2] for r in records if r[4] != b"not json"]
    return offsets[i]


def test_refusals_keep_their_bytes_and_reason(tmp_path):
    _take(tmp_path, _records(LINES))
    [(record, error)] = [item for item in latest_snapshot(tmp_path).refused_records() if item[0][2] == 2]
    assert record == (TOPIC, 0, 2, None, b"not json")
    assert error.reason == MALFORMED and "not JSON" in error.detail


def test_a_snapshot_is_unusable_when_its_topic_is_gone_or_shorter(tmp_path):
    snapshot = _take(tmp_path, _records(LINES))
    assert snapshot.unusable_for(StartupPositions({(TOPIC, 0): len(LINES) + 5})) is None
    assert "no longer there" in snapshot.unusable_for(StartupPositions({("ref.other", 0): 3}))
    assert "before the snapshot" in snapshot.unusable_for(StartupPositions({(TOPIC, 0): 2}))


def test_the_newest_complete_snapshot_is_read_and_old_ones_removed(tmp_path):
    names = [_take(tmp_path, _records(LINES[:k]), keep=10).name for k in (1, 2, 4, 5)]
    assert latest_snapshot(tmp_path).name == names[-1]
    (tmp_path / names[-1] / MANIFEST).unlink()   # a snapshot being written
    assert latest_snapshot(tmp_path).name == names[-2]
    assert remove_old(tmp_path, 2) == names[:1]
    assert sorted(p.name for p in tmp_path.iterdir()) == names[1:]


def test_no_snapshot_and_a_bad_format(tmp_path):
    assert latest_snapshot(tmp_path / "none") is None
    name = _take(tmp_path, _records(LINES)).name
    manifest = tmp_path / name / MANIFEST
    manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "format": 99}))
    with pytest.raises(SnapshotError, match="format 99"):
        read_manifest(tmp_path, name)


@pytest.mark.parametrize("values", [
    ["1ABC", "", "é", "", "LONGER-VALUE-12"],
    ["", ""],
    [],
])
def test_fixed_width_text_is_the_utf8_bytes(values):
    sliced = pa.array(["x", *values], pa.string()).slice(1)   # an offset into the buffers too
    for array in (pa.array(values, pa.string()), sliced):
        out = _fixed_width(array)
        assert isinstance(out, np.ndarray) and out.dtype.kind == "S"
        assert out.tolist() == [v.encode() for v in values]


def test_fixed_width_gives_text_with_a_nul_as_python_strings():
    assert _fixed_width(pa.array(["a\0", "b"])) == ["a\0", "b"]
    assert _fixed_width(pa.array(["a\0", "b", "a\0"]).dictionary_encode()) == ["a\0", "b", "a\0"]


def test_fixed_width_decodes_a_dictionary():
    out = _fixed_width(pa.array(["BE", "", "NL", "BE"]).dictionary_encode().slice(1))
    assert out.tolist() == [b"", b"NL", b"BE"]


def test_rows_with_equal_attributes_share_one_mapping(tmp_path):
    lines = [{"list_name": "lez_vehicle_status", "entry_id": f"V{i}", "plate": f"1LEZ{i:03}",
              "attributes": {"admitted": "true", "fuel": "petrol" if i % 2 else "diesel"}} for i in range(6)]
    [batch] = latest_snapshot(_take(tmp_path, _records(lines, "ref.lez_vehicle_status")).root).batches()
    assert batch.admitted.tolist() == [b"true"] * 6
    assert len({id(a) for a in batch.attributes}) == 2 and batch.attributes[0] == {"fuel": "diesel"}


def test_a_damaged_list_file_is_refused_before_it_is_parsed(tmp_path):
    # pyarrow must never meet bytes it did not write (connectors.reference.snapshot:
    # its errors hang a taskmanager's embedded Python).
    snapshot = _take(tmp_path, _records(LINES))
    first = tmp_path / snapshot.name / snapshot.lists[0]["file"]
    first.write_bytes(first.read_bytes()[:-8] + b"\0" * 8)
    with pytest.raises(SnapshotError, match="not the file its manifest describes"):
        list(latest_snapshot(tmp_path).batches())
    first.unlink()
    with pytest.raises(SnapshotError, match="cannot read"):
        list(latest_snapshot(tmp_path).batches())
