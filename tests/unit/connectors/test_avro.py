"""The Confluent wire format and schema evolution, with an in-memory registry double."""

from __future__ import annotations

import pytest

from connectors.avro import AvroDecodeError, AvroDecoder, AvroEncoder
from connectors.registry import RegistryError, SchemaNotFoundError

V1 = {"type": "record", "name": "R", "fields": [{"name": "plate", "type": "string"}]}
V2 = {"type": "record", "name": "R", "fields": [
    {"name": "plate", "type": "string"},
    {"name": "colour", "type": ["null", "string"], "default": None},
]}


class MemoryRegistry:
    """Just the calls the encoder and decoder make."""

    def __init__(self):
        self.schemas: dict[int, dict] = {}
        self.fetches = 0
        self.down = False
        self.wrong_url = False

    def register(self, subject: str, schema: dict) -> int:
        for schema_id, known in self.schemas.items():
            if known == schema:
                return schema_id
        schema_id = 100 + len(self.schemas)
        self.schemas[schema_id] = schema
        return schema_id

    def schema(self, schema_id: int) -> dict:
        if self.down:
            raise RegistryError("unreachable")
        if self.wrong_url:
            raise RegistryError("HTTP 404 that is not a schema registry's answer", status=404)
        self.fetches += 1
        if schema_id not in self.schemas:
            raise SchemaNotFoundError("not found", status=404, code=40403)
        return self.schemas[schema_id]


def test_header_is_magic_zero_and_big_endian_schema_id():
    registry = MemoryRegistry()
    raw = AvroEncoder(registry.register("s", V1), V1).encode({"plate": "1ABC123"})
    assert raw[0] == 0
    assert int.from_bytes(raw[1:5], "big") == 100
    assert raw[5:] == b"\x0e1ABC123"  # zig-zag length 7, then the UTF-8 text


def test_old_records_decode_into_the_newer_reader_schema():
    registry = MemoryRegistry()
    raw = AvroEncoder(registry.register("s", V1), V1).encode({"plate": "1ABC123"})
    assert AvroDecoder(registry, V2).decode(raw) == {"plate": "1ABC123", "colour": None}


def test_writer_schema_is_fetched_once_per_id():
    registry = MemoryRegistry()
    raw = AvroEncoder(registry.register("s", V1), V1).encode({"plate": "X"})
    decoder = AvroDecoder(registry, V1)
    for _ in range(5):
        decoder.decode(raw)
    assert registry.fetches == 1


def test_an_unknown_id_is_asked_about_again_only_after_a_while():
    """A stream of records with an id the registry does not know costs one lookup per
    MISSING_ID_TTL_S, not one per record; an id registered since is then found."""
    from connectors.avro import MISSING_ID_TTL_S

    registry, now = MemoryRegistry(), [0.0]
    decoder = AvroDecoder(registry, V1, clock=lambda: now[0])
    raw = AvroEncoder(100, V1).encode({"plate": "X"})   # id 100: not registered yet
    for _ in range(50):
        with pytest.raises(AvroDecodeError, match="no schema with id 100") as error:
            decoder.decode(raw)
        assert error.value.raw == raw
    assert registry.fetches == 1
    registry.register("s", V1)                          # now it is (as id 100)
    now[0] += MISSING_ID_TTL_S - 0.1
    with pytest.raises(AvroDecodeError):
        decoder.decode(raw)
    now[0] += 0.1
    assert decoder.decode(raw) == {"plate": "X"}
    assert registry.fetches == 2


def test_remembered_unknown_ids_are_bounded():
    from connectors.avro import MISSING_IDS_KEPT

    registry = MemoryRegistry()
    decoder = AvroDecoder(registry, V1, clock=lambda: 0.0)
    for schema_id in range(1, MISSING_IDS_KEPT + 50):
        with pytest.raises(AvroDecodeError):
            decoder.decode(b"\x00" + schema_id.to_bytes(4, "big") + b"x")
    assert len(decoder._missing) == MISSING_IDS_KEPT
    with pytest.raises(AvroDecodeError):                # the oldest was forgotten: asked again
        decoder.decode(b"\x00\x00\x00\x00\x01x")
    assert registry.fetches == MISSING_IDS_KEPT + 50


@pytest.mark.parametrize(
    "raw, reason",
    [
        (b"", "an empty value \\(0 bytes\\), shorter than the 5-byte"),
        (b"\x00\x00", "a value of 2 byte\\(s\\), shorter than the 5-byte"),
        (b"\x01\x00\x00\x00\x64abc", "unknown magic byte 1"),
        (b"\x00\x00\x00\x03\xe7abc", "no schema with id 999"),
        (b"\x00\x00\x00\x00\x64\x99", "does not decode"),
    ],
)
def test_undecodable_messages_carry_their_raw_bytes(raw, reason):
    registry = MemoryRegistry()
    registry.register("s", V1)
    with pytest.raises(AvroDecodeError, match=reason) as error:
        AvroDecoder(registry, V1).decode(raw)
    assert error.value.raw == raw


