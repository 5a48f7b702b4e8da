"""A vendor read through `feblam ingest` makes a hit in the running hit-generation job:
the ingest stage and the job meet only at the reads topic, and the job's graph knows
nothing of the vendor."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import requests

from connectors.kafka_clients import client_config
from udfs.instant import parse_instant

from .hitjob import Feeds, cancel, hits, submit, wait_running

ROOT = Path(__file__).resolve().parents[2]
LIST = "stolen_vehicles"


def _wait_for_a_free_slot(stack, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while requests.get(f"{stack.flink_rest_url}/overview", timeout=10).json()["slots-available"] < 1:
        assert time.monotonic() < deadline, "no free Flink slot within 3 min"
        time.sleep(2)


def test_an_ingested_vendor_read_makes_a_hit(stack, new_topic):
    feeds = Feeds(stack, new_topic, {LIST})
    vendor = new_topic("vigilant")
    feeds.entry({"list_name": LIST, "entry_id": "SV1", "op": "UPSERT", "plate": "1ABC123", "severity": 90})
    feeds.flush()
    _wait_for_a_free_slot(stack)
    job_id = submit(stack, feeds)
    try:
        wait_running(stack, job_id)
        from confluent_kafka import Producer

        producer = Producer(client_config({"bootstrap.servers": stack.bootstrap_servers}))
        payload = {"readId": "VG-HIT-1", "cam": "ANPR-BRU-0001", "ts": "2026-03-01T08:15:02.120+01:00",
                   "plate": "1-abc-123", "nationality": "B", "confidencePct": 97.0}
        producer.produce(vendor, json.dumps(payload).encode())
        producer.produce(vendor, json.dumps({**payload, "readId": "VG-MISS", "plate": "9-ZZZ-999"}).encode())
        producer.flush(30)
        result = subprocess.run(
            [sys.executable, "-m", "feblam.cli", "ingest", "--connector", "vendor-json", "--topic", vendor,
             "--reads-topic", feeds.reads, "--dead-letter-topic", feeds.dead, "--once", "--json",
             "--bootstrap-servers", stack.bootstrap_servers, "--registry-url", stack.schema_registry_url],
            capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["reads"] == 2
        # One hit more is waited for, so a hit that should not be there shows up.
        found = hits(stack, feeds, 2, timeout_s=30)
        assert [(h["read_id"], h["entry_id"]) for h in found] == [("VG-HIT-1", "SV1")]
        # 08:15:02.120 at +01:00 is 07:15:02.120 UTC: the hit carries the read's UTC event time.
        assert _millis(found[0]["event_time"]) == parse_instant("2026-03-01T07:15:02.120Z")
    finally:
        cancel(stack, job_id)



def _millis(value) -> int:
    return value if isinstance(value, int) else int(value.timestamp() * 1000)
