"""Spec §8's bookkeeping (udfs.startup): a feed's ends, and which records of the
broadcast stream a subtask has applied already. Pure logic, no Flink."""

from __future__ import annotations

from udfs.startup import AppliedFeed, StartupPositions


def test_startup_positions_reached_only_at_every_partitions_end():
    positions = StartupPositions(ends={("a", 0): 3, ("a", 1): 5, ("b", 0): 2}, starts={("b", 0): 2})
    assert not positions.reached({("a", 0): 2})
    assert not positions.reached({("a", 0): 2, ("a", 1): 3})
    assert positions.reached({("a", 0): 2, ("a", 1): 4})  # ("b", 0) was empty at start


def test_last_positions_skip_empty_partitions():
    positions = StartupPositions(ends={("a", 0): 3, ("b", 0): 2}, starts={("b", 0): 2})
    assert positions.last_positions() == {("a", 0): 2}


def test_records_loaded_at_open_are_not_applied_again_from_the_stream():
    applied = AppliedFeed({("ref", 0): 4})
    assert [applied.fresh("ref", 0, offset) for offset in (0, 3, 4, 5, 5, 6)] == \
        [False, False, False, True, False, True]


def test_a_partition_not_loaded_at_open_is_fresh_from_its_first_record():
    applied = AppliedFeed({("ref", 0): 4})
    assert applied.fresh("ref.new_list", 0, 0) and applied.fresh("ref", 1, 0)
    assert not applied.fresh("ref.new_list", 0, 0)


def test_a_stream_resumes_at_the_last_record_of_each_loaded_partition():
    positions = StartupPositions(ends={("a", 0): 3, ("b", 0): 2}, starts={("b", 0): 2})
    assert positions.resume_positions() == {("a", 0): 2, ("b", 0): 2}


def test_the_refusals_met_while_loading_are_handed_out_once_in_order():
    applied = AppliedFeed({("ref", 0): 4})
    late, early = ("ref", 0, 3, None, b"x"), ("ref", 0, 1, None, b"y")
    applied.refused_while_loading(late, ValueError("BAD_WILDCARD"))
    applied.refused_while_loading(early, ValueError("MALFORMED"))
    assert [record for record, _ in applied.take_refusals()] == [early, late]
    assert applied.take_refusals() == []
