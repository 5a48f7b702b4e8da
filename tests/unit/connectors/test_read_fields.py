"""What the job tells org.feblam.flink.ReadFields about its reader schema: pure logic."""

from __future__ import annotations

import pytest

import schemas
from connectors.read_fields import ReadFieldsSpec, UnsupportedSchema


def test_the_read_contract_is_primitive_fields_and_nullable_text():
    spec = ReadFieldsSpec.of(schemas.load("PlateRead"), [7, 3, 7])
    assert spec.schema_ids == (3, 7)
    assert spec.names == ("read_id", "camera_id", "event_time", "plate_text", "plate_country", "ocr_confidence",
                          "make", "colour", "vehicle_type", "image_ref", "source")
    assert spec.types == ("string", "string", "long", "string", "null|string", "double",
                          "null|string", "null|string", "null|string", "null|string", "null|string")


@pytest.mark.parametrize("kind", [
    {"type": "array", "items": "string"},
    {"type": "int", "logicalType": "date"},
    {"type": "string", "logicalType": "uuid"},
    ["null", {"type": "record", "name": "Inner", "fields": []}],
    "bytes",
    {"type": "enum", "name": "E", "symbols": ["A"]},
])
def test_a_field_java_does_not_decode_as_fastavro_refuses_the_schema(kind):
    schema = {"type": "record", "name": "R", "fields": [{"name": "f", "type": kind}]}
    with pytest.raises(UnsupportedSchema, match="field f"):
        ReadFieldsSpec.of(schema, [1])


def test_only_a_record_has_fields():
    with pytest.raises(UnsupportedSchema):
        ReadFieldsSpec.of({"type": "string"}, [1])
