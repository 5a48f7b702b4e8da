"""The Flink functions of the hit-generation job: thin shells around `udfs`, the
same in both modes.

    reads ─batches, keyed by own subtask─┐
                                          DecodeAndMatch ─event time─keyBy(dedup key)─ Deduplicate ─▶ hits, sightings
    reference + cameras ─batches─bcast───┘ │ ├─▶ dead letters   ▲
                                           │ └─▶ refusals       │ candidates
                                           └─keyBy(plate bucket)─ DetectClones (spec §11)

Records between the steps are plain Python values (pickled by Flink):
  input      batches of (topic, partition, offset, key, value) records
             (`connectors.kafka.batch_records`): Kafka messages, or file lines
  candidate  (Hit, PlateRead, offset): a hit of `udfs.model` before
             de-duplication, with its read and the read's offset (a file's line)
  clone reads  Row(bucket, [(plate, trail entry, plate_text, offset)]): the
             reads of one batch that take part in clone suspicion, per bucket
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
import time
import uuid

from pyflink.common import Row, Types
from pyflink.common.watermark_strategy import TimestampAssigner
from pyflink.datastream import (
    KeyedBroadcastProcessFunction,
    KeyedProcessFunction,
    OutputTag,
    RuntimeContext,
)
from pyflink.datastream.state import MapStateDescriptor, ValueStateDescriptor

from connectors.codecs import CAMERA
from connectors.history import HIT_ROW, READ_ROW, SIGHTING_ROW, hit_row, read_row, sighting_row
from connectors.kafka import OUTGOING_TYPE, batch_records
from udfs import clones, dedup
from udfs.config import MatchingSettings
from udfs.deadletter_guard import DeadLetterGuard, DeadLetterIncident
from udfs.engine import HitEngine
from udfs.reference import InvalidEntry, parse_camera
from udfs.startup import AppliedFeed
from udfs.validation import InvalidRead, validate_read

LOG = logging.getLogger("feblam.hit_generation")

DEAD_LETTERS = OutputTag("dead-letters", OUTGOING_TYPE)
REFUSALS = OutputTag("refusals", OUTGOING_TYPE)
# The Parquet history (connectors.history), emitted only when the job writes one:
# a side output nobody reads would fall through to the main output.
HISTORY_READS = OutputTag("history-reads", READ_ROW)
HISTORY_HITS = OutputTag("history-hits", HIT_ROW)
HISTORY_SIGHTINGS = OutputTag("history-sightings", SIGHTING_ROW)
# The reads that take part in clone suspicion (spec §11), for `DetectClones`: one
# Row(bucket, [(plate, trail entry, plate_text, offset)]) per bucket of plates per
# batch, keyed on field 0 in Java (`connectors.kafka.keyed_by_first_field`), so no
# Python step keys it. Plain tuples, not PlateReads: a tuple pickles and unpickles
# several times faster than the dataclass.
CLONE_READS_VALUE = Types.PICKLED_BYTE_ARRAY()
CLONE_READS = OutputTag("clone-reads", Types.ROW([Types.INT(), CLONE_READS_VALUE]))

# The broadcast stream's state descriptor (Flink asks for one); nothing is kept in it:
# a subtask loads the feed itself when it opens (udfs.startup.AppliedFeed).
REFERENCE_STATE = MapStateDescriptor("reference", Types.PICKLED_BYTE_ARRAY(), Types.PICKLED_BYTE_ARRAY())
# A subtask applies the feed it loads at open in chunks of one topic, as batches come.
LOAD_CHUNK = 1000
# Every metric the job's Python defines is under this group of its operator's scope:
# flink_taskmanager_job_task_operator_feblam_... on Prometheus (docs/operations.md, "Metrics").
METRICS_GROUP = "feblam"
# How long a subtask whose guard tripped keeps running (blocked) before it fails the job.
INCIDENT_VISIBLE_S = 15


class LabelledCounters:
    """Counters of one name told apart by labels: Flink key-value groups, which the
    Prometheus reporter turns into labels (`reason="MALFORMED"`). Made on first use,
    since the label values (reasons, topics, lists) are known only from the data.

    Counters, not gauges, for the values that go up and down too (`dec`): a Python
    gauge (pemja's `MetricGauge`) is read by calling into the interpreter from the
    reporter's thread, taking the GIL from the task's Python at every scrape, while
    a counter is a plain Java object the reporter reads without entering Python."""

    def __init__(self, group, name: str, *labels: str):
        self.group, self.name, self.labels = group, name, labels
        self.counters: dict[tuple, object] = {}

    def get(self, *values: str):
        counter = self.counters.get(values)
        if counter is None:
            group = self.group
            for label, value in zip(self.labels, values):
                group = group.add_group(label, str(value))
            counter = self.counters[values] = group.counter(self.name)
        return counter


class DecodeAndMatch(KeyedBroadcastProcessFunction):
    """The one Python step every read goes through, in both modes, connected to the
    broadcast reference updates and cameras. Its input is batches of the records one
    subtask read (org.feblam.flink.SubtaskBatches), keyed by that subtask, so
    Python is entered once per batch rather than once per read.

    Start-up (spec §8): in `open`, before it takes any input, the subtask reads
    the feed (the compacted topics, or the files: the lists' store) up to the
    ends it has now and applies it; reads wait in Flink's buffers, and their
    sources are held back meanwhile, so no read is ever matched against a
    half-loaded list and none is held in state. The same after every restore, so
    a checkpoint keeps nothing of the lists.

    Reference side: every subtask applies every update of the broadcast stream to
    its `HitEngine`, once (`udfs.startup.AppliedFeed` skips what `open` applied);
    a refused update is reported once, by subtask 0, as a refusal output with its
    bytes, position and reason, and the list stays as it was.

    Read side: each record is decoded by the codec and validated; one that fails
    either way becomes a dead letter with its bytes and position, written at the
    end of its batch once the dead-letter guard (`udfs.deadletter_guard`) has
    counted the batch, or held back by it (docs/operations.md, "The dead-letter
    guard"). A valid read is matched, its candidate hits going downstream in
    arrival order.

    Metrics (group `feblam`, docs/operations.md "Metrics"): reads in, dead letters
    by reason, refusals by topic, guard incidents and held dead letters, and the
    start-up load.
    """

    def __init__(self, settings: MatchingSettings, codec, feed, history: bool = False):
        self.settings = settings
        self.codec = codec
        self.feed = feed
        self.history = history

    def open(self, runtime_context: RuntimeContext):
        self.codec.open()
        self.engine = HitEngine(self.settings)
        self.subtask = subtask_index(runtime_context)
        metrics = runtime_context.get_metrics_group().add_group(METRICS_GROUP)
        self.reads_in = metrics.counter("readsIn")
        self.dead_letters = LabelledCounters(metrics, "deadLetters", "reason")
        self.refusals = LabelledCounters(metrics, "refusals", "topic")
        self.incidents = metrics.counter("deadLetterIncidents")
        self.held_count = metrics.counter("deadLettersHeld")
        self.loading = metrics.counter("referenceLoading")
        self.loaded = metrics.counter("referenceRecordsLoaded")
        # The guard's hold is keyed state (each subtask has one key): what it holds is in
        # every checkpoint, so a restart that meets the same reads again neither loses
        # their dead letters nor writes them twice.
        self.guard = DeadLetterGuard(self.settings.dead_letter_guard, restarted=attempt_number(runtime_context) > 0)
        self.held = runtime_context.get_state(ValueStateDescriptor("held-dead-letters", Types.PICKLED_BYTE_ARRAY()))
        # A restored checkpoint may carry a hold: the first batch looks.
        self.held_here, self.may_hold = 0, True
        self.loading.inc()
        try:
            self._load()
        finally:
            self.loading.dec()

    def close(self):
        # In thread mode the interpreter outlives the job: a restarted or cancelled job's
        # engine (hundreds of MB at 1,000,000 entries) must not stay reachable from here.
        self.engine = None

    def _load(self) -> None:
        """Spec §8: the feed up to its ends now, applied before the first read."""
        started = time.monotonic()
        upto = self.feed.ends().last_positions()
        self.applied = AppliedFeed(upto)
        count, chunk = 0, []
        for record in self.feed.replay(upto):
            if chunk and (len(chunk) >= LOAD_CHUNK or chunk[-1][0] != record[0]):
                self._load_chunk(chunk)
                chunk = []
            chunk.append(record)
            count += 1
            self.loaded.inc()
        self._load_chunk(chunk)
        LOG.info("reference lists and cameras loaded: %d records up to their ends in %.1f s; matching reads",
                 count, time.monotonic() - started)

    def _load_chunk(self, chunk: list) -> None:
        for record, refused in self._apply(chunk):
            if self.subtask == 0:
                self.applied.refused_while_loading(record, refused)

    # -- the reference side ------------------------------------------------------------

    def process_broadcast_element(self, update, ctx: KeyedBroadcastProcessFunction.Context):
        # The stream starts at the last record of the load: its first delivery reports the
        # load's refusals (the load runs in open, which can emit nothing).
        refusals = self.applied.take_refusals()
        fresh = [record for record in batch_records(update[1]) if self.applied.fresh(*record[:3])]
        refusals += self._apply(fresh)
        if self.subtask != 0:
            return  # every subtask sees every update; one of them reports the refusals
        for (topic, partition, offset, _, value), refused in refusals:
            # The log names the reason and the position, never the record (plates).
            LOG.warning("update refused (%s) at %s/%s/%s", refused.reason, topic, partition, offset)
            self.refusals.get(topic).inc()
            yield REFUSALS, Row(*self.codec.refusal(self.codec.kind(topic), refused, value, topic, partition,
                                                    offset))

    def _apply(self, records: list) -> list[tuple[tuple, InvalidEntry]]:
        """Decode and apply the records of one topic, in order; the refused ones with
        their refusal (the lists and cameras stay as they were for those)."""
        refused, decoded = [], []
        for record in records:
            topic, _, _, key, value = record
            try:
                update = self.codec.update(topic, key, value)
            except InvalidEntry as error:
                refused.append((record, error))
                continue
            if update is not None:
                decoded.append((record, update))
        if not decoded:
            return refused
        if self.codec.kind(decoded[0][0][0]) == CAMERA:
            for record, camera in decoded:
                try:
                    if camera.get("op") == "DELETE":
                        self.engine.remove_camera(camera["camera_id"])
                    else:
                        self.engine.put_camera(parse_camera(camera))
                except InvalidEntry as error:
                    refused.append((record, error))
        else:
            refused += [(decoded[i][0], error) for i, error in self.engine.apply_records([u for _, u in decoded])]
        refused.sort(key=lambda item: item[0][2])
        return refused

    # -- the read side ------------------------------------------------------------------

    def process_element(self, batch: Row, ctx: KeyedBroadcastProcessFunction.ReadOnlyContext):
        read, codec, evaluate, history = self.codec.read, self.codec, self.engine.evaluate, self.history
        clone_settings = self.settings.clones
        to_clones = {} if clone_settings.enabled else None
        # A batch's dead letters go out after it, once the guard has counted it: a batch
        # that trips the guard writes none (no checkpoint falls inside a batch).
        dead, reasons, valid_reads = [], {}, 0
        for topic, partition, offset, _, value in batch_records(batch):
            try:
                fields = read(value)
                if fields is None:
                    continue
                valid = validate_read(fields)
            except InvalidRead as invalid:
                dead.append(Row(*codec.dead_letter(invalid, value, topic, partition, offset)))
                reasons[invalid.reason] = reasons.get(invalid.reason, 0) + 1
                continue
            valid_reads += 1
            if history:
                yield HISTORY_READS, read_row(valid)
            for hit in evaluate(valid):
                yield hit, valid, offset
            if to_clones is not None:
                place = clones.position(valid, self.engine.cameras.get(valid.camera_id), clone_settings)
                if place is not None:
                    to_clones.setdefault(clones.bucket(valid.plate, clone_settings.buckets), []) \
                        .append((valid.plate, clones.trail_entry(valid, *place), valid.plate_text, offset))
        for key, reads_of_bucket in (to_clones or {}).items():
            yield CLONE_READS, Row(key, reads_of_bucket)
        reads = valid_reads + len(dead)
        self.reads_in.inc(reads)
        for reason, n in reasons.items():
            self.dead_letters.get(reason).inc(n)
        for letter in self._guarded(reads, reasons, dead):
            yield DEAD_LETTERS, letter

    def _guarded(self, reads: int, reasons: dict, dead: list) -> list:
        """The dead letters to write now, once the guard (udfs.deadletter_guard) has
        counted the batch: none while it holds (they join the held ones, in keyed
        state, so a checkpoint keeps them); the held ones and these when it stops. A
        trip is an ERROR line and `deadLetterIncidents`; with `fail_job` it fails the job."""
        guard, fail = self.guard, self.settings.dead_letter_guard.fail_job
        incident = guard.count(reads, reasons)
        if incident is not None:
            self.incidents.inc()
            # Counts and reasons only: the log never carries a read (plates).
            LOG.error("dead-letter guard tripped in subtask %d: %s; %s", self.subtask, incident.message(),
                      "failing the job (dead_letter_guard.fail_job)" if fail
                      else "writing them as usual (dead_letter_guard.fail_job is false)")
            if fail:
                # A task's metrics go with it: stay up one common scrape interval first, so
                # that `deadLetterIncidents` is seen on Prometheus, not only numRestarts.
                time.sleep(INCIDENT_VISIBLE_S)
                raise DeadLetterIncident(incident.message())
        if guard.holding:
            if dead:
                self.held.update((self.held.value() or []) + dead)
                self.held_count.inc(len(dead))
                self.held_here += len(dead)
                self.may_hold = True
            return []
        if not self.may_hold:
            return dead
        # The hold has ended: what it kept (this attempt's, and any a checkpoint restored) goes first.
        self.may_hold = False
        held = self.held.value() or []
        if held:
            self.held.clear()
            self.held_count.dec(self.held_here)
            self.held_here = 0
        return held + dead


class EventTime(TimestampAssigner):
    """A candidate's event time is its read's (spec §7 forgets keys by event time)."""

    def extract_timestamp(self, candidate, record_timestamp: int) -> int:
        return candidate[1].event_time


class DetectClones(KeyedProcessFunction):
    """Keyed by bucket of plates (`udfs.clones.bucket`): spec §11 through `udfs.clones`,
    in arrival order, in both modes. Its output is candidates, as `DecodeAndMatch`'s,
    that go to de-duplication with the rest.

    State, per bucket: a map of plate to its trail (the reads that took part, in
    processing order), in Flink's keyed state (checkpointed, rescaled with its
    bucket). The bucket's clock, the latest event time this subtask has seen in
    it, is in Python memory: it only says what may be forgotten, and after a
    restore it starts again from the first reads, which forgets later, never
    sooner. A trail forgets, when it is next touched, the reads more than the
    window plus `dedup.allowed_lateness` behind that clock, which no read within
    the lateness can take as partner; every `SWEEP_EVERY_MS` of the clock, the
    whole map is swept, so a plate not seen again goes too. A read later than the
    lateness may so miss its partner, as spec §7 lets de-duplication forget such
    a read's key. The clock is the bucket's own rather than a watermark: no
    Python step has to stamp the records with times.

    One record per bucket and batch, rather than one per read, since Python is
    entered once per record."""

    # A sweep reads every trail of the bucket: every 15 min it took 6 % of the
    # taskmanagers' Python time in `feblam bench e2e`, whose event time runs some
    # 100 times faster than a live network's.
    SWEEP_EVERY_MS = 60 * 60_000

    def __init__(self, settings: MatchingSettings):
        self.settings = settings.clones
        self.keep_ms = settings.clones.window_ms + settings.dedup_allowed_lateness_ms

    def open(self, runtime_context: RuntimeContext):
        self.trails = runtime_context.get_map_state(
            MapStateDescriptor("trails", Types.STRING(), Types.PICKLED_BYTE_ARRAY()))
        self.clocks: dict[int, tuple[int, int]] = {}   # bucket -> (latest event time, next sweep)

    def process_element(self, reads, ctx: KeyedProcessFunction.Context):
        trails, settings, judge = self.trails, self.settings, clones.judge
        bucket = clones.bucket(reads[0][0], settings.buckets)   # the key, as an int
        newest = max(entry[clones.TIME] for _, entry, _, _ in reads)
        latest, sweep_at = self.clocks.get(bucket) or (newest, newest + self.SWEEP_EVERY_MS)
        latest = max(latest, newest)
        before = latest - self.keep_ms
        for plate, entry, plate_text, offset in reads:
            trail = trails.get(plate)
            trail = [] if trail is None else clones.pruned(trail, before)
            suspicion = judge(trail, entry, settings)
            trail.append(entry)
            trails.put(plate, trail)
            if suspicion is not None:
                read = clones.entry_read(entry, plate, plate_text)
                yield clones.clone_hit(read, suspicion, settings), read, offset
        if latest >= sweep_at:
            self._sweep(before)
            sweep_at = latest + self.SWEEP_EVERY_MS
        self.clocks[bucket] = (latest, sweep_at)

    def _sweep(self, before: int) -> None:
        changed = []
        for plate, trail in self.trails.items():
            kept = clones.pruned(trail, before)
            if kept is not trail:
                changed.append((plate, kept))
        for plate, kept in changed:
            if kept:
                self.trails.put(plate, kept)
            else:
                self.trails.remove(plate)


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
        key = dedup_key_text(candidate)
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


def dedup_key_text(candidate) -> str:
    """The dedup key of spec §7 of a candidate as one string (Flink key, Kafka message key)."""
    return "|".join(candidate[0].dedup_key)
