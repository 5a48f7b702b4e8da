"""Spec §8's bookkeeping (udfs.startup): when a subtask may match reads, what a
checkpoint keeps, which keys hold reads. Pure logic, no Flink."""

from __future__ import annotations

from udfs.startup import HeldReads, ReferenceProgress, StartupPositions


def test_startup_positions_reached_only_at_every_partitions_end():
    positions = StartupPositions(ends={("a", 0): 3, ("a", 1): 5, ("b", 0): 2}, starts={("b", 0): 2})
    assert not positions.reached({("a", 0): 2})
    assert not positions.reached({("a", 0): 2, ("a", 1): 3})
    assert positions.reached({("a", 0): 2, ("a", 1): 4})  # ("b", 0) was empty at start


def test_last_positions_skip_empty_partitions():
    positions = StartupPositions(ends={("a", 0): 3, ("b", 0): 2}, starts={("b", 0): 2})
    assert positions.last_positions() == {("a", 0): 2}


def test_a_feed_with_nothing_in_it_is_loaded_at_once():
    assert ReferenceProgress(StartupPositions({("ref", 0): 1}, {("ref", 0): 1})).loaded


def test_progress_becomes_loaded_once_and_says_so_once():
    progress = ReferenceProgress(StartupPositions({("ref", 0): 3, ("cameras", 0): 2}))
    progress.applied("ref", 0, 2)
    assert not progress.check() and not progress.loaded
    progress.applied("cameras", 0, 1)
    assert progress.check() and progress.loaded
    assert not progress.check()  # already said
    progress.applied("ref", 0, 7)  # later updates do not unload it
    assert progress.loaded


def test_a_restored_subtask_is_loaded_only_up_to_the_ends_current_at_restore():
    # The checkpoint had applied up to offset 4; the topic has grown to 9 since.
    progress = ReferenceProgress(StartupPositions({("ref", 0): 10}))
    progress.restore({("ref", 0): 4})
    assert not progress.check()
    progress.applied("ref", 0, 9)
    assert progress.check()


def test_held_reads_look_at_a_key_once_after_a_start():
    held = HeldReads()
    assert held.must_look("k") and not held.holds("k")
    held.found("k", holding=True)  # a restored checkpoint held reads for k
    assert held.holds("k") and not held.must_look("k")
    held.released("k")
    assert not held.holds("k") and not held.must_look("k")
    held.hold("k")
    assert held.holds("k")


def test_a_key_found_empty_is_not_looked_at_again():
    held = HeldReads()
    held.found("k", holding=False)
    assert not held.must_look("k") and not held.holds("k")
