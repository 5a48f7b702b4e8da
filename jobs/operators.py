"""The Flink functions of the hit-generation job: thin shells around `udfs`, the
same in both modes. `DecodeAndMatch`, the first, is in `jobs.match_step`; the
side outputs and records the steps share are here.

    reads ─batches, keyed by own subtask─┐
                                          DecodeAndMatch ─event time─keyBy(dedup key)─ Deduplicate ─▶ hits, sightings
    reference + cameras ─batches─bcast───┘ │ ├─▶ dead letters   ▲
                                           │ └─▶ refusals       │ candidates
                                           └─keyBy(plate bucket)─ DetectClones (spec §11)

Records between the steps are plain Python values (pickled by Flink):
  input      batches of (topic, partition, offset, key, value) records
             (`connectors.kafka.batch_records`): Kafka messages, or file lines
  candidate  Row(dedup key text, (Hit, PlateRead, offset)): a hit of `udfs.model`
             before de-duplication, with its read and the read's offset (a file's
             line), keyed in Java on the text (CANDIDATE_TYPE)
  clone reads  Row(bucket, pickled [(plate, trail entry, plate_text, offset)]):
             the reads of one batch that take part in clone suspicion, per
             bucket, pickled by the match step (CLONE_READS_VALUE)
  output     Row(topic, key, value), made by the mode's codec (`connectors.codecs`)

Ordering and start-up (spec §7, §8). Batches stay on the subtask that read them,
and a step keeps its input's order, so the reads of one source partition (a
Kafka partition; the one reader of a reads file) reach de-duplication in their
partition's order, at any parallelism; so do a plate's reads to its bucket of
`DetectClones`. Each `DecodeAndMatch` subtask loads the reference feed up to
its ends when it opens, before it takes any input.
"""

from __future__ import annotations

import logging
import pickle
import uuid
from array import array

from pyflink.common import Row, Types
from pyflink.common.watermark_strategy import TimestampAssigner
from pyflink.datastream import KeyedProcessFunction, OutputTag, RuntimeContext
from pyflink.datastream.state import ListStateDescriptor, MapStateDescriptor, ValueStateDescriptor

from connectors.history import HIT_ROW, READ_ROW, SIGHTING_ROW, hit_row, sighting_row
from connectors.kafka import OUTGOING_TYPE
from jobs.metrics import METRICS_GROUP, LabelledCounters
from jobs.taskmanager import share_the_interpreter
from udfs import clones, dedup
from udfs.config import MatchingSettings

LOG = logging.getLogger("feblam.hit_generation")

DEAD_LETTERS = OutputTag("dead-letters", OUTGOING_TYPE)
REFUSALS = OutputTag("refusals", OUTGOING_TYPE)
# The Parquet history (connectors.history), emitted only when the job writes one:
# a side output nobody reads would fall through to the main output.
HISTORY_READS = OutputTag("history-reads", READ_ROW)
HISTORY_HITS = OutputTag("history-hits", HIT_ROW)
HISTORY_SIGHTINGS = OutputTag("history-sightings", SIGHTING_ROW)
# The reads that take part in clone suspicion (spec §11), for `DetectClones`: one
# Row(bucket, pickled [(plate, trail entry, plate_text, offset)]) per bucket of plates
# per batch, keyed on field 0 in Java (`connectors.kafka.keyed_by_first_field`), so no
# Python step keys it. Plain tuples, not PlateReads: a tuple pickles and unpickles
# several times faster than the dataclass. Pickled by the match step itself, not by
# Flink, so that `DetectClones` logs the bytes it was given instead of pickling the
# reads a second time.
CLONE_READS_VALUE = Types.PRIMITIVE_ARRAY(Types.BYTE())
CLONE_READS = OutputTag("clone-reads", Types.ROW([Types.INT(), CLONE_READS_VALUE]))

# The broadcast stream's state descriptor (Flink asks for one); nothing is kept in it:
# a subtask loads the feed itself when it opens (udfs.startup.AppliedFeed).
REFERENCE_STATE = MapStateDescriptor("reference", Types.PICKLED_BYTE_ARRAY(), Types.PICKLED_BYTE_ARRAY())


