"""`vendor-json`: the JSON reads of the Vigilant ANPR camera range.

One JSON object per message, e.g.

    {"readId": "VG-2026-000001", "cam": "ANPR-BRU-0001",
     "ts": "2026-03-01T08:15:02.120+01:00", "plate": "1-ABC-123",
     "nationality": "B", "confidencePct": 87.5,
     "vehicle": {"make": "Volkswagen", "colour": "grey", "class": "car"},
     "imageUrl": "https://img.vigilant.example/r/000001.jpg"}

Differences from the contract, and how they are bridged:
- field names: readId, cam, ts, plate, nationality, confidencePct, vehicle.{make,
  colour, class}, imageUrl;
- `ts` is the camera's local time with its UTC offset; it becomes UTC epoch
  milliseconds (sub-millisecond digits are dropped). A time without an offset
  names no instant and is refused (BAD_TIMESTAMP): guessing the camera's zone
  would misplace reads by an hour twice a year;
- `confidencePct` is in percent, 0..100; it becomes [0, 1] (87.5 -> 0.875),
  computed in decimal so that 87.3 becomes exactly the double nearest 0.873.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from decimal import Decimal

from connectors.sources.base import RejectedPayload, TopicConnector
from udfs.validation import BAD_CONFIDENCE, BAD_TIMESTAMP, MALFORMED

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class VendorJsonReads(TopicConnector):
    name = "vendor-json"
    description = ("Vigilant camera JSON: readId/cam/ts/plate/nationality/confidencePct; "
                   "local times with a UTC offset, confidence in percent")

    def decode(self, payload: bytes) -> dict:
        try:
            message = json.loads(payload)
        except (ValueError, UnicodeDecodeError) as error:
            raise RejectedPayload(MALFORMED, f"not JSON: {error}", payload) from None
        if not isinstance(message, dict):
            raise RejectedPayload(MALFORMED, f"not a JSON object but {type(message).__name__}", payload)
        read_id = message.get("readId") if isinstance(message.get("readId"), str) else None
        for name in ("readId", "cam", "plate"):
            if not isinstance(message.get(name), str):
                raise RejectedPayload(MALFORMED, f"{name} missing or not text", payload, read_id)
        vehicle = message.get("vehicle")
        vehicle = vehicle if isinstance(vehicle, dict) else {}
        return {
            "read_id": read_id,
            "camera_id": message["cam"],
            "event_time": _utc_millis(message.get("ts"), payload, read_id),
            "plate_text": message["plate"],
            "plate_country": message.get("nationality"),
            "ocr_confidence": _fraction(message.get("confidencePct"), payload, read_id),
            "make": vehicle.get("make"),
            "colour": vehicle.get("colour"),
            "vehicle_type": vehicle.get("class"),
            "image_ref": message.get("imageUrl"),
            "source": self.name,
        }


def _utc_millis(value, payload: bytes, read_id: str | None) -> int:
    if not isinstance(value, str):
        raise RejectedPayload(BAD_TIMESTAMP, f"ts missing or not text: {value!r}", payload, read_id)
    try:
        local = datetime.fromisoformat(value.strip())
    except ValueError:
        raise RejectedPayload(BAD_TIMESTAMP, f"ts is not an ISO-8601 time: {value!r}", payload, read_id) from None
    if local.tzinfo is None:
        raise RejectedPayload(BAD_TIMESTAMP, f"ts has no UTC offset: {value!r}", payload, read_id)
    delta = local - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def _fraction(value, payload: bytes, read_id: str | None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) \
            or not 0 <= value <= 100:
        raise RejectedPayload(BAD_CONFIDENCE, f"confidencePct {value!r} is not a percentage 0..100",
                              payload, read_id)
    return float(Decimal(repr(value)) / 100)
