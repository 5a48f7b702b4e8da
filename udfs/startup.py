"""Spec §8, the start-up rule, as bookkeeping any source can feed: every reference
list and the camera registry are loaded up to their ends before the first read.

A *feed* is the reference lists and the cameras as positioned records: Kafka
topics (partition, offset) or files (partition 0, line number). Its *ends* are
taken when a subtask starts or is restored: the end offset of every partition
(Kafka), the line after the last (files). The subtask loads the feed up to
them before it takes any input, and `AppliedFeed` then tells the records of the
broadcast stream it has applied already from those it has not.

Pure: no Flink, no Kafka; the Flink step (`jobs.operators`) calls these.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TopicPartition = tuple[str, int]


@dataclass(frozen=True)
class StartupPositions:
    """Where each (topic, partition) of the feed started and ended when the job started
    or was restored. An end is the position after the last record (Kafka's end offset;
    a file's line count + 1); a start the first position still there."""

    ends: dict[TopicPartition, int]
    starts: dict[TopicPartition, int] = field(default_factory=dict)

    def reached(self, seen: dict[TopicPartition, int]) -> bool:
        """True when the record before each partition's end has been seen.
        A partition that was empty (start == end) needs nothing."""
        return all(seen.get(tp, -1) >= end - 1 for tp, end in self.ends.items() if end > self.starts.get(tp, 0))

    def resume_positions(self) -> dict[TopicPartition, int]:
        """Where a stream of the feed goes on after a load up to these ends: at the last
        record of each partition that holds any (delivered again and skipped: the
        first delivery after a load is when the load's refusals are reported), at
        the start of an empty one."""
        return {tp: end - 1 if end > self.starts.get(tp, 0) else end for tp, end in self.ends.items()}

    def last_positions(self) -> dict[TopicPartition, int]:
        """The position of the last record of every partition that holds any."""
        return {tp: end - 1 for tp, end in self.ends.items() if end > self.starts.get(tp, 0)}


class AppliedFeed:
    """How far one subtask has applied the feed, so that each record is applied once.

    A subtask loads the feed up to its ends when it opens (spec §8: every list
    loaded before the first read is matched), straight from the topics or files;
    the same records then come again on the broadcast stream (from the start on a
    fresh start, from a checkpoint's offsets on a restore). `fresh(topic,
    partition, offset)` is True for a record past what was applied, and records
    it as applied. A refusal met while loading is kept (`refused_while_loading`)
    and handed out once, at the first delivery of the stream (`take_refusals`),
    so that it goes out as an output, with its bytes, like any other. After a
    restore the load meets the same refusals again and they go out again: the
    refusals output is at least once, like the job's other outputs.
    """

    def __init__(self, loaded_upto: dict[TopicPartition, int]):
        self.positions = dict(loaded_upto)
        self._refused: dict[tuple[str, int, int], tuple[tuple, Exception]] = {}

    def fresh(self, topic: str, partition: int, offset: int) -> bool:
        if offset <= self.positions.get((topic, partition), -1):
            return False
        self.positions[(topic, partition)] = offset
        return True

    def refused_while_loading(self, record: tuple, error: Exception) -> None:
        """`record` is (topic, partition, offset, key, value), as the feed gave it."""
        self._refused[tuple(record[:3])] = (record, error)

    def take_refusals(self) -> list[tuple[tuple, Exception]]:
        """The (record, refusal) pairs met while loading, in position order, once."""
        refused, self._refused = [self._refused[k] for k in sorted(self._refused)], {}
        return refused
