"""The Flink functions of the Hit Gateway job: thin shells around the `gateway` package.

    hits, sightings, lifecycle events ─DecodeInput─keyBy(hit_id)─┐
                                            │                     RouteAndFollow ─SplitOutputs─▶ gw.<destination>, refused events
                                            └─▶ dead inputs        │                    └─▶ audit rows (side output)
    cameras, gw.config ─broadcast──────────────────────────────────┘

`RouteAndFollow` keeps one `gateway.lifecycle.HitCase` per hit_id in keyed state
(as JSON: plain values survive an upgrade that renames a class) and one
processing-time timer per hit: the earliest of its ack deadlines and the
instant its state may be forgotten (spec §5 timeouts run on processing time).
Cameras and the routing configuration are loaded up to their ends in `open`,
as the hit-generation job loads its lists, so the first hit is routed with
the configuration in force at start-up.
"""

from __future__ import annotations

import json
import logging

from pyflink.common import Row, Types
from pyflink.datastream import KeyedBroadcastProcessFunction, OutputTag, ProcessFunction, RuntimeContext
from pyflink.datastream.state import MapStateDescriptor, ValueStateDescriptor

from connectors.audit import AUDIT_ROW, audit_row
from connectors.gateway_codec import CAMERA, CONFIG, EVENT, HIT, HIT_SIGHTING, UndecodableInput
from connectors.kafka import OUTGOING_TYPE
from gateway.config import ConfigError, parse_config
from gateway.labels import hit_labels
from gateway.lifecycle import HitCase
from gateway.records import AuditRecord, Message, RefusedEvent
from jobs.operators import subtask_index
from udfs.startup import AppliedFeed

LOG = logging.getLogger("feblam.hit_gateway")

DEAD_INPUTS = OutputTag("dead-inputs", OUTGOING_TYPE)
AUDIT = OutputTag("audit", AUDIT_ROW)
KAFKA, AUDIT_OUT = "kafka", "audit"  # the two kinds of RouteAndFollow's outputs
MALFORMED_EVENT = "malformed-event"   # a lifecycle event that does not decode: (hit_id "", kind, reason, bytes)
# The broadcast stream's descriptor (Flink asks for one); each subtask loads the context itself.
CONTEXT_STATE = MapStateDescriptor("gateway-context", Types.PICKLED_BYTE_ARRAY(), Types.PICKLED_BYTE_ARRAY())


class DecodeInput(ProcessFunction):
    """A Kafka record of the inputs to (hit_id, kind, record, raw bytes), for keyBy(hit_id).

    A record that does not decode is kept whole: a lifecycle event goes on as
    MALFORMED_EVENT, to be refused (its sender learns why), anything else is a dead input."""

    def __init__(self, codec):
        self.codec = codec

    def open(self, runtime_context: RuntimeContext):
        self.codec.open()

    def process_element(self, record, ctx: ProcessFunction.Context):
        topic, partition, offset, _, key, value = record
        try:
            decoded = self.codec.decode(topic, partition, offset, key, value)
        except UndecodableInput as error:
            if topic == self.codec.topics.lifecycle_events:
                # Refused by RouteAndFollow, which audits every refusal.
                LOG.warning("lifecycle event refused at %s/%s/%s: it does not decode", topic, partition, offset)
                yield "", MALFORMED_EVENT, f"malformed: {error.reason}", value
            else:
                LOG.warning("input at %s/%s/%s does not decode (%s)", topic, partition, offset, error.reason)
                yield DEAD_INPUTS, Row(*self.codec.dead_input(error))
            return
        hit_id = decoded.hit_id or ""
        yield hit_id, decoded.kind, decoded.record, decoded.raw


def case_key(item) -> str:
    return item[0]


