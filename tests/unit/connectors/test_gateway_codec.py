"""Every kind of gateway message fits the GatewayMessage contract, as the lifecycle makes it."""

from __future__ import annotations

import io

import fastavro
import pytest

import schemas
from connectors.avro import AvroDecoder, AvroEncoder
from connectors.gateway_codec import (
    CAMERA, HIT as HIT_KIND, HIT_SIGHTING, MAX_INPUT_BYTES, GatewayCodec, GatewayTopics, UndecodableInput, message_record,
)
from gateway.config import parse_config
from gateway.labels import hit_labels
from gateway.lifecycle import HitCase
from gateway.records import MESSAGE_KINDS, Message

from .test_avro import MemoryRegistry

CONFIG = parse_config("""\
national: nat
destinations: {nat: {users: [n1], escalate_to: top}, prov: {users: [p1]}, owner: {users: [o1]}, top: {}}
list_owners: {alerts: owner}
route:
  destination: nat
  ack_timeout: {P1: 60 s}
  routes:
    - {matchers: ['province = "P"'], destination: prov, continue: true}
    - {destination: owner, ack_timeout: none}
""")
T0 = 1_780_000_000_000
HIT = {"hit_id": "h1", "read_id": "r1", "list_name": "alerts", "entry_id": "E1", "match_kind": "EXACT",
       "substitutions": 0, "severity": 90, "zone": None, "score": 90, "priority": "P1",
       "explanation": [{"factor": "severity", "value": 90.0}], "event_time": T0 - 1000, "camera_id": "C1",
       "plate": "1ABC123", "plate_text": "1-ABC-123", "country": "B", "ocr_confidence": 0.97,
       "dedup_key": "alerts|E1", "sightings": 1, "attributes": {"instructions": "stop"}}


def roundtrip(message: Message) -> dict:
    schema = fastavro.parse_schema(schemas.load("GatewayMessage"))
    out = io.BytesIO()
    fastavro.schemaless_writer(out, schema, message_record(message))
    return fastavro.schemaless_reader(io.BytesIO(out.getvalue()), schema, return_record_name=False)


def every_kind_of_message() -> list[Message]:
    """One case's life through every kind of message the lifecycle makes."""
    case = HitCase("h1")
    out = case.on_hit(HIT, hit_labels(HIT, {"province": "P"}, CONFIG.list_owners), CONFIG, T0)
    out += case.on_sighting({"read_id": "r2", "camera_id": "C2", "event_time": T0, "sightings": 2}, T0 + 1,
                            {"province": "P", "police_zone": "Z", "lat": 50.1, "lon": 4.2})
    out += case.on_time(CONFIG, T0 + 60_000)                                     # prov escalates to nat
    out += case.on_event({"hit_id": "h1", "destination": "nat", "action": "ACCEPT", "user": "n1",
                          "at": T0 + 61_000}, CONFIG, T0 + 61_000)                # taken by nat
    out += case.on_event({"hit_id": "h1", "destination": "owner", "action": "REJECT", "user": "o1",
                          "reason": "WRONG_ENTRY", "at": T0 + 62_000}, CONFIG, T0 + 62_000)
    escalation = Message("nat", "ESCALATION", "d", "h1", T0, {"escalated_from": "prov"})
    return [o for o in out if isinstance(o, Message)] + [escalation]


def test_every_kind_the_lifecycle_makes_encodes_and_reads_back():
    messages = every_kind_of_message()
    assert {m.kind for m in messages} == set(MESSAGE_KINDS)
    for message in messages:
        back = roundtrip(message)
        field = {"DELIVERY": "delivery", "SIGHTING": "sighting", "TAKEN_BY": "taken_by", "STATE": "state",
                 "ESCALATION": "escalation", "FEEDBACK": "feedback"}[message.kind]
        assert back["kind"] == message.kind and back[field] is not None
        assert [k for k in ("delivery", "sighting", "taken_by", "state", "escalation", "feedback")
                if back[k] is not None] == [field]
    delivery = roundtrip(next(m for m in messages if m.kind == "DELIVERY"))
    assert delivery["delivery"]["hit"]["plate"] == "1ABC123"
    assert delivery["delivery"]["labels"]["province"] == "P"
    feedback = roundtrip(next(m for m in messages if m.kind == "FEEDBACK"))["feedback"]
    assert feedback["from_destination"] == "owner" and feedback["reason"] == "WRONG_ENTRY"


def test_the_codec_writes_the_bytes_of_the_plain_record():
    # The codec names each body's union branch (cheaper for fastavro); the bytes must be
    # those of the record as message_record gives it, which any Avro writer would write.
    from connectors.avro import HEADER
    from gateway.config import destination_topic

    codec = GatewayCodec("http://registry.invalid", GatewayTopics())
    codec._destinations = {}
    encoder = AvroEncoder(7, schemas.load("GatewayMessage"))
    schema = fastavro.parse_schema(schemas.load("GatewayMessage"))
    for message in every_kind_of_message():
        codec._destinations[destination_topic(message.destination)] = encoder.encode
        topic, key, value = codec.message(message)
        plain = io.BytesIO()
        fastavro.schemaless_writer(plain, schema, message_record(message))
        assert (topic, key) == (destination_topic(message.destination), message.delivery_id.encode())
        assert value == HEADER.pack(0, 7) + plain.getvalue(), message.kind


