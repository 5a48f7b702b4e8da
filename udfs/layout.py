"""The slot layout shared by the index's update path and its read path.

A plain entry is a *slot*: four int64 in ``ReferenceIndex._rec`` (plate code,
valid_from, valid_until, packed word). The packed word holds the next slot of
its chain plus one (0 = end) in bits 0-31, the list id in 32-39, the country id
in 40-47, the zone id in 48-60, ``LIVE`` in bit 61 and ``NOT_ADMITTED`` in bit
62, so it stays below 2**63.

Plain entries hang on chains in two tables: alert entries by the OCR-class key
of their plate (``ReferenceIndex._by_key``: every EXACT and OCR candidate of a
read), LEZ entries by their exact plate code (``_by_code``: LEZ matches exactly,
and only reads with a zone to decide look there). A table value holds the head
slot in its low 40 bits (``HEAD_MASK``) and, for a LEZ chain that is one status
entry that admits and is valid for ever, ``SOLE_ADMITTING`` with that entry's
country id in bits 42-49 and its zone id in bits 50-62: the commonest LEZ read,
a registered and admitted vehicle, is then decided from the table alone,
without touching the slot (no hit where the entry decides, LEZ_UNREGISTERED in
the camera's other zones when the entry is for one zone only).
"""

from __future__ import annotations

from typing import Mapping, NamedTuple

from udfs import lez
from udfs.config import ALERT, LEZ_PERMIT, LEZ_STATUS


KIND_ALERT, KIND_STATUS, KIND_PERMIT = 0, 1, 2
KIND_CODE = {ALERT: KIND_ALERT, LEZ_STATUS: KIND_STATUS, LEZ_PERMIT: KIND_PERMIT}
NEXT_MASK = (1 << 32) - 1
LIST_SHIFT, COUNTRY_SHIFT, ZONE_SHIFT = 32, 40, 48
MAX_LISTS, MAX_COUNTRIES, MAX_ZONES = 255, 255, (1 << 13) - 1
LIVE, NOT_ADMITTED = 1 << 61, 1 << 62
HEAD_MASK, SOLE_ADMITTING = (1 << 40) - 1, 1 << 41
SOLE_COUNTRY_SHIFT, SOLE_ZONE_SHIFT = 42, 50  # the zone id ends below bit 63
_M64 = (1 << 64) - 1
_M63 = (1 << 63) - 1
FNV_OFFSET, FNV_PRIME = 0xCBF29CE484222325, 0x100000001B3
NO_ATTRIBUTES: Mapping[str, str] = {}


def id_hash(list_id: int, entry_id: bytes) -> int:
    """FNV-1a over the list id byte and the UTF-8 entry id, folded to 63 bits."""
    h = ((FNV_OFFSET ^ list_id) * FNV_PRIME) & _M64
    for byte in entry_id:
        h = ((h ^ byte) * FNV_PRIME) & _M64
    return h & _M63


class Match(NamedTuple):
    """One way a read matches one entry. ``severity`` is the entry's own (or None)."""

    list_name: str
    entry_id: str
    kind: str
    substitutions: int
    severity: int | None
    attributes: Mapping[str, str]


class ReadMatches(NamedTuple):
    """All a read matched: alert ``matches`` and, per LEZ zone, a ``lez.LezVerdict``."""

    matches: list[Match]
    lez: list[tuple[str, lez.LezVerdict]]


NO_MATCHES = ReadMatches([], [])
NO_VERDICTS: list = []

