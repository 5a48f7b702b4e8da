"""The Avro contracts themselves: valid Avro, every field documented, times as
timestamp-millis, and a new optional field can always be added (defaults)."""

from __future__ import annotations

import fastavro
import pytest

import schemas

CONTRACTS = ("PlateRead", "ReferenceEntry", "Camera", "Hit", "DeadLetter", "HitSighting", "ReferenceRefusal",
             "GatewayMessage", "LifecycleEvent", "RefusedEvent", "DeadDelivery", "GatewayConfigVersion")
TIMES = {"event_time", "valid_from", "valid_until", "received_at", "refused_at", "at", "ack_deadline",
         "failed_at", "applied_at"}


@pytest.mark.parametrize("name", CONTRACTS)
def test_contract_parses_and_documents_every_field(name):
    schema = schemas.load(name)
    fastavro.parse_schema(schema)
    assert schema["doc"]
    for field in schema["fields"]:
        assert field.get("doc"), f"{name}.{field['name']} has no doc"


@pytest.mark.parametrize("name", CONTRACTS)
def test_times_are_timestamp_millis(name):
    for field in schemas.load(name)["fields"]:
        if field["name"] in TIMES:
            types = field["type"] if isinstance(field["type"], list) else [field["type"]]
            logical = [t.get("logicalType") for t in types if isinstance(t, dict)]
            assert logical == ["timestamp-millis"], field


@pytest.mark.parametrize("name", CONTRACTS)
def test_nullable_fields_default_to_null(name):
    """A nullable field without a default could not be dropped or reordered later."""
    for field in schemas.load(name)["fields"]:
        if isinstance(field["type"], list) and "null" in field["type"]:
            assert field["type"][0] == "null" and "default" in field and field["default"] is None, field


def test_unknown_contract_names_the_known_ones():
    with pytest.raises(FileNotFoundError, match="known: Camera, DeadDelivery, DeadLetter, GatewayConfigVersion, GatewayMessage, Hit, HitSighting, "
                       "LifecycleEvent, PlateRead, ReferenceEntry, ReferenceRefusal, RefusedEvent"):
        schemas.load("Nope")


def test_a_delivery_carries_the_hit_field_for_field():
    """GatewayMessage embeds the Hit contract (Avro without registry references); one truth."""
    delivery = next(f for f in schemas.load("GatewayMessage")["fields"] if f["name"] == "delivery")["type"][1]
    embedded = next(f for f in delivery["fields"] if f["name"] == "hit")["type"]
    assert embedded["fields"] == schemas.load("Hit")["fields"]
