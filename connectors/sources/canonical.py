"""From a connector's output to the canonical PlateRead record, checked at the boundary.

Ingest and the test kit both go through `canonical_read`, so what a sample
proves is what ingest does: the connector decodes the payload, then the record
is validated by `udfs.validation.validate_read`, the very rules the
hit-generation job applies (spec §3). An invalid read is refused here with the
job's reason, instead of travelling to the job to be refused there.
"""

from __future__ import annotations

import schemas
from connectors.sources.base import ConnectorError, ReadConnector, RejectedPayload
from udfs.validation import InvalidRead, validate_read

FIELDS = tuple(f["name"] for f in schemas.load("PlateRead")["fields"])


def canonical_read(connector: ReadConnector, payload: bytes, raw: bytes | None = None) -> dict:
    """The PlateRead record (Avro field names, `event_time` in epoch milliseconds)
    of `payload`, decoded by `connector` and validated.

    Raises `RejectedPayload` (carrying `raw`, the payload itself by default) for a
    payload the connector refuses or a read that fails validation, and
    `ConnectorError` when the connector breaks its contract.
    """
    raw = payload if raw is None else raw
    try:
        fields = connector.decode(payload)
    except RejectedPayload as rejected:
        raise RejectedPayload(rejected.reason, rejected.detail, raw, rejected.read_id) from None
    except Exception as error:  # a bug in the connector: stop, do not dead-letter good data
        raise ConnectorError(f"connector {connector.name!r} raised {type(error).__name__}: {error}") from error
    if not isinstance(fields, dict):
        raise ConnectorError(f"connector {connector.name!r} returned {type(fields).__name__}, not a dict")
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise ConnectorError(f"connector {connector.name!r} returned fields that PlateRead does not have: {unknown}")
    try:
        read = validate_read(fields)
    except InvalidRead as invalid:
        raise RejectedPayload(invalid.reason, invalid.detail, raw, invalid.read_id) from None
    record = {name: fields.get(name) for name in FIELDS}
    # validate_read accepts ISO text and ints; the contract carries epoch millis and a double.
    record["event_time"] = read.event_time
    record["ocr_confidence"] = read.ocr_confidence
    for name in ("plate_country", "make", "colour", "vehicle_type", "image_ref", "source"):
        if not isinstance(record[name], str):
            record[name] = None
    if record["source"] is None:
        record["source"] = connector.name or None
    return record
