"""The cost of the ingest stage: how long a vendor read takes from its producer to a
consumer of the reads topic, through `feblam ingest`, against a direct produce and consume.

`measure_hop` creates four throw-away topics, starts `feblam ingest
--connector vendor-json` as its own process (as in production), produces
`payloads` vendor-json reads at `rate` a second, and times each from the
vendor producer's send call to the moment a consumer of the reads topic has
it decoded. The same reads produced straight to a topic, already canonical,
give the direct figure: the difference is what the extra hop costs.
"""

from __future__ import annotations

import io
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass

import fastavro

import schemas
from connectors.kafka_clients import client_config, flush_all, produce
from feblam.bench.stats import percentile

WARM_UP = 50


@dataclass(frozen=True)
class HopSettings:
    bootstrap_servers: str
    registry_url: str
    payloads: int = 2000
    rate: float = 500.0
    timeout_s: float = 120.0


def _vendor_payload(i: int) -> bytes:
    return json.dumps({"readId": f"HOP-{i:07d}", "cam": f"ANPR-HOP-{i % 40:04d}",
                       "ts": "2026-03-01T08:15:02.120+01:00", "plate": f"1-HOP-{i % 1000:03d}",
                       "nationality": "B", "confidencePct": 91.5}).encode()


def _summary(latencies_ms: list[float]) -> dict:
    """Count, p50, p90, p99 (`stats.percentile`), max and mean of latencies in ms."""
    if not latencies_ms:
        return {"n": 0}
    figures = {f"p{q}": round(percentile(latencies_ms, q), 2) for q in (50, 90, 99)}
    return {"n": len(latencies_ms), **figures, "max": round(max(latencies_ms), 2),
            "mean": round(statistics.fmean(latencies_ms), 2)}


class _Receiver(threading.Thread):
    """Reads `topic` from its start and stamps the arrival of each read id."""

    def __init__(self, bootstrap: str, topic: str):
        super().__init__(daemon=True)
        from confluent_kafka import Consumer, TopicPartition

        self.consumer = Consumer(client_config({"bootstrap.servers": bootstrap,
                                                "group.id": f"feblam-hop-{uuid.uuid4().hex}",
                                                "enable.auto.commit": False, "fetch.wait.max.ms": 5}))
        self.consumer.assign([TopicPartition(topic, 0, 0)])
        self.reader = fastavro.parse_schema(schemas.load("PlateRead"))
        self.arrived: dict[str, float] = {}
        self.done = threading.Event()

    def run(self) -> None:
        try:
            while not self.done.is_set():
                message = self.consumer.poll(0.05)
                if message is None or message.error():
                    continue
                now = time.perf_counter()
                value = message.value()
                read_id = fastavro.schemaless_reader(io.BytesIO(value[5:]), self.reader)["read_id"]
                self.arrived.setdefault(read_id, now)
        finally:
            self.consumer.close()


def _wait_for(predicate, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _send(producer, topic: str, ids_and_values, rate: float) -> dict[str, float]:
    sent = {}
    start = time.perf_counter()
    for n, (read_id, value) in enumerate(ids_and_values):
        due = start + n / rate
        pause = due - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        sent[read_id] = time.perf_counter()
        produce(producer, topic, value)
        producer.poll(0)
    flush_all(producer, 30, f"reads sent to {topic}")
    return sent


def _run_phase(settings: HopSettings, producer, send_topic: str, receive_topic: str, values) -> dict:
    receiver = _Receiver(settings.bootstrap_servers, receive_topic)
    receiver.start()
    try:
        warm = values[:WARM_UP]
        _send(producer, send_topic, warm, settings.rate)
        if not _wait_for(lambda: all(i in receiver.arrived for i, _ in warm), settings.timeout_s):
            raise RuntimeError(f"the warm-up reads did not reach {receive_topic} within {settings.timeout_s} s")
        measured = values[WARM_UP:]
        sent = _send(producer, send_topic, measured, settings.rate)
        if not _wait_for(lambda: all(i in receiver.arrived for i in sent), settings.timeout_s):
            # Percentiles of the reads that made it would leave out the slowest: none.
            missing = sum(1 for i in sent if i not in receiver.arrived)
            raise RuntimeError(f"{missing} of the {len(sent)} measured reads did not reach {receive_topic} "
                               f"within {settings.timeout_s} s")
        return _summary([(receiver.arrived[i] - t) * 1000 for i, t in sent.items()])
    finally:
        receiver.done.set()
        receiver.join(10)


def measure_hop(settings: HopSettings) -> dict:
    """Latency percentiles (ms) through ingest and directly; one dict, for JSON."""
    from confluent_kafka import Producer

    from connectors.contracts import encoder as contract_encoder
    from connectors.registry import RegistryClient
    from connectors.topics import TopicSpec, delete_topics, ensure_topics

    run = uuid.uuid4().hex[:8]
    vendor, reads, dead, direct = (f"feblam-hop-{run}.{name}" for name in ("vendor", "reads", "dlq", "direct"))
    topics = [vendor, reads, dead, direct]
    ensure_topics(settings.bootstrap_servers, {topic: TopicSpec() for topic in topics})
    producer = Producer(client_config({"bootstrap.servers": settings.bootstrap_servers, "linger.ms": 0}))
    total = WARM_UP + settings.payloads
    ingest = subprocess.Popen(
        [sys.executable, "-m", "feblam.cli", "ingest", "--connector", "vendor-json", "--topic", vendor,
         "--reads-topic", reads, "--dead-letter-topic", dead, "--group-id", f"feblam-hop-{run}",
         "--bootstrap-servers", settings.bootstrap_servers, "--registry-url", settings.registry_url,
         "--progress-s", "3600"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        through = _run_phase(settings, producer, vendor, reads,
                             [(f"HOP-{i:07d}", _vendor_payload(i)) for i in range(total)])
        encoder = contract_encoder(RegistryClient(settings.registry_url), direct, "PlateRead", register=True)
        canonical = [(f"DIR-{i:07d}", encoder.encode({
            "read_id": f"DIR-{i:07d}", "camera_id": "ANPR-HOP-0001", "event_time": 1772349302120,
            "plate_text": "1-HOP-001", "plate_country": "B", "ocr_confidence": 0.915})) for i in range(total)]
        straight = _run_phase(settings, producer, direct, direct, canonical)
    finally:
        ingest.send_signal(signal.SIGTERM)
        try:
            ingest.wait(30)
        except subprocess.TimeoutExpired:
            ingest.kill()
        delete_topics(settings.bootstrap_servers, topics)
    return {"connector": "vendor-json", "payloads": settings.payloads, "rate_per_s": settings.rate,
            "through_ingest_ms": through, "direct_ms": straight,
            # Tails are dominated by the machine's scheduling, not by the stage: only the
            # medians are subtracted.
            "extra_p50_ms": round(through.get("p50", 0) - straight.get("p50", 0), 2)}
