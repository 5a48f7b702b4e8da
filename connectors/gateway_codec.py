"""The Hit Gateway's records on Kafka: Avro in, Avro out (schemas/ Gateway*, LifecycleEvent, ...).

`GatewayCodec.decode(topic, partition, offset, key, value)` turns one message
of the gateway's inputs into an `Input` (hit, sighting, lifecycle event,
camera, configuration version); a message that does not decode, a hit or sighting
whose event time is outside the bounds of spec hit-semantics §3, or a hit, sighting
or camera larger than MAX_INPUT_BYTES, raises
`UndecodableInput` carrying it whole, and the job keeps it as a dead input
(a lifecycle event becomes a refused event instead, so its sender hears why).

`message`, `refused` and `dead_input` give (topic, key, value) for the sink.
Encoders of destination topics are looked up when a destination is first
written to: their subjects are registered by `feblam gateway config apply`
before a configuration that names them is published.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from connectors.contracts import feed
from gateway.config import destination_topic
from gateway.events import EventError, parse_event
from udfs.validation import EVENT_TIME_FROM, EVENT_TIME_UNTIL
from gateway.records import (
    DELIVERY, ESCALATION, FEEDBACK, SIGHTING, STATE, TAKEN_BY, Message, RefusedEvent,
)

HIT, HIT_SIGHTING, EVENT, CAMERA, CONFIG = "hit", "sighting", "event", "camera", "config"
# The largest hit, sighting or camera the gateway takes. A delivery carries its hit and
# labels that repeat some of its fields and its camera's, so it can be several times the
# size of its inputs: bounded by them, it stays below the 1 MB a destination topic takes
# by default, rather than be a record Kafka refuses, again at every restart. The hit job
# makes hits of about a kilobyte; a camera is a few hundred bytes.
MAX_INPUT_BYTES = 200_000

# Which field of GatewayMessage carries each kind, and how the body maps onto it.
_KIND_FIELD = {DELIVERY: "delivery", SIGHTING: "sighting", TAKEN_BY: "taken_by", STATE: "state",
               ESCALATION: "escalation", FEEDBACK: "feedback"}


def _branches() -> dict[str, str]:
    """Each body field of GatewayMessage to the full name of its record branch."""
    import schemas

    contract = schemas.load("GatewayMessage")
    namespace = contract.get("namespace", "")
    names = {}
    for field in contract["fields"]:
        if field["name"] in _KIND_FIELD.values():
            branch = next(b for b in field["type"] if isinstance(b, dict))
            names[field["name"]] = f"{branch.get('namespace', namespace)}.{branch['name']}"
    return names


_BRANCH = _branches()


class UndecodableInput(ValueError):
    """A message of the gateway's inputs that is not a record of its contract; carries it whole."""

    def __init__(self, reason: str, topic: str, partition: int, offset: int, value: bytes | None):
        super().__init__(reason)
        self.reason, self.topic, self.partition, self.offset, self.value = reason, topic, partition, offset, value


@dataclass(frozen=True)
class Input:
    """One decoded input: `kind` (HIT, HIT_SIGHTING, EVENT, CAMERA, CONFIG), the record, and for
    a lifecycle event its original bytes (a refused event keeps them)."""

    kind: str
    record: Any
    raw: bytes | None = None

    @property
    def hit_id(self) -> str | None:
        return self.record.get("hit_id") if isinstance(self.record, dict) else None


@dataclass
class GatewayTopics:
    """The topics the gateway reads and writes; each has a default in connectors.contracts.FEEDS."""

    hits: str = feed("hits").default_topic
    sightings: str = feed("sightings").default_topic
    lifecycle_events: str = feed("lifecycle-events").default_topic
    cameras: str = feed("cameras").default_topic
    config: str = feed("gateway-config").default_topic
    refused_events: str = feed("refused-events").default_topic
    dead_inputs: str = feed("gateway-dead-inputs").default_topic


