"""The Avro contracts in the real registry: a producer registers every contract without
setting a rule, the job's look-up finds it or says to run `feblam schemas apply`,
an added optional field keeps older records readable under BACKWARD, and an
incompatible change is refused by the registry itself."""

from __future__ import annotations

import copy
import uuid

import pytest

import schemas
from connectors.avro import AvroDecoder, AvroEncoder
from connectors.contracts import (
    COMPATIBILITY,
    FEEDS,
    REFERENCE_CONTRACT,
    ContractNotRegisteredError,
    encoder,
    lookup,
    register_or_lookup,
    subject,
)
from connectors.registry import IncompatibleSchemaError, RegistryClient

CONTRACTS = tuple(f.contract for f in FEEDS) + (REFERENCE_CONTRACT,)

READ = {"read_id": "r1", "camera_id": "CAM-1", "event_time": 1772352000000, "plate_text": "1-ABC-123",
        "plate_country": "B", "ocr_confidence": 0.9, "make": None, "colour": None, "vehicle_type": None,
        "image_ref": None, "source": None}


@pytest.fixture
def registry(stack):
    return RegistryClient(stack.schema_registry_url)


def fresh_topic(name: str = "contract") -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


@pytest.mark.parametrize("contract", CONTRACTS)
def test_a_producer_registers_every_contract_and_sets_no_rule(registry, contract):
    topic = fresh_topic()
    schema_id = register_or_lookup(registry, topic, contract)
    assert registry.schema(schema_id)["name"] == contract
    assert register_or_lookup(RegistryClient(registry.url), topic, contract) == schema_id  # idempotent
    assert lookup(registry, topic, contract) == schema_id
    # No rule of its own: Apicurio answers the global level, never BACKWARD set by a producer.
    assert registry.compatibility(subject(topic)) != COMPATIBILITY


def test_the_jobs_look_up_of_a_missing_subject_says_what_to_do(registry):
    topic = fresh_topic("hits")
    with pytest.raises(ContractNotRegisteredError,
                       match=rf"subject {topic}-value has no version matching contract Hit: run `feblam schemas apply`"):
        lookup(registry, topic, "Hit")
    with pytest.raises(ContractNotRegisteredError, match="feblam schemas apply"):
        encoder(registry, topic, "Hit", register=False)  # what the job's Encoders do
    assert topic + "-value" not in registry.subjects()  # looking up registered nothing


def test_the_jobs_look_up_of_a_subject_with_other_versions_only_says_the_same(registry):
    topic = fresh_topic("hits")
    other = {"type": "record", "name": "Hit", "namespace": "org.feblam", "fields": [{"name": "hit_id", "type": "string"}]}
    registry.register(subject(topic), other)
    with pytest.raises(ContractNotRegisteredError, match="has no version matching contract Hit"):
        lookup(registry, topic, "Hit")


def test_an_added_optional_field_keeps_older_records_readable(registry):
    topic = fresh_topic("reads")
    registry.set_compatibility(subject(topic), COMPATIBILITY)
    old_bytes = encoder(registry, topic, "PlateRead", register=True).encode(READ)

    evolved = copy.deepcopy(schemas.load("PlateRead"))
    evolved["fields"].append({"name": "lane", "type": ["null", "int"], "default": None, "doc": "Lane number."})
    assert registry.is_compatible(subject(topic), evolved)
    new_id = registry.register(subject(topic), evolved)

    decoded = AvroDecoder(registry, evolved).decode(old_bytes)
    assert decoded["lane"] is None and decoded["plate_text"] == "1-ABC-123"
    # And records of the new version are read by a reader still on the old contract.
    new_bytes = AvroEncoder(new_id, evolved).encode({**READ, "lane": 2})
    assert int.from_bytes(new_bytes[1:5], "big") == new_id
    assert "lane" not in AvroDecoder(registry, schemas.load("PlateRead")).decode(new_bytes)


def test_an_incompatible_change_is_refused_by_the_registry(registry):
    topic = fresh_topic("reads")
    registry.set_compatibility(subject(topic), COMPATIBILITY)
    register_or_lookup(registry, topic, "PlateRead")
    broken = copy.deepcopy(schemas.load("PlateRead"))
    broken["fields"].append({"name": "lane", "type": "int", "doc": "Required, no default: old records lack it."})
    assert not registry.is_compatible(subject(topic), broken)
    with pytest.raises(IncompatibleSchemaError, match="Incompatible"):
        registry.register(subject(topic), broken)
