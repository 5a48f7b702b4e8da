"""Validation of raw plate reads (spec §3): a valid ``PlateRead`` or an ``InvalidRead``.

A read is never dropped: ``InvalidRead`` carries the original record (bytes,
text or dict, untouched), its source position when the caller knows it, the
``read_id`` when it could be read, and exactly one reason of spec §3. The checks
run in the order the spec lists the reasons, so the first failing one is the reason.
"""

from __future__ import annotations

import json
import math
from typing import Any

from udfs.instant import BadInstant, parse_instant
from udfs.model import PlateRead
from udfs.normalise import MAX_PLATE_LENGTH, canon, country

MALFORMED = "MALFORMED"
BAD_TIMESTAMP = "BAD_TIMESTAMP"
EMPTY_PLATE = "EMPTY_PLATE"
PLATE_TOO_LONG = "PLATE_TOO_LONG"
BAD_CONFIDENCE = "BAD_CONFIDENCE"
REASONS = (MALFORMED, BAD_TIMESTAMP, EMPTY_PLATE, PLATE_TOO_LONG, BAD_CONFIDENCE)
# Not a reason of spec §3: a valid read that a job writing the history may not keep,
# its hour being already past the history's retention (history.late_reads).
PAST_RETENTION = "PAST_RETENTION"

# Spec §3: event times outside [2000-01-01T00:00:00Z, 2100-01-01T00:00:00Z) are
# BAD_TIMESTAMP (a clock reset to 1970, a year typed as 20260): they would open
# de-duplication windows and Brussels days that no real read ever shares.
EVENT_TIME_FROM = parse_instant("2000-01-01T00:00:00Z")
EVENT_TIME_UNTIL = parse_instant("2100-01-01T00:00:00Z")

_REQUIRED_TEXT = ("read_id", "camera_id", "plate_text")
_OPTIONAL_TEXT = ("make", "colour", "vehicle_type", "image_ref", "source")


class InvalidRead(ValueError):
    """A read for the dead-letter output (spec §3).

    ``reason`` is one of ``REASONS``; ``raw`` is the original record exactly as
    given; ``position`` is the source position (e.g. file line or Kafka
    partition/offset) or ``None``; ``read_id`` is set when it could be read.
    """

    def __init__(self, reason: str, raw: Any, detail: str = "", position: Any = None,
                 read_id: str | None = None):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.raw = raw
        self.detail = detail
        self.position = position
        self.read_id = read_id

    def to_record(self) -> dict:
        """The dead letter of spec §10: reason, read_id where known, original line."""
        original = self.raw
        if isinstance(original, (bytes, bytearray)):
            original = bytes(original).decode("utf-8", errors="replace")
        elif not isinstance(original, str):
            original = json.dumps(original, default=repr, sort_keys=True)
        return {"reason": self.reason, "read_id": self.read_id, "original": original,
                "position": self.position, "detail": self.detail}


def _decode(raw: Any, position: Any) -> dict:
    record = raw
    if isinstance(raw, (bytes, bytearray, str)):
        try:
            record = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as err:
            raise InvalidRead(MALFORMED, raw, f"not JSON: {err}", position) from None
    if not isinstance(record, dict):
        raise InvalidRead(MALFORMED, raw, "not a JSON object", position)
    return record


def validate_read(raw: Any, position: Any = None) -> PlateRead:
    """Spec §3: the ``PlateRead`` of ``raw`` (dict, JSON text or JSON bytes).

    Raises ``InvalidRead`` with exactly one reason:
    MALFORMED (undecodable, not an object, or read_id/camera_id/plate_text
    missing, null or not text), BAD_TIMESTAMP (event_time missing, unparseable,
    or outside [``EVENT_TIME_FROM``, ``EVENT_TIME_UNTIL``)), EMPTY_PLATE,
    PLATE_TOO_LONG, BAD_CONFIDENCE (missing, not a number, NaN or outside [0, 1]).
    """
    record = _decode(raw, position)
    rid = record.get("read_id")
    read_id = rid if isinstance(rid, str) else None
    for name in _REQUIRED_TEXT:
        if not isinstance(record.get(name), str):
            raise InvalidRead(MALFORMED, raw, f"{name} missing or not text", position, read_id)
    if "event_time" not in record or record["event_time"] is None:
        raise InvalidRead(BAD_TIMESTAMP, raw, "event_time missing", position, read_id)
    try:
        event_time = parse_instant(record["event_time"])
    except BadInstant as err:
        raise InvalidRead(BAD_TIMESTAMP, raw, str(err), position, read_id) from None
    if not EVENT_TIME_FROM <= event_time < EVENT_TIME_UNTIL:
        raise InvalidRead(BAD_TIMESTAMP, raw, f"event_time {record['event_time']!r} is outside "
                          "[2000-01-01T00:00:00Z, 2100-01-01T00:00:00Z)", position, read_id)
    plate = canon(record["plate_text"])
    if not plate:
        raise InvalidRead(EMPTY_PLATE, raw, "canonical plate is empty", position, read_id)
    if len(plate) > MAX_PLATE_LENGTH:
        raise InvalidRead(PLATE_TOO_LONG, raw, f"canonical plate {plate!r} is longer than "
                          f"{MAX_PLATE_LENGTH}", position, read_id)
    confidence = record.get("ocr_confidence")
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) \
            or math.isnan(confidence) or not 0.0 <= confidence <= 1.0:
        raise InvalidRead(BAD_CONFIDENCE, raw, f"ocr_confidence {confidence!r}", position,
                          read_id)
    return PlateRead(
        read_id=record["read_id"],
        camera_id=record["camera_id"],
        event_time=event_time,
        plate_text=record["plate_text"],
        plate=plate,
        country=country(record.get("plate_country")),
        ocr_confidence=float(confidence),
        **{name: _text_or_none(record.get(name)) for name in _OPTIONAL_TEXT},
    )


def _text_or_none(value: Any) -> str | None:
    # Optional attributes never make a read invalid (spec §3 lists the reasons);
    # a value that is not text is treated as absent.
    return value if isinstance(value, str) else None
