"""Reference topics on Kafka: the topic decides the list, the key names the entry.

A record that names another list would write into it; one whose entry_id is not
its key could never be deleted by a tombstone (which names the entry by key).
Both are refused with their bytes, as any refused update is.
"""

from __future__ import annotations

import pytest

import schemas
from connectors.avro import AvroEncoder
from connectors.codecs import KafkaUpdates
from connectors.contracts import ReferenceDecoder
from connectors.gateway_codec import CAMERA, GatewayCodec, GatewayTopics, UndecodableInput
from udfs.reference import KEY_MISMATCH, MALFORMED, WRONG_LIST, InvalidEntry

from .test_avro import MemoryRegistry

SCHEMA = schemas.load("ReferenceEntry")


def _encoded(registry, **fields) -> bytes:
    record = {"list_name": "stolen_vehicles", "entry_id": "S1", "op": "UPSERT", "plate": "1ABC123", "country": None,
              "valid_from": None, "valid_until": None, "severity": None, "zone": None, "attributes": {}, **fields}
    return AvroEncoder(registry.register("ref.stolen_vehicles-value", SCHEMA), SCHEMA).encode(record)


@pytest.fixture
def registry():
    return MemoryRegistry()


def test_a_record_of_the_topics_list_keyed_by_its_entry_id_is_taken(registry):
    decoded = ReferenceDecoder(registry, "ref.").entry("ref.stolen_vehicles", b"S1", _encoded(registry))
    assert (decoded["list_name"], decoded["entry_id"], decoded["plate"]) == ("stolen_vehicles", "S1", "1ABC123")


def test_a_record_naming_another_list_is_refused(registry):
    value = _encoded(registry, list_name="judicial_alerts")
    with pytest.raises(InvalidEntry) as info:
        ReferenceDecoder(registry, "ref.").entry("ref.stolen_vehicles", b"S1", value)
    assert info.value.reason == WRONG_LIST and info.value.raw == value
    assert "judicial_alerts" in info.value.detail and "stolen_vehicles" in info.value.detail


@pytest.mark.parametrize("key", [b"OTHER", None, b"S1 "])
def test_a_key_that_is_not_the_entry_id_is_refused(registry, key):
    value = _encoded(registry)
    with pytest.raises(InvalidEntry) as info:
        ReferenceDecoder(registry, "ref.").entry("ref.stolen_vehicles", key, value)
    assert info.value.reason == KEY_MISMATCH and info.value.raw == value


def test_a_tombstone_deletes_the_entry_its_key_names(registry):
    assert ReferenceDecoder(registry, "ref.").entry("ref.stolen_vehicles", b"S1", None) == \
        {"list_name": "stolen_vehicles", "entry_id": "S1", "op": "DELETE"}


@pytest.mark.parametrize("key", [b"\xff", b"S\xc3", b"\x80\x80"])
def test_a_tombstone_whose_key_is_no_text_is_refused_not_a_crash(registry, key):
    # It names no entry; a UnicodeDecodeError would have restarted the job at every load.
    with pytest.raises(InvalidEntry) as info:
        ReferenceDecoder(registry, "ref.").entry("ref.stolen_vehicles", key, None)
    assert info.value.reason == MALFORMED and "not UTF-8" in info.value.detail


@pytest.mark.parametrize("key", [b"\xff", b"CAM\xe9"])
def test_a_camera_tombstone_whose_key_is_no_text_is_refused_by_both_jobs(key):
    codec = KafkaUpdates(MemoryRegistry(), "ref.", "cameras")   # what KafkaCodec.update calls
    with pytest.raises(InvalidEntry) as info:
        codec.update("cameras", key, None)
    assert info.value.reason == MALFORMED
    assert codec.update("cameras", b"CAM-1", None) == {"camera_id": "CAM-1", "op": "DELETE"}
    gateway = GatewayCodec("http://unused", GatewayTopics(cameras="cameras"))
    gateway._decoders = {"cameras": (CAMERA, None)}
    with pytest.raises(UndecodableInput) as undecodable:
        gateway.decode("cameras", 0, 7, key, None)
    assert (undecodable.value.topic, undecodable.value.offset, undecodable.value.value) == ("cameras", 7, None)
    assert gateway.decode("cameras", 0, 8, b"CAM-1", None).record == {"camera_id": "CAM-1", "op": "DELETE"}
