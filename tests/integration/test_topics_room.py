"""connectors.topics.make_room on the real broker: a topic that keeps other topics'
records whole is made to take a record larger than any of theirs."""

from __future__ import annotations

import uuid

import pytest

from connectors.topics import KAFKA_DEFAULT_MAX_MESSAGE_BYTES, delete_topics, make_room, max_message_bytes

pytestmark = pytest.mark.integration


def test_a_missing_output_is_created_larger_than_its_largest_input(stack, new_topic):
    small, large = new_topic("in"), new_topic("in", config={"max.message.bytes": "3000000"})
    output = f"room-{uuid.uuid4().hex[:8]}"
    try:
        assert make_room(stack.bootstrap_servers, output, [small, large], 1000) == 3_001_000
        assert max_message_bytes(stack.bootstrap_servers, [output]) == {output: 3_001_000}
    finally:
        delete_topics(stack.bootstrap_servers, [output])


def test_a_smaller_output_is_raised_and_a_larger_one_left(stack, new_topic):
    reads, dead = new_topic("reads"), new_topic("dead")
    assert max_message_bytes(stack.bootstrap_servers, [dead]) == {dead: KAFKA_DEFAULT_MAX_MESSAGE_BYTES}
    assert make_room(stack.bootstrap_servers, dead, [reads], 65536) == KAFKA_DEFAULT_MAX_MESSAGE_BYTES + 65536
    assert max_message_bytes(stack.bootstrap_servers, [dead]) == {dead: KAFKA_DEFAULT_MAX_MESSAGE_BYTES + 65536}
    roomy = new_topic("roomy", config={"max.message.bytes": "5000000"})
    assert make_room(stack.bootstrap_servers, roomy, [reads], 65536) == 5_000_000
    assert max_message_bytes(stack.bootstrap_servers, [roomy]) == {roomy: 5_000_000}


def test_inputs_that_do_not_exist_count_as_kafkas_default(stack, new_topic):
    dead = new_topic("dead")
    assert make_room(stack.bootstrap_servers, dead, [f"none-{uuid.uuid4().hex}"], 10) == \
        KAFKA_DEFAULT_MAX_MESSAGE_BYTES + 10


def test_an_output_that_carries_records_of_two_topics_takes_both(stack, new_topic):
    """A hit carries its read and its list entry: its topic takes the largest of each."""
    reads = new_topic("reads", config={"max.message.bytes": "2000000"})
    lists = [new_topic("ref"), new_topic("ref", config={"max.message.bytes": "1500000"})]
    hits = new_topic("hits")
    assert make_room(stack.bootstrap_servers, hits, [reads], 1000, also=lists) == 3_501_000
    assert max_message_bytes(stack.bootstrap_servers, [hits]) == {hits: 3_501_000}