# A candidate as `DecodeAndMatch` and `DetectClones` emit it: Row(dedup key text,
# (Hit, PlateRead, offset)), keyed on field 0 in Java (`connectors.kafka.
# keyed_by_first_field`) with the key type PyFlink's `key_by` gives, so that
# `deduplicate` keeps its state across savepoints of versions that keyed in Python.
CANDIDATE_TYPE = Types.ROW([Types.STRING(), Types.PICKLED_BYTE_ARRAY()])


def dedup_key_text(hit) -> str:
    """The dedup key of spec §7 of a hit as one string (Flink key, Kafka message key)."""
    return "|".join(hit.dedup_key)


def candidate_row(hit, read, offset) -> Row:
    """A candidate with its dedup key, for de-duplication (CANDIDATE_TYPE)."""
    return Row(dedup_key_text(hit), (hit, read, offset))


class EventTime(TimestampAssigner):
    """A candidate's event time is its read's (spec §7 forgets keys by event time)."""

    def extract_timestamp(self, candidate: Row, record_timestamp: int) -> int:
        return candidate[1][1].event_time


class DetectClones(KeyedProcessFunction):
    """Keyed by bucket of plates (`udfs.clones.bucket`, each bucket under its key of
    `connectors.kafka.spread_keys`): spec §11 through `udfs.clones`, in arrival order,
    in both modes. Its output is candidates, as `DecodeAndMatch`'s, that go to
    de-duplication with the rest.

    State, per bucket: the plates' trails in Python memory (`udfs.clones.PlateTrails`),
    and in Flink's keyed state the log they are rebuilt from, a list state to which
    each record is added as it came, its pickled reads with their latest event time,
    with one call. A trail read and written in keyed state for every read cost more
    than the rule itself (docs/benchmarks.md, "What clone suspicion costs"). The log
    is what is checkpointed and moves with its bucket on a rescale: a subtask
    rebuilds a bucket from it when the bucket's first record since the subtask
    started comes, so a restart or an upgrade forgets no partner.

    The bucket's clock, the latest event time it holds, says what may be forgotten:
    every `SWEEP_EVERY_MS` of it (each bucket at its own point of the hour) the
    trails forget the hours more than the window plus `dedup.allowed_lateness`
    behind it, which no read within the lateness can take as partner. The log drops the records all of whose reads are forgotten once
    they are more than half of it, and is written anew in elements of about
    `LOG_ELEMENT_BYTES`, without unpickling a read. A read later than the lateness
    may so miss its partner, as spec §7 lets de-duplication forget such a read's
    key. The clock is the bucket's own rather than a watermark: no Python step has
    to stamp the records with times.

    One record per bucket and batch, rather than one per read, since Python is
    entered once per record."""

    SWEEP_EVERY_MS = 60 * 60_000
    # A log written anew is in elements of about this size (pickled records joined),
    # so that no one element of the state is very large.
    LOG_ELEMENT_BYTES = 1 << 21

    def __init__(self, settings: MatchingSettings):
        self.settings = settings.clones
        self.keep_ms = settings.clones.window_ms + settings.dedup_allowed_lateness_ms

    def open(self, runtime_context: RuntimeContext):
        share_the_interpreter()
        self.log = runtime_context.get_list_state(ListStateDescriptor("trail-log", Types.PICKLED_BYTE_ARRAY()))
        self.buckets: dict[int, _HeldBucket] = {}

    def process_element(self, record: bytes, ctx: KeyedProcessFunction.Context):
        settings = self.settings
        reads = pickle.loads(record)
        bucket = clones.bucket(reads[0][0], settings.buckets)
        held = self.buckets.get(bucket) or self._rebuild(bucket)
        take, latest = held.trails.take, None
        for plate, entry, plate_text, offset in reads:
            suspicion = take(plate, entry)
            if suspicion is not None:
                read = clones.entry_read(entry, plate, plate_text)
                yield candidate_row(clones.clone_hit(read, suspicion, settings), read, offset)
            if latest is None or entry[clones.TIME] > latest:
                latest = entry[clones.TIME]
        self.log.add((latest, [record]))
        held.logged(latest, len(record))
        if held.sweep_at is None:
            held.sweep_at = self._next_sweep(bucket, held.trails.latest)
        elif held.trails.latest >= held.sweep_at:
            self._sweep(bucket, held)

    def _rebuild(self, bucket: int) -> "_HeldBucket":
        """`bucket` from its log, swept at once."""
        held = self.buckets[bucket] = _HeldBucket(clones.PlateTrails(self.settings))
        keep = held.trails.keep
        for latest, records in self.log.get():
            for record in records:
                for plate, entry, _, _ in pickle.loads(record):
                    keep(plate, entry)
            held.logged(latest, sum(map(len, records)))
        if held.trails:
            self._sweep(bucket, held)
        return held

    def _next_sweep(self, bucket: int, after: int) -> int:
        """The first instant after `after` at which `bucket` sweeps: once an hour,
        each bucket at its own minute of it. The buckets' clocks move together, and
        sweeps at the same instant would hold the interpreter lock back to back
        (eight buckets of a subtask, each visiting an hour of its plates)."""
        every = self.SWEEP_EVERY_MS
        phase = every * bucket // self.settings.buckets
        return (after - phase) // every * every + every + phase

    def _sweep(self, bucket: int, held: "_HeldBucket") -> None:
        cutoff = self._forget(held.trails)
        dead = held.logged_before(cutoff)
        if dead and 2 * dead > sum(held.sizes):
            self._compact_log(held, cutoff)
        held.sweep_at = self._next_sweep(bucket, held.trails.latest)

    def _forget(self, trails: clones.PlateTrails) -> int:
        """Prune `trails` to the window plus the lateness behind their clock; returns
        the instant before which they now hold nothing (an hour's start)."""
        before = trails.latest - self.keep_ms
        trails.prune(before)
        return clones.hour_start(before)

    def _compact_log(self, held: "_HeldBucket", cutoff: int) -> None:
        """The log without its records all of whose reads are before `cutoff`, the
        rest joined into elements of about LOG_ELEMENT_BYTES."""
        elements, latest, records, size = [], None, [], 0
        for element_latest, element_records in self.log.get():
            if element_latest < cutoff:
                continue
            latest = element_latest if latest is None else max(latest, element_latest)
            records.extend(element_records)
            size += sum(map(len, element_records))
            if size >= self.LOG_ELEMENT_BYTES:
                elements.append((latest, records))
                latest, records, size = None, [], 0
        if records:
            elements.append((latest, records))
        self.log.update(elements)
        held.relogged(elements)


