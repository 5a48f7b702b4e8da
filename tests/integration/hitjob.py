"""Helpers for tests of the hit-generation job on Kafka: one run's topics with Avro
producers, submission to the standalone cluster, and reading hits back."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

import requests
from confluent_kafka import Producer

import schemas
from connectors import governance
from connectors.avro import AvroDecoder
from connectors.contracts import encoder as contract_encoder
from connectors.kafka_clients import client_config
from connectors.registry import RegistryClient
from feblam.stack.settings import PROJECT_ROOT

from .conftest import consume_all
from .test_embedded_spec import epoch_ms

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


# The clock of the history's retention for the tests' data, whose dates are fixed in
# March 2026 (history.late_reads): without it their reads would become too late for
# the history a year on, and the tests would change with the month.
RECORDED_DATA = ("--history-now", "2026-03-02T00:00:00Z")

LARGE_READ_TOPIC = 2_000_000  # max.message.bytes of the test's reads topic


class Feeds:
    """Topics of one test run, and Avro producers for them."""

    def __init__(self, stack, new_topic, lists, read_partitions: int = 1):
        self.stack = stack
        run = uuid.uuid4().hex[:8]
        self.prefix = f"ref{run}."
        # Reads may be larger than Kafka's default 1 MB here: the job must still dead-letter them.
        self.reads = new_topic("reads", partitions=read_partitions, config={"max.message.bytes": str(LARGE_READ_TOPIC)})
        self.cameras = new_topic("cameras", config={"cleanup.policy": "compact"})
        self.hits = new_topic("hits")
        self.sightings = new_topic("sightings")
        self.dead = new_topic("dlq")
        self.refusals = new_topic("refusals")
        self.lists = set(lists)
        self.topics = {name: new_topic(name=f"{self.prefix}{name}", config={"cleanup.policy": "compact"})
                       for name in self.lists}
        registry = RegistryClient(stack.schema_registry_url)
        self.registry = registry
        self.read_encoder = contract_encoder(registry, self.reads, "PlateRead", register=True)
        self.entry_encoders = {name: contract_encoder(registry, topic, "ReferenceEntry", register=True)
                               for name, topic in self.topics.items()}
        self.camera_encoder = contract_encoder(registry, self.cameras, "Camera", register=True)
        # The job's outputs are registered by the governance step, as an operator would before submitting.
        outcomes = governance.apply(registry, [governance.Target(topic, contract) for topic, contract in (
            (self.hits, "Hit"), (self.sightings, "HitSighting"), (self.dead, "DeadLetter"),
            (self.refusals, "ReferenceRefusal"))])
        assert all(outcome.ok for outcome in outcomes), outcomes
        self.producer = Producer(client_config({"bootstrap.servers": stack.bootstrap_servers, "linger.ms": 5,
                                                "message.max.bytes": LARGE_READ_TOPIC}))

    def entry(self, entry: dict) -> None:
        encoder = self.entry_encoders[entry["list_name"]]
        value = None if entry["op"] == "DELETE" else encoder.encode(_entry_record(entry))
        self.producer.produce(self.topics[entry["list_name"]], key=entry["entry_id"].encode(), value=value)

    def entry_id_of(self, value: bytes) -> str:
        """The entry_id of a ReferenceEntry message (a refusal's original bytes)."""
        return AvroDecoder(self.registry, schemas.load("ReferenceEntry")).decode(value)["entry_id"]

    def camera(self, camera: dict) -> None:
        self.producer.produce(self.cameras, key=camera["camera_id"].encode(), value=self.camera_encoder.encode(camera))

    def read(self, read: dict) -> None:
        self.producer.produce(self.reads, value=self.read_encoder.encode(_read_record(read)))

    def raw_read(self, value: bytes | None) -> None:
        self.producer.produce(self.reads, value=value)

    def encoded_read(self, read: dict) -> bytes:
        return self.read_encoder.encode(_read_record(read))

    def raw_entry(self, list_name: str, key: bytes | None, entry: dict) -> None:
        """`entry` encoded as it is, on `list_name`'s topic, with `key`: whatever they say."""
        self.producer.produce(self.topics[list_name], key=key,
                              value=self.entry_encoders[list_name].encode(_entry_record(entry)))

    def flush(self) -> None:
        assert self.producer.flush(30) == 0


def restarts(stack, job_id: str) -> tuple[int, list]:
    """(numRestarts, the exception history) of a job, from the Flink REST API."""
    metric = requests.get(f"{stack.flink_rest_url}/jobs/{job_id}/metrics?get=numRestarts", timeout=10).json()
    exceptions = requests.get(f"{stack.flink_rest_url}/jobs/{job_id}/exceptions", timeout=10).json()
    history = (exceptions.get("exceptionHistory") or {}).get("entries") or []
    return int(metric[0]["value"]), history


def assert_no_restart(stack, job_id: str) -> None:
    """The job runs, and has neither restarted nor recorded an exception."""
    job = requests.get(f"{stack.flink_rest_url}/jobs/{job_id}", timeout=10).json()
    count, history = restarts(stack, job_id)
    assert (job["state"], count) == ("RUNNING", 0), \
        (job["state"], count, [e.get("exceptionName") for e in history][:5],
         [(e.get("stacktrace") or "")[:1500] for e in history][:1])
    assert history == [], [e.get("exceptionName") for e in history]


def submit(stack, feeds, *extra: str, submit_options: tuple = ()) -> str:
    argv = [sys.executable, "-m", "feblam.cli", "submit", "--detached", *submit_options, str(JOB), "--",
            "--bootstrap-servers", stack.bootstrap_servers, "--registry-url", stack.schema_registry_url,
            "--reads-topic", feeds.reads, "--reference-prefix", feeds.prefix, "--cameras-topic", feeds.cameras,
            "--hits-topic", feeds.hits, "--sightings-topic", feeds.sightings, "--dead-letter-topic", feeds.dead,
            "--refusals-topic", feeds.refusals, "--group-id", f"g-{uuid.uuid4().hex[:8]}", *extra]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=PROJECT_ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return next(line.split()[-1] for line in result.stdout.splitlines() if "submitted with JobID" in line)


def wait_running(stack, job_id: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        answer = requests.get(f"{stack.flink_rest_url}/jobs/{job_id}", timeout=10)
        if answer.status_code == 404:  # a new jobmanager that has not recovered the job yet
            time.sleep(1)
            continue
        job = answer.json()
        if job["state"] == "RUNNING" and all(v["status"] == "RUNNING" for v in job["vertices"]):
            return
        assert job["state"] not in ("FAILED", "CANCELED", "FINISHED"), job["state"]
        time.sleep(1)
    raise AssertionError("job did not reach RUNNING")


def cancel(stack, job_id: str) -> None:
    requests.patch(f"{stack.flink_rest_url}/jobs/{job_id}?mode=cancel", timeout=10)


def hits(stack, feeds, expected_count: int, timeout_s: float = 90, distinct: bool = False) -> list[dict]:
    """The hits on the run's hits topic, once `expected_count` arrived (with `distinct`:
    `expected_count` different hit ids, since a restart may deliver a hit again)."""
    decoder = AvroDecoder(feeds.registry, schemas.load("Hit"))
    hit_id = (lambda message: decoder.decode(message.value())["hit_id"]) if distinct else None
    messages = consume_all(stack.bootstrap_servers, feeds.hits, expected_count, timeout_s, distinct=hit_id)
    hits = []
    for message in messages:
        hit = decoder.decode(message.value())
        assert message.key().decode() == hit["dedup_key"]
        hits.append(hit)
    return hits




def decoded(stack, feeds, topic: str, contract: str, expected_count: int, timeout_s: float = 60) -> list[dict]:
    """The records of one of the run's output topics, decoded with their contract, once
    `expected_count` arrived (or the timeout passed: the caller asserts the count)."""
    decoder = AvroDecoder(feeds.registry, schemas.load(contract))
    return [decoder.decode(m.value()) for m in consume_all(stack.bootstrap_servers, topic, expected_count, timeout_s)]