@dataclass
class GatewayCodec:
    """Avro in the Confluent wire format, writer schemas from the registry at `registry_url`."""

    registry_url: str
    topics: GatewayTopics

    def open(self) -> None:
        import schemas
        from connectors.avro import AvroDecoder
        from connectors.contracts import encoder
        from connectors.registry import RegistryClient

        self._registry = RegistryClient(self.registry_url)
        self._decoders = {
            self.topics.hits: (HIT, AvroDecoder(self._registry, schemas.load("Hit"), millis=True)),
            self.topics.sightings: (HIT_SIGHTING, AvroDecoder(self._registry, schemas.load("HitSighting"), millis=True)),
            self.topics.lifecycle_events: (EVENT, AvroDecoder(self._registry, schemas.load("LifecycleEvent"), millis=True)),
            self.topics.cameras: (CAMERA, AvroDecoder(self._registry, schemas.load("Camera"))),
            self.topics.config: (CONFIG, AvroDecoder(self._registry, schemas.load("GatewayConfigVersion"), millis=True)),
        }
        self._refused = encoder(self._registry, self.topics.refused_events, "RefusedEvent", register=False)
        self._event = encoder(self._registry, self.topics.lifecycle_events, "LifecycleEvent", register=False)
        self._dead = encoder(self._registry, self.topics.dead_inputs, "DeadLetter", register=False)
        self._destinations: dict[str, Any] = {}

    def decode(self, topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None) -> Input:
        from connectors.avro import AvroDecodeError

        kind, decoder = self._decoders[topic]
        if kind in (HIT, HIT_SIGHTING, CAMERA) and value is not None and len(value) > MAX_INPUT_BYTES:
            raise UndecodableInput(f"a {kind} of {len(value)} bytes, more than the {MAX_INPUT_BYTES} a delivery "
                                   "can carry", topic, partition, offset, value)
        if value is None:
            if kind == CAMERA:  # a tombstone: the camera leaves the registry
                from connectors.contracts import tombstone_key
                from udfs.reference import InvalidEntry

                try:
                    return Input(CAMERA, {"camera_id": tombstone_key(key), "op": "DELETE"})
                except InvalidEntry as error:
                    raise UndecodableInput(error.detail, topic, partition, offset, value) from None
            raise UndecodableInput(f"a {kind} message with no value", topic, partition, offset, value)
        try:
            record = decoder.decode(value)
        except AvroDecodeError as error:
            raise UndecodableInput(str(error), topic, partition, offset, value) from None
        if kind in (HIT, HIT_SIGHTING) and not EVENT_TIME_FROM <= record["event_time"] < EVENT_TIME_UNTIL:
            # The hit job makes none (spec hit-semantics §3 bounds event times); forwarded,
            # one would be a record its consumers cannot read (a datetime past year 9999).
            raise UndecodableInput(f"event_time {record['event_time']} is outside [2000-01-01T00:00:00Z, "
                                   "2100-01-01T00:00:00Z)", topic, partition, offset, value)
        return Input(kind, record, value if kind == EVENT else None)

    def message(self, message: Message) -> tuple[str, bytes, bytes]:
        topic = destination_topic(message.destination)
        encode = self._destinations.get(topic)
        if encode is None:
            from connectors.contracts import DESTINATION_CONTRACT, encoder

            encode = self._destinations[topic] = encoder(self._registry, topic, DESTINATION_CONTRACT,
                                                         register=False).encode
        record = message_record(message)
        field = _KIND_FIELD[message.kind]
        # Named, the union's branch costs fastavro no search of the branches: the same bytes
        # (tests/unit/connectors/test_gateway_codec.py), 19 µs a delivery instead of 31 (timed
        # over the deliveries of `feblam bench gateway`'s hits on this machine).
        record[field] = (_BRANCH[field], record[field])
        return topic, message.delivery_id.encode("utf-8"), encode(record)

    def refused(self, refusal: RefusedEvent) -> tuple[str, bytes, bytes]:
        """The refused-events record of `refusal`, with the event's original bytes. An
        event without them (one that waited for its hit in a state saved before events
        kept their bytes) is encoded again from its decoded fields (the same record,
        under the subject's current schema id)."""
        event = refusal.event if isinstance(refusal.event, dict) else {}
        raw = refusal.original
        if raw is None:
            try:
                raw = self._event.encode(parse_event(event).as_record())
            except EventError:
                pass   # nothing that reads as an event: the refusal keeps no bytes
        record = {"reason": refusal.reason, "original": raw or b"", "refused_at": refusal.at,
                  **{name: _text_or_none(event.get(name)) for name in ("hit_id", "destination", "action", "user")}}
        return self.topics.refused_events, (record["hit_id"] or "").encode("utf-8"), self._refused.encode(record)

    def dead_input(self, error: UndecodableInput) -> tuple[str, bytes, bytes]:
        record = {"reason": "MALFORMED", "detail": error.reason[:1024], "read_id": None,
                  "original": error.value or b"", "source_topic": error.topic,
                  "source_partition": error.partition, "source_offset": error.offset,
                  "received_at": int(time.time() * 1000)}
        key = f"{error.topic}/{error.partition}/{error.offset}".encode("utf-8")
        return self.topics.dead_inputs, key, self._dead.encode(record)


def message_record(message: Message) -> dict:
    """A `gateway.records.Message` as a GatewayMessage record (schemas/GatewayMessage.avsc)."""
    record: dict[str, Any] = {"kind": message.kind, "delivery_id": message.delivery_id, "hit_id": message.hit_id,
                              "destination": message.destination, "at": message.at}
    for field in _KIND_FIELD.values():
        record[field] = None
    body = dict(message.body)
    if message.kind == FEEDBACK:
        body["from_destination"] = body.pop("from")
    record[_KIND_FIELD[message.kind]] = body
    return record


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None
