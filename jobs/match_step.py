"""`DecodeAndMatch`, the hit job's one Python step every read goes through, in both
modes: reads decoded, validated and matched, reference updates and cameras applied,
dead letters and refusals made, and the dead-letter guard kept. The steps after it,
and the side outputs they share, are in `jobs.operators`.
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Sequence

from pyflink.common import Row, Types
from pyflink.datastream import KeyedBroadcastProcessFunction, RuntimeContext
from pyflink.datastream.state import ValueStateDescriptor

from connectors.codecs import CAMERA
from connectors.history import read_row
from connectors.kafka import batch_records, decoded_reads
from history.late_reads import LateReads
from jobs.metrics import METRICS_GROUP, LabelledCounters
from jobs.taskmanager import check_cancelled, return_free_memory, share_the_interpreter
from jobs.operators import (
    CLONE_READS,
    DEAD_LETTERS,
    HISTORY_READS,
    LOG,
    REFUSALS,
    attempt_number,
    candidate_row,
    subtask_index,
)
from udfs import clones
from udfs.config import MatchingSettings
from udfs.deadletter_guard import DeadLetterGuard, DeadLetterIncident
from udfs.engine import HitEngine
from udfs.reference import InvalidEntry, parse_camera
from udfs.startup import AppliedFeed
from udfs.validation import PAST_RETENTION, InvalidRead, validate_read

# A subtask applies the feed it loads at open in chunks of one topic, as batches come.
LOAD_CHUNK = 1000
# How long a subtask whose guard tripped keeps running (blocked) before it fails the job.
INCIDENT_VISIBLE_S = 15


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

    Read side: each record is decoded (in Java on Kafka, `connectors.read_fields`, or by
    the codec) and validated; one that fails
    either way becomes a dead letter with its bytes and position, written at the
    end of its batch once the dead-letter guard (`udfs.deadletter_guard`) has
    counted the batch, or held back by it (docs/operations.md, "The dead-letter
    guard"). A valid read is matched, its candidate hits going downstream in
    arrival order. With the history, a valid read whose hour is already past the
    history's retention is a dead letter too, `PAST_RETENTION` (history.late_reads).

    Metrics (group `feblam`, docs/operations.md "Metrics"): reads in (and how many of
    them were decoded in Java), dead letters
    by reason, refusals by topic, guard incidents and held dead letters, and the
    start-up load.
    """

    def __init__(self, settings: MatchingSettings, codec, feed, late_reads: LateReads | None = None,
                 snapshots: str | None = None, clone_keys: Sequence[int] = ()):
        self.settings = settings
        # The key of each bucket of plates for the clone step (`DetectClones`), by bucket.
        self.clone_keys = list(clone_keys)
        self.codec = codec
        self.feed = feed
        # Set when the job writes the history: also its reads, except those too late for it.
        self.late_reads = late_reads
        # Where the start-up snapshots of the lists are (connectors.reference.snapshot), if any.
        self.snapshots = snapshots

    def open(self, runtime_context: RuntimeContext):
        share_the_interpreter()
        self.codec.open()
        self.engine = HitEngine(self.settings)
        self.subtask = subtask_index(runtime_context)
        metrics = runtime_context.get_metrics_group().add_group(METRICS_GROUP)
        self.reads_in = metrics.counter("readsIn")
        self.decoded_in_java = metrics.counter("readsDecodedInJava")
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
        return_free_memory()

    def _load(self) -> None:
        """Spec §8: the feed up to its ends now, applied before the first read: from the
        newest usable snapshot and the records after it, or from the start."""
        started = time.monotonic()
        ends = self.feed.ends()
        upto = ends.last_positions()
        self.applied = AppliedFeed(upto)
        since = self._load_snapshot(ends) if self.snapshots else {}
        count, chunk = 0, []
        for record in self.feed.replay(upto, since):
            if chunk and (len(chunk) >= LOAD_CHUNK or chunk[-1][0] != record[0]):
                self._load_chunk(chunk)
                chunk = []
                check_cancelled("the reference load")
            chunk.append(record)
            count += 1
            self.loaded.inc()
        self._load_chunk(chunk)
        return_free_memory()   # the load's temporaries
        LOG.info("reference lists and cameras loaded: %d records up to their ends in %.1f s; matching reads",
                 count, time.monotonic() - started)

    def _load_snapshot(self, ends) -> dict:
        """Load the newest snapshot that can stand for the feed's topics now; the positions
        it holds the lists at (none when there is no usable one: the load is then whole)."""
        from connectors.reference.snapshot import SnapshotError, latest_snapshot

        started = time.monotonic()
        try:
            snapshot = latest_snapshot(self.snapshots)
            unusable = "there is none" if snapshot is None else snapshot.unusable_for(ends)
            if unusable is None:
                refusals = snapshot.refused_records()
                for batch in snapshot.batches():
                    check_cancelled("the snapshot load")
                    refused = self.engine.load_columns(batch)
                    if refused:   # taken by another FEBLAM whose rules differ: not this job's lists
                        unusable = f"{len(refused)} of its entries of {batch.list_name} are refused here"
                        break
        except (SnapshotError, OSError) as error:
            unusable = str(error)
        if unusable is not None:
            LOG.warning("reference snapshot not used, loading the lists from the start: %s", unusable)
            self.engine = HitEngine(self.settings)
            return {}
        if self.subtask == 0:
            for record, refused in refusals:
                self.applied.refused_while_loading(record, refused)
        LOG.info("reference snapshot %s loaded: %d entries in %.1f s", snapshot.name, snapshot.entries,
                 time.monotonic() - started)
        return snapshot.positions

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
        read, codec, evaluate, late = self.codec.read, self.codec, self.engine.evaluate, self.late_reads
        clone_settings = self.settings.clones
        to_clones = {} if clone_settings.enabled else None
        # A batch's dead letters go out after it, once the guard has counted it: a batch
        # that trips the guard writes none (no checkpoint falls inside a batch).
        dead, reasons, valid_reads = [], {}, 0
        # On Kafka most reads come decoded in Java (connectors.read_fields); the others,
        # and every read on files, are decoded here by the codec.
        decoded = decoded_reads(batch)
        if decoded is not None:
            self.decoded_in_java.inc(len(decoded) - decoded.count(None))
        for i, (topic, partition, offset, _, value) in enumerate(batch_records(batch)):
            try:
                fields = decoded[i] if decoded is not None else None
                if fields is None:
                    fields = read(value)
                    if fields is None:
                        continue
                valid = validate_read(fields)
                if late is not None:
                    problem = late.problem(valid.event_time)
                    if problem is not None:
                        raise InvalidRead(PAST_RETENTION, fields, problem, read_id=valid.read_id)
            except InvalidRead as invalid:
                dead.append(Row(*codec.dead_letter(invalid, value, topic, partition, offset)))
                reasons[invalid.reason] = reasons.get(invalid.reason, 0) + 1
                continue
            valid_reads += 1
            if late is not None:
                yield HISTORY_READS, read_row(valid)
            for hit in evaluate(valid):
                yield candidate_row(hit, valid, offset)
            if to_clones is not None:
                place = clones.position(valid, self.engine.cameras.get(valid.camera_id), clone_settings)
                if place is not None:
                    to_clones.setdefault(clones.bucket(valid.plate, clone_settings.buckets), []) \
                        .append((valid.plate, clones.trail_entry(valid, *place), valid.plate_text, offset))
        for bucket, reads_of_bucket in (to_clones or {}).items():
            yield CLONE_READS, Row(self.clone_keys[bucket], pickle.dumps(reads_of_bucket, pickle.HIGHEST_PROTOCOL))
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
