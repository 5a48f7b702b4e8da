"""Kafka to Kafka: vendor topics through a topic connector to the reads and dead-letter topics.

At least once: consumed offsets are committed only after every record
produced from the messages before them has been acknowledged (a flush), every
`commit_interval_s`, when partitions are taken away by a rebalance, and at the
stop. A crash repeats what was produced since the last commit; the reads carry
their `read_id`, and the hit job's identities are derived from it (spec §9).
"""

from __future__ import annotations

import sys
import threading
import time

from connectors.kafka_clients import client_config
from connectors.sources.base import ReadConnector, RejectedPayload
from connectors.sources.canonical import canonical_read
from ingest.counters import IngestCounters, Progress
from ingest.loop import IngestLoop
from ingest.settings import IngestSettings
from ingest.writer import CanonicalWriter, SourcePosition
from udfs.validation import MALFORMED

BATCH = 500


def _stopping_errors() -> frozenset:
    from confluent_kafka import KafkaError

    # What waiting does not cure: a topic that does not exist, or that this process may not read.
    return frozenset({KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError.TOPIC_AUTHORIZATION_FAILED,
                      KafkaError.GROUP_AUTHORIZATION_FAILED})


STOPPING_ERRORS = _stopping_errors()


class TopicIngest(IngestLoop):
    def __init__(self, settings: IngestSettings, connector: ReadConnector, writer: CanonicalWriter,
                 counters: IngestCounters, progress: Progress, stop: threading.Event):
        from confluent_kafka import Consumer

        super().__init__(settings, connector, writer, counters, progress, stop)
        self.consumer = Consumer(client_config({
            "bootstrap.servers": settings.bootstrap_servers,
            "group.id": settings.consumer_group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "enable.partition.eof": True,
        }))
        self._pending: dict[tuple[str, int], int] = {}  # next offset to commit, per partition
        self._assigned: set[tuple[str, int]] = set()
        self._at_end: set[tuple[str, int]] = set()
        self._ever_assigned = False
        self._failed = False  # after a failure nothing is committed, not even by a rebalance

    # Rebalances: commit what was done before a partition goes to another process.
    def _on_assign(self, consumer, partitions) -> None:
        self._assigned |= {(p.topic, p.partition) for p in partitions}
        self._ever_assigned = True

    def _on_revoke(self, consumer, partitions) -> None:
        if not self._failed:
            self.commit()
        gone = {(p.topic, p.partition) for p in partitions}
        self._assigned -= gone
        self._at_end -= gone

    def commit(self) -> None:
        if not self._pending:
            return
        from confluent_kafka import TopicPartition

        self.writer.flush()
        offsets = [TopicPartition(t, p, o) for (t, p), o in self._pending.items()]
        self.consumer.commit(offsets=offsets, asynchronous=False)
        self._pending.clear()
        self.counters.commits += 1

    def _handle(self, message) -> None:
        tp = (message.topic(), message.partition())
        position = SourcePosition(topic=tp[0], partition=tp[1], offset=message.offset())
        value = message.value()
        self.counters.payloads += 1
        try:
            if value is None:
                raise RejectedPayload(MALFORMED, "message has no value (a tombstone)", b"")
            record = canonical_read(self.connector, value)
        except RejectedPayload as rejected:
            self.writer.dead_letter(rejected, position)
        else:
            self.writer.read(record)
        self._pending[tp] = message.offset() + 1
        self._at_end.discard(tp)

    def _drained(self) -> bool:
        return self._ever_assigned and bool(self._assigned) and self._assigned <= self._at_end

    def run(self) -> None:
        from confluent_kafka import KafkaError, KafkaException

        self.consumer.subscribe(list(self.settings.topics), on_assign=self._on_assign, on_revoke=self._on_revoke)
        last_payload = last_commit = time.monotonic()
        try:
            while not self.stop.is_set():
                first = self.consumer.poll(0.2)
                # What is already fetched comes without waiting: batches under load, no delay when quiet.
                batch = [first] + self.consumer.consume(BATCH - 1, timeout=0) if first is not None else []
                for message in batch:
                    error = message.error()
                    if error is None:
                        self._handle(message)
                        last_payload = time.monotonic()
                    elif error.code() == KafkaError._PARTITION_EOF:
                        self._at_end.add((message.topic(), message.partition()))
                    elif error.fatal() or error.code() in STOPPING_ERRORS:
                        raise KafkaException(error)
                    else:  # a broker away for a while: the client reconnects by itself
                        print(f"feblam ingest: Kafka: {error.str()}", file=sys.stderr, flush=True)
                self.writer.poll()
                now = time.monotonic()
                if self._pending and now - last_commit >= self.settings.commit_interval_s:
                    self.commit()
                    last_commit = now
                self.progress.tick()
                if self.settings.once and self._drained():
                    break
                if self.settings.max_idle_s is not None and now - last_payload >= self.settings.max_idle_s:
                    break
            self.commit()
        except BaseException:
            self._failed = True
            raise
        finally:
            self.consumer.close()