def test_a_null_value_is_told_apart_from_an_empty_one():
    registry = MemoryRegistry()
    with pytest.raises(AvroDecodeError, match=r"^no value \(a null message\)$"):
        AvroDecoder(registry, V1).decode(None)
    with pytest.raises(AvroDecodeError, match="empty value"):
        AvroDecoder(registry, V1).decode(b"")


def test_bytes_left_over_after_the_record_make_it_undecodable():
    """Spec §3: a value decodes exactly, or not at all."""
    registry = MemoryRegistry()
    raw = AvroEncoder(registry.register("s", V1), V1).encode({"plate": "1ABC123"})
    assert AvroDecoder(registry, V1).decode(raw) == {"plate": "1ABC123"}
    for extra in (b"\x00", b"trailing garbage"):
        with pytest.raises(AvroDecodeError, match=f"{len(extra)} byte\\(s\\) left over") as error:
            AvroDecoder(registry, V1).decode(raw + extra)
        assert error.value.raw == raw + extra


def test_an_unreachable_registry_is_not_the_record_s_fault():
    registry = MemoryRegistry()
    raw = AvroEncoder(registry.register("s", V1), V1).encode({"plate": "X"})
    registry.down = True
    with pytest.raises(RegistryError):
        AvroDecoder(registry, V1).decode(raw)


def test_a_404_from_something_that_is_no_registry_is_not_the_record_s_fault():
    registry = MemoryRegistry()
    raw = AvroEncoder(registry.register("s", V1), V1).encode({"plate": "X"})
    registry.wrong_url = True
    with pytest.raises(RegistryError) as raised:
        AvroDecoder(registry, V1).decode(raw)
    assert not isinstance(raised.value, AvroDecodeError)


def test_the_encoder_writes_what_confluent_kafkas_serializer_writes():
    """AvroEncoder is kept for speed (see its docstring): it must stay byte for byte
    what the library's AvroSerializer gives for the same schema id."""
    import json

    import schemas
    from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroSerializer

    from feblam.bench.encoder import hit_like

    hit = schemas.load("Hit")
    library = SchemaRegistryClient.new_client({"url": "mock://test-avro"})
    schema_id = library.register_schema("hits-value", Schema(json.dumps(hit), "AVRO"))
    serializer = AvroSerializer(library, json.dumps(hit), conf={
        "auto.register.schemas": False, "subject.name.strategy": lambda ctx, name: "hits-value"})
    encoder = AvroEncoder(schema_id, hit)
    for i in (0, 1, 4999):
        assert encoder.encode(hit_like(i)) == serializer(hit_like(i))


TIMED = {"type": "record", "name": "T", "doc": "a timed record", "fields": [
    {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}, "doc": "when"},
    {"name": "until", "type": ["null", {"type": "long", "logicalType": "timestamp-millis"}], "default": None},
]}


def test_millis_reads_timestamps_as_the_long_on_the_wire():
    registry = MemoryRegistry()
    raw = AvroEncoder(registry.register("t-value", TIMED), TIMED).encode({"at": 1767225600123, "until": 1767225600999})
    assert AvroDecoder(registry, TIMED, millis=True).decode(raw) == {"at": 1767225600123, "until": 1767225600999}
    as_datetime = AvroDecoder(registry, TIMED).decode(raw)
    assert int(as_datetime["at"].timestamp() * 1000) == 1767225600123


def test_a_writer_that_differs_only_in_docs_or_evolved_fields_still_decodes():
    registry = MemoryRegistry()
    undocumented = {**TIMED, "doc": "other words", "fields": [{k: v for k, v in f.items() if k != "doc"}
                                                               for f in TIMED["fields"]]}
    raw = AvroEncoder(registry.register("t-value", undocumented), undocumented).encode({"at": 5, "until": None})
    assert AvroDecoder(registry, TIMED, millis=True).decode(raw) == {"at": 5, "until": None}
    evolved = {**TIMED, "fields": [*TIMED["fields"], {"name": "zone", "type": ["null", "string"], "default": None}]}
    raw = AvroEncoder(registry.register("t-value", evolved), evolved).encode({"at": 6, "until": None, "zone": "BXL"})
    assert AvroDecoder(registry, TIMED, millis=True).decode(raw) == {"at": 6, "until": None}
