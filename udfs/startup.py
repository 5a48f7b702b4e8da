"""Spec §8, the start-up rule, as bookkeeping any source can feed: reads are held
until every reference list and the camera registry are loaded up to their ends.

A *feed* is the reference lists and the cameras as positioned records: Kafka
topics (partition, offset) or files (partition 0, line number). Its *ends* are
taken when the job starts or is restored: the end offset of every partition
(Kafka), the line after the last (files). `ReferenceProgress` records the
position of the last record applied from each (topic, partition), says when
every end is reached, and gives the positions a checkpoint keeps (a restored
subtask reads the feed again up to them). `HeldReads` remembers which keys hold
reads, so that the common path asks Flink's keyed state nothing.

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

    def last_positions(self) -> dict[TopicPartition, int]:
        """The position of the last record of every partition that holds any."""
        return {tp: end - 1 for tp, end in self.ends.items() if end > self.starts.get(tp, 0)}


class ReferenceProgress:
    """How far one subtask has applied the feed, and whether reads may be matched.

    `applied(topic, partition, offset)` records a record as applied (refused records
    count: they were read). `loaded` is True once every end of `startup` is reached
    and stays True until `restart_from` gives new ends. `checkpoint()` is what the
    broadcast state keeps: only the positions, never the entries (a copy of a
    million entries in every checkpoint stalled the job for seconds).
    """

    def __init__(self, startup: StartupPositions):
        self.positions: dict[TopicPartition, int] = {}
        self.startup = startup
        self.loaded = startup.reached(self.positions)

    def applied(self, topic: str, partition: int, offset: int) -> None:
        self.positions[(topic, partition)] = offset

    def check(self) -> bool:
        """Whether the ends are reached now; True means `loaded` just became True."""
        if self.loaded or not self.startup.reached(self.positions):
            return False
        self.loaded = True
        return True

    def restore(self, positions: dict[TopicPartition, int]) -> None:
        """Positions out of a checkpoint: the feed was applied up to there."""
        self.positions.update(positions)

    def restart_from(self, startup: StartupPositions) -> None:
        """After a restore the feed's ends have moved on: hold reads until they are reached."""
        self.startup = startup
        self.loaded = startup.reached(self.positions)


class HeldReads:
    """Which keys of one subtask hold reads in keyed state (spec §8: reads wait while
    the lists load; later reads of a key that holds reads wait behind them, so
    arrival order is kept).

    Kept in memory so a key's state is only looked at once after a (re)start, when
    a restored checkpoint may hold reads: `must_look(key)` is True the first time
    a key is seen, and the caller then reports what it found with `found(key, any)`.
    """

    def __init__(self) -> None:
        self._holding: set = set()
        self._looked: set = set()

    def holds(self, key) -> bool:
        return key in self._holding

    def must_look(self, key) -> bool:
        return key not in self._holding and key not in self._looked

    def found(self, key, holding: bool) -> None:
        self._looked.add(key)
        if holding:
            self._holding.add(key)

    def hold(self, key) -> None:
        self._holding.add(key)

    def released(self, key) -> None:
        """The key's held reads were all matched; its state is empty again."""
        self._holding.discard(key)
        self._looked.add(key)
