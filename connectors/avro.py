"""Avro records in the Confluent wire format: a zero byte, the writer schema's
registry id as 4 big-endian bytes, then the Avro binary body.

`AvroEncoder` writes with one schema whose registry id is known (registered
by a producer, or looked up by a job: `connectors.contracts.encoder`).
`AvroDecoder` reads any registered writer schema into the reader schema it was
given (schema resolution by fastavro), so a feed can evolve without breaking
its readers. Decoding failures raise `AvroDecodeError` carrying the raw bytes,
so that the caller can dead-letter them untouched; an id the registry does not
know is such a failure (`SchemaNotFoundError`), but any other registry error
(unreachable, a URL that is no registry) raises, since that is no fault of the
record.
"""

from __future__ import annotations

import io
import struct
import time
from collections import OrderedDict
from collections.abc import Callable

import fastavro

from connectors.registry import RegistryClient, SchemaNotFoundError

MAGIC = 0
HEADER = struct.Struct(">bI")

# An id the registry said it does not know is not asked about again for this long,
# nor more than this many ids remembered. Asking costs a round trip (15 ms a lookup
# measured here over HTTPS with basic auth, on the loaded 2-core machine): records of
# a producer writing with another registry's id, all bearing that id, would otherwise
# each wait for it and slow a subtask to some 60 records/s. Short, because an id
# may yet appear (a registry restored from a backup).
MISSING_ID_TTL_S = 10.0
MISSING_IDS_KEPT = 1024


class AvroDecodeError(ValueError):
    """A message that is not a decodable Avro record; `raw` is the message as received."""

    def __init__(self, message: str, raw: bytes):
        super().__init__(message)
        self.raw = raw


class AvroEncoder:
    """Encodes dicts with `schema`, whose registry id is `schema_id`; no registry call.

    Why not confluent-kafka's AvroSerializer: it gives the same bytes (a unit
    test holds both to that), but costs more per record for nothing FEBLAM uses
    (rules, a subject strategy per call). `feblam bench encoder` (100,000
    Hit-like records, 5 passes; 2-core machine shared with a running stack,
    load 2.6 to 4.3), median CPU µs per record in three runs: 12.1, 12.9, 11.2
    here against 13.2, 13.8, 13.2 with the serializer, i.e. +6 to +18 %
    (+1 to +2 µs). Measurable on the producers, which encode every read, so the
    serializer is not used. Registration and look-up of the id, where the
    library does add something (retries, auth, TLS, caches), go through
    `connectors.registry`.
    """

    def __init__(self, schema_id: int, schema: dict):
        self.schema_id = schema_id
        self._parsed = fastavro.parse_schema(schema)
        self._header = HEADER.pack(MAGIC, self.schema_id)

    def encode(self, record: dict) -> bytes:
        out = io.BytesIO()
        out.write(self._header)
        fastavro.schemaless_writer(out, self._parsed, record)
        return out.getvalue()


class AvroDecoder:
    """Decodes wire-format messages into `reader_schema`; writer schemas come from the
    registry by id and are parsed once per id.

    With `millis`, timestamp-millis fields come out as the long they are on the
    wire (milliseconds since the epoch, UTC) instead of a `datetime`: what the
    job works with, without a conversion there and back. A writer schema equal
    to the reader schema (the usual case) is read without schema resolution."""

    def __init__(self, registry: RegistryClient, reader_schema: dict, millis: bool = False,
                 clock: Callable[[], float] = time.monotonic):
        self._registry = registry
        self._millis = millis
        self._reader_canonical = _canonical(reader_schema, millis)
        self._reader = fastavro.parse_schema(self._reader_canonical)
        self._writers: dict[int, tuple[dict, dict | None]] = {}
        self._clock = clock
        self._missing: OrderedDict[int, float] = OrderedDict()   # id -> when the registry said so

    def _writer(self, schema_id: int) -> tuple[dict, dict | None]:
        """(parsed writer schema, reader schema to resolve into, or None if they are equal).
        Raises SchemaNotFoundError for an id the registry does not know, asking it again
        about that id only after MISSING_ID_TTL_S."""
        writer = self._writers.get(schema_id)
        if writer is None:
            said_at = self._missing.get(schema_id)
            if said_at is not None and self._clock() - said_at < MISSING_ID_TTL_S:
                raise SchemaNotFoundError(f"no schema with id {schema_id} (asked {self._clock() - said_at:.1f} s ago)")
            try:
                schema = self._registry.schema(schema_id)
            except SchemaNotFoundError:
                self._missing[schema_id] = self._clock()
                self._missing.move_to_end(schema_id)
                if len(self._missing) > MISSING_IDS_KEPT:
                    self._missing.popitem(last=False)
                raise
            self._missing.pop(schema_id, None)
            canonical = _canonical(schema, self._millis)
            same = canonical == self._reader_canonical
            writer = self._writers[schema_id] = (fastavro.parse_schema(canonical), None if same else self._reader)
        return writer

    def reads_as_is(self, schema_id: int) -> bool:
        """Whether records of `schema_id` are read without schema resolution: its writer
        schema is the reader schema (docs aside, and `timestamp-millis` when `millis`).
        Raises as `decode` would for an id the registry does not know."""
        return self._writer(schema_id)[1] is None

    def decode(self, raw: bytes) -> dict:
        if raw is None:
            raise AvroDecodeError("no value (a null message)", raw)
        if len(raw) < HEADER.size:
            shown = "an empty value (0 bytes)" if not raw else f"a value of {len(raw)} byte(s)"
            raise AvroDecodeError(f"{shown}, shorter than the 5-byte wire-format header", raw)
        magic, schema_id = HEADER.unpack_from(raw)
        if magic != MAGIC:
            raise AvroDecodeError(f"unknown magic byte {magic} (expected {MAGIC})", raw)
        try:
            writer, reader = self._writer(schema_id)
        except SchemaNotFoundError as error:
            # Only the registry's own "no such schema" makes it the record's fault; any
            # other RegistryError (down, a wrong URL) raises, rather than dead-letter every record.
            raise AvroDecodeError(f"no schema with id {schema_id} in the registry", raw) from error
        body = io.BytesIO(raw[HEADER.size :])
        try:
            record = fastavro.schemaless_reader(body, writer, reader)
        except Exception as error:
            raise AvroDecodeError(f"body does not decode with schema {schema_id}: {error}", raw) from error
        # Exact decoding (spec §3): bytes after the record mean it is not what its writer wrote.
        left = len(raw) - HEADER.size - body.tell()
        if left:
            raise AvroDecodeError(f"{left} byte(s) left over after the record of schema {schema_id}", raw)
        return record


def _canonical(schema, millis: bool):
    """`schema` with its docs dropped (they do not change the data), and with
    timestamp-millis logical types dropped when `millis` (the long stays)."""
    if isinstance(schema, dict):
        return {key: _canonical(value, millis) for key, value in schema.items()
                if key != "doc" and not (millis and key == "logicalType" and value == "timestamp-millis")}
    if isinstance(schema, list):
        return [_canonical(item, millis) for item in schema]
    return schema
