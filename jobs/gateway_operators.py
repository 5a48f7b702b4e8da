"""The Flink functions of the Hit Gateway job: thin shells around the `gateway` package.

    hits, sightings, lifecycle events ─DecodeInput─keyBy(hit_id)─ RouteAndFollow ─▶ gw.<destination>, refused events
                                            │                       └─▶ audit rows (side output)
                                            └─▶ dead inputs
    cameras, gw.config: followed by each RouteAndFollow subtask itself

`RouteAndFollow` keeps one `gateway.lifecycle.HitCase` per hit_id in keyed state
(as JSON: plain values survive an upgrade that renames a class) and one
processing-time timer per hit: the earliest of its ack deadlines and the
instant its state may be forgotten (spec §5 timeouts run on processing time).

Cameras and the routing configuration are small (thousands of records, one
document): each subtask loads their topics up to their ends in `open`, as the
hit-generation job loads its lists, then follows them itself
(`connectors.kafka_reading.TopicFollower`), looking for new records at most every
CONTEXT_POLL_MS before it takes the next input. They are not a broadcast
stream: a keyed broadcast function's `on_timer` cannot emit side outputs in
PyFlink 2.2's thread mode (its on_timer_func in
pyflink/fn_execution/datastream/embedded/operations.py skips the side-output
split), and escalations are made there; the one-input keyed function also
costs fewer crossings between Java and Python per record.
"""

from __future__ import annotations

import logging

import orjson

from pyflink.common import Row, Types
from pyflink.datastream import KeyedProcessFunction, OutputTag, ProcessFunction, RuntimeContext
from pyflink.datastream.state import ValueStateDescriptor

from connectors.audit import AUDIT_ROW, audit_row
from connectors.gateway_codec import CAMERA, CONFIG, EVENT, HIT, HIT_SIGHTING, UndecodableInput
from connectors.kafka import OUTGOING_TYPE
from connectors.kafka_reading import TopicFollower
from gateway.config import ConfigError, parse_config
from gateway.labels import hit_labels
from gateway.lifecycle import HitCase
from gateway.records import AuditRecord, Message, RefusedEvent
from jobs.operators import subtask_index
from jobs.taskmanager import share_the_interpreter
from udfs.reference import InvalidEntry, parse_camera

LOG = logging.getLogger("feblam.hit_gateway")

DEAD_INPUTS = OutputTag("dead-inputs", OUTGOING_TYPE)
AUDIT = OutputTag("audit", AUDIT_ROW)
MALFORMED_EVENT = "malformed-event"   # a lifecycle event that does not decode: (hit_id "", kind, reason, bytes)
# How often a subtask looks for new cameras and configuration versions, at most.
CONTEXT_POLL_MS = 1000


class DecodeInput(ProcessFunction):
    """A Kafka record of the inputs to (hit_id, kind, record, raw bytes), for keyBy(hit_id).

    A record that does not decode is kept whole: a lifecycle event goes on as
    MALFORMED_EVENT, to be refused (its sender learns why), anything else is a dead input."""

    def __init__(self, codec):
        self.codec = codec

    def open(self, runtime_context: RuntimeContext):
        share_the_interpreter()
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


