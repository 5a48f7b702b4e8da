"""Plate reads decoded in Java, before the Python step (org.feblam.flink.ReadFields).

fastavro takes some 6.5 µs to decode a read, a third of the match step's Python
(docs/benchmarks.md, "Reads decoded in Java"). On Kafka, the step that gathers a
subtask's reads into batches (`connectors.kafka.record_batches`) also decodes them
in Java into a pickled list of the very dicts `connectors.avro.AvroDecoder` gives,
which Python unpickles in one call per batch.

Java decodes only the plain case: a record written with one of the schema ids
the job found, when it was built, to be its own reader schema (`PlateRead`, as
`AvroDecoder` reads it: docs dropped, `timestamp-millis` as the long it is). Any
other record (another writer schema, a broken one) comes as None, and the Python
step decodes it as before, with its own reasons for a dead letter. So the rules
of what a malformed read is stay in one place, and a job whose registry has no
such id yet still reads everything, only slower.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import schemas
from connectors.avro import AvroDecoder
from connectors.contracts import lookup
from connectors.registry import NotFoundError, RegistryClient

LOG = logging.getLogger(__name__)

PRIMITIVES = ("null", "boolean", "int", "long", "float", "double", "string")
READ_CONTRACT = "PlateRead"


class UnsupportedSchema(ValueError):
    """A reader schema with a field that ReadFields cannot decode as fastavro does."""


@dataclass(frozen=True)
class ReadFieldsSpec:
    """What org.feblam.flink.ReadFields needs: the writer schema ids it decodes, and the
    reader schema's field names and types in its order ("string", "long", a union
    "null|string", ...)."""

    schema_ids: tuple[int, ...]
    names: tuple[str, ...]
    types: tuple[str, ...]

    @classmethod
    def of(cls, reader_schema: dict, schema_ids) -> "ReadFieldsSpec":
        """The spec of a record schema whose fields are primitive types or unions of
        them; raises `UnsupportedSchema` for any other (a nested record, an array, a
        logical type other than `timestamp-millis`, which the read decoder keeps as a long)."""
        if reader_schema.get("type") != "record":
            raise UnsupportedSchema("not a record schema")
        names, types = [], []
        for item in reader_schema["fields"]:
            kind = item["type"]
            branches = kind if isinstance(kind, list) else [kind]
            types.append("|".join(_primitive(item["name"], branch) for branch in branches))
            names.append(item["name"])
        return cls(tuple(sorted(set(schema_ids))), tuple(names), tuple(types))

    def java(self):
        """The org.feblam.flink.ReadFields of this spec (the job's JVM, when it is built)."""
        from pyflink.java_gateway import get_gateway

        gateway = get_gateway()
        return gateway.jvm.org.feblam.flink.ReadFields(_java_array(gateway, gateway.jvm.int, self.schema_ids),
                                                       _java_array(gateway, gateway.jvm.String, self.names),
                                                       _java_array(gateway, gateway.jvm.String, self.types))


def _primitive(name: str, kind) -> str:
    if isinstance(kind, dict):
        logical = kind.get("logicalType")
        if logical is not None and (logical, kind.get("type")) != ("timestamp-millis", "long"):
            raise UnsupportedSchema(f"field {name}: logical type {logical} of {kind.get('type')}")
        kind = kind.get("type")
    if kind not in PRIMITIVES:
        raise UnsupportedSchema(f"field {name}: type {kind!r} is not primitive")
    return kind


def _java_array(gateway, kind, values):
    array = gateway.new_array(kind, len(values))
    for i, value in enumerate(values):
        array[i] = value
    return array


def read_fields(registry: RegistryClient, reads_topic: str) -> ReadFieldsSpec | None:
    """The spec for the reads of `reads_topic`: the id of FEBLAM's PlateRead contract
    as registered for it, when the read decoder reads it as is; None when the
    subject has no such version (every read is then decoded in Python)."""
    reader = schemas.load(READ_CONTRACT)
    try:
        schema_id = lookup(registry, reads_topic, READ_CONTRACT)
    except NotFoundError:
        LOG.warning("the reads' subject has no %s contract yet: reads are decoded in Python", READ_CONTRACT)
        return None
    if not AvroDecoder(registry, reader, millis=True).reads_as_is(schema_id):
        LOG.warning("schema id %d of the reads is not the job's own %s: reads are decoded in Python",
                    schema_id, READ_CONTRACT)
        return None
    LOG.info("reads written with schema id %d are decoded in Java", schema_id)
    return ReadFieldsSpec.of(reader, [schema_id])
