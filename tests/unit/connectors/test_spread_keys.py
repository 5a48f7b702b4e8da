"""`spread_keys`: keys that Flink's own assignment (in a JVM started by PyFlink's
gateway, no cluster) spreads evenly over a keyed step's subtasks."""

from __future__ import annotations

import pytest
from pyflink.java_gateway import get_gateway

from connectors.kafka import spread_keys


def _subtasks(keys, max_parallelism, parallelism):
    """How many of `keys` each subtask gets, by Flink's assignment of the key Row(k)."""
    jvm = get_gateway().jvm
    counts = [0] * parallelism
    for k in keys:
        row = jvm.org.apache.flink.types.Row(1)
        row.setField(0, k)
        counts[jvm.org.apache.flink.runtime.state.KeyGroupRangeAssignment.assignKeyToParallelOperator(
            row, max_parallelism, parallelism)] += 1
    return counts


def test_plain_keys_are_not_spread_evenly():
    """Why the keys are chosen: Flink's hash puts 0..15 unevenly. (Should a Flink
    version spread them evenly, this fails, to say the choice is no longer needed.)"""
    assert _subtasks(range(16), 128, 2) == [11, 5]


@pytest.mark.parametrize("count", [1, 2, 4, 16, 128])
def test_a_parallelism_that_divides_the_count_gets_as_many_keys_on_each_subtask(count):
    keys = spread_keys(count, 128)
    assert len(set(keys)) == count and min(keys) >= 0
    for parallelism in (1, 2, 4, 8, 16):
        if count % parallelism == 0:
            assert _subtasks(keys, 128, parallelism) == [count // parallelism] * parallelism


@pytest.mark.parametrize("count, parallelism", [(16, 3), (16, 5), (16, 7), (12, 8), (2, 3)])
def test_any_other_parallelism_gets_at_most_one_key_more_on_a_subtask(count, parallelism):
    counts = _subtasks(spread_keys(count, 128), 128, parallelism)
    assert sum(counts) == count and max(counts) - min(counts) <= 1


def test_the_keys_are_the_same_each_time():
    """They are the keys of the clone step's state: a job built again must find it."""
    assert spread_keys(16, 128) == spread_keys(16, 128)


def test_more_keys_than_key_groups_are_refused():
    with pytest.raises(ValueError, match="129 keys"):
        spread_keys(129, 128)
