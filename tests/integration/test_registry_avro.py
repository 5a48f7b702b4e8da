"""An Avro record through the real registry and broker, in the Confluent wire format."""

from __future__ import annotations

import struct
import uuid

from confluent_kafka import Producer

from connectors.avro import AvroDecoder, AvroEncoder
from connectors.kafka_clients import client_config
from connectors.registry import RegistryClient

from .conftest import consume_all, registry_get

SCHEMA = {
    "type": "record",
    "name": "SmokeRead",
    "namespace": "org.feblam.test",
    "fields": [
        {"name": "read_id", "type": "string"},
        {"name": "plate_text", "type": "string"},
        {"name": "ocr_confidence", "type": "double"},
        {"name": "event_time", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    ],
}


def test_record_round_trips_through_registry_and_kafka(stack, new_topic):
    topic = new_topic("avro")
    subject = f"{topic}-value"
    encoder = AvroEncoder(RegistryClient(stack.schema_registry_url).register(subject, SCHEMA), SCHEMA)

    # The id the encoder wrote is the one the registry itself gives for the subject.
    latest = registry_get(f"{stack.schema_registry_url}/subjects/{subject}/versions/latest").json()
    assert latest["id"] == encoder.schema_id

    record = {"read_id": str(uuid.uuid4()), "plate_text": "1-ABC-123", "ocr_confidence": 0.93, "event_time": 1772352900250}
    producer = Producer(client_config({"bootstrap.servers": stack.bootstrap_servers}))
    producer.produce(topic, encoder.encode(record))
    assert producer.flush(30) == 0

    [message] = consume_all(stack.bootstrap_servers, topic, expected=1)
    raw = message.value()
    magic, schema_id = struct.unpack(">bI", raw[:5])
    assert (magic, schema_id) == (0, encoder.schema_id)

    # A fresh client has nothing cached: the writer schema must come from the registry by id.
    fresh = RegistryClient(stack.schema_registry_url)
    decoded = AvroDecoder(fresh, SCHEMA).decode(raw)
    assert decoded["read_id"] == record["read_id"]
    assert decoded["plate_text"] == "1-ABC-123"
    assert decoded["ocr_confidence"] == 0.93
    assert int(decoded["event_time"].timestamp() * 1000) == record["event_time"]