def test_a_refused_event_keeps_its_original_bytes_or_else_its_record_encoded_again():
    from connectors.avro import HEADER, AvroEncoder
    from connectors.gateway_codec import GatewayCodec, GatewayTopics
    from gateway.records import RefusedEvent

    codec = GatewayCodec("http://registry.invalid", GatewayTopics())
    codec._event = AvroEncoder(3, schemas.load("LifecycleEvent"))
    codec._refused = AvroEncoder(4, schemas.load("RefusedEvent"))
    refused_schema = fastavro.parse_schema(schemas.load("RefusedEvent"))
    event = {"hit_id": "h9", "destination": "nat", "action": "ACKNOWLEDGE", "reason": None, "outcome": None,
             "note": None, "user": "n1", "at": T0}

    def original(refusal: RefusedEvent) -> bytes:
        _, key, value = codec.refused(refusal)
        return fastavro.schemaless_reader(io.BytesIO(value[HEADER.size:]), refused_schema)["original"]

    assert original(RefusedEvent(T0, "unknown hit", event, b"\x00\x00\x00\x00\x02as it came")) == \
        b"\x00\x00\x00\x00\x02as it came"
    # Without them (a state saved before events kept their bytes): encoded again.
    assert original(RefusedEvent(T0, "unknown hit", event)) == codec._event.encode(event)
    # Nothing that reads as an event: the refusal keeps no bytes.
    assert original(RefusedEvent(T0, "malformed: not avro", "not a record")) == b""


@pytest.mark.parametrize("event_time", [-62_135_596_800_000, 253_402_300_800_000, 2**63 - 1, -1, 946_684_799_999,
                                        4_102_444_800_000])
def test_a_hit_or_sighting_out_of_the_event_time_bounds_is_a_dead_input(event_time):
    # Forwarded, a hit at 2^63-1 ms is a delivery the webhook bridge cannot decode (no
    # datetime past year 9999): it would stop the bridge at that record for good.
    registry = MemoryRegistry()
    codec = GatewayCodec("http://unused", GatewayTopics(hits="hits", sightings="sightings"))
    hit_schema, sighting_schema = schemas.load("Hit"), schemas.load("HitSighting")
    codec._decoders = {"hits": (HIT_KIND, AvroDecoder(registry, hit_schema, millis=True)),
                       "sightings": (HIT_SIGHTING, AvroDecoder(registry, sighting_schema, millis=True))}
    hit_bytes = AvroEncoder(registry.register("hits-value", hit_schema), hit_schema).encode
    sighting = {"hit_id": "h1", "read_id": "r2", "camera_id": "C1", "event_time": T0, "sightings": 2,
                "dedup_key": "k"}
    sighting_bytes = AvroEncoder(registry.register("sightings-value", sighting_schema), sighting_schema).encode
    assert codec.decode("hits", 0, 1, b"k", hit_bytes(HIT)).record["event_time"] == HIT["event_time"]
    assert codec.decode("sightings", 0, 1, b"k", sighting_bytes(sighting)).kind == HIT_SIGHTING
    for topic, value in (("hits", hit_bytes({**HIT, "event_time": event_time})),
                         ("sightings", sighting_bytes({**sighting, "event_time": event_time}))):
        with pytest.raises(UndecodableInput) as refused:
            codec.decode(topic, 0, 9, b"k", value)
        assert refused.value.value == value and "outside [2000-01-01" in refused.value.reason


def test_a_hit_sighting_or_camera_too_large_to_deliver_is_a_dead_input():
    # A hit of 800 KB whose owner (400 KB) the labels repeat made a delivery of 1.2 MB:
    # Kafka refused it and the gateway restarted at that hit without end.
    registry = MemoryRegistry()
    codec = GatewayCodec("http://unused", GatewayTopics(hits="hits", cameras="cameras"))
    hit_schema, camera_schema = schemas.load("Hit"), schemas.load("Camera")
    codec._decoders = {"hits": (HIT_KIND, AvroDecoder(registry, hit_schema, millis=True)),
                       "cameras": (CAMERA, AvroDecoder(registry, camera_schema))}
    encode = AvroEncoder(registry.register("hits-value", hit_schema), hit_schema).encode
    camera = AvroEncoder(registry.register("cameras-value", camera_schema), camera_schema).encode
    big = encode({**HIT, "plate_text": "p" * 400_000, "attributes": {"owner": "o" * 400_000}})
    fits = encode({**HIT, "attributes": {"owner": "o" * (MAX_INPUT_BYTES - 1000)}})
    assert codec.decode("hits", 0, 1, b"k", fits).kind == HIT_KIND
    with pytest.raises(UndecodableInput) as refused:
        codec.decode("hits", 0, 2, b"k", big)
    assert refused.value.value == big and f"more than the {MAX_INPUT_BYTES}" in refused.value.reason
    record = {"camera_id": "C1", "lat": 50.0, "lon": 4.0, "lez_zones": [], "police_zone": "z" * MAX_INPUT_BYTES,
              "province": None}
    with pytest.raises(UndecodableInput):
        codec.decode("cameras", 0, 3, b"C1", camera(record))