class RouteAndFollow(KeyedProcessFunction):
    """Keyed by hit_id: routing, delivery, sightings, lifecycle and escalation of one hit
    (gateway spec §3-§6), through `gateway.lifecycle.HitCase`.

    Outputs: destination messages and refused events as Row(topic, key, value) for
    the Kafka sink; audit rows on the AUDIT side output when `audit` is set.
    `context_pattern` names the cameras and configuration topics (anchored regex).
    """

    def __init__(self, codec, bootstrap_servers: str, context_pattern: str, audit: bool):
        self.codec = codec
        self.bootstrap_servers = bootstrap_servers
        self.context_pattern = context_pattern
        self.audit = audit

    def open(self, runtime_context: RuntimeContext):
        share_the_interpreter()
        self.codec.open()
        self.subtask = subtask_index(runtime_context)
        self.case = runtime_context.get_state(ValueStateDescriptor("case", Types.STRING()))
        self.timer = runtime_context.get_state(ValueStateDescriptor("timer", Types.LONG()))
        self.cameras: dict[str, dict] = {}
        self.config = None
        self.dead_context: list[UndecodableInput] = []
        self.context = TopicFollower(self.bootstrap_servers, self.context_pattern)
        count = 0
        for record in self.context.load():
            self._context(*record)
            count += 1
        if self.config is None:
            raise RuntimeError(f"no routing configuration on {self.codec.topics.config}: "
                               "run `feblam gateway config apply FILE` first")
        self.next_poll = 0
        LOG.info("gateway context loaded: %d cameras, configuration %s (%d records)",
                 len(self.cameras), self.config.version, count)

    def close(self):
        if getattr(self, "context", None) is not None:
            self.context.close()
        self.cameras, self.config = {}, None

    # -- context: cameras and configuration --------------------------------------------------

    def _follow(self, now: int) -> None:
        if now < self.next_poll:
            return
        self.next_poll = now + CONTEXT_POLL_MS
        for record in self.context.poll():
            self._context(*record)

    def _dead_inputs(self):
        """The context records refused since the last call, as dead inputs: those of the
        load in `open` (which can emit nothing) go with the first input or timer after it."""
        dead, self.dead_context = self.dead_context, []
        for error in dead:
            yield Row(*self.codec.dead_input(error))

    def _context(self, topic: str, partition: int, offset: int, key, value) -> None:
        """Apply one camera or configuration record; one that does not decode, a camera the
        hit job would refuse (spec §1: a position not finite or out of range) and a
        configuration that does not parse change nothing and are kept, by subtask 0 (every
        subtask reads them), for the dead inputs (`_dead_inputs`)."""
        try:
            decoded = self.codec.decode(topic, partition, offset, key, value)
            if decoded.kind == CAMERA and decoded.record.get("op") != "DELETE":
                parse_camera(decoded.record)
        except (UndecodableInput, InvalidEntry) as error:
            if isinstance(error, InvalidEntry):
                error = UndecodableInput(f"{error.reason}: {error.detail}", topic, partition, offset, value)
            LOG.warning("context record at %s/%s/%s refused: %s", topic, partition, offset,
                        error.reason.split(":")[0])
            if self.subtask == 0:
                self.dead_context.append(error)
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
                if self.subtask == 0:
                    self.dead_context.append(UndecodableInput(f"configuration refused: {error}", topic, partition,
                                                              offset, value))
                return
            if self.subtask == 0:
                LOG.info("configuration %s in force (from %s, applied by %s)", self.config.version,
                         version.get("source"), version.get("applied_by"))

    # -- hits, sightings, lifecycle events --------------------------------------------------

    def process_element(self, item, ctx: KeyedProcessFunction.Context):
        hit_id, kind, record, raw = item
        timers = ctx.timer_service()
        now = timers.current_processing_time()
        self._follow(now)
        yield from self._dead_inputs()
        state = self.case.value()
        case = HitCase.from_state(orjson.loads(state)) if state else HitCase(hit_id)
        if kind == HIT:
            labels = hit_labels(record, self.cameras.get(record.get("camera_id")), self.config.list_owners)
            outputs = case.on_hit(record, labels, self.config, now, camera_of=self.cameras.get)
        elif kind == HIT_SIGHTING:
            outputs = case.on_sighting(record, now, self.cameras.get(record.get("camera_id")))
        elif kind == EVENT:
            outputs = case.on_event(record, self.config, now, raw)
        elif kind == MALFORMED_EVENT:
            outputs = case.refuse(None, record, now, raw)
        else:
            outputs = []
        yield from self._emit(outputs)
        if not case.empty:
            self.case.update(orjson.dumps(case.to_state()).decode())
            self._schedule(case, timers)

    def on_timer(self, timestamp: int, ctx: KeyedProcessFunction.OnTimerContext):
        if timestamp != self.timer.value():
            return  # a timer the case moved earlier since: the one it keeps is still set
        self.timer.clear()
        state = self.case.value()
        if not state:
            return
        # The records say when the timer actually fired, not when it was due.
        now = max(timestamp, ctx.timer_service().current_processing_time())
        self._follow(now)
        yield from self._dead_inputs()
        case = HitCase.from_state(orjson.loads(state))
        if case.expires_at(self.config) <= now:
            yield from self._emit(case.expire(now))
            self.case.clear()
            return
        yield from self._emit(case.on_time(self.config, now))
        if case.empty:  # only events that waited for a hit that never came, now refused
            self.case.clear()
            return
        self.case.update(orjson.dumps(case.to_state()).decode())
        self._schedule(case, ctx.timer_service())

    def _schedule(self, case: HitCase, timers) -> None:
        """One live timer per hit, at its next ack deadline or the end of its retention. A
        timer left behind by a later instant fires and is ignored (cheaper than deleting it)."""
        deadline = case.next_deadline(self.config)
        expires = case.expires_at(self.config)
        wanted = expires if deadline is None else min(deadline, expires)
        current = self.timer.value()
        if current == wanted:
            return
        timers.register_processing_time_timer(wanted)
        self.timer.update(wanted)

    def _emit(self, outputs):
        for output in outputs:
            if isinstance(output, Message):
                yield Row(*self.codec.message(output))
            elif isinstance(output, RefusedEvent):
                yield Row(*self.codec.refused(output))
            elif isinstance(output, AuditRecord) and self.audit:
                yield AUDIT, audit_row(output)
