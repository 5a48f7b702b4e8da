"""`feblam bench gateway` takes its figures only from a complete observation: an
observer of the outputs that failed is an error, not fewer deliveries."""

from __future__ import annotations

import time

import pytest

import confluent_kafka
from feblam.bench.gateway import _Observer


class _Message:
    def error(self):
        return None

    def topic(self):
        return "b1.hits"

    def timestamp(self):
        return (2, 1772352000000)

    def value(self):
        return b"hit"


def _consumer(fail: bool):
    class Consumer:
        def __init__(self, config):
            self.batches = [[_Message()]]

        def subscribe(self, topics):
            pass

        def consume(self, count, timeout):
            if self.batches:
                return self.batches.pop()
            if fail:
                raise confluent_kafka.KafkaException("Broker: Group authorization failed")
            time.sleep(0.01)
            return []

        def close(self):
            pass

    return Consumer


def test_what_the_observer_collected_is_handed_over_when_it_stops(monkeypatch):
    monkeypatch.setattr(confluent_kafka, "Consumer", _consumer(fail=False))
    observer = _Observer("kafka:9092", "b1-observer", ["b1.hits"])
    observer.start()
    time.sleep(0.1)
    assert observer.finish() == [("b1.hits", 1772352000000, b"hit")]


def test_an_observer_that_failed_fails_the_run(monkeypatch):
    monkeypatch.setattr(confluent_kafka, "Consumer", _consumer(fail=True))
    observer = _Observer("kafka:9092", "b1-observer", ["b1.hits"])
    observer.start()
    observer.join(5)
    with pytest.raises(RuntimeError, match="observer of the gateway's outputs failed: .*Group authorization"):
        observer.finish()
