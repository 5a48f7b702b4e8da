"""The analysts' six questions, a retro-hit pass and the audit, on the demo's history: the
simulated network of yesterday (as `scripts/demo` makes it) through the file job, then
`feblam history` as the README shows it. Every answer has rows, and every look is in a
log whose chain verifies."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import duckdb
import pytest

from feblam.cli import main
from history import layout
from udfs.config import MatchingSettings
from udfs.platecode import OcrClasses

pytestmark = pytest.mark.integration

WHO = ["--user", "a.peeters", "--unit", "ZP-5339", "--purpose", "ADMINISTRATIVE",
       "--justification", "LEZ appeal 2026/1187, checking passages"]


def _ask(capsys, *argv: str) -> dict:
    assert main(["history", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_six_questions_and_a_retro_hit_pass_on_the_demos_history(tmp_path, capsys):
    yesterday = (datetime.now(timezone.utc) - timedelta(days=1)).strftime("%Y-%m-%dT00:00:00Z")
    data, history, log = tmp_path / "data", tmp_path / "history", tmp_path / "access" / "access.log"
    assert main(["simulate", "--out", str(data), "--reads", "10000", "--seed", "7", "--start", yesterday,
                 "--quiet"]) == 0
    capsys.readouterr()
    assert main(["run", "--reads", str(data / "reads.jsonl"), "--reference", str(data / "reference.jsonl"),
                 "--cameras", str(data / "cameras.jsonl"), "--hits", str(tmp_path / "hits.jsonl"),
                 "--dead-letters", str(tmp_path / "dead.jsonl"), "--history", str(history),
                 "--parallelism", "2"]) == 0
    capsys.readouterr()
    listed = ", ".join(f"'{p}'" for p in layout.files(history, "reads"))
    with duckdb.connect() as db:
        plate, camera, at = db.execute(
            f"SELECT plate, arg_min(camera_id, event_time), min(event_time) FROM read_parquet([{listed}]) "
            "GROUP BY plate ORDER BY count(*) DESC, plate LIMIT 1").fetchone()
    common = ["--history", str(history), "--access-log", str(log), "--cameras", str(data / "cameras.jsonl"), *WHO]

    journey = _ask(capsys, "journey", plate, *common)
    assert len(journey["rows"]) >= 10 and journey["outcome"] == "NARROWED"
    # The province comes from the registry: every read at a registered camera has one, and a
    # read of a mobile unit (the simulator's are not in the registry) has none.
    registered = {json.loads(line)["camera_id"] for line in (data / "cameras.jsonl").read_text().splitlines()}
    province, camera_id = journey["columns"].index("province"), journey["columns"].index("camera_id")
    assert all(bool(row[province]) == (row[camera_id] in registered) for row in journey["rows"])
    assert any(row[province] for row in journey["rows"])
    start = at.replace(tzinfo=timezone.utc)
    window = _ask(capsys, "camera", camera, "--from", start.isoformat(),
                  "--to", (start + timedelta(minutes=30)).isoformat(), *common)
    assert plate in [row[window["columns"].index("plate")] for row in window["rows"]]
    first = _ask(capsys, "first-seen", plate, *common)
    assert first["rows"][0][first["columns"].index("camera_id")] == camera
    convoy = _ask(capsys, "convoy", plate, "-k", "2", "--window", "10m", *common)
    assert convoy["columns"][0] == "plate"      # the simulator plants no convoys: the answer may be empty
    silent = _ask(capsys, "cameras", "--silent-for", "2h", *common)
    assert silent["rows"], "the simulated day is over: its cameras have been quiet since"
    hits = _ask(capsys, "hits", "--by", "list,day", *common)
    assert {row[0] for row in hits["rows"]} >= {"stolen_vehicles", "lez_vehicle_status"}

    updates = tmp_path / "new-entries.jsonl"
    updates.write_text(json.dumps({"list_name": "stolen_vehicles", "entry_id": "SV-NEW", "op": "UPSERT",
                                   "plate": plate}) + "\n")
    assert main(["history", "retro-hits", "--history", str(history), "--access-log", str(log),
                 "--updates", str(updates), "--out", str(tmp_path / "retro.jsonl"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    retro = [json.loads(line) for line in (tmp_path / "retro.jsonl").read_text().splitlines()]
    assert summary["hits"] == len(retro) >= 1 and all(hit["retro"] and hit["entry_id"] == "SV-NEW" for hit in retro)
    assert any(hit["plate"] == plate and hit["match_kind"] == "EXACT" for hit in retro)
    # The simulator's OCR noise misreads the plate now and then (a 1 read as I): such a read is
    # the stolen car too, found by the OCR rule, and no other plate's read may be a retro-hit.
    ocr = OcrClasses(MatchingSettings().ocr_classes)
    assert all(hit["match_kind"] == "EXACT" if hit["plate"] == plate else
               hit["match_kind"] == "OCR" and ocr.same_class(hit["plate"], plate) for hit in retro)
    again = _ask(capsys, "journey", plate, *common)
    assert any("stolen_vehicles" in (row[-1] or "") and "retro" in row[-1] for row in again["rows"])

    assert main(["history", "audit", "verify", "--access-log", str(log), "--user", "dpo.maes", "--unit", "DPO",
                 "--justification", "monthly check of the access log", "--json"]) == 0
    verified = json.loads(capsys.readouterr().out)
    assert verified["ok"] and verified["records"] >= 2 * 9