class _HeldBucket:
    """One bucket of `DetectClones` in Python memory: its trails, when they are next
    swept (None until its first record), and the latest event time and the bytes of
    each element of its log, in arrays: a bucket of a national network logs some
    65,000 records an hour, and a tuple each would cost 70 bytes rather than 16."""

    __slots__ = ("trails", "sweep_at", "latest", "sizes")

    def __init__(self, trails: clones.PlateTrails):
        self.trails = trails
        self.sweep_at: int | None = None
        self.latest, self.sizes = array("q"), array("q")

    def logged(self, latest: int, size: int) -> None:
        self.latest.append(latest)
        self.sizes.append(size)

    def relogged(self, elements: list[tuple[int, list[bytes]]]) -> None:
        """The log is now `elements`."""
        self.latest, self.sizes = array("q"), array("q")
        for latest, records in elements:
            self.logged(latest, sum(map(len, records)))

    def logged_before(self, cutoff: int) -> int:
        """The bytes of the log's elements all of whose reads are before `cutoff`."""
        return sum(size for latest, size in zip(self.latest, self.sizes) if latest < cutoff)


class Deduplicate(KeyedProcessFunction):
    """Keyed by dedup key: spec §7 through `udfs.dedup`, in arrival order, in both modes.

    Metrics (group `feblam`): hits by list and priority, sightings, and the keys held.

    An emitted hit goes out as the codec's hit; a read folded into an earlier hit as
    the codec's sighting event (its hit_id, read, camera, time and the hit's
    sighting count so far), at once. The key's state is forgotten by event time:
    one timer per key, at the instant `udfs.dedup.forget_at` gives, moved on
    when it fires early. With `history`, hits and sightings also go to the
    history side outputs.
    """

    def __init__(self, settings: MatchingSettings, codec, history: bool = False):
        self.settings = settings
        self.codec = codec
        self.history = history

    def open(self, runtime_context: RuntimeContext):
        share_the_interpreter()
        self.codec.open()
        self.lateness = self.settings.dedup_allowed_lateness_ms
        self.state = runtime_context.get_state(ValueStateDescriptor("dedup", Types.PICKLED_BYTE_ARRAY()))
        # (instant of the key's one timer, the key's dedup window or None for LEZ[, the
        # `counted_by` of the subtask attempt that counts the key in `dedupKeys`])
        self.timer = runtime_context.get_state(ValueStateDescriptor("forget", Types.PICKLED_BYTE_ARRAY()))
        metrics = runtime_context.get_metrics_group().add_group(METRICS_GROUP)
        self.hits = LabelledCounters(metrics, "hits", "list", "priority")
        self.sightings = metrics.counter("sightings")
        # Keys held, as far as this attempt knows: a key counts once this attempt has
        # touched it (made it, folded a read into it, or met its timer), so a restored key
        # counts from its next read or timer; a counter that goes down, not a gauge (see
        # LabelledCounters). Flink cannot list a keyed state's keys from Python.
        self.keys = metrics.counter("dedupKeys")
        self.counted_by = uuid.uuid4().hex

    def process_element(self, candidate, ctx: KeyedProcessFunction.Context):
        hit, read, offset = candidate
        timers = ctx.timer_service()
        decision = dedup.decide(self.state.value(), hit, watermark=timers.current_watermark(),
                               allowed_lateness_ms=self.lateness)
        key = dedup_key_text(hit)
        if decision.emit:
            record = hit.output_record(read, key)
            if self.history:
                yield HISTORY_HITS, hit_row(record)
            self.hits.get(hit.list_name, hit.priority).inc()
            yield Row(*self.codec.hit(record, offset))
        else:
            self.sightings.inc()
            if self.history:
                yield HISTORY_SIGHTINGS, sighting_row(decision.folded_into, read)
            sighting = {"hit_id": decision.folded_into, "read_id": read.read_id, "camera_id": read.camera_id,
                        "event_time": read.event_time, "sightings": decision.sightings, "dedup_key": key}
            yield Row(*self.codec.sighting(sighting, offset))
        self.state.update(decision.state)
        timer = self.timer.value()
        if timer is None:
            forget = dedup.forget_at(decision.state, hit.dedup_window_ms, self.lateness)
            if forget is not None:
                timers.register_event_time_timer(forget)
                self.timer.update((forget, hit.dedup_window_ms, self.counted_by))
                self.keys.inc()
        elif timer[2:] != (self.counted_by,):
            self.timer.update((timer[0], timer[1], self.counted_by))
            self.keys.inc()

    def on_timer(self, timestamp: int, ctx: KeyedProcessFunction.OnTimerContext):
        timer = self.timer.value()
        if timer is None:  # a timer of a version before event-time forgetting: the next read sets one
            return
        window, counted = timer[1], timer[2:] == (self.counted_by,)
        forget = dedup.forget_at(self.state.value(), window, self.lateness)
        if forget is None or forget <= timestamp:
            self.state.clear()
            self.timer.clear()
            if counted:
                self.keys.dec()
            return
        ctx.timer_service().register_event_time_timer(forget)
        self.timer.update((forget, window, self.counted_by))
        if not counted:
            self.keys.inc()


def subtask_index(runtime_context: RuntimeContext) -> int:
    """This subtask's index. PyFlink 2.2's thread-mode `get_index_of_this_subtask()`
    calls a Java method that Flink 2 moved to `getTaskInfo()`, so ask there."""
    try:
        return runtime_context.get_index_of_this_subtask()
    except AttributeError:
        return runtime_context._runtime_context.getTaskInfo().getIndexOfThisSubtask()


def attempt_number(runtime_context: RuntimeContext) -> int:
    """This subtask's execution attempt, 0 before any restart (asked through
    `getTaskInfo()`, for the reason `subtask_index` gives)."""
    try:
        return runtime_context.get_attempt_number()
    except AttributeError:
        return runtime_context._runtime_context.getTaskInfo().getAttemptNumber()


