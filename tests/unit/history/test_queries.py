"""The analysts' questions (history.queries) on a small Parquet history in the job's
layout: the gate's range and covert rule hold in every answer, and every access is
in the log before its rows, refused and failed ones too."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from history.accesslog import AccessLog
from history.gate import ADMINISTRATIVE, JUDICIAL, AccessError, AccessRequest, TimeRange
from history.queries import GatedHistory

from .historydata import write_history

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=timezone.utc)
ADMIN = AccessRequest("a.peeters", "ZP-BRUXELLES", ADMINISTRATIVE, "LEZ appeal 2026/1187, checking passages")
OWNER = AccessRequest("j.claes", "PJF-ANTWERPEN", JUDICIAL, "investigation AN.12.L3.004512/26",
                      authorisation="AN.12.L3.004512/26-PK-17")
OTHER = AccessRequest("k.janssens", "PJF-GENT", JUDICIAL, "investigation GE.55.L1.000001/26",
                      authorisation="GE.55.L1.000001/26-PK-2")


@pytest.fixture
def history(tmp_path):
    return GatedHistory(write_history(tmp_path / "history", NOW), AccessLog(tmp_path / "access" / "access.log"),
                        clock=lambda: NOW)


def test_a_journey_holds_only_the_granted_range_and_says_it_was_narrowed(history):
    answer = history.journey(ADMIN, "1-abc-123")
    assert [row[1] for row in answer.rows] == ["CAM-2", "CAM-1"]   # r1, 100 days ago, is not shown
    assert answer.decision.outcome == "NARROWED" and "last 30 days" in answer.decision.statement
    authorised = history.journey(OWNER, "1ABC123")
    assert [row[1] for row in authorised.rows] == ["CAM-1", "CAM-2", "CAM-1"]


def test_covert_hits_are_seen_by_their_owners_unit_only(history):
    owner = history.journey(OWNER, "1ABC123")
    assert [row[-1] for row in owner.rows] == [None, "stolen_vehicles P1", "judicial_alerts P1"]
    other = history.journey(OTHER, "1ABC123")
    assert [row[-1] for row in other.rows] == [None, "stolen_vehicles P1", None]
    assert history.hits_by(OTHER, ["list"]).rows == [("stolen_vehicles", 2)]
    assert sorted(history.hits_by(OWNER, ["list"]).rows) == [("judicial_alerts", 1), ("stolen_vehicles", 2)]


def test_sightings_of_a_covert_hit_are_as_covert_as_the_hit(history):
    db_other = history._views(history.journey(OTHER, "1ABC123").decision)
    assert db_other.execute("SELECT hit_id FROM sightings").fetchall() == [("h1",)]
    db_owner = history._views(history.journey(OWNER, "1ABC123").decision)
    assert sorted(db_owner.execute("SELECT hit_id FROM sightings").fetchall()) == [("h1",), ("h2",)]


def test_every_access_is_logged_before_and_after_with_its_rows(history):
    answer = history.camera(ADMIN, "CAM-2", TimeRange(NOW - timedelta(days=25), NOW))
    access, result = list(history.log.records())
    assert (access["kind"], access["seq"], answer.access_id) == ("ACCESS", 1, 1)
    assert (access["user"], access["purpose"], access["query"]) == \
        ("a.peeters", ADMINISTRATIVE, {"question": "camera", "camera_id": "CAM-2"})
    assert access["granted"] == {"from": "2026-11-11T09:00:00Z", "to": "2026-12-06T09:00:00Z"}
    assert [row[-2] for row in answer.rows] == ["r2", "r5"]
    assert (result["kind"], result["access"], result["rows"]) == ("RESULT", 1, 2)
    assert history.log.verify().ok


def test_a_refused_access_is_logged_and_reads_nothing(history):
    with pytest.raises(AccessError, match="at least 10 characters"):
        history.journey(AccessRequest("a.peeters", "ZP", ADMINISTRATIVE, "because"), "1ABC123")
    [access] = list(history.log.records())
    assert (access["outcome"], access["granted"]) == ("REFUSED", None)


def test_the_log_is_written_even_when_the_query_fails(history, tmp_path):
    broken = history.root / "reads" / "date=2026-12-05" / "hour=23"
    broken.mkdir(parents=True)
    (broken / "part-broken").write_bytes(b"not parquet at all")
    with pytest.raises(Exception):
        history.journey(ADMIN, "1ABC123")
    access, result = list(history.log.records())
    assert access["kind"] == "ACCESS" and result["rows"] is None and result["error"]


def test_first_seen_and_silent_cameras_and_hits_by_day(history):
    assert history.first_seen(OWNER, "1ABC123").rows[0][1] == "CAM-1"
    assert history.first_seen(ADMIN, "1ABC123").rows[0][1] == "CAM-2"   # first within what it may see
    silent = history.silent_cameras(ADMIN, timedelta(hours=36))
    assert [row[0] for row in silent.rows] == ["CAM-4", "CAM-1"]   # CAM-2 and CAM-3 read within 36 h
    by_day = history.hits_by(OTHER, ["list", "day"])
    assert sorted(row[0] for row in by_day.rows) == ["stolen_vehicles", "stolen_vehicles"]


def test_an_empty_history_answers_with_no_rows(tmp_path):
    history = GatedHistory(tmp_path / "nothing", AccessLog(tmp_path / "log"), clock=lambda: NOW)
    assert history.journey(ADMIN, "1ABC123").rows == []
    assert history.hits_by(ADMIN, ["list"]).rows == []


def test_a_convoy_ranks_travel_together_above_chance_at_a_busy_camera(tmp_path):
    """1ABC123 passes CAM-1..CAM-4. 7CON777 is with it at CAM-1, CAM-2 and CAM-3; 8BUS888
    passes the same three cameras all day (a bus), so it meets it there by chance too."""
    from .historydata import write

    base = NOW - timedelta(days=2)
    rows = []
    for n, camera in enumerate(("CAM-1", "CAM-2", "CAM-3", "CAM-4")):
        at = base + timedelta(hours=n)
        rows.append(("1ABC123", camera, at))
        if camera != "CAM-4":
            rows.append(("7CON777", camera, at + timedelta(seconds=40)))
    for camera in ("CAM-1", "CAM-2", "CAM-3"):
        for minute in range(0, 24 * 60, 4):                    # every 4 minutes, two days long
            for day in (0, 1):
                rows.append(("8BUS888", camera, base.replace(hour=0, minute=0) + timedelta(days=day, minutes=minute)))
    write(tmp_path / "h", "reads", [{"read_id": f"r{i}", "camera_id": c, "plate": p, "plate_text": p,
                                     "country": "BE", "ocr_confidence": 0.9,
                                     "event_time": t.replace(tzinfo=None)} for i, (p, c, t) in enumerate(rows)])
    history = GatedHistory(tmp_path / "h", AccessLog(tmp_path / "log"), clock=lambda: NOW)
    answer = history.convoy(OWNER, "1-abc-123", TimeRange(base - timedelta(days=1), NOW))
    assert answer.columns == ("plate", "cameras", "together", "by_chance", "beyond_chance")
    assert [row[0] for row in answer.rows] == ["7CON777", "8BUS888"]
    convoy, bus = answer.rows
    assert (convoy[1], convoy[2], bus[1], bus[2]) == (3, 3, 3, 3)
    assert convoy[3] <= 0.01 and bus[3] > 1 and convoy[4] > bus[4]   # the bus meets every vehicle there
    assert [row[0] for row in history.convoy(OWNER, "1ABC123", TimeRange(base - timedelta(days=1), NOW),
                                             min_cameras=4).rows] == []


def test_candidates_are_the_reads_of_the_plates_up_to_ocr_classes_and_patterns(history):
    classes = ("0ODQ", "1I", "2Z", "5S", "6G", "8B")
    answer = history.candidates(OWNER, ["1A8C123", "3DEF456", "9NOT999"], classes)   # B and 8: one class
    assert answer.columns[:2] == ("read_id", "camera_id")
    assert [row[0] for row in answer.rows] == ["r1", "r2", "r6", "r3"]              # in time order
    assert [row[0] for row in history.candidates(OWNER, ["2XY*"], classes).rows] == ["r4", "r5"]
    assert [row[0] for row in history.candidates(ADMIN, ["1ABC123", "?XYZ999"], classes).rows] == \
        ["r2", "r3", "r4", "r5"]                                                       # r1: 100 days ago
    [access, _] = list(history.log.records())[-2:]
    assert access["query"] == {"question": "retro-candidates", "plates": 1, "patterns": 1}
    with pytest.raises(ValueError, match="no plate"):
        history.candidates(OWNER, [], classes)


def test_entry_hits_are_the_hits_of_the_entries_hidden_when_covert(history):
    assert [row[2] for row in history.entry_hits(OWNER, [("stolen_vehicles", "E"), ("judicial_alerts", "E")]).rows] \
        == ["h1", "h2", "h3"]
    assert [row[2] for row in history.entry_hits(OTHER, [("judicial_alerts", "E")]).rows] == []


def test_a_journey_names_each_cameras_place_from_the_registry(tmp_path):
    import json

    from .historydata import write_history

    cameras = tmp_path / "cameras.jsonl"
    cameras.write_text("\n".join(json.dumps({"camera_id": c, "lat": 50.8, "lon": 4.3, "lez_zones": [],
                                              "police_zone": f"PZ {c}", "province": "Antwerp"})
                                  for c in ("CAM-1", "CAM-2")) + "\n")
    history = GatedHistory(write_history(tmp_path / "h", NOW), AccessLog(tmp_path / "log"), clock=lambda: NOW,
                           cameras=cameras)
    answer = history.journey(OWNER, "1ABC123")
    assert answer.columns[:4] == ("event_time", "camera_id", "police_zone", "province")
    assert [(row[1], row[2], row[3]) for row in answer.rows] == [
        ("CAM-1", "PZ CAM-1", "Antwerp"), ("CAM-2", "PZ CAM-2", "Antwerp"), ("CAM-1", "PZ CAM-1", "Antwerp")]
    first = history.first_seen(OWNER, "1ABC123")
    assert first.rows[0][1:4] == ("CAM-1", "PZ CAM-1", "Antwerp")
