"""`feblam history` on a history the Kafka job wrote: the Flink sink's Parquet (its
timestamps, its attribute maps, files appearing at checkpoints) answers the
questions through the gate, a covert hit stays with its owner unit, and the
answers are the same after the day is compacted."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import pytest

from feblam.cli import main
from history import layout

from .hitjob import Feeds, cancel, hits, submit, wait_running

pytestmark = pytest.mark.integration

WHO = ["--user", "j.claes", "--justification", "investigation AN.12.L3.004512/26", "--purpose", "JUDICIAL"]


def _journey(common, unit: str, capsys) -> dict:
    assert main(["history", "journey", "1-ABC-123", *common, *WHO, "--unit", unit, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_questions_over_the_kafka_jobs_history(stack, new_topic, tmp_path, capsys):
    feeds = Feeds(stack, new_topic, {"judicial_alerts"})
    feeds.entry({"list_name": "judicial_alerts", "entry_id": "J1", "op": "UPSERT", "plate": "1ABC123",
                 "attributes": {"covert": "true", "owner": "PJF-ANTWERPEN"}})
    feeds.flush()
    history = tmp_path / "history"
    job_id = submit(stack, feeds, "--history", str(history))
    # Two hours and two days ago: inside what any access may see, on two days (UTC and
    # Brussels), so each read makes a hit of its own.
    now = datetime.now(timezone.utc).replace(microsecond=0)
    times = [now - timedelta(hours=2), now - timedelta(days=2)]
    try:
        wait_running(stack, job_id)
        for n, at in enumerate(times):
            feeds.read({"read_id": f"R{n}", "camera_id": "CAM-A", "event_time": at.isoformat().replace("+00:00", "Z"),
                        "plate_text": "1-ABC-123", "plate_country": "B", "ocr_confidence": 1.0})
        feeds.read({"read_id": "R9", "camera_id": "CAM-B", "event_time": times[0].isoformat().replace("+00:00", "Z"),
                    "plate_text": "9ZZZ999", "plate_country": "B", "ocr_confidence": 1.0})
        feeds.flush()
        hits(stack, feeds, 2)
        common = ["--history", str(history), "--access-log", str(tmp_path / "access.log")]
        deadline = time.monotonic() + 90
        owner = _journey(common, "PJF-ANTWERPEN", capsys)
        while len(owner["rows"]) < 2 and time.monotonic() < deadline:   # files come at checkpoints
            time.sleep(3)
            owner = _journey(common, "PJF-ANTWERPEN", capsys)
    finally:
        cancel(stack, job_id)
    columns = owner["columns"]
    assert [row[columns.index("read_id")] for row in owner["rows"]] == ["R1", "R0"]    # in time order
    assert [row[columns.index("camera_id")] for row in owner["rows"]] == ["CAM-A", "CAM-A"]
    assert all((row[columns.index("hits")] or "").startswith("judicial_alerts ") for row in owner["rows"])
    other = _journey(common, "ZP-GENT", capsys)
    assert [row[columns.index("hits")] for row in other["rows"]] == [None, None]   # the covert hit stays hidden
    # Compacted (both days, as if they were behind), the same answers.
    layout.compact(history, now + timedelta(days=2))
    assert _journey(common, "PJF-ANTWERPEN", capsys)["rows"] == owner["rows"]
    assert main(["history", "audit", "verify", "--access-log", str(tmp_path / "access.log"), "--user", "dpo",
                 "--unit", "DPO", "--justification", "checking the log after the test"]) == 0
