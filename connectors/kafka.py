"""Kafka in and out of Flink, bytes untouched, and the offsets the start-up rule needs.

`record_source` yields every record as a Row(topic, partition, offset,
timestamp, key, value), tombstones included; `record_sink` writes Rows of
(topic, key, value). Both use the small Java classes of maven/flink-records,
since PyFlink's own Kafka builders only handle value-only strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pyflink.common import Types
from pyflink.datastream.connectors.base import DeliveryGuarantee
from pyflink.datastream.connectors.kafka import KafkaOffsetResetStrategy, KafkaOffsetsInitializer, KafkaSink, KafkaSource
from pyflink.java_gateway import get_gateway

BYTES = Types.PRIMITIVE_ARRAY(Types.BYTE())
RECORD_TYPE = Types.ROW_NAMED(
    ["topic", "partition", "offset", "timestamp", "key", "value"],
    [Types.STRING(), Types.INT(), Types.LONG(), Types.LONG(), BYTES, BYTES],
)
OUTGOING_TYPE = Types.ROW_NAMED(["topic", "key", "value"], [Types.STRING(), BYTES, BYTES])


def record_source(bootstrap_servers: str, group_id: str, *, topics: list[str] | None = None,
                  pattern: str | None = None, from_earliest: bool = False,
                  properties: dict[str, str] | None = None) -> KafkaSource:
    """An unbounded source of every record of `topics` (or of the topics matching
    `pattern`, new ones included). A fresh start begins at the group's committed
    offsets (the earliest where it has none), or at the earliest offsets when
    `from_earliest` (a reference list is always loaded whole). On restore from a
    checkpoint or savepoint, the offsets in it win."""
    if (topics is None) == (pattern is None):
        raise ValueError("give exactly one of topics and pattern")
    builder = (
        KafkaSource.builder()
        .set_bootstrap_servers(bootstrap_servers)
        .set_group_id(group_id)
        .set_starting_offsets(
            KafkaOffsetsInitializer.earliest() if from_earliest
            else KafkaOffsetsInitializer.committed_offsets(KafkaOffsetResetStrategy.EARLIEST)
        )
    )
    if pattern is not None:
        builder.set_topic_pattern(pattern)
        # New reference lists appear as new topics: look for them every 30 s.
        builder.set_property("partition.discovery.interval.ms", "30000")
    else:
        builder.set_topics(*topics)
    for key, value in (properties or {}).items():
        builder.set_property(key, value)
    builder._j_builder.setDeserializer(get_gateway().jvm.org.feblam.flink.KafkaRecordWithPosition())
    return builder.build()


def record_sink(bootstrap_servers: str, properties: dict[str, str] | None = None) -> KafkaSink:
    """A sink of Rows (topic, key, value), at least once: each record is acknowledged
    by the broker before the checkpoint that covers it completes."""
    builder = (
        KafkaSink.builder()
        .set_bootstrap_servers(bootstrap_servers)
        .set_delivery_guarantee(DeliveryGuarantee.AT_LEAST_ONCE)
        .set_property("linger.ms", "5")
    )
    for key, value in (properties or {}).items():
        builder.set_property(key, value)
    builder._j_builder.setRecordSerializer(get_gateway().jvm.org.feblam.flink.KafkaRecordFromRow())
    return builder.build()


@dataclass(frozen=True)
class StartupPositions:
    """Where each partition of the reference and camera topics started and ended when the
    job started (spec §8): reads wait until every partition has been consumed up to its end."""

    ends: dict[tuple[str, int], int]
    starts: dict[tuple[str, int], int] = field(default_factory=dict)

    def reached(self, seen: dict[tuple[str, int], int]) -> bool:
        """True when the record before each partition's end offset has been seen.
        A partition that was empty (start == end) needs nothing."""
        return all(seen.get(tp, -1) >= end - 1 for tp, end in self.ends.items() if end > self.starts.get(tp, 0))


def startup_positions(bootstrap_servers: str, pattern: str, timeout_s: float = 30.0) -> StartupPositions:
    """Ask the broker for the low and high watermarks of every partition of the
    topics matching `pattern` (anchored)."""
    from confluent_kafka import Consumer, TopicPartition

    regex = re.compile(pattern)
    consumer = Consumer({"bootstrap.servers": bootstrap_servers, "group.id": "feblam-startup-positions",
                         "enable.auto.commit": False})
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
