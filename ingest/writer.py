"""The output side of ingest: canonical PlateRead records to the reads topic, refused
payloads as DeadLetter records (original bytes, reason, position) to the dead-letter topic.

Both are Avro in the Confluent wire format; their contracts are registered under
the topics' subjects if they are not there yet (never a compatibility rule: that
is `feblam schemas apply`'s). `flush` returns only
when the broker acknowledged everything produced so far, and raises
`DeliveryError` if anything was refused: the caller commits its input
positions after a flush, never before (at least once).
"""

from __future__ import annotations

from dataclasses import dataclass

from connectors.contracts import encoder
from connectors.dead_letters import dead_letter_record
from connectors.kafka_clients import client_config, produce
from connectors.registry import RegistryClient
from connectors.sources.base import RejectedPayload
from ingest.counters import IngestCounters


class DeliveryError(RuntimeError):
    """The broker did not take a produced record; nothing after it may be committed."""


@dataclass(frozen=True)
class SourcePosition:
    """Where a payload came from: a Kafka topic, partition and offset, or a file and line."""

    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    file: str | None = None

    @property
    def key(self) -> bytes:
        """The dead letter's key: `topic/partition/offset` (as the job writes) or `file:line`."""
        if self.file is not None:
            return f"{self.file}:{self.offset}".encode("utf-8")
        return f"{self.topic}/{self.partition}/{self.offset}".encode("utf-8")


class CanonicalWriter:
    """Produces reads and dead letters with one idempotent producer."""

    def __init__(self, bootstrap_servers: str, registry: RegistryClient, reads_topic: str,
                 dead_letter_topic: str, counters: IngestCounters):
        from confluent_kafka import Producer

        self.reads_topic = reads_topic
        self.dead_letter_topic = dead_letter_topic
        self.counters = counters
        self._read = encoder(registry, reads_topic, "PlateRead", register=True)
        self._dead = encoder(registry, dead_letter_topic, "DeadLetter", register=True)
        # Idempotence: a retried send is not written twice; linger 5 ms batches without
        # adding noticeable latency to a read on its way to dispatch.
        self._producer = Producer(client_config({"bootstrap.servers": bootstrap_servers, "enable.idempotence": True,
                                                 "linger.ms": 5}))
        self._errors: list[str] = []

    def _delivered(self, error, message) -> None:
        if error is not None:
            self._errors.append(f"{message.topic()}: {error}")

    def read(self, record: dict) -> None:
        """A canonical read; keyed by camera, so one camera's reads stay in order."""
        produce(self._producer, self.reads_topic, self._read.encode(record), record["camera_id"].encode("utf-8"),
                on_delivery=self._delivered)
        self.counters.reads += 1

    def dead_letter(self, rejected: RejectedPayload, position: SourcePosition) -> None:
        """A refused payload as a DeadLetter record (its detail bounded as spec §3 says), keyed by its position."""
        record = dead_letter_record(rejected.reason, rejected.raw, detail=rejected.detail, read_id=rejected.read_id,
                                    topic=position.topic, partition=position.partition, offset=position.offset)
        headers = [("source_file", position.file.encode("utf-8"))] if position.file is not None else None
        produce(self._producer, self.dead_letter_topic, self._dead.encode(record), position.key, headers=headers,
                on_delivery=self._delivered)
        self.counters.dead_letters[rejected.reason] += 1

    def poll(self) -> None:
        """Serve delivery reports without waiting."""
        self._producer.poll(0)
        self._raise_errors()

    def flush(self, timeout_s: float = 60.0) -> None:
        """Wait until every record produced so far is acknowledged; `DeliveryError` otherwise."""
        left = self._producer.flush(timeout_s)
        self._raise_errors()
        if left:
            raise DeliveryError(f"{left} record(s) not acknowledged by Kafka within {timeout_s} s")

    def _raise_errors(self) -> None:
        if self._errors:
            errors, self._errors = self._errors, []
            raise DeliveryError(f"Kafka refused {len(errors)} record(s), first: {errors[0]}")
