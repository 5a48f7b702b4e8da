"""Parsing of reference updates and cameras (spec §1, §2, §4, §10).

``parse_entry`` turns one update record (a dict of the file format of spec §10,
or the decoded Avro record) into a ``ReferenceEntry`` or raises ``InvalidEntry``
with a reason; the caller routes the rejected update somewhere visible and the
index stays unchanged.
"""

from __future__ import annotations

from typing import Any

from udfs.instant import BadInstant, parse_instant
from udfs.model import DELETE, FOR_EVER, SINCE_EVER, UPSERT, Camera, ReferenceEntry
from udfs.normalise import WILDCARDS, canon_pattern, country

# Reasons an update is refused.
MALFORMED = "MALFORMED"          # not a record, or list_name/entry_id/plate missing or not text
BAD_OP = "BAD_OP"                # op is neither UPSERT nor DELETE
EMPTY_PLATE = "EMPTY_PLATE"      # the normalised plate is empty
BAD_WILDCARD = "BAD_WILDCARD"    # more than two wildcards or fewer than four other characters
BAD_VALIDITY = "BAD_VALIDITY"    # valid_from/valid_until not an instant
BAD_SEVERITY = "BAD_SEVERITY"    # severity not an integer 0..100
BAD_ATTRIBUTES = "BAD_ATTRIBUTES"  # attributes not a map of text to text
BAD_CAMERA = "BAD_CAMERA"        # no camera_id, zones not names, a position not a finite number in range
# On Kafka, where a topic is one list and a message key names what a tombstone deletes:
WRONG_LIST = "WRONG_LIST"        # the record's list_name is not the list of the topic it came on
KEY_MISMATCH = "KEY_MISMATCH"    # the message key is not the record's entry_id

MAX_WILDCARDS = 2
MIN_LITERALS = 4
MAX_ENTRY_ID_BYTES = 65_535


class InvalidEntry(ValueError):
    """A reference update refused at load, with its reason and the raw record."""

    def __init__(self, reason: str, raw: Any, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.raw = raw
        self.detail = detail


def check_pattern(plate: str) -> str | None:
    """Spec §4: why a normalised entry plate is refused, or ``None`` when it is fine."""
    if not plate:
        return EMPTY_PLATE
    wildcards = sum(plate.count(w) for w in WILDCARDS)
    if wildcards and (wildcards > MAX_WILDCARDS or len(plate) - wildcards < MIN_LITERALS):
        return BAD_WILDCARD
    return None


def _text(record: dict, name: str, raw: Any) -> str:
    value = record.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidEntry(MALFORMED, raw, f"{name} missing or not text")
    return value


def _bound(record: dict, name: str, default: int, raw: Any) -> int:
    value = record.get(name)
    if value is None:
        return default
    try:
        return parse_instant(value)
    except BadInstant as err:
        raise InvalidEntry(BAD_VALIDITY, raw, f"{name}: {err}") from None


def parse_entry(raw: Any) -> ReferenceEntry:
    """Spec §1: the ``ReferenceEntry`` of one update record; raises ``InvalidEntry``.

    ``op`` defaults to UPSERT when absent. A DELETE needs only ``list_name`` and
    ``entry_id``. An UPSERT needs a ``plate`` whose normalised form (``?`` and
    ``*`` kept) is not empty and, if it holds wildcards, holds at most two and at
    least four other characters (spec §4).
    """
    if not isinstance(raw, dict):
        raise InvalidEntry(MALFORMED, raw, "not a record")
    list_name = _text(raw, "list_name", raw)
    entry_id = _text(raw, "entry_id", raw)
    if len(entry_id.encode("utf-8")) > MAX_ENTRY_ID_BYTES:
        raise InvalidEntry(MALFORMED, raw, "entry_id longer than 65535 bytes")
    op = raw.get("op", UPSERT)
    op = op.upper() if isinstance(op, str) else op
    if op == DELETE:
        return ReferenceEntry(list_name=list_name, entry_id=entry_id, op=DELETE)
    if op != UPSERT:
        raise InvalidEntry(BAD_OP, raw, f"op must be UPSERT or DELETE, got {op!r}")
    if not isinstance(raw.get("plate"), str):
        raise InvalidEntry(MALFORMED, raw, "plate missing or not text")
    plate = canon_pattern(raw["plate"])
    problem = check_pattern(plate)
    if problem:
        raise InvalidEntry(problem, raw, f"plate {raw['plate']!r} normalises to {plate!r}; "
                           f"at most {MAX_WILDCARDS} wildcards and at least {MIN_LITERALS} "
                           "other characters")
    severity = raw.get("severity")
    if severity is not None and (isinstance(severity, bool) or not isinstance(severity, int)
                                 or not 0 <= severity <= 100):
        raise InvalidEntry(BAD_SEVERITY, raw, f"severity must be 0..100, got {severity!r}")
    attributes = raw.get("attributes") or {}
    if not isinstance(attributes, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in attributes.items()):
        raise InvalidEntry(BAD_ATTRIBUTES, raw, "attributes must map text to text")
    zone = raw.get("zone")
    if zone is not None and not isinstance(zone, str):
        raise InvalidEntry(MALFORMED, raw, "zone is not text")
    return ReferenceEntry(
        list_name=list_name,
        entry_id=entry_id,
        op=UPSERT,
        plate=plate,
        country=country(raw.get("country")),
        valid_from=_bound(raw, "valid_from", SINCE_EVER, raw),
        valid_until=_bound(raw, "valid_until", FOR_EVER, raw),
        severity=severity,
        zone=zone or None,
        attributes=dict(attributes),
    )


def parse_camera(raw: Any) -> Camera:
    """Spec §1: the ``Camera`` of one registry record; raises ``InvalidEntry(BAD_CAMERA)``."""
    if not isinstance(raw, dict) or not isinstance(raw.get("camera_id"), str) \
            or not raw["camera_id"]:
        raise InvalidEntry(BAD_CAMERA, raw, "camera_id missing or not text")
    zones = raw.get("lez_zones") or []
    if not isinstance(zones, (list, tuple)) or not all(isinstance(z, str) and z for z in zones):
        raise InvalidEntry(BAD_CAMERA, raw, "lez_zones must be a list of zone names")
    for name, limit in (("lat", 90.0), ("lon", 180.0)):
        value = raw.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidEntry(BAD_CAMERA, raw, f"{name} is not a number")
        # NaN compares false to everything, so this refuses it with the infinities.
        if not -limit <= value <= limit:
            raise InvalidEntry(BAD_CAMERA, raw, f"{name} {value} is not a finite number in [-{limit:g}, {limit:g}]")
    return Camera(
        camera_id=raw["camera_id"],
        lat=raw.get("lat"),
        lon=raw.get("lon"),
        lez_zones=tuple(dict.fromkeys(zones)),
        police_zone=raw.get("police_zone"),
        province=raw.get("province"),
    )
