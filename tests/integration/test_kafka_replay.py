"""connectors.kafka_reading.replay on the real broker: how a restored job reads its reference
topics again up to its checkpoint's offsets."""

from __future__ import annotations

import pytest
from confluent_kafka import Producer

from connectors.kafka_reading import replay
from connectors.kafka_clients import client_config

pytestmark = pytest.mark.integration


def _produce(stack, topic: str, records: list[tuple[int, bytes, bytes | None]]) -> None:
    producer = Producer(client_config({"bootstrap.servers": stack.bootstrap_servers}))
    for partition, key, value in records:
        producer.produce(topic, key=key, value=value, partition=partition)
    assert producer.flush(30) == 0


def test_replay_stops_at_each_partitions_offset(stack, new_topic):
    topic = new_topic("replay", partitions=2)
    _produce(stack, topic, [(0, b"a", b"1"), (0, b"b", b"2"), (0, b"a", None), (0, b"c", b"4"),
                            (1, b"x", b"9"), (1, b"y", b"8")])
    got = list(replay(stack.bootstrap_servers, {(topic, 0): 2, (topic, 1): 0}, timeout_s=60))
    assert [r for r in got if r[1] == 0] == [(topic, 0, 0, b"a", b"1"), (topic, 0, 1, b"b", b"2"),
                                             (topic, 0, 2, b"a", None)]
    assert [r for r in got if r[1] == 1] == [(topic, 1, 0, b"x", b"9")]


def test_replay_ends_where_the_log_ends(stack, new_topic):
    topic = new_topic("replay-short")
    _produce(stack, topic, [(0, b"a", b"1")])
    got = list(replay(stack.bootstrap_servers, {(topic, 0): 5}, timeout_s=60))
    assert got == [(topic, 0, 0, b"a", b"1")]


def test_replay_of_nothing_reads_nothing(stack):
    assert list(replay(stack.bootstrap_servers, {})) == []
