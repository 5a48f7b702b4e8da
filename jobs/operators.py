"""The Flink functions of the hit-generation job: thin shells around `udfs`.

Records between operators are plain Python values (pickled by Flink):
  parsed read   (class_key, seq, PlateRead)
  candidate     (Hit, PlateRead): a hit of `udfs.model` before de-duplication, with its read
  output        files: (kind, JSON text), kind "hit", "dead_letter", "sighting" or "refused";
                Kafka: Row(topic, key, value) with Avro values

Ordering and start-up (spec §7, §8).
- **Files**: every read carries its line number `seq` as its Flink timestamp,
  and both keyed steps hold their input in keyed state until the watermark
  passes it, then process it in `seq` order. The match step's watermark is the
  minimum of the reads' and the reference side's, and the reference side
  (bounded files) only lets it rise once every update and camera is applied.
- **Kafka**: one Python step, `DecodeAndMatch`, called per batch of the reads one
  subtask consumed (`connectors.kafka.batched_by_subtask`), keyed by that subtask
  (so records never change subtask on the way in). The job is given the end offset of every
  reference and camera partition at start (`StartupPositions`); until its
  broadcast state has seen every partition up to there, the step holds decoded
  reads in keyed state, then matches in arrival order. Reads keep the order in
  which their subtask consumed them (Kafka's partition order).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from pyflink.common import Row, Types
from pyflink.datastream import (
    KeyedBroadcastProcessFunction,
    KeyedProcessFunction,
    OutputTag,
    RuntimeContext,
)
from pyflink.datastream.state import ListStateDescriptor, MapStateDescriptor, ValueStateDescriptor

from connectors.avro import AvroDecodeError
from connectors.history import HIT_ROW, READ_ROW, SIGHTING_ROW, hit_row, read_row, sighting_row
from connectors.kafka import OUTGOING_TYPE, StartupPositions, batch_records
from udfs import dedup
from udfs.config import MatchingSettings
from udfs.engine import HitEngine
from udfs.platecode import OcrClasses
from udfs.reference import InvalidEntry, parse_camera, parse_entry
from udfs.validation import MALFORMED, InvalidRead, validate_read

LOG = logging.getLogger("feblam.hit_generation")

OUTPUT_TYPE = Types.TUPLE([Types.STRING(), Types.STRING()])
DEAD_LETTERS = OutputTag("dead-letters", OUTPUT_TYPE)
KAFKA_DEAD_LETTERS = OutputTag("kafka-dead-letters", OUTGOING_TYPE)
REFUSED = OutputTag("refused-reference-updates", OUTPUT_TYPE)
# The Parquet history (connectors.history), emitted only when the job writes one:
# a side output nobody reads would fall through to the main output.
HISTORY_READS = OutputTag("history-reads", READ_ROW)
HISTORY_HITS = OutputTag("history-hits", HIT_ROW)
HISTORY_SIGHTINGS = OutputTag("history-sightings", SIGHTING_ROW)

# Broadcast state: what a restored subtask rebuilds its engine from (see ReferenceSide).
REFERENCE_STATE = MapStateDescriptor("reference", Types.PICKLED_BYTE_ARRAY(), Types.PICKLED_BYTE_ARRAY())

CAMERA = "camera"
REFERENCE = "reference"
POSITION = "position"
RETRY_MS = 200


class NumberAndParse(KeyedProcessFunction):
    """Files, parallelism 1: numbers each line (its `seq`, kept in keyed state so a
    restart does not renumber) and validates it. Valid reads go on keyed by their
    OCR-class key; invalid ones go to the dead-letter side output with their line."""

    def __init__(self, settings: MatchingSettings, history: bool = False):
        self.settings = settings
        self.history = history

    def open(self, runtime_context: RuntimeContext):
        self.counter = runtime_context.get_state(ValueStateDescriptor("seq", Types.LONG()))
        self.classes = OcrClasses(self.settings.ocr_classes)

    def process_element(self, line: str, ctx: KeyedProcessFunction.Context):
        seq = (self.counter.value() or 0) + 1
        self.counter.update(seq)
        try:
            read = validate_read(line, position=seq)
        except InvalidRead as invalid:
            yield DEAD_LETTERS, ("dead_letter", json.dumps(invalid.to_record(), sort_keys=True))
            return
        if self.history:
            yield HISTORY_READS, read_row(read)
        yield self.classes.key(read.plate), seq, read


class ReferenceSide:
    """The reference side of both match steps: each update is applied to this
    subtask's `HitEngine`; what a restored subtask needs to rebuild its engine is
    kept in broadcast state.

    - Files (`startup` None; updates are (kind, JSON line)): the entries and
      cameras themselves.
    - Kafka (`startup` the positions of spec §8; updates are batches of records,
      decoded with `registry_url`/`reference_prefix`): only the offset of the
      last record applied from each reference and camera partition. The compacted
      topics are the lists' store: a restored subtask reads them again up to
      those offsets (`connectors.kafka.replay`), exactly the state of its
      checkpoint, while the Flink source goes on after them. Every checkpoint
      then holds a few offsets instead of every entry (a full copy of each
      subtask's entries at every checkpoint stalled the job for seconds with
      1,000,000 entries). A restored subtask also takes new end offsets and
      holds reads until it reaches them, as at start-up: a key compacted away
      below its offset since the checkpoint is back before any read is matched.

    Subclasses call `_open_reference` in `open`.
    """

    settings: MatchingSettings
    startup: StartupPositions | None
    bootstrap_servers: str | None
    reference_pattern: str | None
    registry_url: str | None
    reference_prefix: str
    cameras_topic: str

    def _open_reference(self, runtime_context: RuntimeContext) -> None:
        self.engine = HitEngine(self.settings)
        self.restored = False
        self.positions: dict[tuple[str, int], int] = {}
        self.bootstrapped = self.startup is None
        self.subtask = subtask_index(runtime_context)
        if self.startup is not None:
            from connectors.contracts import ReferenceDecoder
            from connectors.registry import RegistryClient

            self.decoder = ReferenceDecoder(RegistryClient(self.registry_url), self.reference_prefix)

    def close(self):
        # In thread mode the interpreter outlives the job: a restarted or cancelled job's
        # engine (hundreds of MB at 1,000,000 entries) must not stay reachable from here.
        self.engine = None

    def process_broadcast_element(self, update, ctx: KeyedBroadcastProcessFunction.Context):
        state = ctx.get_broadcast_state(REFERENCE_STATE)
        self._restore(state)
        changes: dict = {}  # broadcast-state key -> value (None: remove), written once per element
        for raw, decode in self._updates(update, changes):
            refused = self._apply(raw, decode, changes)
            if refused is not None and self.startup is None:
                yield REFUSED, ("refused", json.dumps({"reason": str(refused), "original": _text(raw)}))
        puts = {key: value for key, value in changes.items() if value is not None}
        if puts:
            state.put_all(puts)
        for key in [key for key, value in changes.items() if value is None]:
            state.remove(key)
        if not self.bootstrapped and self.startup.reached(self.positions):
            self.bootstrapped = True
            LOG.info("reference lists loaded up to the start-up offsets; matching reads")

    def _updates(self, update, changes: dict) -> Iterator[tuple[Any, Callable[[], tuple[str, Any]]]]:
        """(raw update, its decoder) for each update of one broadcast element: files send
        one (kind, JSON line), Kafka a batch of records (connectors.kafka.batch_records)."""
        if self.startup is None:
            kind, line = update
            yield line, lambda: (kind, _json_record(line))
            return
        for topic, partition, offset, key, value in batch_records(update[1]):
            self.positions[(topic, partition)] = offset
            changes[(POSITION, topic, partition)] = offset
            yield value, partial(self._decode_record, topic, key, value)

    def _apply(self, raw, decode: Callable[[], tuple[str, Any]], changes: dict | None) -> Exception | None:
        """Decode and apply one update; the refusal, if it is refused. `changes` collects
        what the file mode keeps in broadcast state."""
        try:
            kind, record = decode()
            if kind == CAMERA:
                self._camera(record, changes)
            else:
                self._entry(record, changes)
        except (InvalidEntry, AvroDecodeError) as refused:
            # Every subtask sees every update; one of them reports the refusal. On Kafka the
            # loaders' quality gates stop bad lists before they are published (the log
            # is the report); on files the run's summary lists them.
            if self.subtask == 0:
                LOG.warning("reference update refused (%s): %s", refused, str(raw)[:200])
            return refused
        return None

    def _decode_record(self, topic: str, key: bytes | None, value: bytes | None) -> tuple[str, Any]:
        if topic == self.cameras_topic:
            return CAMERA, (key, value)
        return REFERENCE, self.decoder.entry(topic, key, value)

    def _entry(self, record, changes: dict | None) -> None:
        entry = parse_entry(record)
        self.engine.apply(entry)
        if self.startup is None:
            changes[(REFERENCE, entry.list_name, entry.entry_id)] = None if entry.op == "DELETE" else entry

    def _camera(self, record, changes: dict | None) -> None:
        if isinstance(record, tuple):  # Kafka: (key, value); a tombstone removes the camera
            key, value = record
            if value is None:
                self.engine.remove_camera((key or b"").decode("utf-8"))
                return
            record = self.decoder.camera(value)
        camera = parse_camera(record)
        self.engine.put_camera(camera)
        if self.startup is None:
            changes[(CAMERA, camera.camera_id)] = camera

    def _restore(self, state) -> None:
        """After a restart the engine is empty but the broadcast state is not: rebuild."""
        if self.restored:
            return
        self.restored = True
        for key, value in state.items():
            if key[0] == CAMERA:
                self.engine.put_camera(value)
            elif key[0] == REFERENCE:
                self.engine.apply(value)
            elif key[0] == POSITION:
                self.positions[(key[1], key[2])] = value
        if self.startup is not None and self.positions:
            self._replay()

    def _replay(self) -> None:
        from connectors.kafka import replay, startup_positions

        started = time.monotonic()
        applied = 0
        for topic, _, _, key, value in replay(self.bootstrap_servers, self.positions):
            self._apply(value, partial(self._decode_record, topic, key, value), None)
            applied += 1
        self.startup = startup_positions(self.bootstrap_servers, self.reference_pattern)
        self.bootstrapped = self.startup.reached(self.positions)
        LOG.info("restored: %d reference records read again up to the checkpoint's offsets in %.1f s; %s",
                 applied, time.monotonic() - started,
                 "matching reads" if self.bootstrapped else "holding reads until the lists' current ends")


class Match(ReferenceSide, KeyedBroadcastProcessFunction):
    """Files: keyed by OCR-class key, connected to the broadcast reference updates
    and cameras. Reads wait in keyed state until the watermark passes their `seq`
    and are matched in `seq` order; candidates go downstream as (Hit, PlateRead)."""

    def __init__(self, settings: MatchingSettings):
        self.settings = settings
        self.startup = None
        self.bootstrap_servers = None
        self.reference_pattern = None
        self.registry_url = None
        self.reference_prefix = ""
        self.cameras_topic = ""

    def open(self, runtime_context: RuntimeContext):
        self._open_reference(runtime_context)
        self.pending = runtime_context.get_list_state(ListStateDescriptor("pending-reads", Types.PICKLED_BYTE_ARRAY()))

    def process_element(self, parsed, ctx: KeyedBroadcastProcessFunction.ReadOnlyContext):
        self.pending.add(parsed)
        ctx.timer_service().register_event_time_timer(ctx.timestamp())

    def on_timer(self, timestamp: int, ctx: KeyedBroadcastProcessFunction.OnTimerContext):
        self._restore(ctx.get_broadcast_state(REFERENCE_STATE))
        due, later = [], []
        for parsed in self.pending.get() or ():
            (due if parsed[1] <= timestamp else later).append(parsed)
        self.pending.update(later)
        due.sort(key=lambda p: p[1])
        for _, _, read in due:
            for hit in self.engine.evaluate(read):
                yield hit, read


class DecodeAndMatch(ReferenceSide, KeyedBroadcastProcessFunction):
    """Kafka: the one Python step every read goes through, connected to the broadcast
    reference updates and cameras. Its input is batches of the records one subtask
    read (`connectors.kafka.RECORD_BATCH_TYPE`, made by org.feblam.flink.SubtaskBatches),
    keyed by that subtask, so Python is entered once per batch rather than once
    per read.

    Each record is decoded (writer schema from the registry, cached) and
    validated; one that fails either way becomes a DeadLetter with its bytes and
    source position, at once. A valid read is matched, its candidate hits going
    downstream as (Hit, PlateRead), unless the lists are not loaded yet (spec §8)
    or earlier reads of this key are still held: then it waits in keyed state,
    and a processing-time timer matches the held reads in arrival order.

    Which keys hold reads is kept in memory (`held`), so the common case asks
    Flink's state nothing; after a (re)start each key's state is looked at once,
    since a restored checkpoint may hold reads.
    """

    def __init__(self, settings: MatchingSettings, startup: StartupPositions, bootstrap_servers: str,
                 reference_pattern: str, registry_url: str, reference_prefix: str, cameras_topic: str,
                 hits_topic: str, dead_letter_topic: str, history: bool = False):
        self.settings = settings
        self.startup = startup
        self.bootstrap_servers = bootstrap_servers
        self.reference_pattern = reference_pattern
        self.registry_url = registry_url
        self.reference_prefix = reference_prefix
        self.cameras_topic = cameras_topic
        self.hits_topic = hits_topic
        self.dead_letter_topic = dead_letter_topic
        self.history = history

    def open(self, runtime_context: RuntimeContext):
        from connectors.contracts import Encoders, ReadDecoder
        from connectors.registry import RegistryClient

        self._open_reference(runtime_context)
        registry = RegistryClient(self.registry_url)
        self.read_decoder = ReadDecoder(registry)
        self.encoders = Encoders(registry, self.hits_topic, self.dead_letter_topic)
        self.pending = runtime_context.get_list_state(ListStateDescriptor("held-reads", Types.PICKLED_BYTE_ARRAY()))
        self.held: set = set()
        self.checked: set = set()

    def process_element(self, batch: Row, ctx: KeyedBroadcastProcessFunction.ReadOnlyContext):
        reads = []
        for topic, partition, offset, _, value in batch_records(batch):
            try:
                reads.append(self._read(value))
            except InvalidRead as invalid:
                position = {"topic": topic, "partition": partition, "offset": offset}
                yield KAFKA_DEAD_LETTERS, dead_letter_row(self.encoders, self.dead_letter_topic, invalid, value,
                                                          position)
        if self.history:
            for read in reads:
                yield HISTORY_READS, read_row(read)
        if not reads:
            return
        if not self.restored:
            self._restore(ctx.get_broadcast_state(REFERENCE_STATE))
        key = ctx.get_current_key()
        if not self.bootstrapped or self._holds(key):
            self.pending.add_all(reads)
            self.held.add(key)
            ctx.timer_service().register_processing_time_timer(ctx.timer_service().current_processing_time() + RETRY_MS)
            return
        evaluate = self.engine.evaluate
        for read in reads:
            for hit in evaluate(read):
                yield hit, read

    def _read(self, value: bytes | None):
        """The valid PlateRead in one message; raises InvalidRead otherwise."""
        try:
            fields = self.read_decoder.decode(value)
        except AvroDecodeError as error:
            raise InvalidRead(MALFORMED, value, str(error)) from None
        return validate_read(fields)

    def _holds(self, key) -> bool:
        if key in self.held:
            return True
        if key not in self.checked:
            self.checked.add(key)
            if any(True for _ in self.pending.get() or ()):
                self.held.add(key)
                return True
        return False

    def on_timer(self, timestamp: int, ctx: KeyedBroadcastProcessFunction.OnTimerContext):
        # PyFlink routes nothing yielded here to side outputs: only candidates come out.
        self._restore(ctx.get_broadcast_state(REFERENCE_STATE))
        if not self.bootstrapped:
            ctx.timer_service().register_processing_time_timer(timestamp + RETRY_MS)
            return
        held = list(self.pending.get() or ())
        self.pending.clear()
        key = ctx.get_current_key()
        self.held.discard(key)
        self.checked.add(key)
        for read in held:
            for hit in self.engine.evaluate(read):
                yield hit, read


class Deduplicate(KeyedProcessFunction):
    """Keyed by dedup key: spec §7 through `udfs.dedup.decide`.

    Files: in `seq` order, emitting ("hit", JSON) for a hit and ("sighting",
    hit_id) for a read folded into an earlier hit. Kafka: in arrival order,
    emitting Row(hits topic, dedup key, Avro Hit); the key's state is cleared
    once `retention_ms` of processing time pass without a read for it. With
    `history`, hits and sightings also go to the history side outputs.
    """

    def __init__(self, kafka: dict | None = None, retention_ms: int = 48 * 3600 * 1000, history: bool = False):
        self.kafka = kafka
        self.retention_ms = retention_ms
        self.history = history

    def open(self, runtime_context: RuntimeContext):
        self.state = runtime_context.get_state(ValueStateDescriptor("dedup", Types.PICKLED_BYTE_ARRAY()))
        self.pending = runtime_context.get_list_state(ListStateDescriptor("pending-hits", Types.PICKLED_BYTE_ARRAY()))
        self.touched = runtime_context.get_state(ValueStateDescriptor("touched", Types.LONG()))
        if self.kafka is not None:
            from connectors.contracts import Encoders
            from connectors.registry import RegistryClient

            self.encoders = Encoders(RegistryClient(self.kafka["registry_url"]), self.kafka["hits_topic"],
                                     self.kafka["dead_letter_topic"])

    def process_element(self, candidate, ctx: KeyedProcessFunction.Context):
        if self.kafka is None:
            self.pending.add((ctx.timestamp(), candidate))
            ctx.timer_service().register_event_time_timer(ctx.timestamp())
            return
        yield from self._decide([candidate])
        now = ctx.timer_service().current_processing_time()
        self.touched.update(now)
        ctx.timer_service().register_processing_time_timer(now + self.retention_ms)

    def on_timer(self, timestamp: int, ctx: KeyedProcessFunction.OnTimerContext):
        if self.kafka is not None:  # retention timer
            touched = self.touched.value()
            if touched is not None and timestamp >= touched + self.retention_ms:
                self.state.clear()
                self.touched.clear()
            return
        due, later = [], []
        for item in self.pending.get():
            (due if item[0] <= timestamp else later).append(item)
        self.pending.update(later)
        due.sort(key=lambda item: item[0])
        yield from self._decide([candidate for _, candidate in due])

    def _decide(self, candidates):
        state = self.state.value()
        for hit, read in candidates:
            decision = dedup.decide(state, hit)
            state = decision.state
            if decision.emit:
                record = hit_record(hit, read)
                if self.history:
                    yield HISTORY_HITS, hit_row(record)
                if self.kafka is None:
                    yield "hit", json.dumps(record, sort_keys=True)
                else:
                    yield Row(self.kafka["hits_topic"], record["dedup_key"].encode("utf-8"),
                              self.encoders.hit.encode(avro_hit(record)))
            else:
                if self.history:
                    yield HISTORY_SIGHTINGS, sighting_row(decision.folded_into, read)
                if self.kafka is None:
                    yield "sighting", decision.folded_into
        self.state.update(state)


def subtask_index(runtime_context: RuntimeContext) -> int:
    """This subtask's index. PyFlink 2.2's thread-mode `get_index_of_this_subtask()`
    calls a Java method that Flink 2 moved to `getTaskInfo()`, so ask there."""
    try:
        return runtime_context.get_index_of_this_subtask()
    except AttributeError:
        return runtime_context._runtime_context.getTaskInfo().getIndexOfThisSubtask()


def dedup_key_text(candidate) -> str:
    """The dedup key of spec §7 of a (Hit, PlateRead) candidate as one string (Flink
    key, Kafka message key)."""
    return "|".join(candidate[0].dedup_key)


def hit_record(hit, read) -> dict:
    """The hit of spec §10, with its read's raw text, country and confidence, its
    dedup key and a first sighting."""
    record = hit.to_record()
    record["dedup_key"] = dedup_key_text((hit, read))
    record["sightings"] = 1
    record["plate_text"] = read.plate_text
    record["country"] = read.country
    record["ocr_confidence"] = read.ocr_confidence
    return record


def avro_hit(record: dict) -> dict:
    """A hit record in the shape of schemas/Hit.avsc."""
    return {**record, "explanation": [{"factor": f, "value": float(v)} for f, v in record["explanation"]]}


def dead_letter_row(encoders, topic: str, invalid: InvalidRead, value: bytes | None, position: dict) -> Row:
    record = {
        "reason": invalid.reason,
        "detail": invalid.detail or None,
        "read_id": invalid.read_id,
        "original": value or b"",
        "source_topic": position["topic"],
        "source_partition": position["partition"],
        "source_offset": position["offset"],
        "received_at": int(time.time() * 1000),
    }
    key = f"{position['topic']}/{position['partition']}/{position['offset']}".encode("utf-8")
    return Row(topic, key, encoders.dead_letter.encode(record))


def _json_record(raw: Any) -> Any:
    """A file line's JSON value; text that is not JSON is refused like a bad record."""
    try:
        return json.loads(raw)
    except ValueError as error:
        raise InvalidEntry("MALFORMED", raw, f"not JSON: {error}") from None


def _text(raw: Any) -> str:
    if isinstance(raw, (bytes, bytearray)):
        return bytes(raw).decode("utf-8", errors="replace")
    return raw if isinstance(raw, str) else repr(raw)
