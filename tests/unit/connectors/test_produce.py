"""`connectors.kafka_clients.produce`: a full local queue is waited out, not an error.
A fake producer is enough: this is the retry logic alone, no broker involved."""

from __future__ import annotations

import pytest

from connectors.kafka_clients import QUEUE_FULL_WAIT_S, flush_all, produce


class QueueFullTwice:
    """A Producer whose local queue is full for the first two records offered."""

    def __init__(self, full: int = 2):
        self.full = full
        self.offered: list[tuple[str, dict]] = []
        self.polls: list[float] = []
        self.produced: list[tuple[str, dict]] = []

    def produce(self, topic, **options):
        self.offered.append((topic, options))
        if self.full:
            self.full -= 1
            raise BufferError("Local: Queue full")
        self.produced.append((topic, options))

    def poll(self, timeout):
        self.polls.append(timeout)
        return 0


def test_a_full_queue_is_polled_until_the_record_is_taken():
    producer = QueueFullTwice()
    produce(producer, "reads", b"v", b"k", timestamp=1772352000000)
    assert len(producer.offered) == 3 and producer.polls == [QUEUE_FULL_WAIT_S, QUEUE_FULL_WAIT_S]
    assert producer.produced == [("reads", {"value": b"v", "key": b"k", "timestamp": 1772352000000})]


def test_headers_and_the_delivery_callback_are_passed_only_when_given():
    def delivered(error, message):
        pass

    producer = QueueFullTwice(full=0)
    produce(producer, "dlq", None, b"k", headers=[("source_file", b"a.csv")], on_delivery=delivered)
    assert producer.produced == [("dlq", {"value": None, "key": b"k", "timestamp": 0,
                                          "headers": [("source_file", b"a.csv")], "on_delivery": delivered})]
    assert producer.polls == []


def test_any_other_error_is_not_retried():
    class Refusing(QueueFullTwice):
        def produce(self, topic, **options):
            raise ValueError("bad topic")

    producer = Refusing()
    with pytest.raises(ValueError, match="bad topic"):
        produce(producer, "reads", b"v")
    assert producer.polls == []


class Flushing:
    def __init__(self, left: int):
        self.left, self.timeouts = left, []

    def flush(self, timeout_s):
        self.timeouts.append(timeout_s)
        return self.left


def test_flush_all_returns_once_every_record_is_acknowledged():
    producer = Flushing(0)
    flush_all(producer, 7)
    assert producer.timeouts == [7]


def test_flush_all_says_how_many_records_kafka_has_not_taken():
    with pytest.raises(RuntimeError, match=r"^1,234 reads sent to t not acknowledged by Kafka within 30 s$"):
        flush_all(Flushing(1234), 30, "reads sent to t")
