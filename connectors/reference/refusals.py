"""The updates the hit-generation job refused, read back from its refusals topic.

The job writes one ReferenceRefusal per refused reference or camera update
(schemas/ReferenceRefusal.avsc), once, whatever its parallelism. `read_refusals`
reads the topic from the beginning to the end offsets it has when called, with
the same reads as a restored job's (`connectors.kafka_reading.replay`).
"""

from __future__ import annotations

import re

import schemas
from connectors.avro import AvroDecodeError, AvroDecoder
from connectors.kafka_reading import replay, startup_positions
from connectors.registry import RegistryClient


def read_refusals(bootstrap_servers: str, registry: RegistryClient, topic: str,
                  timeout_s: float = 60.0) -> tuple[list[dict], list[tuple[int, int]]]:
    """Every refusal on `topic`, oldest first per partition ([] when the topic does not
    exist), and the (partition, offset) of the records that do not decode as one."""
    positions = startup_positions(bootstrap_servers, re.escape(topic), timeout_s)
    decoder = AvroDecoder(registry, schemas.load("ReferenceRefusal"), millis=True)
    refusals, undecodable = [], []
    for _, partition, offset, _, value in replay(bootstrap_servers, positions.last_positions(), timeout_s):
        try:
            refusals.append(decoder.decode(value))
        except AvroDecodeError:
            undecodable.append((partition, offset))
    return refusals, undecodable
