"""FEBLAM's Avro contracts on Kafka: subjects, registration, and the records as the
`udfs` library takes them.

Subjects follow the topic-name strategy (`<topic>-value`) and are registered
with BACKWARD compatibility: a new schema version must read every record
written with the previous one, so producers and FEBLAM can be upgraded in
either order. Times travel as Avro `timestamp-millis` and reach `udfs` as
epoch milliseconds.
"""

from __future__ import annotations

import schemas
from connectors.avro import AvroDecoder, AvroEncoder
from connectors.registry import RegistryClient

COMPATIBILITY = "BACKWARD"


def subject(topic: str) -> str:
    return f"{topic}-value"


def register(registry: RegistryClient, topic: str, contract: str) -> int:
    """Register `schemas/<contract>.avsc` for `topic` under BACKWARD compatibility; its id."""
    registry.set_compatibility(subject(topic), COMPATIBILITY)
    return registry.register(subject(topic), schemas.load(contract))


class ReadDecoder:
    """PlateRead messages to the dicts `udfs.validation.validate_read` takes.
    Raises `AvroDecodeError` (with the raw bytes) for a message that does not decode."""

    def __init__(self, registry: RegistryClient):
        self._avro = AvroDecoder(registry, schemas.load("PlateRead"), millis=True)

    def decode(self, raw: bytes) -> dict:
        return self._avro.decode(raw)  # event_time stays milliseconds (millis=True)


class ReferenceDecoder:
    """Reference-topic and camera-topic messages to the dicts `udfs.reference` takes.

    A tombstone (no value) on a reference topic is the DELETE of the entry whose
    id is the message key; the list is named by the topic (`<prefix><list>`).
    """

    def __init__(self, registry: RegistryClient, reference_prefix: str):
        self.prefix = reference_prefix
        self._entry = AvroDecoder(registry, schemas.load("ReferenceEntry"), millis=True)
        self._camera = AvroDecoder(registry, schemas.load("Camera"))

    def list_name(self, topic: str) -> str:
        return topic[len(self.prefix):]

    def entry(self, topic: str, key: bytes | None, value: bytes | None) -> dict:
        if value is None:
            return {"list_name": self.list_name(topic), "entry_id": (key or b"").decode("utf-8"), "op": "DELETE"}
        return self._entry.decode(value)  # valid_from/valid_until stay milliseconds (millis=True)

    def camera(self, value: bytes) -> dict:
        return self._camera.decode(value)


class Encoders:
    """Encoders for what the job writes: hits, sightings, dead letters and refusals,
    each to its topic (the argument of the same name)."""

    def __init__(self, registry: RegistryClient, hits: str, sightings: str, dead_letters: str, refusals: str):
        self.hit = AvroEncoder(registry, subject(hits), schemas.load("Hit"))
        self.sighting = AvroEncoder(registry, subject(sightings), schemas.load("HitSighting"))
        self.dead_letter = AvroEncoder(registry, subject(dead_letters), schemas.load("DeadLetter"))
        self.refusal = AvroEncoder(registry, subject(refusals), schemas.load("ReferenceRefusal"))
