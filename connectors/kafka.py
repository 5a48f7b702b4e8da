"""Kafka in and out of Flink, bytes untouched, and the offsets the start-up rule needs.

`record_source` yields every record as a Row(topic, partition, offset,
timestamp, key, value), tombstones included; `record_batches` and
`batched_by_subtask` gather them into batches for a Python step, which
`batch_records` splits again; `record_sink` writes Rows of (topic, key, value).
They use the small Java classes of maven/flink-records, since PyFlink's own
Kafka builders only handle value-only strings. `startup_positions` and
`replay` ask the broker directly (spec §8 at start-up, and a restore);
`KafkaFeed` offers them to the job as `connectors.files.FileFeed` offers the
reference files.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pyflink.common import Types
from pyflink.datastream import DataStream, KeyedStream
from pyflink.datastream.connectors.base import DeliveryGuarantee
from pyflink.datastream.connectors.kafka import (
    KafkaOffsetResetStrategy,
    KafkaOffsetsInitializer,
    KafkaSink,
    KafkaSource,
    KafkaTopicPartition,
)
from pyflink.java_gateway import get_gateway

from connectors.kafka_clients import client_config
from connectors.kafka_security import KafkaSecurity
from udfs.startup import StartupPositions

BYTES = Types.PRIMITIVE_ARRAY(Types.BYTE())
RECORD_TYPE = Types.ROW_NAMED(
    ["topic", "partition", "offset", "timestamp", "key", "value"],
    [Types.STRING(), Types.INT(), Types.LONG(), Types.LONG(), BYTES, BYTES],
)
OUTGOING_TYPE = Types.ROW_NAMED(["topic", "key", "value"], [Types.STRING(), BYTES, BYTES])
# What org.feblam.flink.SubtaskBatches makes of records: one topic, then per record its
# partition, offset, key length and value length (-1 for none: a tombstone), the keys
# and the values each concatenated. `batch_records` splits it again.
RECORD_BATCH_TYPE = Types.ROW_NAMED(
    ["topic", "partitions", "offsets", "key_lengths", "keys", "lengths", "values"],
    [Types.STRING(), Types.PRIMITIVE_ARRAY(Types.INT()), Types.PRIMITIVE_ARRAY(Types.LONG()),
     Types.PRIMITIVE_ARRAY(Types.INT()), BYTES, Types.PRIMITIVE_ARRAY(Types.INT()), BYTES],
)


def record_source(bootstrap_servers: str, group_id: str, *, topics: list[str] | None = None,
                  pattern: str | None = None, start_at: dict[tuple[str, int], int] | None = None,
                  properties: dict[str, str] | None = None) -> KafkaSource:
    """An unbounded source of every record of `topics` (or of the topics matching
    `pattern`, new ones included). A fresh start begins at the group's committed
    offsets (the earliest where it has none), or at the earliest offsets when
    at `start_at` (offsets by (topic, partition); a partition it does not name, such as
    one of a topic made later, from its earliest offset). On restore from a
    checkpoint or savepoint, the offsets in it win.

    The Kafka security settings (`KafkaSecurity.resolve` for `bootstrap_servers`:
    the secured local stack's, or FEBLAM_KAFKA_*) become Java client properties
    here, when the job is built; `properties` may override them."""
    if (topics is None) == (pattern is None):
        raise ValueError("give exactly one of topics and pattern")
    builder = (
        KafkaSource.builder()
        .set_bootstrap_servers(bootstrap_servers)
        .set_group_id(group_id)
        .set_starting_offsets(
            KafkaOffsetsInitializer.offsets({KafkaTopicPartition(t, p): o for (t, p), o in start_at.items()},
                                            KafkaOffsetResetStrategy.EARLIEST) if start_at is not None
            else KafkaOffsetsInitializer.committed_offsets(KafkaOffsetResetStrategy.EARLIEST)
        )
    )
    if pattern is not None:
        builder.set_topic_pattern(pattern)
        # New reference lists appear as new topics: look for them every 30 s.
        builder.set_property("partition.discovery.interval.ms", "30000")
    else:
        builder.set_topics(*topics)
    for key, value in _with_security(bootstrap_servers, properties).items():
        builder.set_property(key, value)
    builder._j_builder.setDeserializer(get_gateway().jvm.org.feblam.flink.KafkaRecordWithPosition())
    return builder.build()


def record_batches(stream: DataStream, max_records: int, max_delay_ms: int, uid: str) -> DataStream:
    """The records of `stream` (RECORD_TYPE) as Row(key, RECORD_BATCH_TYPE), gathered
    by org.feblam.flink.SubtaskBatches (operator `uid`), chained to the source at its parallelism. A
    batch closes at `max_records`, after `max_delay_ms`, and before every checkpoint
    barrier; `key` is one Flink places on the subtask that made the batch."""
    jvm = get_gateway().jvm
    batches = stream._j_data_stream.transform(
        "batches", Types.ROW([Types.INT(), RECORD_BATCH_TYPE]).get_java_type_info(),
        jvm.org.feblam.flink.SubtaskBatches(max_records, max_delay_ms))
    batches.setParallelism(stream._j_data_stream.getParallelism()).uid(uid).name(uid)
    return DataStream(batches)


def batched_by_subtask(stream: DataStream, max_records: int, max_delay_ms: int, uid: str) -> KeyedStream:
    """`record_batches`, keyed so that each batch stays on the subtask that read it (no
    record crosses to another subtask). The keyed form is PyFlink's own (Row(key,
    batch), key in field 0), so PyFlink's keyed operators take it as if `key_by` had
    made it."""
    return keyed_by_first_field(record_batches(stream, max_records, max_delay_ms, uid), RECORD_BATCH_TYPE)


def keyed_by_first_field(stream: DataStream, value_type) -> KeyedStream:
    """A stream of Row(int key, value) keyed by its key in Java (PyFlink's own
    KeyByKeySelector): PyFlink's keyed operators get `value` (of `value_type`) as if
    `key_by` had made the stream, without the Python step `key_by` puts in front."""
    keyed = stream._j_data_stream.keyBy(
        get_gateway().jvm.org.apache.flink.streaming.api.functions.python.KeyByKeySelector(),
        Types.ROW([Types.INT()]).get_java_type_info())
    return KeyedStream(keyed, value_type, stream)


def batch_records(batch) -> Iterator[tuple[str, int, int, bytes | None, bytes | None]]:
    """The records of one RECORD_BATCH_TYPE batch, in order, as (topic, partition,
    offset, key, value); None for a missing key or value."""
    topic, partitions, offsets, key_lengths, keys, lengths, values = batch
    key_at = value_at = 0
    for partition, offset, key_length, length in zip(partitions, offsets, key_lengths, lengths):
        key = value = None
        if key_length >= 0:
            key = keys[key_at:key_at + key_length]
            key_at += key_length
        if length >= 0:
            value = values[value_at:value_at + length]
            value_at += length
        yield topic, partition, offset, key, value


def record_sink(bootstrap_servers: str, properties: dict[str, str] | None = None) -> KafkaSink:
    """A sink of Rows (topic, key, value), at least once: each record is acknowledged
    by the broker before the checkpoint that covers it completes. Security as for
    `record_source`."""
    builder = (
        KafkaSink.builder()
        .set_bootstrap_servers(bootstrap_servers)
        .set_delivery_guarantee(DeliveryGuarantee.AT_LEAST_ONCE)
        .set_property("linger.ms", "5")
    )
    for key, value in _with_security(bootstrap_servers, properties).items():
        builder.set_property(key, value)
    builder._j_builder.setRecordSerializer(get_gateway().jvm.org.feblam.flink.KafkaRecordFromRow())
    return builder.build()


# flink-sql-connector-kafka (var/lib/flink-jars) relocates the Kafka client here; a
# JAAS login module must be named by its relocated class.
SHADED_KAFKA_PACKAGE = "org.apache.flink.kafka.shaded.org.apache.kafka"


def _with_security(bootstrap_servers: str, properties: dict[str, str] | None) -> dict[str, str]:
    # The password travels inside the job graph's serialized source or sink (as
    # sasl.jaas.config, which Kafka's clients log as [hidden]), never as a job
    # argument, which `ps` and Flink's web UI would show.
    security = KafkaSecurity.resolve(bootstrap_servers).java_properties(SHADED_KAFKA_PACKAGE)
    return {**security, **(properties or {})}


def startup_positions(bootstrap_servers: str, pattern: str, timeout_s: float = 30.0,
                      security: KafkaSecurity | None = None) -> StartupPositions:
    """Ask the broker for the low and high watermarks of every partition of the
    topics matching `pattern` (anchored). `security`: as `client_config` takes it."""
    from confluent_kafka import Consumer, TopicPartition

    regex = re.compile(pattern)
    consumer = Consumer(client_config({"bootstrap.servers": bootstrap_servers, "group.id": "feblam-startup-positions",
                                       "enable.auto.commit": False}, security))
    try:
        metadata = consumer.list_topics(timeout=timeout_s)
        starts, ends = {}, {}
        for name, topic in metadata.topics.items():
            if not regex.fullmatch(name):
                continue
            for partition in topic.partitions:
                low, high = consumer.get_watermark_offsets(TopicPartition(name, partition), timeout=timeout_s)
                starts[(name, partition)] = low
                ends[(name, partition)] = high
        return StartupPositions(ends, starts)
    finally:
        consumer.close()


def replay(bootstrap_servers: str, upto: dict[tuple[str, int], int], timeout_s: float = 600.0,
           security: KafkaSecurity | None = None) -> Iterator[tuple[str, int, int, bytes | None, bytes | None]]:
    """Every record of each (topic, partition) of `upto` from the earliest offset
    still in the log up to and including the offset given for it, in order within a
    partition, as (topic, partition, offset, key, value). A partition whose log
    ends, or whose records jump past the offset (compaction), is done there.
    Raises TimeoutError when the broker has not delivered them within `timeout_s`.
    `security`: as `client_config` takes it."""
    if not upto:
        return
    consumer = _consumer_from_start(bootstrap_servers, "feblam-replay", list(upto), security)
    try:
        yield from _read_upto(consumer, upto, timeout_s, "replay", beyond=False)
    finally:
        consumer.close()


def _consumer_from_start(bootstrap_servers: str, group_id: str, partitions: list[tuple[str, int]],
                         security: KafkaSecurity | None = None):
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    consumer = Consumer(client_config({"bootstrap.servers": bootstrap_servers, "group.id": group_id,
                                       "enable.auto.commit": False, "enable.partition.eof": True}, security))
    consumer.assign([TopicPartition(topic, partition, OFFSET_BEGINNING) for topic, partition in partitions])
    return consumer


def _read_upto(consumer, upto: dict[tuple[str, int], int], timeout_s: float, what: str, beyond: bool,
               ) -> Iterator[tuple[str, int, int, bytes | None, bytes | None]]:
    """`messages_upto`'s messages as (topic, partition, offset, key, value)."""
    for message in messages_upto(consumer, upto, timeout_s, what, beyond):
        yield message.topic(), message.partition(), message.offset(), message.key(), message.value()


