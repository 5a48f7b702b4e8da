"""connectors.topics decides by the broker's error code, never by its text: an admin
client that answers with chosen futures is enough to show which codes count as done."""

from __future__ import annotations

from concurrent.futures import Future

import pytest
from confluent_kafka import KafkaError, KafkaException

import connectors.topics as topics
from connectors.topics import TopicError, TopicSpec, delete_topics, ensure_topics


def _failed(code: int, text: str) -> Future:
    future = Future()
    future.set_exception(KafkaException(KafkaError(code, text)))
    return future


def _done() -> Future:
    future = Future()
    future.set_result(None)
    return future


class FakeAdmin:
    """Answers create/delete with the futures of `outcomes` (name -> Future); knows `existing` topics."""

    made: list["FakeAdmin"] = []

    def __init__(self, config, outcomes: dict, existing=()):
        self.outcomes = outcomes
        self.existing = existing
        self.asked: list[str] = []
        FakeAdmin.made.append(self)

    def list_topics(self, timeout):
        return type("Metadata", (), {"topics": {name: None for name in self.existing}})()

    def create_topics(self, new_topics, request_timeout):
        self.asked = [t.topic for t in new_topics]
        return {name: self.outcomes[name] for name in self.asked}

    def delete_topics(self, names, request_timeout):
        self.asked = list(names)
        return {name: self.outcomes[name] for name in names}


@pytest.fixture
def admin(monkeypatch):
    """Set the answers: `admin(outcomes, existing=())`; the fake made is the last of FakeAdmin.made."""
    FakeAdmin.made = []

    def install(outcomes, existing=()):
        monkeypatch.setattr(topics, "AdminClient", lambda config: FakeAdmin(config, outcomes, existing))

    return install


def test_deleting_a_topic_that_is_not_there_is_done(admin):
    admin({"gone": _failed(KafkaError.UNKNOWN_TOPIC_OR_PART, "Broker: Unknown topic or partition"),
           "here": _done()})
    assert delete_topics("kafka:9092", ["here", "gone", "here"]) == ["here"]
    assert FakeAdmin.made[-1].asked == ["here", "gone"]   # a name given twice is asked once


def test_any_other_refusal_to_delete_is_a_topic_error_with_the_brokers_text(admin):
    # The text names the tolerated error, the code does not: the code decides.
    admin({"t": _failed(KafkaError.TOPIC_AUTHORIZATION_FAILED, "UNKNOWN_TOPIC_OR_PART? no: not authorised")})
    with pytest.raises(TopicError, match="cannot delete topic t: UNKNOWN_TOPIC_OR_PART\\? no: not authorised"):
        delete_topics("kafka:9092", ["t"])


def test_no_answer_is_a_topic_error(admin):
    admin({"t": Future()})   # never resolved
    with pytest.raises(TopicError, match="cannot delete topic t: no answer from Kafka within 0.01 s"):
        delete_topics("kafka:9092", ["t"], timeout_s=0.01)


def test_nothing_to_delete_asks_nothing(admin):
    admin({})
    assert delete_topics("kafka:9092", []) == [] and FakeAdmin.made == []


def test_a_topic_created_meanwhile_by_another_process_counts_as_there(admin):
    admin({"new": _done(), "raced": _failed(KafkaError.TOPIC_ALREADY_EXISTS, "Topic 'raced' already exists.")},
          existing=("old",))
    assert ensure_topics("kafka:9092", {"old": TopicSpec(), "new": TopicSpec(3), "raced": TopicSpec()}) == ["new"]
    assert FakeAdmin.made[-1].asked == ["new", "raced"]
    admin({"bad": _failed(KafkaError.INVALID_PARTITIONS, "Number of partitions must be larger than 0.")})
    with pytest.raises(TopicError, match="cannot create topic bad: Number of partitions"):
        ensure_topics("kafka:9092", {"bad": TopicSpec(0)})
