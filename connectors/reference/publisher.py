"""The published list on its compacted topic: read it back, and write updates to it.

``read_published`` consumes the topic from the beginning to the end offsets it
has when called and keeps the latest value per key; a tombstone (or a DELETE
record) removes the key. That is the list in force as the job sees it, so the
diff is taken against the truth, not against a local copy.
``publish`` writes UPSERT records (Avro, Confluent wire format, registered under
``<topic>-value``, BACKWARD) and tombstones, key = entry_id, and waits until
Kafka acknowledged every one of them (``PublishError`` otherwise).
"""

from __future__ import annotations

import time
import uuid

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

import schemas
from connectors.avro import AvroEncoder
from connectors.contracts import ReferenceDecoder, register, subject
from connectors.reference.diff import Diff
from connectors.registry import RegistryClient


class PublishError(RuntimeError):
    """Kafka refused or did not acknowledge an update, or the topic cannot be read."""


def ensure_topic(bootstrap_servers: str, topic: str, timeout_s: float = 30.0) -> None:
    """Create ``topic`` as a compacted topic when it does not exist."""
    admin = AdminClient({"bootstrap.servers": bootstrap_servers})
    if topic in admin.list_topics(timeout=timeout_s).topics:
        return
    future = admin.create_topics([NewTopic(topic, 1, 1, config={"cleanup.policy": "compact"})])[topic]
    try:
        future.result(timeout=timeout_s)
    except KafkaException as error:
        if "TOPIC_ALREADY_EXISTS" not in str(error):
            raise PublishError(f"cannot create topic {topic}: {error}") from error


def read_published(bootstrap_servers: str, registry: RegistryClient, topic: str, prefix: str,
                   timeout_s: float = 60.0) -> dict[str, dict]:
    """entry_id -> record of the list in force on ``topic`` (see the module doc)."""
    decoder = ReferenceDecoder(registry, prefix)
    consumer = Consumer({"bootstrap.servers": bootstrap_servers, "group.id": f"feblam-ref-{uuid.uuid4().hex}",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    try:
        # All topics, not this one: asking for one by name may auto-create it, uncompacted.
        metadata = consumer.list_topics(timeout=timeout_s).topics.get(topic)
        if metadata is None or metadata.error is not None:
            return {}
        ends = {}
        for partition in metadata.partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=timeout_s)
            if high > low:
                ends[partition] = high
        if not ends:
            return {}
        consumer.assign([TopicPartition(topic, p, 0) for p in ends])
        entries: dict[str, dict] = {}
        deadline = time.monotonic() + timeout_s
        while ends:
            if time.monotonic() > deadline:
                raise PublishError(f"{topic}: not read to its end offsets within {timeout_s:.0f} s")
            message = consumer.poll(0.5)
            if message is None or message.error():
                # Offsets without a record (transaction markers) never arrive: go by position.
                for position in consumer.position([TopicPartition(topic, p) for p in list(ends)]):
                    if position.offset >= ends[position.partition]:
                        ends.pop(position.partition, None)
                continue
            record = decoder.entry(topic, message.key(), message.value())
            entry_id = (message.key() or b"").decode("utf-8")
            if record.get("op") == "DELETE":
                entries.pop(entry_id, None)
            else:
                entries[entry_id] = record
            if message.offset() + 1 >= ends.get(message.partition(), 0):
                ends.pop(message.partition(), None)
        return entries
    finally:
        consumer.close()


def publish(bootstrap_servers: str, registry: RegistryClient, topic: str, changes: Diff,
            timeout_s: float = 60.0) -> None:
    """Write ``changes`` to ``topic``: upserts as Avro records, deletes as tombstones."""
    if not changes:
        return
    register(registry, topic, "ReferenceEntry")
    encoder = AvroEncoder(registry, subject(topic), schemas.load("ReferenceEntry"))
    producer = Producer({"bootstrap.servers": bootstrap_servers, "enable.idempotence": True,
                         "acks": "all", "linger.ms": 5})
    failures: list[str] = []

    def delivered(error, message) -> None:
        if error is not None:
            failures.append(f"{message.key()!r}: {error}")

    for record in changes.upserts:
        producer.produce(topic, key=record["entry_id"].encode("utf-8"), value=encoder.encode(record),
                         on_delivery=delivered)
        producer.poll(0)
    for entry_id in changes.deletes:
        producer.produce(topic, key=entry_id.encode("utf-8"), value=None, on_delivery=delivered)
        producer.poll(0)
    left = producer.flush(timeout_s)
    if left or failures:
        raise PublishError(f"{topic}: {left} updates not acknowledged, {len(failures)} refused: "
                           + "; ".join(failures[:5]))
