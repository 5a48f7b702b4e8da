"""Kafka in and out of Flink, bytes untouched, and the offsets the start-up rule needs.

`record_source` yields every record as a Row(topic, partition, offset,
timestamp, key, value), tombstones included; `record_batches` and
`batched_by_subtask` gather them into batches for a Python step, which
`batch_records` splits again; `record_sink` writes Rows of (topic, key, value).
They use the small Java classes of maven/flink-records, since PyFlink's own
Kafka builders only handle value-only strings. What asks the broker directly,
with no Flink (start-up positions, replays, followers), is in
`connectors.kafka_reading`.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from typing import TYPE_CHECKING

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

from connectors.kafka_security import KafkaSecurity

if TYPE_CHECKING:
    from connectors.read_fields import ReadFieldsSpec

BYTES = Types.PRIMITIVE_ARRAY(Types.BYTE())
RECORD_TYPE = Types.ROW_NAMED(
    ["topic", "partition", "offset", "timestamp", "key", "value"],
    [Types.STRING(), Types.INT(), Types.LONG(), Types.LONG(), BYTES, BYTES],
)
OUTGOING_TYPE = Types.ROW_NAMED(["topic", "key", "value"], [Types.STRING(), BYTES, BYTES])
# What org.feblam.flink.SubtaskBatches makes of records: one topic, then per record its
# partition, offset, key length and value length (-1 for none: a tombstone), the keys
# and the values each concatenated. `batch_records` splits it again. `decoded` is the
# pickled list of the values' reads, decoded in Java (`connectors.read_fields`), when
# the batches were made with a ReadFields; empty otherwise.
RECORD_BATCH_TYPE = Types.ROW_NAMED(
    ["topic", "partitions", "offsets", "key_lengths", "keys", "lengths", "values", "decoded"],
    [Types.STRING(), Types.PRIMITIVE_ARRAY(Types.INT()), Types.PRIMITIVE_ARRAY(Types.LONG()),
     Types.PRIMITIVE_ARRAY(Types.INT()), BYTES, Types.PRIMITIVE_ARRAY(Types.INT()), BYTES, BYTES],
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


def record_batches(stream: DataStream, max_records: int, max_delay_ms: int, uid: str,
                   read_fields: ReadFieldsSpec | None = None) -> DataStream:
    """The records of `stream` (RECORD_TYPE) as Row(key, RECORD_BATCH_TYPE), gathered
    by org.feblam.flink.SubtaskBatches (operator `uid`), chained to the source at its parallelism. A
    batch closes at `max_records`, after `max_delay_ms`, and before every checkpoint
    barrier; `key` is one Flink places on the subtask that made the batch. With
    `read_fields`, its values are also decoded in Java (`decoded`, see `decoded_reads`)."""
    jvm = get_gateway().jvm
    batches = stream._j_data_stream.transform(
        "batches", Types.ROW([Types.INT(), RECORD_BATCH_TYPE]).get_java_type_info(),
        jvm.org.feblam.flink.SubtaskBatches(max_records, max_delay_ms,
                                            read_fields.java() if read_fields is not None else None))
    batches.setParallelism(stream._j_data_stream.getParallelism()).uid(uid).name(uid)
    return DataStream(batches)


def batched_by_subtask(stream: DataStream, max_records: int, max_delay_ms: int, uid: str,
                       read_fields: ReadFieldsSpec | None = None) -> KeyedStream:
    """`record_batches`, keyed so that each batch stays on the subtask that read it (no
    record crosses to another subtask). The keyed form is PyFlink's own (Row(key,
    batch), key in field 0), so PyFlink's keyed operators take it as if `key_by` had
    made it."""
    return keyed_by_first_field(record_batches(stream, max_records, max_delay_ms, uid, read_fields),
                                RECORD_BATCH_TYPE)


def keyed_by_first_field(stream: DataStream, value_type, key_type=None) -> KeyedStream:
    """A stream of Row(key, value) keyed by its key (of `key_type`, INT unless told)
    in Java (PyFlink's own KeyByKeySelector): PyFlink's keyed operators get `value`
    (of `value_type`) as if `key_by` had made the stream, without the Python step
    `key_by` puts in front, and with the same key serializer."""
    keyed = stream._j_data_stream.keyBy(
        get_gateway().jvm.org.apache.flink.streaming.api.functions.python.KeyByKeySelector(),
        Types.ROW([key_type or Types.INT()]).get_java_type_info())
    return KeyedStream(keyed, value_type, stream)


def spread_keys(count: int, max_parallelism: int) -> list[int]:
    """`count` keys for `keyed_by_first_field` (INT), the i-th in the key group at the
    middle of the i-th of `count` equal slices of the `max_parallelism` key groups.
    Flink gives each subtask of a keyed step a range of key groups, so a step of
    that max parallelism whose parallelism divides `count` gets count / parallelism
    of these keys on each subtask, and at any other parallelism no subtask gets
    more than one key more than another. The keys 0..count-1 land where Flink's
    hash puts them: sixteen of them fall 11 and 5 on two subtasks and 3, 8, 1 and 4
    on four. Found with Flink's own assignment (`KeyGroupRangeAssignment`), where
    the job is built."""
    if not 1 <= count <= max_parallelism:
        raise ValueError(f"{count} keys cannot each have a key group of their own out of {max_parallelism}")
    jvm = get_gateway().jvm
    key_group = jvm.org.apache.flink.runtime.state.KeyGroupRangeAssignment.assignToKeyGroup
    wanted = {(2 * i + 1) * max_parallelism // (2 * count): i for i in range(count)}
    keys, k = [0] * count, 0
    while wanted:
        row = jvm.org.apache.flink.types.Row(1)   # the key KeyByKeySelector makes of Row(k, ...)
        row.setField(0, k)
        i = wanted.pop(key_group(row, max_parallelism), None)
        if i is not None:
            keys[i] = k
        k += 1
    return keys


def batch_records(batch) -> Iterator[tuple[str, int, int, bytes | None, bytes | None]]:
    """The records of one RECORD_BATCH_TYPE batch, in order, as (topic, partition,
    offset, key, value); None for a missing key or value."""
    topic, partitions, offsets, key_lengths, keys, lengths, values = batch[:7]
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


def decoded_reads(batch) -> list[dict | None] | None:
    """The reads of one batch as Java decoded them (`connectors.read_fields`), one per
    record in order, None for a record left to Python; None when the batch has none."""
    decoded = batch[7]
    if not decoded:
        return None
    reads = pickle.loads(decoded)   # made by org.feblam.flink.ReadFields in this job, never from outside
    if len(reads) != len(batch[1]):
        raise ValueError(f"a batch of {len(batch[1])} records came with {len(reads)} decoded reads")
    return reads


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
