"""Writing the simulation to Kafka: Avro in the Confluent wire format, as the
Kafka-mode job reads it (docs/operations.md).

``KafkaSink`` has the ``add``/``close``/``abort`` of ``writer.FileSink``:

- ``cameras`` go to the compacted cameras topic, keyed by ``camera_id``;
- ``reference`` updates go to the compacted ``<prefix><list>`` topic of their
  list (created on the list's first update), keyed by ``entry_id``; a DELETE is
  a tombstone;
- ``reads`` go to the reads topic, paced by a ``RatePacer`` when a rate is set.

A read the simulator broke on purpose that Avro cannot carry (a line cut short,
a missing field, an event time that is not a time) is sent as its JSON text,
without the wire-format header, so the job dead-letters it as MALFORMED; the
breaks Avro can carry (an empty or too long plate, a confidence out of range)
are encoded and dead-lettered for their own reason.
"""

from __future__ import annotations

import json
import time
from typing import Callable

from connectors.kafka_clients import client_config, produce

HOUR_MS = 3_600_000


class RatePacer:
    """Paces calls to ``rate`` per second from the first call on: ``wait()`` sleeps
    while the caller is ahead of schedule. ``rate`` None or 0 never waits. The clock
    and the sleep are passed in, so the pacer is tested without waiting."""

    def __init__(self, rate: float | None, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        if rate is not None and rate < 0:
            raise ValueError(f"rate must be positive, got {rate}")
        self.rate = rate or None
        self.clock = clock
        self.sleep = sleep
        self.started: float | None = None
        self.count = 0

    def wait(self) -> None:
        """Return when the next call is due (at once if the caller is behind)."""
        if self.started is None:
            self.started = self.clock()
        if self.rate is not None:
            due = self.started + self.count / self.rate
            ahead = due - self.clock()
            if ahead > 0.0005:
                self.sleep(ahead)
        self.count += 1

    def achieved(self) -> float:
        """Calls per second since the first one."""
        if self.started is None:
            return 0.0
        return self.count / max(self.clock() - self.started, 1e-9)


def _millis(value):
    """An instant as epoch milliseconds: ints stay, ISO-8601 text is parsed."""
    if value is None or isinstance(value, int) and not isinstance(value, bool):
        return value
    from udfs.instant import parse_instant

    return parse_instant(value)


def read_record(payload: dict) -> dict:
    """A simulated read (a JSON-ready dict) in the shape of schemas/PlateRead.avsc.
    Raises ValueError/TypeError/KeyError when the read cannot be an Avro PlateRead."""
    record = {k: payload.get(k) for k in ("plate_country", "make", "colour", "vehicle_type", "image_ref", "source")}
    for name in ("read_id", "camera_id", "plate_text"):
        if not isinstance(payload[name], str):
            raise TypeError(f"{name} is not text")
        record[name] = payload[name]
    record["event_time"] = _millis(payload["event_time"])
    confidence = payload["ocr_confidence"]
    if not isinstance(confidence, (int, float)) or isinstance(confidence, bool):
        raise TypeError("ocr_confidence is not a number")
    record["ocr_confidence"] = float(confidence)
    return record


def entry_record(update: dict) -> dict:
    """A reference update in the shape of schemas/ReferenceEntry.avsc."""
    return {
        "list_name": update["list_name"], "entry_id": update["entry_id"], "op": update["op"],
        "plate": update.get("plate"), "country": update.get("country"),
        "valid_from": _millis(update.get("valid_from")), "valid_until": _millis(update.get("valid_until")),
        "severity": update.get("severity"), "zone": update.get("zone"),
        "attributes": {str(k): str(v) for k, v in (update.get("attributes") or {}).items()},
    }


def camera_record(camera: dict) -> dict:
    return {"camera_id": camera["camera_id"], "lat": float(camera["lat"]), "lon": float(camera["lon"]),
            "lez_zones": list(camera.get("lez_zones") or []), "police_zone": camera.get("police_zone"),
            "province": camera.get("province")}


class KafkaSink:
    """The three streams of a simulated run on Kafka (see the module docstring).

    ``on_read(read_id, partition_or_None, timestamp_ms)`` is called for every read
    sent, with the record timestamp it was produced with (the benchmark uses it to
    measure read-to-hit latency). ``close`` flushes and fails loudly when a record
    was not acknowledged."""

    def __init__(self, bootstrap_servers: str, registry_url: str, *, reads_topic: str = "plate-reads",
                 reference_prefix: str = "ref.", cameras_topic: str = "cameras", rate: float | None = None,
                 read_partitions: int = 1, create_topics: bool = True,
                 on_read: Callable[[str, int], None] | None = None,
                 producer_config: dict | None = None, clock: Callable[[], float] = time.monotonic):
        from confluent_kafka import Producer
        from connectors.contracts import encoder
        from connectors.registry import RegistryClient

        self.bootstrap_servers = bootstrap_servers
        self.reads_topic = reads_topic
        self.reference_prefix = reference_prefix
        self.cameras_topic = cameras_topic
        self.read_partitions = read_partitions
        self.create_topics = create_topics
        self.on_read = on_read
        self.pacer = RatePacer(rate, clock=clock)
        self.registry = RegistryClient(registry_url)
        self._entry_encoders: dict[str, object] = {}
        self.counts = {"cameras": 0, "reference": 0, "reads": 0, "reads_raw": 0, "tombstones": 0}
        self.failed: list[str] = []
        if create_topics:
            from connectors.topics import COMPACTED, TopicSpec, ensure_topics

            ensure_topics(bootstrap_servers, {reads_topic: TopicSpec(read_partitions),
                                              cameras_topic: TopicSpec(config=COMPACTED)})
        self._read = encoder(self.registry, reads_topic, "PlateRead", register=True)
        self._camera = encoder(self.registry, cameras_topic, "Camera", register=True)
        config = {"bootstrap.servers": bootstrap_servers, "linger.ms": 5, "batch.num.messages": 10000,
                  "queue.buffering.max.messages": 500000, "compression.type": "lz4"}
        config.update(producer_config or {})
        self.producer = Producer(client_config(config))

    # -- topics -----------------------------------------------------------------------

    def list_topic(self, list_name: str) -> str:
        return f"{self.reference_prefix}{list_name}"

    def _entry_encoder(self, list_name: str):
        encoder = self._entry_encoders.get(list_name)
        if encoder is None:
            from connectors.contracts import REFERENCE_CONTRACT
            from connectors.contracts import encoder as contract_encoder
            from connectors.topics import COMPACTED, TopicSpec, ensure_topics

            topic = self.list_topic(list_name)
            if self.create_topics:
                ensure_topics(self.bootstrap_servers, {topic: TopicSpec(config=COMPACTED)})
            encoder = self._entry_encoders[list_name] = contract_encoder(
                self.registry, topic, REFERENCE_CONTRACT, register=True)
        return encoder

    # -- the Sink protocol --------------------------------------------------------------

    def _delivered(self, error, message) -> None:
        if error is not None and len(self.failed) < 20:
            self.failed.append(f"{message.topic()}: {error}")

    def _produce(self, topic: str, value, key: bytes | None = None, timestamp: int = 0) -> None:
        produce(self.producer, topic, value, key, timestamp=timestamp, on_delivery=self._delivered)
        self.producer.poll(0)  # serve delivery reports as they come, so failures are seen early

    def add(self, stream: str, payload: dict | str) -> None:
        if stream == "reads":
            self._add_read(payload)
        elif stream == "reference":
            self._add_entry(payload)
        elif stream == "cameras":
            record = camera_record(payload)
            self._produce(self.cameras_topic, self._camera.encode(record), record["camera_id"].encode("utf-8"))
            self.counts["cameras"] += 1
        else:
            raise ValueError(f"unknown stream {stream!r}: cameras, reference or reads")

    def _add_entry(self, update: dict) -> None:
        encoder = self._entry_encoder(update["list_name"])
        key = str(update["entry_id"]).encode("utf-8")
        if update["op"] == "DELETE":
            value = None
            self.counts["tombstones"] += 1
        else:
            value = encoder.encode(entry_record(update))
        self._produce(self.list_topic(update["list_name"]), value, key)
        self.counts["reference"] += 1

    def _add_read(self, payload: dict | str) -> None:
        try:
            if isinstance(payload, str):
                raise ValueError("not JSON")
            value = self._read.encode(read_record(payload))
        except (ValueError, TypeError, KeyError):
            text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
            value = text.encode("utf-8")  # no wire-format header: a MALFORMED dead letter
            self.counts["reads_raw"] += 1
        # Keyed by camera, as cameras and ingest send them: one camera's reads stay on
        # one partition, in order (docs/hit-semantics-notes.md, §7 on Kafka).
        camera = payload.get("camera_id") if isinstance(payload, dict) else None
        key = camera.encode("utf-8") if isinstance(camera, str) else None
        self.pacer.wait()
        timestamp = int(time.time() * 1000)
        self._produce(self.reads_topic, value, key, timestamp)
        self.counts["reads"] += 1
        if self.on_read is not None and isinstance(payload, dict) and isinstance(payload.get("read_id"), str):
            self.on_read(payload["read_id"], timestamp)

    def flush(self, timeout_s: float = 120.0) -> None:
        left = self.producer.flush(timeout_s)
        if left:
            raise RuntimeError(f"{left} records not acknowledged by Kafka within {timeout_s:.0f} s")
        if self.failed:
            raise RuntimeError("records refused by Kafka: " + "; ".join(self.failed))

    def close(self) -> None:
        self.flush()

    def abort(self) -> None:
        self.producer.flush(10)

    def topics(self) -> dict:
        return {"reads": self.reads_topic, "cameras": self.cameras_topic,
                "reference": {name: self.list_topic(name) for name in sorted(self._entry_encoders)}}
