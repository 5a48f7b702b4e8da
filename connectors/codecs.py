"""The codecs of the hit-generation job: what differs between files and Kafka in
the records it reads and writes, and nothing else.

Both modes feed the job the same envelope, (topic, partition, offset, key,
value): a Kafka record, or a file line (`org.feblam.flink.LineRecords`: the
topic is the file's role, the offset its line number). A codec turns values
into what `udfs` takes, and the job's outputs into (topic, key, value) records
for the sink:

| | `FileCodec` (spec §10) | `KafkaCodec` (schemas/*.avsc) |
| --- | --- | --- |
| reads, reference updates, cameras | JSON Lines | Avro, writer schema from the registry |
| hits, sightings, dead letters, refusals | JSON, `<order>\\t<json>` (merged in file order by `connectors.files`) | Avro, to their topics, keyed |

Contract of every codec: `open()` once per subtask before use (clients are made
there, not pickled); `read(value)` gives a record for
`udfs.validation.validate_read`, None for no record (a blank line), or raises
`InvalidRead`; `kind(topic)` is CAMERA or REFERENCE; `update(topic, key,
value)` gives the record of a reference or camera update (a dict with `op`
DELETE for a removal), None for no record, or raises `InvalidEntry`; the
output methods never raise for a record the job made.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from connectors.dead_letters import bounded, dead_letter_record, file_dead_letter, now_ms
from udfs.reference import MALFORMED, InvalidEntry
from udfs.validation import MALFORMED as READ_MALFORMED, InvalidRead

CAMERA = "camera"
REFERENCE = "reference"
# Output topics of the file mode: the folders of the job's work directory.
HITS, SIGHTINGS, DEAD_LETTERS, REFUSALS = "hits", "sightings", "dead_letters", "refusals"

Output = tuple[str, bytes | None, bytes]  # (topic, key, value) for the sink


def refusal_reason(error: Exception) -> str:
    return getattr(error, "reason", None) or MALFORMED


class _Codec:
    cameras_topic: str

    def kind(self, topic: str) -> str:
        return CAMERA if topic == self.cameras_topic else REFERENCE


@dataclass
class FileCodec(_Codec):
    """JSON Lines of spec §10. `reference_topic` and `cameras_topic` are the names the
    job gave the two reference files' sources. Output values are `<order>\\t<JSON>`
    with `order` the input line that made the record, so that `connectors.files`
    can merge the parallel part files back into file order."""

    reference_topic: str
    cameras_topic: str

    def open(self) -> None:
        pass

    @staticmethod
    def read(value: bytes | None) -> Any:
        if not value or value.isspace():
            return None
        return value  # validate_read decodes JSON itself, with the reasons of §3

    def update(self, topic: str, key: bytes | None, value: bytes | None) -> Any:
        if not value or value.isspace():
            return None
        try:
            return json.loads(value)
        except ValueError as error:
            raise InvalidEntry(MALFORMED, value, f"not JSON: {error}") from None

    @staticmethod
    def _line(order: int, record: dict) -> bytes:
        return f"{order}\t{json.dumps(record, sort_keys=True)}".encode("utf-8")

    def hit(self, record: dict, offset: int) -> Output:
        return HITS, None, self._line(offset, record)

    def sighting(self, sighting: dict, offset: int) -> Output:
        return SIGHTINGS, None, self._line(offset, sighting)

    def dead_letter(self, invalid: InvalidRead, value: bytes | None, topic: str, partition: int,
                    offset: int) -> Output:
        record = dead_letter_record(invalid.reason, value, detail=invalid.detail, read_id=invalid.read_id,
                                    offset=offset)
        return DEAD_LETTERS, None, self._line(offset, file_dead_letter(record))

    def refusal(self, kind: str, error: Exception, value: bytes | None, topic: str, partition: int,
                offset: int) -> Output:
        record = {"kind": kind, "reason": refusal_reason(error), "detail": bounded(getattr(error, "detail", None)
                                                                                   or str(error)),
                  "original": _text(value), "source": topic, "position": offset}
        return REFUSALS, None, self._line(offset, record)


class KafkaUpdates:
    """The reference and camera records of the Kafka job as `parse_entry` and
    `parse_camera` take them: Avro in the Confluent wire format, a tombstone on a
    reference topic deleting the entry its key names, one on the cameras topic the
    camera. Raises `InvalidEntry` for a record it cannot decode."""

    def __init__(self, registry, reference_prefix: str, cameras_topic: str):
        from connectors.contracts import ReferenceDecoder

        self._decoder = ReferenceDecoder(registry, reference_prefix)
        self.cameras_topic = cameras_topic

    def update(self, topic: str, key: bytes | None, value: bytes | None) -> Any:
        from connectors.avro import AvroDecodeError
        from connectors.contracts import tombstone_key

        try:
            if topic == self.cameras_topic:
                if value is None:  # a tombstone: the camera leaves the registry
                    return {"camera_id": tombstone_key(key), "op": "DELETE"}
                return self._decoder.camera(value)
            return self._decoder.entry(topic, key, value)
        except AvroDecodeError as error:
            raise InvalidEntry(MALFORMED, value, str(error)) from None


@dataclass
class KafkaCodec(_Codec):
    """Avro in the Confluent wire format, writer schemas from the registry at
    `registry_url`. A reference topic is `<reference_prefix><list>`; a tombstone on
    it deletes the entry named by the key, one on the cameras topic the camera."""

    registry_url: str
    reference_prefix: str
    cameras_topic: str
    hits_topic: str
    sightings_topic: str
    dead_letter_topic: str
    refusals_topic: str

    def open(self) -> None:
        from connectors.contracts import Encoders, ReadDecoder
        from connectors.registry import RegistryClient

        registry = RegistryClient(self.registry_url)
        self._reads = ReadDecoder(registry)
        self._updates = KafkaUpdates(registry, self.reference_prefix, self.cameras_topic)
        self._encoders = Encoders(registry, hits=self.hits_topic, sightings=self.sightings_topic,
                                  dead_letters=self.dead_letter_topic, refusals=self.refusals_topic)

    def read(self, value: bytes | None) -> Any:
        from connectors.avro import AvroDecodeError

        try:
            return self._reads.decode(value)
        except AvroDecodeError as error:
            raise InvalidRead(READ_MALFORMED, value, str(error)) from None

    def update(self, topic: str, key: bytes | None, value: bytes | None) -> Any:
        return self._updates.update(topic, key, value)

    def hit(self, record: dict, offset: int) -> Output:
        return self.hits_topic, record["dedup_key"].encode("utf-8"), self._encoders.hit.encode(avro_hit(record))

    def sighting(self, sighting: dict, offset: int) -> Output:
        return (self.sightings_topic, sighting["dedup_key"].encode("utf-8"),
                self._encoders.sighting.encode(sighting))

    def dead_letter(self, invalid: InvalidRead, value: bytes | None, topic: str, partition: int,
                    offset: int) -> Output:
        record = dead_letter_record(invalid.reason, value, detail=invalid.detail, read_id=invalid.read_id,
                                    topic=topic, partition=partition, offset=offset)
        return self.dead_letter_topic, _position_key(topic, partition, offset), self._encoders.dead_letter.encode(record)

    def refusal(self, kind: str, error: Exception, value: bytes | None, topic: str, partition: int,
                offset: int) -> Output:
        record = {"kind": kind, "reason": refusal_reason(error),
                  "detail": bounded(getattr(error, "detail", None) or str(error)), "original": value or b"",
                  "source_topic": topic, "source_partition": partition, "source_offset": offset,
                  "refused_at": now_ms()}
        return self.refusals_topic, _position_key(topic, partition, offset), self._encoders.refusal.encode(record)


def avro_hit(record: dict) -> dict:
    """A hit record (`udfs.model.Hit.output_record`) as the Avro `Hit` takes it."""
    return {**record, "explanation": [{"factor": f, "value": float(v)} for f, v in record["explanation"]]}


def _position_key(topic: str, partition: int, offset: int) -> bytes:
    return f"{topic}/{partition}/{offset}".encode("utf-8")


def _text(value: bytes | None) -> str:
    return (value or b"").decode("utf-8", errors="replace")
