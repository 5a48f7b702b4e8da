"""The Avro contracts in the real registry: every subject registers under BACKWARD
compatibility, an added optional field keeps older records readable, and an
incompatible change is refused by the registry itself."""

from __future__ import annotations

import copy
import uuid

import pytest

import schemas
from connectors.avro import AvroDecoder, AvroEncoder
from connectors.contracts import COMPATIBILITY, register, subject
from connectors.registry import IncompatibleSchemaError, RegistryClient

CONTRACTS = ("PlateRead", "ReferenceEntry", "Camera", "Hit", "DeadLetter")

READ = {"read_id": "r1", "camera_id": "CAM-1", "event_time": 1772352000000, "plate_text": "1-ABC-123",
        "plate_country": "B", "ocr_confidence": 0.9, "make": None, "colour": None, "vehicle_type": None,
        "image_ref": None, "source": None}


@pytest.fixture
def registry(stack):
    return RegistryClient(stack.schema_registry_url)


@pytest.mark.parametrize("contract", CONTRACTS)
def test_every_contract_registers_with_backward_compatibility(registry, contract):
    topic = f"contract-{uuid.uuid4().hex[:8]}"
    schema_id = register(registry, topic, contract)
    assert registry.schema(schema_id)["name"] == contract
    config = registry._call("GET", f"/config/{subject(topic)}")
    assert config["compatibilityLevel"] == COMPATIBILITY


def test_an_added_optional_field_keeps_older_records_readable(registry):
    topic = f"reads-{uuid.uuid4().hex[:8]}"
    register(registry, topic, "PlateRead")
    old_bytes = AvroEncoder(registry, subject(topic), schemas.load("PlateRead")).encode(READ)

    evolved = copy.deepcopy(schemas.load("PlateRead"))
    evolved["fields"].append({"name": "lane", "type": ["null", "int"], "default": None, "doc": "Lane number."})
    assert registry.is_compatible(subject(topic), evolved)
    new_id = registry.register(subject(topic), evolved)

    decoded = AvroDecoder(registry, evolved).decode(old_bytes)
    assert decoded["lane"] is None and decoded["plate_text"] == "1-ABC-123"
    # And records of the new version are read by a reader still on the old contract.
    new_bytes = AvroEncoder(registry, subject(topic), evolved).encode({**READ, "lane": 2})
    assert int.from_bytes(new_bytes[1:5], "big") == new_id
    assert "lane" not in AvroDecoder(registry, schemas.load("PlateRead")).decode(new_bytes)


def test_an_incompatible_change_is_refused_by_the_registry(registry):
    topic = f"reads-{uuid.uuid4().hex[:8]}"
    register(registry, topic, "PlateRead")
    broken = copy.deepcopy(schemas.load("PlateRead"))
    broken["fields"].append({"name": "lane", "type": "int", "doc": "Required, no default: old records lack it."})
    assert not registry.is_compatible(subject(topic), broken)
    with pytest.raises(IncompatibleSchemaError):
        registry.register(subject(topic), broken)
