"""The Flink functions of the hit-generation job: thin shells around `udfs`, the
same in both modes.

    reads ─batches, keyed by own subtask─┐
                                          DecodeAndMatch ─event time─keyBy(dedup key)─ Deduplicate ─▶ hits, sightings
    reference + cameras ─batches─bcast───┘   ├─▶ dead letters
                                             └─▶ refusals

Records between the steps are plain Python values (pickled by Flink):
  input      batches of (topic, partition, offset, key, value) records
             (`connectors.kafka.batch_records`): Kafka messages, or file lines
  candidate  (Hit, PlateRead, offset): a hit of `udfs.model` before
             de-duplication, with its read and the read's offset (a file's line)
  output     Row(topic, key, value), made by the mode's codec (`connectors.codecs`)

Ordering and start-up (spec §7, §8). Batches stay on the subtask that read them,
and a step keeps its input's order, so the reads of one source partition (a
Kafka partition; the one reader of a reads file) reach de-duplication in their
partition's order, at any parallelism. Until the reference feed is applied up
to its ends (`udfs.startup`), `DecodeAndMatch` holds decoded reads in keyed
state and matches them, in arrival order, once it is.
"""

from __future__ import annotations

import logging
from typing import Any

from pyflink.common import Row, Types
from pyflink.common.watermark_strategy import TimestampAssigner
from pyflink.datastream import (
    KeyedBroadcastProcessFunction,
    KeyedProcessFunction,
    OutputTag,
    RuntimeContext,
    TimeDomain,
)
from pyflink.datastream.state import ListStateDescriptor, MapStateDescriptor, ValueStateDescriptor

from connectors.codecs import CAMERA
from connectors.history import HIT_ROW, READ_ROW, SIGHTING_ROW, hit_row, read_row, sighting_row
from connectors.kafka import OUTGOING_TYPE, batch_records
from udfs import dedup
from udfs.config import MatchingSettings
from udfs.engine import HitEngine
from udfs.reference import InvalidEntry, parse_camera, parse_entry
from udfs.startup import HeldReads, ReferenceProgress
from udfs.validation import InvalidRead, validate_read

LOG = logging.getLogger("feblam.hit_generation")

DEAD_LETTERS = OutputTag("dead-letters", OUTGOING_TYPE)
REFUSALS = OutputTag("refusals", OUTGOING_TYPE)
# The Parquet history (connectors.history), emitted only when the job writes one:
# a side output nobody reads would fall through to the main output.
HISTORY_READS = OutputTag("history-reads", READ_ROW)
HISTORY_HITS = OutputTag("history-hits", HIT_ROW)
HISTORY_SIGHTINGS = OutputTag("history-sightings", SIGHTING_ROW)

# Broadcast state: the position of the last record applied per (topic, partition)
# of the reference feed; a restored subtask reads the feed again up to there.
REFERENCE_STATE = MapStateDescriptor("reference", Types.PICKLED_BYTE_ARRAY(), Types.PICKLED_BYTE_ARRAY())
POSITION = "position"
RETRY_MS = 200
# A restored subtask applies the feed again in chunks of one topic, as the batches came.
REPLAY_CHUNK = 1000
# An event-time timer there fires only at the end of a bounded input (the file mode),
# where processing-time timers may no longer fire: held reads are matched then.
END_OF_INPUT = 2**63 - 2