class RouteAndFollow(KeyedBroadcastProcessFunction):
    """Keyed by hit_id: routing, delivery, sightings, lifecycle and escalation of one hit
    (gateway spec §3-§6), through `gateway.lifecycle.HitCase`.

    Outputs, as (KAFKA, topic, key, value) or (AUDIT_OUT, AuditRecord) for `SplitOutputs`:
    destination messages and refused events for the Kafka sink; audit rows when
    `audit` is set. Not side outputs: PyFlink 2.2's thread mode does not split
    the side outputs of a keyed broadcast function's `on_timer` (in
    pyflink/fn_execution/datastream/embedded/operations.py its on_timer_func
    skips `process_func`), and escalations are made there.
    """

    def __init__(self, codec, feed, audit: bool):
        self.codec = codec
        self.feed = feed
        self.audit = audit

    def open(self, runtime_context: RuntimeContext):
        self.codec.open()
        self.subtask = subtask_index(runtime_context)
        self.case = runtime_context.get_state(ValueStateDescriptor("case", Types.STRING()))
        self.timer = runtime_context.get_state(ValueStateDescriptor("timer", Types.LONG()))
        self.cameras: dict[str, dict] = {}
        self.config = None
        upto = self.feed.ends().last_positions()
        self.applied = AppliedFeed(upto)
        count = 0
        for topic, partition, offset, key, value in self.feed.replay(upto):
            self._context(topic, partition, offset, key, value)
            count += 1
        if self.config is None:
            raise RuntimeError(f"no routing configuration on {self.codec.topics.config}: "
                               "run `feblam gateway config apply FILE` first")
        LOG.info("gateway context loaded: %d cameras, configuration %s (%d records)",
                 len(self.cameras), self.config.version, count)

    def close(self):
        self.cameras, self.config = {}, None

    # -- context: cameras and configuration --------------------------------------------------

    def process_broadcast_element(self, record, ctx: KeyedBroadcastProcessFunction.Context):
        topic, partition, offset, _, key, value = record
        if self.applied.fresh(topic, partition, offset):
            self._context(topic, partition, offset, key, value)
        return iter(())

    def _context(self, topic: str, partition: int, offset: int, key, value) -> None:
        try:
            decoded = self.codec.decode(topic, partition, offset, key, value)
        except UndecodableInput as error:
            LOG.warning("context record at %s/%s/%s ignored: %s", topic, partition, offset, error.reason)
            return
        if decoded.kind == CAMERA:
            camera = decoded.record
            if camera.get("op") == "DELETE":
                self.cameras.pop(camera["camera_id"], None)
            else:
                self.cameras[camera["camera_id"]] = camera
        elif decoded.kind == CONFIG:
            version = decoded.record
            try:
                self.config = parse_config(version["text"], version.get("source") or topic)
            except ConfigError as error:
                # A configuration names no plate or person: safe to log whole. The one in force stays.
                LOG.error("configuration at %s/%s/%s refused, %s stays in force: %s", topic, partition, offset,
                          self.config.version if self.config else "none", error)
                return
            if self.subtask == 0:
                LOG.info("configuration %s in force (from %s, applied by %s)", self.config.version,
                         version.get("source"), version.get("applied_by"))

    # -- hits, sightings, lifecycle events --------------------------------------------------

    def process_element(self, item, ctx: KeyedBroadcastProcessFunction.ReadOnlyContext):
        hit_id, kind, record, raw = item
        timers = ctx.timer_service()
        now = timers.current_processing_time()
        state = self.case.value()
        case = HitCase.from_state(json.loads(state)) if state else HitCase(hit_id)
        if kind == HIT:
            labels = hit_labels(record, self.cameras.get(record.get("camera_id")), self.config.list_owners)
            outputs = case.on_hit(record, labels, self.config, now, camera_of=self.cameras.get)
        elif kind == HIT_SIGHTING:
            outputs = case.on_sighting(record, now, self.cameras.get(record.get("camera_id")))
        elif kind == EVENT:
            outputs = case.on_event(record, self.config, now)
        elif kind == MALFORMED_EVENT:
            outputs = case.refuse(None, record, now)
        else:
            outputs = []
        yield from self._emit(outputs, raw)
        if case.hit is not None or case.early:
            self.case.update(json.dumps(case.to_state()))
            self._schedule(case, timers)

    def on_timer(self, timestamp: int, ctx: KeyedBroadcastProcessFunction.OnTimerContext):
        state = self.case.value()
        self.timer.clear()
        if not state:
            return
        # The records say when the timer actually fired, not when it was due.
        now = max(timestamp, ctx.timer_service().current_processing_time())
        case = HitCase.from_state(json.loads(state))
        if case.expires_at(self.config) <= now:
            yield from self._emit(case.expire(now), None)
            self.case.clear()
            return
        yield from self._emit(case.on_time(self.config, now), None)
        self.case.update(json.dumps(case.to_state()))
        self._schedule(case, ctx.timer_service())

    def _schedule(self, case: HitCase, timers) -> None:
        """One timer per hit, at its next ack deadline or the end of its retention."""
        deadline = case.next_deadline()
        wanted = case.expires_at(self.config) if deadline is None else min(deadline, case.expires_at(self.config))
        current = self.timer.value()
        if current == wanted:
            return
        if current is not None:
            timers.delete_processing_time_timer(current)
        timers.register_processing_time_timer(wanted)
        self.timer.update(wanted)

    def _emit(self, outputs, raw):
        for output in outputs:
            if isinstance(output, Message):
                yield (KAFKA, *self.codec.message(output))
            elif isinstance(output, RefusedEvent):
                yield (KAFKA, *self.codec.refused(output, raw))
            elif isinstance(output, AuditRecord) and self.audit:
                yield AUDIT_OUT, output


class SplitOutputs(ProcessFunction):
    """RouteAndFollow's outputs to Row(topic, key, value) for the sink, and audit rows to AUDIT."""

    def process_element(self, output, ctx: ProcessFunction.Context):
        if output[0] == KAFKA:
            yield Row(output[1], output[2], output[3])
        else:
            yield AUDIT, audit_row(output[1])
