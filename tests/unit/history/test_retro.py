"""Retro-hits (history.retro): past reads matched against entries added after them, with the
job's matching, identity and de-duplication, through the gate and its log."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from history.accesslog import AccessLog
from history.gate import ADMINISTRATIVE, JUDICIAL, AccessRequest
from history.queries import GatedHistory
from history import layout
from history.retro import HIT_SCHEMA, Change, RetroSettings, latest_changes, retro_hits, write_to_history
from udfs.config import MatchingSettings
from udfs.identity import hit_id
from udfs.reference import parse_entry

from .historydata import write

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=timezone.utc)
NOW_MS = int(NOW.timestamp() * 1000)
MATCHING = MatchingSettings()
READS = [  # read_id, camera_id, plate, confidence, hours before NOW
    ("older", "CAM-1", "1ABC123", 0.95, 24 * 35),    # before the 30 days without authorisation
    ("old", "CAM-1", "1ABC123", 0.95, 24 * 9),       # before the 7 days
    ("a", "CAM-1", "1ABC123", 0.95, 30),
    ("a2", "CAM-2", "1ABC123", 0.95, 30 - 1 / 12),   # 5 minutes later: a sighting of a's hit
    ("ocr", "CAM-3", "1A8C123", 0.90, 20),           # B read as 8: one OCR substitution
    ("b", "CAM-4", "1ABC123", 0.95, 2),
    ("after", "CAM-5", "1ABC123", 0.95, -1),        # after the entry was published
    ("other", "CAM-1", "7XYZ777", 0.95, 3),
]
ANALYST = AccessRequest("j.claes", "PJF-ANTWERPEN", JUDICIAL, "checking the retro-hit pass")


def _history(tmp_path, hits=()) -> GatedHistory:
    root = tmp_path / "history"
    write(root, "reads", [{"read_id": r, "camera_id": c, "plate_text": p, "plate": p, "country": "BE",
                           "ocr_confidence": q, "event_time": (NOW - timedelta(hours=h)).replace(tzinfo=None)}
                          for r, c, p, q, h in READS])
    if hits:
        layout.add_rows(root, "hits", list(hits), HIT_SCHEMA, "live")
    return GatedHistory(root, AccessLog(tmp_path / "access.log"), clock=lambda: NOW + timedelta(hours=2))


def _change(plate="1-ABC-123", list_name="stolen_vehicles", entry_id="SV-1", published=NOW_MS, **more) -> Change:
    return Change(parse_entry({"list_name": list_name, "entry_id": entry_id, "plate": plate, **more}), published)


def test_an_entry_added_after_its_vehicle_passed_gives_retro_hits_with_the_jobs_ids(tmp_path):
    history = _history(tmp_path)
    result = retro_hits(history, [_change()], MATCHING)
    assert [hit["read_id"] for hit in result.hits] == ["a", "ocr", "b"]   # not "old", not "after"
    first = result.hits[0]
    assert first["hit_id"] == hit_id("a", "stolen_vehicles", "SV-1", None)
    assert (first["retro"], first["match_kind"], first["camera_id"], first["list_name"]) == \
        (True, "EXACT", "CAM-1", "stolen_vehicles")
    assert first["event_time"] == NOW_MS - 30 * 3_600_000            # the past read's time
    assert first["dedup_key"] == "ALERT|stolen_vehicles|SV-1" and first["plate_text"] == "1ABC123"
    assert result.hits[1]["match_kind"] == "OCR" and result.hits[1]["substitutions"] == 1
    # a2 passed 5 minutes after a: within the list's 10-minute window, a sighting of a's hit.
    assert first["sightings"] == 2
    assert result.sightings == [{"hit_id": first["hit_id"], "read_id": "a2", "camera_id": "CAM-2",
                                 "event_time": NOW_MS - 30 * 3_600_000 + 300_000, "sightings": 2,
                                 "dedup_key": "ALERT|stolen_vehicles|SV-1"}]


def test_the_same_udfs_rules_decide_ocr_wildcards_and_validity(tmp_path):
    history = _history(tmp_path)
    strict = retro_hits(history, [_change(list_name="watch_list")], MATCHING)        # no OCR substitutions
    assert [hit["read_id"] for hit in strict.hits] == ["a", "b"]
    wild = retro_hits(history, [_change(plate="1ABC*", entry_id="W")], MATCHING)
    assert [(hit["read_id"], hit["match_kind"]) for hit in wild.hits] == [("a", "WILDCARD"), ("b", "WILDCARD")]
    valid = retro_hits(history, [_change(valid_from=NOW_MS - 10 * 3_600_000)], MATCHING)
    assert [hit["read_id"] for hit in valid.hits] == ["b"]
    foreign = retro_hits(history, [_change(country="NL")], MATCHING)
    assert foreign.hits == []


def test_reads_the_job_already_hit_or_folded_give_nothing_again(tmp_path):
    live = {"hit_id": hit_id("a", "stolen_vehicles", "SV-1", None), "read_id": "a", "list_name": "stolen_vehicles",
            "entry_id": "SV-1", "event_time": (NOW - timedelta(hours=30)).replace(tzinfo=None)}
    history = _history(tmp_path, [live])
    result = retro_hits(history, [_change()], MATCHING)
    assert [hit["read_id"] for hit in result.hits] == ["ocr", "b"]
    assert (result.already_hit, result.folded_into_earlier, result.sightings) == (1, 1, [])   # a; a2 into a's hit


def test_a_pass_written_to_the_history_is_seen_by_analysts_and_not_sent_twice(tmp_path):
    history = _history(tmp_path)
    result = retro_hits(history, [_change()], MATCHING)
    written = write_to_history(history.root, result, "retro-test")
    assert written and all(path.name == "part-retro-test" for path in written)
    journey = history.journey(ANALYST, "1ABC123")
    hits = {row[-2]: row[-1] for row in journey.rows}
    assert hits["a"] == "stolen_vehicles P2 retro" and hits["a2"] is None and hits["old"] is None
    again = retro_hits(history, [_change()], MATCHING)
    assert (again.hits, again.already_hit) == ([], 3)


def test_every_search_passes_the_gate_and_is_logged_for_the_lists_purpose(tmp_path):
    history = _history(tmp_path)
    settings = RetroSettings(days=45, purposes={"stolen_vehicles": ADMINISTRATIVE})
    result = retro_hits(history, [_change(), _change(list_name="judicial_alerts", entry_id="J-1")], MATCHING,
                        settings)
    administrative, judicial = sorted(result.searches, key=lambda s: s.purpose)
    assert administrative.purpose == ADMINISTRATIVE and "last 30 days" in administrative.statement
    assert "prosecutor" in judicial.statement                           # no authorisation: 30 days too
    found = {(hit["list_name"], hit["read_id"]) for hit in result.hits}
    assert ("stolen_vehicles", "old") in found and ("judicial_alerts", "old") in found     # 9 days back
    assert not {read for _, read in found} & {"older"}                  # 35 days back: narrowed away
    records = [r for r in history.log.records() if r["kind"] == "ACCESS"]
    assert [r["query"]["question"] for r in records] == ["retro-candidates", "entry-hits"] * 2
    assert {r["user"] for r in records} == {"feblam-retro-hits"}
    assert all("retro-hit search" in r["justification"] for r in records)


def test_a_covert_entry_is_searched_for_its_owner_unit(tmp_path):
    history = _history(tmp_path)
    covert = _change(list_name="judicial_alerts", entry_id="J-9",
                     attributes={"covert": "true", "owner": "PJF-LIEGE"})
    result = retro_hits(history, [covert, _change()], MATCHING)
    assert sorted(search.unit for search in result.searches) == ["FEBLAM", "PJF-LIEGE"]
    assert {hit["attributes"].get("owner") for hit in result.hits} == {None, "PJF-LIEGE"}


def test_only_the_last_upsert_of_an_alert_entry_is_searched():
    changes = [_change(entry_id="X"), _change(entry_id="X", plate="2DEF222"), _change(entry_id="Y"),
               Change(parse_entry({"list_name": "stolen_vehicles", "entry_id": "Y", "op": "DELETE"}), NOW_MS),
               _change(list_name="lez_vehicle_status", entry_id="L", attributes={"admitted": "false"})]
    assert [(c.entry.entry_id, c.entry.plate) for c in latest_changes(changes, MATCHING)] == [("X", "2DEF222")]


def test_settings_refuse_an_unknown_purpose_and_a_silly_window():
    with pytest.raises(ValueError, match="purpose of stolen_vehicles"):
        RetroSettings(purposes={"stolen_vehicles": "CURIOSITY"})
    with pytest.raises(ValueError, match="days 0"):
        RetroSettings(days=0)
