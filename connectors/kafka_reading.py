"""Kafka read directly, with confluent-kafka and no Flink: what the jobs' steps, the
admin commands and the console ask the broker themselves.

`startup_positions` and `replay` serve spec §8 at start-up and a restore;
`KafkaFeed` offers them to the job as `connectors.files.FileFeed` offers the
reference files; `TopicFollower` keeps a small table of a few topics in memory
(the gateway's cameras and configuration, the console's boards);
`messages_upto` reads a consumer's partitions up to given offsets.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from connectors.kafka_clients import client_config
from connectors.kafka_security import KafkaSecurity
from udfs.startup import StartupPositions


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
           security: KafkaSecurity | None = None, since: dict[tuple[str, int], int] | None = None,
           ) -> Iterator[tuple[str, int, int, bytes | None, bytes | None]]:
    """Every record of each (topic, partition) of `upto` from the earliest offset
    still in the log (or from the one after the offset `since` gives it) up to and
    including the offset given for it, in order within a partition, as (topic,
    partition, offset, key, value). A partition whose log ends, or whose records
    jump past the offset (compaction), is done there. Raises TimeoutError when the
    broker has not delivered them within `timeout_s`. `security`: as
    `client_config` takes it."""
    since = since or {}
    upto = {tp: last for tp, last in upto.items() if last > since.get(tp, -1)}
    if not upto:
        return
    consumer = _consumer_from_start(bootstrap_servers, "feblam-replay", list(upto), security, since)
    try:
        yield from _read_upto(consumer, upto, timeout_s, "replay", beyond=False)
    finally:
        consumer.close()


def _consumer_from_start(bootstrap_servers: str, group_id: str, partitions: list[tuple[str, int]],
                         security: KafkaSecurity | None = None, since: dict[tuple[str, int], int] | None = None):
    """A consumer of `partitions` from their start, or from after the offset `since` gives."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    since = since or {}
    consumer = Consumer(client_config({"bootstrap.servers": bootstrap_servers, "group.id": group_id,
                                       "enable.auto.commit": False, "enable.partition.eof": True}, security))
    consumer.assign([TopicPartition(topic, partition, since[(topic, partition)] + 1 if (topic, partition) in since
                                    else OFFSET_BEGINNING) for topic, partition in partitions])
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
    small table of them in memory (the gateway's cameras and configuration, the
    console's boards): `load()` gives every record up to the ends the topics have
    now, in order within a partition; then `poll()` gives those appended since.
    Partitions that appear later are not followed. Not thread-safe; `close()` when done."""

    def __init__(self, bootstrap_servers: str, pattern: str):
        self.bootstrap_servers = bootstrap_servers
        self.pattern = pattern
        self._consumer = None

    def load(self, timeout_s: float = 600.0, skip: Callable[[str], bool] = lambda topic: False,
             ) -> Iterator[tuple[str, int, int, bytes | None, bytes | None]]:
        """The records up to the ends; a topic for which `skip(topic)` holds is followed
        from its end instead: only what `poll()` gives of it later."""
        from confluent_kafka import TopicPartition

        ends = startup_positions(self.bootstrap_servers, self.pattern)
        loaded = {tp: offset for tp, offset in ends.last_positions().items() if not skip(tp[0])}
        self._consumer = _consumer_from_start(self.bootstrap_servers, "feblam-follower",
                                              [tp for tp in ends.ends if not skip(tp[0])])
        for (topic, partition), end in ends.ends.items():
            if skip(topic):
                self._consumer.incremental_assign([TopicPartition(topic, partition, end)])
        yield from _read_upto(self._consumer, loaded, timeout_s, "load", beyond=True)

    def poll(self, max_records: int = 1000, wait_s: float = 0.0,
             ) -> list[tuple[str, int, int, bytes | None, bytes | None]]:
        """The records appended since the last call (or the load), at most `max_records`,
        waiting up to `wait_s` for the first."""
        # consume() with a timeout waits for all of max_records or the whole timeout; a
        # follower wants the first record as soon as it is there, then what else is.
        first = self._consumer.poll(wait_s) if wait_s > 0 else None
        messages = [first] if first is not None else []
        messages += self._consumer.consume(max_records - len(messages), timeout=0)
        return [(m.topic(), m.partition(), m.offset(), m.key(), m.value()) for m in messages if m.error() is None]

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

    def replay(self, upto: dict[tuple[str, int], int], since: dict[tuple[str, int], int] | None = None,
               ) -> Iterator[tuple[str, int, int, bytes | None, bytes | None]]:
        """The records up to `upto`, each partition from after the offset `since` gives
        it (a snapshot's), else from its start."""
        return replay(self.bootstrap_servers, upto, security=self.security, since=since)