def messages_upto(consumer, upto: dict[tuple[str, int], int], timeout_s: float, what: str, beyond: bool = False):
    """The messages of `consumer`'s partitions until each partition of `upto` has given
    the offset named for it (or ended). With `beyond`, messages past those offsets, and
    those of partitions not in `upto`, are given too; without, they are dropped. The
    consumer needs `enable.partition.eof`. TimeoutError names the partitions not done
    after `timeout_s`; `what` names the reading in errors."""
    import time

    from confluent_kafka import KafkaError

    remaining = set(upto)
    deadline = time.monotonic() + timeout_s
    while remaining:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} of {sorted(remaining)} not done after {timeout_s:.0f} s")
        for message in consumer.consume(1000, timeout=1.0):
            tp = (message.topic(), message.partition())
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    remaining.discard(tp)
                    continue
                raise RuntimeError(f"{what} of {tp}: {error}")
            if tp not in upto or message.offset() > upto[tp]:
                remaining.discard(tp)
                if beyond:
                    yield message
                continue
            yield message
            if message.offset() >= upto[tp]:
                remaining.discard(tp)


class TopicFollower:
    """The records of the topics matching `pattern` (anchored), for a step that keeps a
    small table of them in memory (the gateway's cameras and configuration): `load()`
    gives every record up to the ends the topics have now, in order within a
    partition; then `poll()` gives those appended since, without waiting. Partitions
    that appear later are not followed. Not thread-safe; `close()` when done."""

    def __init__(self, bootstrap_servers: str, pattern: str):
        self.bootstrap_servers = bootstrap_servers
        self.pattern = pattern
        self._consumer = None

    def load(self, timeout_s: float = 600.0) -> Iterator[tuple[str, int, int, bytes | None, bytes | None]]:
        ends = startup_positions(self.bootstrap_servers, self.pattern)
        self._consumer = _consumer_from_start(self.bootstrap_servers, "feblam-follower", list(ends.ends))
        yield from _read_upto(self._consumer, ends.last_positions(), timeout_s, "load", beyond=True)

    def poll(self, max_records: int = 1000) -> list[tuple[str, int, int, bytes | None, bytes | None]]:
        """The records appended since the last call (or the load), at most `max_records`."""
        return [(m.topic(), m.partition(), m.offset(), m.key(), m.value())
                for m in self._consumer.consume(max_records, timeout=0) if m.error() is None]

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None


class KafkaFeed:
    """The reference and camera topics of the job (those matching `pattern`), as the
    match step sees them: their ends now (spec §8), and their records again up to a
    checkpoint's positions after a restore.

    The feed is built with the job and read on the taskmanagers: it resolves its
    security settings where it is built (file paths, no password: see
    connectors.kafka_security), so its consumers there are the job's Kafka user,
    as its Java source and sink are, not whatever a taskmanager's environment says."""

    def __init__(self, bootstrap_servers: str, pattern: str):
        self.bootstrap_servers = bootstrap_servers
        self.pattern = pattern
        self.security = KafkaSecurity.resolve(bootstrap_servers)

    def ends(self) -> StartupPositions:
        return startup_positions(self.bootstrap_servers, self.pattern, security=self.security)

    def replay(self, upto: dict[tuple[str, int], int]) -> Iterator[tuple[str, int, int, bytes | None, bytes | None]]:
        return replay(self.bootstrap_servers, upto, security=self.security)
