"""The Flink functions of the hit-generation job: thin shells around `udfs`.

Records between operators are plain Python values (pickled by Flink):
  parsed read   (class_key, seq, PlateRead)
  candidate     Hit (udfs.model), before de-duplication
  output        (kind, JSON text) with kind "hit", "dead_letter" or "sighting"

Ordering (spec §7, §8). In **file mode** every read carries its line number
`seq` as its Flink timestamp, and both keyed steps hold their input in keyed
state until the watermark passes it, then process it in `seq` order. The
watermark of the match step is the minimum of the reads' and the reference
side's, and the reference side (bounded files) only lets it rise when every
reference update and camera has been applied: so no read is matched against a
half-loaded list, and the de-duplication step sees the reads of a key in file
order at any parallelism.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from pyflink.common import Types
from pyflink.datastream import KeyedBroadcastProcessFunction, KeyedProcessFunction, OutputTag, RuntimeContext
from pyflink.datastream.state import ListStateDescriptor, MapStateDescriptor, ValueStateDescriptor

from udfs import dedup
from udfs.config import MatchingSettings
from udfs.engine import HitEngine
from udfs.platecode import OcrClasses
from udfs.reference import InvalidEntry, parse_camera, parse_entry
from udfs.validation import InvalidRead, validate_read

LOG = logging.getLogger("feblam.hit_generation")

OUTPUT_TYPE = Types.TUPLE([Types.STRING(), Types.STRING()])
DEAD_LETTERS = OutputTag("dead-letters", OUTPUT_TYPE)
REFUSED = OutputTag("refused-reference-updates", OUTPUT_TYPE)

# Broadcast state: the reference entries and cameras in force, so a restored job
# rebuilds its index from its checkpoint, not from sources already consumed.
REFERENCE_STATE = MapStateDescriptor("reference", Types.PICKLED_BYTE_ARRAY(), Types.PICKLED_BYTE_ARRAY())

CAMERA = "camera"
REFERENCE = "reference"


class NumberAndParse(KeyedProcessFunction):
    """File mode, parallelism 1: numbers each line (its `seq`, kept in keyed state so a
    restart does not renumber) and validates it. Valid reads go on keyed by their
    OCR-class key; invalid ones go to the dead-letter side output with their line."""

    def __init__(self, settings: MatchingSettings):
        self.settings = settings

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
        yield self.classes.key(read.plate), seq, read


class Match(KeyedBroadcastProcessFunction):
    """Keyed by OCR-class key, connected to the broadcast reference updates and cameras.

    Reference side: each update is applied to this subtask's `HitEngine` and kept
    in broadcast state. Read side (file mode): held in keyed state with an
    event-time timer at its `seq`; when the timer fires, every earlier read of the
    key is matched in order and its candidate hits go downstream.
    """

    def __init__(self, settings: MatchingSettings):
        self.settings = settings

    def open(self, runtime_context: RuntimeContext):
        self.engine = HitEngine(self.settings)
        self.restored = False
        self.pending = runtime_context.get_list_state(ListStateDescriptor("pending-reads", Types.PICKLED_BYTE_ARRAY()))
        self.subtask = subtask_index(runtime_context)

    # -- reference side -------------------------------------------------------------

    def process_broadcast_element(self, update: tuple[str, Any], ctx: KeyedBroadcastProcessFunction.Context):
        state = ctx.get_broadcast_state(REFERENCE_STATE)
        self._restore(state)
        kind, raw = update
        try:
            record = _json_record(raw)
            if kind == CAMERA:
                camera = parse_camera(record)
                self.engine.put_camera(camera)
                state.put((CAMERA, camera.camera_id), camera)
            else:
                entry = parse_entry(record)
                self.engine.apply(entry)
                key = (REFERENCE, entry.list_name, entry.entry_id)
                if entry.op == "DELETE":
                    state.remove(key)
                else:
                    state.put(key, entry)
        except InvalidEntry as refused:
            # Every subtask sees every update; one of them reports the refusal.
            if self.subtask == 0:
                LOG.warning("reference update refused (%s): %s", refused, str(raw)[:200])
                yield REFUSED, ("refused", json.dumps({"reason": str(refused), "original": _text(raw)}))

    def _restore(self, state) -> None:
        """After a restart the engine is empty but the broadcast state is not: rebuild."""
        if self.restored:
            return
        self.restored = True
        for key, value in state.items():
            if key[0] == CAMERA:
                self.engine.put_camera(value)
            else:
                self.engine.apply(value)

    # -- read side ------------------------------------------------------------------

    def process_element(self, parsed, ctx: KeyedBroadcastProcessFunction.ReadOnlyContext):
        self.pending.add(parsed)
        ctx.timer_service().register_event_time_timer(ctx.timestamp())

    def on_timer(self, timestamp: int, ctx: KeyedBroadcastProcessFunction.OnTimerContext):
        self._restore(ctx.get_broadcast_state(REFERENCE_STATE))
        due, later = [], []
        for parsed in self.pending.get():
            (due if parsed[1] <= timestamp else later).append(parsed)
        self.pending.update(later)
        for _, _, read in sorted(due, key=lambda p: p[1]):
            yield from self.engine.evaluate(read)


class Deduplicate(KeyedProcessFunction):
    """Keyed by dedup key: spec §7 through `udfs.dedup.decide`, in `seq` order (file mode).

    Emits ("hit", JSON) for a hit to send and ("sighting", hit_id) for a read folded
    into an earlier hit, so the caller can count sightings.
    """

    def open(self, runtime_context: RuntimeContext):
        self.state = runtime_context.get_state(ValueStateDescriptor("dedup", Types.PICKLED_BYTE_ARRAY()))
        self.pending = runtime_context.get_list_state(ListStateDescriptor("pending-hits", Types.PICKLED_BYTE_ARRAY()))

    def process_element(self, hit, ctx: KeyedProcessFunction.Context):
        self.pending.add((ctx.timestamp(), hit))
        ctx.timer_service().register_event_time_timer(ctx.timestamp())

    def on_timer(self, timestamp: int, ctx: KeyedProcessFunction.OnTimerContext):
        due, later = [], []
        for item in self.pending.get():
            (due if item[0] <= timestamp else later).append(item)
        self.pending.update(later)
        state = self.state.value()
        for _, hit in sorted(due, key=lambda item: item[0]):
            decision = dedup.decide(state, hit)
            state = decision.state
            if decision.emit:
                yield "hit", json.dumps(hit_record(hit), sort_keys=True)
            else:
                yield "sighting", decision.folded_into
        self.state.update(state)


def subtask_index(runtime_context: RuntimeContext) -> int:
    """This subtask's index. PyFlink 2.2's thread-mode `get_index_of_this_subtask()`
    calls a Java method that Flink 2 moved to `getTaskInfo()`, so ask there."""
    try:
        return runtime_context.get_index_of_this_subtask()
    except AttributeError:
        return runtime_context._runtime_context.getTaskInfo().getIndexOfThisSubtask()


def dedup_key_text(hit) -> str:
    """The dedup key of spec §7 as one string (Flink key, Kafka message key)."""
    return "|".join(hit.dedup_key)


def hit_record(hit) -> dict:
    """The hit of spec §10, with its dedup key and a first sighting."""
    record = hit.to_record()
    record["dedup_key"] = dedup_key_text(hit)
    record["sightings"] = 1
    return record


def _json_record(raw: Any) -> Any:
    """A file line's JSON value; text that is not JSON is refused like a bad record."""
    if not isinstance(raw, (str, bytes, bytearray)):
        return raw
    try:
        return json.loads(raw)
    except ValueError as error:
        raise InvalidEntry("MALFORMED", raw, f"not JSON: {error}") from None


def _text(raw: Any) -> str:
    if isinstance(raw, (bytes, bytearray)):
        return bytes(raw).decode("utf-8", errors="replace")
    return raw if isinstance(raw, str) else json.dumps(raw, default=repr)
