"""Published reference updates change the hits of the running hit-generation job:
an entry added by a load makes a hit, the tombstone of a later load stops it."""

from __future__ import annotations

import time

import requests

from connectors.reference.loader import LoadRequest, load
from connectors.reference.mapping import feed_mapping

from .hitjob import Feeds, cancel, hits, submit, wait_running
from tests.unit.reference.files import write

LIST = "watch_list"


def _read(read_id: str, plate: str, minute: int) -> dict:
    return {"read_id": read_id, "camera_id": "CAM-X", "event_time": f"2026-03-05T08:{minute:02d}:00Z",
            "plate_text": plate, "plate_country": "B", "ocr_confidence": 1.0}


def _wait_for_a_free_slot(stack, timeout_s: float = 180) -> None:
    """The cluster's two slots are shared with other runs: submit once one is free."""
    deadline = time.monotonic() + timeout_s
    while requests.get(f"{stack.flink_rest_url}/overview", timeout=10).json()["slots-available"] < 1:
        assert time.monotonic() < deadline, "no free Flink slot within 3 min"
        time.sleep(2)


def test_loaded_entries_make_hits_and_tombstones_stop_them(stack, new_topic, tmp_path):
    feeds = Feeds(stack, new_topic, {LIST})
    mapping = feed_mapping(LIST, {"columns": {"entry_id": "id", "plate": "registration"}})

    def publish(rows, name):
        outcome = load(LoadRequest(file=write(tmp_path, rows, "csv", name), mapping=mapping,
                                   bootstrap_servers=stack.bootstrap_servers, registry_url=stack.schema_registry_url,
                                   prefix=feeds.prefix, report_root=tmp_path / "reports",
                                   history_file=tmp_path / "history.json"))
        assert outcome.accepted, outcome.reasons
        return outcome.changes

    first = [{"id": "W1", "registration": "1-ABC-123"}, {"id": "W2", "registration": "2-DEF-456"}]
    assert len(publish(first, "v1").upserts) == 2
    _wait_for_a_free_slot(stack)
    job_id = submit(stack, feeds)
    try:
        wait_running(stack, job_id)
        feeds.read(_read("R1", "1ABC123", 0))
        feeds.read(_read("R2", "3GHI789", 0))
        feeds.flush()
        before = hits(stack, feeds, 1)
        assert [(h["read_id"], h["list_name"], h["entry_id"]) for h in before] == [("R1", LIST, "W1")]

        # W1 leaves the export, W3 joins it: one tombstone, one upsert.
        changes = publish([first[1], {"id": "W3", "registration": "3 GHI 789"}], "v2")
        assert ([r["entry_id"] for r in changes.upserts], changes.deletes) == (["W3"], ("W1",))
        time.sleep(3)
        feeds.read(_read("R3", "1ABC123", 30))
        feeds.read(_read("R4", "3GHI789", 30))
        feeds.flush()
        # Wait for one hit more than expected, so a hit that should not be there shows up.
        after = hits(stack, feeds, 3, timeout_s=20)
        assert [(h["read_id"], h["entry_id"]) for h in after] == [("R1", "W1"), ("R4", "W3")]
    finally:
        cancel(stack, job_id)
