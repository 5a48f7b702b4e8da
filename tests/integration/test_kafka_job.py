"""The hit-generation job on Kafka, submitted to the standalone cluster: the spec's
data set produced as Avro through the real registry, hits and dead letters
consumed back and checked hit by hit; then a tombstone on a reference topic stops
a hit and a new entry makes one, while the job runs."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
import uuid

import requests
from confluent_kafka import Producer

import schemas
from connectors.avro import AvroDecoder, AvroEncoder
from connectors.contracts import subject
from connectors.registry import RegistryClient
from feblam.stack.settings import PROJECT_ROOT

from .conftest import consume_all
from .test_embedded_spec import CAMERAS, CASES, REFERENCE, epoch_ms, expected_hits

JOB = PROJECT_ROOT / "jobs" / "hit_generation.py"


def _ms(value):
    if value is None or isinstance(value, int):
        return value
    return epoch_ms(value)


def _entry_record(entry: dict) -> dict:
    return {
        "list_name": entry["list_name"], "entry_id": entry["entry_id"], "op": entry["op"],
        "plate": entry.get("plate"), "country": entry.get("country"),
        "valid_from": _ms(entry.get("valid_from")), "valid_until": _ms(entry.get("valid_until")),
        "severity": entry.get("severity"), "zone": entry.get("zone"), "attributes": entry.get("attributes", {}),
    }


def _read_record(read: dict) -> dict:
    return {**{k: None for k in ("make", "colour", "vehicle_type", "image_ref", "source")},
            **read, "event_time": _ms(read["event_time"])}


class Feeds:
    """Topics of one test run, and Avro producers for them."""

    def __init__(self, stack, new_topic):
        self.stack = stack
        run = uuid.uuid4().hex[:8]
        self.prefix = f"ref{run}."
        self.reads = new_topic("reads", partitions=1)
        self.cameras = new_topic("cameras", config={"cleanup.policy": "compact"})
        self.hits = new_topic("hits")
        self.dead = new_topic("dlq")
        self.lists = {e["list_name"] for e in REFERENCE} | {"late_list"}
        self.topics = {name: new_topic(name=f"{self.prefix}{name}", config={"cleanup.policy": "compact"})
                       for name in self.lists}
        registry = RegistryClient(stack.schema_registry_url)
        self.registry = registry
        self.read_encoder = AvroEncoder(registry, subject(self.reads), schemas.load("PlateRead"))
        self.entry_encoders = {name: AvroEncoder(registry, subject(topic), schemas.load("ReferenceEntry"))
                               for name, topic in self.topics.items()}
        self.camera_encoder = AvroEncoder(registry, subject(self.cameras), schemas.load("Camera"))
        self.producer = Producer({"bootstrap.servers": stack.bootstrap_servers, "linger.ms": 5})

    def entry(self, entry: dict) -> None:
        encoder = self.entry_encoders[entry["list_name"]]
        value = None if entry["op"] == "DELETE" else encoder.encode(_entry_record(entry))
        self.producer.produce(self.topics[entry["list_name"]], key=entry["entry_id"].encode(), value=value)

    def camera(self, camera: dict) -> None:
        self.producer.produce(self.cameras, key=camera["camera_id"].encode(), value=self.camera_encoder.encode(camera))

    def read(self, read: dict) -> None:
        self.producer.produce(self.reads, value=self.read_encoder.encode(_read_record(read)))

    def raw_read(self, value: bytes) -> None:
        self.producer.produce(self.reads, value=value)

    def flush(self) -> None:
        assert self.producer.flush(30) == 0


def _submit(stack, feeds) -> str:
    argv = [sys.executable, "-m", "feblam.cli", "submit", "--detached", str(JOB), "--",
            "--bootstrap-servers", stack.bootstrap_servers, "--registry-url", stack.schema_registry_url,
            "--reads-topic", feeds.reads, "--reference-prefix", feeds.prefix, "--cameras-topic", feeds.cameras,
            "--hits-topic", feeds.hits, "--dead-letter-topic", feeds.dead, "--group-id", f"g-{uuid.uuid4().hex[:8]}"]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=PROJECT_ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return next(line.split()[-1] for line in result.stdout.splitlines() if "submitted with JobID" in line)


def _wait_running(stack, job_id: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = requests.get(f"{stack.flink_rest_url}/jobs/{job_id}", timeout=10).json()
        if job["state"] == "RUNNING" and all(v["status"] == "RUNNING" for v in job["vertices"]):
            return
        assert job["state"] not in ("FAILED", "CANCELED", "FINISHED"), job["state"]
        time.sleep(1)
    raise AssertionError("job did not reach RUNNING")


def _cancel(stack, job_id: str) -> None:
    requests.patch(f"{stack.flink_rest_url}/jobs/{job_id}?mode=cancel", timeout=10)


def _hits(stack, feeds, expected_count: int, timeout_s: float = 90) -> list[dict]:
    decoder = AvroDecoder(feeds.registry, schemas.load("Hit"))
    messages = consume_all(stack.bootstrap_servers, feeds.hits, expected_count, timeout_s)
    hits = []
    for message in messages:
        hit = decoder.decode(message.value())
        assert message.key().decode() == hit["dedup_key"]
        hits.append(hit)
    return hits


BAD_KAFKA_READS = [
    ("MALFORMED", None, b"not avro at all"),
    ("MALFORMED", None, b"\x00\x00\x0f\x42\x3f" + b"\x02"),  # wire format, but no schema 999999
    ("EMPTY_PLATE", "K3", {"read_id": "K3", "camera_id": "CAM-A", "event_time": "2026-03-01T08:00:00Z", "plate_text": "- -", "plate_country": None, "ocr_confidence": 0.9}),
    ("PLATE_TOO_LONG", "K4", {"read_id": "K4", "camera_id": "CAM-A", "event_time": "2026-03-01T08:00:00Z", "plate_text": "ABCDEFGHIJKLM", "plate_country": None, "ocr_confidence": 0.9}),
    ("BAD_CONFIDENCE", "K5", {"read_id": "K5", "camera_id": "CAM-A", "event_time": "2026-03-01T08:00:00Z", "plate_text": "1ABC123", "plate_country": None, "ocr_confidence": 1.5}),
    ("BAD_CONFIDENCE", "K6", {"read_id": "K6", "camera_id": "CAM-A", "event_time": "2026-03-01T08:00:00Z", "plate_text": "1ABC123", "plate_country": None, "ocr_confidence": math.nan}),
]

FIELDS = ("hit_id", "read_id", "list_name", "entry_id", "match_kind", "substitutions", "zone", "score", "priority")


def test_kafka_job_end_to_end(stack, new_topic):
    feeds = Feeds(stack, new_topic)
    # Reference lists and cameras are on Kafka before the job starts; reads follow at once,
    # so the job must hold them back until every list is loaded (spec §8).
    for camera in CAMERAS:
        feeds.camera(camera)
    for entry in REFERENCE:
        feeds.entry(entry)
    feeds.flush()
    job_id = _submit(stack, feeds)
    try:
        for read, _ in CASES:
            feeds.read(read)
        for _, _, payload in BAD_KAFKA_READS:
            feeds.raw_read(payload) if isinstance(payload, bytes) else feeds.read(payload)
        feeds.flush()

        expected = [{k: h[k] for k in FIELDS} for h in expected_hits()]
        got = _hits(stack, feeds, len(expected))
        assert sorted(({k: h[k] for k in FIELDS} for h in got), key=lambda h: h["hit_id"]) == expected

        dead_decoder = AvroDecoder(feeds.registry, schemas.load("DeadLetter"))
        dead = [dead_decoder.decode(m.value()) for m in consume_all(stack.bootstrap_servers, feeds.dead, len(BAD_KAFKA_READS), 60)]
        assert sorted((d["reason"], d["read_id"] or "") for d in dead) == sorted((r, i or "") for r, i, _ in BAD_KAFKA_READS)
        raw_bad = {p for _, _, p in BAD_KAFKA_READS if isinstance(p, bytes)}
        assert raw_bad <= {d["original"] for d in dead}
        assert all(d["source_topic"] == feeds.reads and d["source_offset"] is not None for d in dead)

        # While the job runs: a tombstone stops a hit; an entry on a list that was empty
        # at start makes one.
        feeds.producer.produce(feeds.topics["insurance_expired"], key=b"I1", value=None)
        feeds.entry({"list_name": "late_list", "entry_id": "N1", "op": "UPSERT", "plate": "7NEW777"})
        feeds.flush()
        time.sleep(3)
        feeds.read({"read_id": "T1", "camera_id": "CAM-A", "event_time": "2026-03-05T08:00:00Z", "plate_text": "4NOP444", "plate_country": "B", "ocr_confidence": 1.0})
        feeds.read({"read_id": "T2", "camera_id": "CAM-A", "event_time": "2026-03-05T08:00:00Z", "plate_text": "7NEW777", "plate_country": "B", "ocr_confidence": 1.0})
        feeds.flush()
        # Wait for one more hit than expected, so a hit that should not be there shows up.
        later = _hits(stack, feeds, len(expected) + 2, 30)
        new = [h for h in later if h["read_id"] in ("T1", "T2")]
        assert [(h["read_id"], h["list_name"], h["entry_id"]) for h in new] == [("T2", "late_list", "N1")]
    finally:
        _cancel(stack, job_id)
