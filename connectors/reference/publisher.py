"""The published list on its compacted topic: read it back, and write updates to it.

``read_published`` consumes the topic from the beginning to the end offsets it
has when called and keeps the latest value per key; a tombstone (or a DELETE
record) removes the key. That is the list in force as the job sees it, so the
diff is taken against the truth, not against a local copy.
``publish`` writes UPSERT records (Avro, Confluent wire format, ReferenceEntry
registered under ``<topic>-value`` if it is not there yet; the BACKWARD rule is
``feblam schemas apply``'s) and tombstones, key = entry_id, and waits until
Kafka acknowledged every one of them (``PublishError`` otherwise).
"""

from __future__ import annotations

import re

from confluent_kafka import Producer

from connectors.contracts import REFERENCE_CONTRACT, ReferenceDecoder, encoder
from udfs.reference import InvalidEntry
from connectors.kafka_reading import replay, startup_positions
from connectors.kafka_clients import client_config
from connectors.reference.diff import Diff
from connectors.registry import RegistryClient
from connectors.topics import COMPACTED, TopicError, TopicSpec, ensure_topics


class PublishError(RuntimeError):
    """Kafka refused or did not acknowledge an update, or the topic cannot be read."""


def ensure_topic(bootstrap_servers: str, topic: str, timeout_s: float = 30.0) -> None:
    """Create ``topic`` as a compacted topic when it does not exist."""
    try:
        ensure_topics(bootstrap_servers, {topic: TopicSpec(config=COMPACTED)}, timeout_s)
    except TopicError as error:
        raise PublishError(str(error)) from error


def read_published(bootstrap_servers: str, registry: RegistryClient, topic: str, prefix: str,
                   timeout_s: float = 60.0) -> dict[str, dict]:
    """entry_id -> record of the list in force on ``topic`` (see the module doc)."""
    # The same reads as a restored job's (connectors.kafka_reading): its end offsets now, then
    # every record up to them.
    positions = startup_positions(bootstrap_servers, re.escape(topic), timeout_s)
    upto = {tp: end - 1 for tp, end in positions.ends.items() if end > positions.starts.get(tp, 0)}
    decoder = ReferenceDecoder(registry, prefix)
    entries: dict[str, dict] = {}
    try:
        for _, _, _, key, value in replay(bootstrap_servers, upto, timeout_s):
            try:
                record = decoder.entry(topic, key, value)
            except InvalidEntry:
                continue   # the job refuses it too: not in force
            entry_id = (key or b"").decode("utf-8")
            if record.get("op") == "DELETE":
                entries.pop(entry_id, None)
            else:
                entries[entry_id] = record
    except TimeoutError as error:
        raise PublishError(f"{topic}: not read to its end offsets within {timeout_s:.0f} s") from error
    return entries


def publish(bootstrap_servers: str, registry: RegistryClient, topic: str, changes: Diff,
            timeout_s: float = 60.0) -> None:
    """Write ``changes`` to ``topic``: upserts as Avro records, deletes as tombstones."""
    if not changes:
        return
    entries = encoder(registry, topic, REFERENCE_CONTRACT, register=True)
    producer = Producer(client_config({"bootstrap.servers": bootstrap_servers, "enable.idempotence": True,
                                       "acks": "all", "linger.ms": 5}))
    failures: list[str] = []

    def delivered(error, message) -> None:
        if error is not None:
            failures.append(f"{message.key()!r}: {error}")

    for record in changes.upserts:
        producer.produce(topic, key=record["entry_id"].encode("utf-8"), value=entries.encode(record),
                         on_delivery=delivered)
        producer.poll(0)
    for entry_id in changes.deletes:
        producer.produce(topic, key=entry_id.encode("utf-8"), value=None, on_delivery=delivered)
        producer.poll(0)
    left = producer.flush(timeout_s)
    if left or failures:
        raise PublishError(f"{topic}: {left} updates not acknowledged, {len(failures)} refused: "
                           + "; ".join(failures[:5]))
