"""The updates the hit-generation job refused, read back from its refusals topic.

The job writes one ReferenceRefusal per refused reference or camera update
(schemas/ReferenceRefusal.avsc), once, whatever its parallelism. `read_refusals`
reads the topic from the beginning to the end offsets it has when called, with
the same reads as a restored job's (`connectors.kafka.replay`).
"""

from __future__ import annotations

import re

import schemas
from connectors.avro import AvroDecoder
from connectors.kafka import replay, startup_positions
from connectors.registry import RegistryClient


def read_refusals(bootstrap_servers: str, registry: RegistryClient, topic: str,
                  timeout_s: float = 60.0) -> list[dict]:
    """Every refusal on `topic`, oldest first per partition; [] when the topic does not exist."""
    positions = startup_positions(bootstrap_servers, re.escape(topic), timeout_s)
    decoder = AvroDecoder(registry, schemas.load("ReferenceRefusal"), millis=True)
    return [decoder.decode(value) for _, _, _, _, value in replay(bootstrap_servers, positions.last_positions(),
                                                                   timeout_s) if value is not None]
