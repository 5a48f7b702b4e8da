"""The job never writes the history a partition already past its retention: on the
embedded mini-cluster (the Kafka job runs the same DecodeAndMatch), a read whose hour
is past the 12-month limit of the wall clock is dead-lettered PAST_RETENTION with its
original line, and neither matched nor written; a recent read of the same plate is."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import duckdb
import pytest

from feblam.cli import main
from history import layout

pytestmark = pytest.mark.integration


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_a_read_past_the_retention_is_dead_lettered_not_written(tmp_path):
    now = datetime.now(timezone.utc)
    reads = [{"read_id": read_id, "camera_id": "CAM-A", "event_time": _stamp(at), "plate_text": "1-ABC-123",
              "plate_country": "B", "ocr_confidence": 0.95}
             for read_id, at in (("RECENT", now - timedelta(hours=2)), ("ANCIENT", now - timedelta(days=400)))]
    (tmp_path / "reads.jsonl").write_text("".join(json.dumps(r) + "\n" for r in reads))
    (tmp_path / "reference.jsonl").write_text(json.dumps(
        {"list_name": "stolen_vehicles", "entry_id": "S1", "op": "UPSERT", "plate": "1ABC123"}) + "\n")
    (tmp_path / "cameras.jsonl").write_text(json.dumps(
        {"camera_id": "CAM-A", "lat": 50.8, "lon": 4.3, "lez_zones": [], "police_zone": "5339",
         "province": "Brussels"}) + "\n")
    common = ["run", "--reads", str(tmp_path / "reads.jsonl"), "--reference", str(tmp_path / "reference.jsonl"),
              "--cameras", str(tmp_path / "cameras.jsonl")]
    assert main([*common, "--hits", str(tmp_path / "hits.jsonl"), "--dead-letters", str(tmp_path / "dead.jsonl"),
                 "--history", str(tmp_path / "history")]) == 0
    [dead] = [json.loads(line) for line in (tmp_path / "dead.jsonl").read_text().splitlines()]
    assert (dead["reason"], dead["read_id"]) == ("PAST_RETENTION", "ANCIENT")
    assert json.loads(dead["original"]) == reads[1] and "12-month retention" in dead["detail"]
    hits = [json.loads(line) for line in (tmp_path / "hits.jsonl").read_text().splitlines()]
    assert [hit["read_id"] for hit in hits] == ["RECENT"]
    with duckdb.connect() as db:
        listed = ", ".join(f"'{p}'" for p in layout.files(tmp_path / "history", "reads"))
        assert db.execute(f"SELECT read_id FROM read_parquet([{listed}])").fetchall() == [("RECENT",)]
    # With the clock fixed a year back (a replay of recorded data), the same read is kept.
    assert main([*common, "--hits", str(tmp_path / "hits2.jsonl"), "--dead-letters", str(tmp_path / "dead2.jsonl"),
                 "--history", str(tmp_path / "history2"), "--history-now", _stamp(now - timedelta(days=365))]) == 0
    assert (tmp_path / "dead2.jsonl").read_text() == ""
    assert sorted(json.loads(line)["read_id"] for line in (tmp_path / "hits2.jsonl").read_text().splitlines()) == \
        ["ANCIENT", "RECENT"]
