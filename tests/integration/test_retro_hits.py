"""Retro-hits on the real stack: the Kafka job writes the history; a stolen-vehicle entry is
published after the vehicle passed; `feblam history retro-hits` finds the past read, with
the hit_id the job would have given it, and sends it to the hits topic, where the Hit
Gateway routes it to the destinations it routes a live hit of that list and camera to."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta, timezone

import duckdb
import pytest

from feblam.cli import main
from history import layout
from udfs.identity import hit_id

from .gatewayjob import GatewayRun
from .hitjob import Feeds, cancel, hits, submit, wait_running

pytestmark = pytest.mark.integration

CONFIG = """\
national: {run}-nat
destinations:
  {run}-nat: {users: [n1]}
  {run}-liege: {users: [p1]}
route:
  destination: {run}-nat
  ack_timeout: {P1: 1 h, P2: 1 h}
  routes:
    - {matchers: ['province = "Liège"', 'list_name = "stolen_vehicles"'], destination: {run}-liege}
"""


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _reads_in_history(root) -> int:
    files = layout.files(root, "reads")
    if not files:
        return 0
    listed = ", ".join(f"'{path}'" for path in files)
    with duckdb.connect() as db:
        return db.execute(f"SELECT count(*) FROM read_parquet([{listed}])").fetchone()[0]


def _retro_pass(feeds, run, history, log, group, capsys) -> dict:
    assert main(["history", "retro-hits", "--history", str(history), "--access-log", str(log),
                 "--bootstrap-servers", feeds.stack.bootstrap_servers,
                 "--registry-url", feeds.stack.schema_registry_url, "--reference-prefix", feeds.prefix,
                 "--hits-topic", run.hits, "--sightings-topic", run.sightings, "--group", group, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_retro_hit_is_found_sent_and_routed_like_a_live_hit(stack, new_topic, tmp_path, capsys):
    run = GatewayRun(stack, new_topic, CONFIG)
    feeds = Feeds(stack, new_topic, {"stolen_vehicles"})
    feeds.hits, feeds.sightings = run.hits, run.sightings   # the job's hits go to the gateway's input
    history, log = tmp_path / "history", tmp_path / "access.log"
    feeds.entry({"list_name": "stolen_vehicles", "entry_id": "SV-LIVE", "op": "UPSERT", "plate": "9LIV001"})
    feeds.flush()
    passed = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=3)
    reads = [("R-LIVE", "9-LIV-001", passed), ("R-PAST", "1-RET-001", passed),
             ("R-PAST-2", "1-RET-001", passed + timedelta(minutes=2)), ("R-OTHER", "7-OTH-777", passed)]
    try:
        run.apply()
        run.camera("CAM-LG", "Liège")
        run.flush()
        job_id = submit(stack, feeds, "--history", str(history))
        try:
            wait_running(stack, job_id)
            for read_id, plate, at in reads:
                feeds.read({"read_id": read_id, "camera_id": "CAM-LG", "event_time": _stamp(at),
                            "plate_text": plate, "plate_country": "B", "ocr_confidence": 0.97})
            feeds.flush()
            [live] = hits(stack, feeds, 1)
            deadline = time.monotonic() + 90
            while _reads_in_history(history) < len(reads) and time.monotonic() < deadline:
                time.sleep(2)   # the history's files come at checkpoints
            assert _reads_in_history(history) == len(reads)
        finally:
            cancel(stack, job_id)
        assert (live["read_id"], live["retro"]) == ("R-LIVE", False)

        # The vehicle of 1-RET-001 is reported stolen three hours after it passed.
        feeds.entry({"list_name": "stolen_vehicles", "entry_id": "SV-NEW", "op": "UPSERT", "plate": "1RET001",
                     "attributes": {"instructions": "intercept"}})
        feeds.flush()
        group = f"retro-{uuid.uuid4().hex[:8]}"
        first = _retro_pass(feeds, run, history, log, group, capsys)
        # SV-LIVE was published after R-LIVE's event time too (the read came late), but the job
        # hit R-LIVE already: the same hit_id is in the history, and is not sent again.
        assert (first["entries"], first["hits"], first["sightings"], first["already_hit"]) == (2, 1, 1, 1)
        assert _retro_pass(feeds, run, history, log, group, capsys)["entries"] == 0   # committed: nothing new
        again = _retro_pass(feeds, run, history, log, f"{group}-again", capsys)      # from the start again
        assert (again["entries"], again["hits"], again["already_hit"]) == (2, 0, 2)  # the history knows both

        gateway = run.submit()
        try:
            wait_running(stack, gateway)
            messages = run.messages("liege", 3)
        finally:
            cancel(stack, gateway)
    finally:
        run.cleanup()
    deliveries = {m["hit_id"]: m for m in messages if m["kind"] == "DELIVERY"}
    retro_id = hit_id("R-PAST", "stolen_vehicles", "SV-NEW", None)
    assert set(deliveries) == {live["hit_id"], retro_id}
    retro, routed_live = deliveries[retro_id]["delivery"], deliveries[live["hit_id"]]["delivery"]
    assert retro["route"] == routed_live["route"] and retro["labels"]["province"] == "Liège"
    assert (retro["hit"]["retro"], retro["hit"]["read_id"], retro["hit"]["event_time"]) == \
        (True, "R-PAST", passed)
    assert routed_live["hit"]["retro"] is False
    [sighting] = [m for m in messages if m["kind"] == "SIGHTING"]
    assert (sighting["hit_id"], sighting["sighting"]["read_id"]) == (retro_id, "R-PAST-2")
    accesses = [json.loads(line) for line in log.read_text().splitlines()]
    assert {r["query"]["question"] for r in accesses if r["kind"] == "ACCESS"} == {"retro-candidates", "entry-hits"}