class DecodeAndMatch(KeyedBroadcastProcessFunction):
    """The one Python step every read goes through, in both modes, connected to the
    broadcast reference updates and cameras. Its input is batches of the records one
    subtask read (org.feblam.flink.SubtaskBatches), keyed by that subtask, so
    Python is entered once per batch rather than once per read.

    Reference side: every subtask applies every update to its `HitEngine`; a
    refused update is reported once, by subtask 0, as a refusal output with its
    bytes, position and reason, and the list stays as it was. The broadcast state
    keeps only positions (`udfs.startup.ReferenceProgress`): the feed itself (the
    compacted topics, or the files) is the lists' store.

    Read side: each record is decoded by the codec and validated; one that fails
    either way becomes a dead letter with its bytes and position, at once. A
    valid read is matched, its candidate hits going downstream, unless the feed
    is not loaded yet (spec §8) or earlier reads of this key are still held: then
    it waits in keyed state, and a timer matches the held reads in arrival order.
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
        # Spec §8: the ends are taken when the subtask starts, and again after every restore.
        self.progress = ReferenceProgress(self.feed.ends())
        self.restored = False
        self.pending = runtime_context.get_list_state(ListStateDescriptor("held-reads", Types.PICKLED_BYTE_ARRAY()))
        self.held = HeldReads()

    def close(self):
        # In thread mode the interpreter outlives the job: a restarted or cancelled job's
        # engine (hundreds of MB at 1,000,000 entries) must not stay reachable from here.
        self.engine = None

    # -- the reference side ------------------------------------------------------------

    def process_broadcast_element(self, update, ctx: KeyedBroadcastProcessFunction.Context):
        state = ctx.get_broadcast_state(REFERENCE_STATE)
        self._restore(state)
        records = list(batch_records(update[1]))
        positions = {}
        for topic, partition, offset, _, _ in records:
            self.progress.applied(topic, partition, offset)
            positions[(POSITION, topic, partition)] = offset
        for (topic, partition, offset, _, value), refused in self._apply(records):
            if self.subtask == 0:
                # Every subtask sees every update; one of them reports the refusal.
                # The log names the reason and the position, never the record (plates).
                LOG.warning("update refused (%s) at %s/%s/%s", refused.reason, topic, partition, offset)
                yield REFUSALS, Row(*self.codec.refusal(self.codec.kind(topic), refused, value, topic, partition,
                                                        offset))
        state.put_all(positions)
        if self.progress.check():
            LOG.info("reference lists and cameras loaded up to their ends; matching reads")

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

    def _restore(self, state) -> None:
        """After a restart the engine is empty but the broadcast state says how far the
        feed had been applied: apply it again up to there (refusals were reported then)."""
        if self.restored:
            return
        self.restored = True
        positions = {(key[1], key[2]): value for key, value in state.items() if key[0] == POSITION}
        if not positions:
            return
        applied, chunk = 0, []
        for record in self.feed.replay(positions):
            if chunk and (len(chunk) >= REPLAY_CHUNK or chunk[-1][0] != record[0]):
                self._apply(chunk)
                chunk = []
            chunk.append(record)
            applied += 1
        self._apply(chunk)
        self.progress.restore(positions)
        self.progress.check()
        LOG.info("restored: %d reference records applied again up to the checkpoint's positions; %s", applied,
                 "matching reads" if self.progress.loaded else "holding reads until the feed's current ends")

    # -- the read side ------------------------------------------------------------------

    def process_element(self, batch: Row, ctx: KeyedBroadcastProcessFunction.ReadOnlyContext):
        reads = []
        read, codec = self.codec.read, self.codec
        for topic, partition, offset, _, value in batch_records(batch):
            try:
                fields = read(value)
                if fields is None:
                    continue
                reads.append((validate_read(fields), offset))
            except InvalidRead as invalid:
                yield DEAD_LETTERS, Row(*codec.dead_letter(invalid, value, topic, partition, offset))
        if self.history:
            for valid, _ in reads:
                yield HISTORY_READS, read_row(valid)
        if not reads:
            return
        self._restore(ctx.get_broadcast_state(REFERENCE_STATE))
        key = ctx.get_current_key()
        if not self.progress.loaded or self._holds(key):
            self.pending.add_all(reads)
            self.held.hold(key)
            timers = ctx.timer_service()
            timers.register_processing_time_timer(timers.current_processing_time() + RETRY_MS)
            timers.register_event_time_timer(END_OF_INPUT)
            return
        evaluate = self.engine.evaluate
        for valid, offset in reads:
            for hit in evaluate(valid):
                yield hit, valid, offset

    def _holds(self, key) -> bool:
        if self.held.holds(key):
            return True
        if self.held.must_look(key):  # after a (re)start: a restored checkpoint may hold reads
            holding = any(True for _ in self.pending.get() or ())
            self.held.found(key, holding)
            return holding
        return False

    def on_timer(self, timestamp: int, ctx: KeyedBroadcastProcessFunction.OnTimerContext):
        # PyFlink routes nothing yielded here to side outputs: only candidates come out.
        self._restore(ctx.get_broadcast_state(REFERENCE_STATE))
        if not self.progress.loaded:
            if ctx.time_domain() == TimeDomain.PROCESSING_TIME:
                ctx.timer_service().register_processing_time_timer(timestamp + RETRY_MS)
            return
        held = list(self.pending.get() or ())
        if not held:
            return
        self.pending.clear()
        self.held.released(ctx.get_current_key())
        evaluate = self.engine.evaluate
        for valid, offset in held:
            for hit in evaluate(valid):
                yield hit, valid, offset


class EventTime(TimestampAssigner):
    """A candidate's event time is its read's (spec §7 forgets keys by event time)."""

    def extract_timestamp(self, candidate, record_timestamp: int) -> int:
        return candidate[1].event_time


class Deduplicate(KeyedProcessFunction):
    """Keyed by dedup key: spec §7 through `udfs.dedup`, in arrival order, in both modes.

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
        # (instant of the key's one timer, the key's dedup window or None for LEZ)
        self.timer = runtime_context.get_state(ValueStateDescriptor("forget", Types.PICKLED_BYTE_ARRAY()))

    def process_element(self, candidate, ctx: KeyedProcessFunction.Context):
        hit, read, offset = candidate
        timers = ctx.timer_service()
        decision = dedup.decide(self.state.value(), hit, watermark=timers.current_watermark(),
                               allowed_lateness_ms=self.lateness)
        key = dedup_key_text(candidate)
        if decision.emit:
            record = hit_record(hit, read, key)
            if self.history:
                yield HISTORY_HITS, hit_row(record)
            yield Row(*self.codec.hit(record, offset))
        else:
            if self.history:
                yield HISTORY_SIGHTINGS, sighting_row(decision.folded_into, read)
            sighting = {"hit_id": decision.folded_into, "read_id": read.read_id, "camera_id": read.camera_id,
                        "event_time": read.event_time, "sightings": decision.sightings, "dedup_key": key}
            yield Row(*self.codec.sighting(sighting, offset))
        self.state.update(decision.state)
        if self.timer.value() is None:
            forget = dedup.forget_at(decision.state, hit.dedup_window_ms, self.lateness)
            if forget is not None:
                timers.register_event_time_timer(forget)
                self.timer.update((forget, hit.dedup_window_ms))

    def on_timer(self, timestamp: int, ctx: KeyedProcessFunction.OnTimerContext):
        timer = self.timer.value()
        if timer is None:  # a timer of a version before event-time forgetting: the next read sets one
            return
        window = timer[1]
        forget = dedup.forget_at(self.state.value(), window, self.lateness)
        if forget is None or forget <= timestamp:
            self.state.clear()
            self.timer.clear()
            return
        ctx.timer_service().register_event_time_timer(forget)
        self.timer.update((forget, window))


def subtask_index(runtime_context: RuntimeContext) -> int:
    """This subtask's index. PyFlink 2.2's thread-mode `get_index_of_this_subtask()`
    calls a Java method that Flink 2 moved to `getTaskInfo()`, so ask there."""
    try:
        return runtime_context.get_index_of_this_subtask()
    except AttributeError:
        return runtime_context._runtime_context.getTaskInfo().getIndexOfThisSubtask()


def dedup_key_text(candidate) -> str:
    """The dedup key of spec §7 of a candidate as one string (Flink key, Kafka message key)."""
    return "|".join(candidate[0].dedup_key)


def hit_record(hit, read, dedup_key: str) -> dict:
    """The hit of spec §10, with its read's raw text, country and confidence, its
    dedup key and its first sighting (its own read)."""
    record: dict[str, Any] = hit.to_record()
    record["dedup_key"] = dedup_key
    record["sightings"] = 1
    record["plate_text"] = read.plate_text
    record["country"] = read.country
    record["ocr_confidence"] = read.ocr_confidence
    return record
