"""The records FEBLAM matches: plate reads, reference entries, cameras and hits.

Contract: every instant is an ``int`` of epoch milliseconds, UTC. Plates held by
these records are already canonical (see ``udfs.normalise``); a record is built
by ``udfs.validation`` or ``udfs.reference`` from raw input, never by hand in
production code, so that the invariants below hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Mapping

# Match kinds (spec §4, §5). Plain strings: they travel in JSON, Avro and keys.
EXACT = "EXACT"
OCR = "OCR"
WILDCARD = "WILDCARD"
LEZ_NOT_ADMITTED = "LEZ_NOT_ADMITTED"
LEZ_UNREGISTERED = "LEZ_UNREGISTERED"
MATCH_KINDS = (EXACT, OCR, WILDCARD, LEZ_NOT_ADMITTED, LEZ_UNREGISTERED)

UPSERT = "UPSERT"
DELETE = "DELETE"

# Open validity bounds: "since ever" and "for ever" (spec §1, nullable bounds).
SINCE_EVER = -(2**63)
FOR_EVER = 2**63 - 1


@dataclass(slots=True, frozen=True)
class PlateRead:
    """One valid plate read (spec §1).

    ``plate`` is ``canon(plate_text)``: 1..12 characters of ``A-Z0-9``.
    ``country`` is an ISO 3166-1 alpha-2 code or ``None`` (unknown).
    ``ocr_confidence`` is a finite float in [0, 1].
    """

    read_id: str
    camera_id: str
    event_time: int
    plate_text: str
    plate: str
    country: str | None
    ocr_confidence: float
    make: str | None = None
    colour: str | None = None
    vehicle_type: str | None = None
    image_ref: str | None = None
    source: str | None = None


@dataclass(slots=True, frozen=True)
class ReferenceEntry:
    """One update of one reference list (spec §1).

    For ``op == DELETE`` only ``list_name`` and ``entry_id`` are meaningful.
    ``plate`` is canonical and keeps the wildcards ``?`` and ``*``; a wildcard
    plate already satisfies the limits of spec §4. ``valid_from``/``valid_until``
    are never ``None``: open bounds are ``SINCE_EVER``/``FOR_EVER``.
    """

    list_name: str
    entry_id: str
    op: str
    plate: str = ""
    country: str | None = None
    valid_from: int = SINCE_EVER
    valid_until: int = FOR_EVER
    severity: int | None = None
    zone: str | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_wildcard(self) -> bool:
        return "?" in self.plate or "*" in self.plate

    def active_at(self, t: int) -> bool:
        """Spec §4: active when ``valid_from <= t < valid_until``."""
        return self.valid_from <= t < self.valid_until


@dataclass(slots=True, frozen=True)
class Camera:
    """A camera of the registry (spec §1). ``lez_zones`` may be empty."""

    camera_id: str
    lat: float | None = None
    lon: float | None = None
    lez_zones: tuple[str, ...] = ()
    police_zone: str | None = None
    province: str | None = None


@dataclass(slots=True, frozen=True)
class Hit:
    """A candidate hit, scored and identified, before de-duplication.

    ``entry_id`` is ``None`` for ``LEZ_UNREGISTERED``; ``zone`` is ``None`` for
    alert hits. ``explanation`` is the (factor, value) list of spec §6, in order.
    ``dedup_key`` is the key of spec §7 as a tuple of strings; ``dedup_window_ms``
    is the list's window for alert hits and ``None`` for LEZ hits (one per key).
    """

    hit_id: str
    read_id: str
    list_name: str
    entry_id: str | None
    match_kind: str
    substitutions: int
    zone: str | None
    severity: int
    score: int
    priority: str
    explanation: tuple[tuple[str, float], ...]
    event_time: int
    camera_id: str
    plate: str
    dedup_key: tuple[str, ...]
    dedup_window_ms: int | None
    attributes: Mapping[str, str] = field(default_factory=dict)

    def to_record(self) -> dict:
        """The hit as a JSON-ready dict with the field names of spec §10."""
        return {
            "hit_id": self.hit_id,
            "read_id": self.read_id,
            "list_name": self.list_name,
            "entry_id": self.entry_id,
            "match_kind": self.match_kind,
            "substitutions": self.substitutions,
            "zone": self.zone,
            "severity": self.severity,
            "score": self.score,
            "priority": self.priority,
            "explanation": [[factor, value] for factor, value in self.explanation],
            "event_time": self.event_time,
            "camera_id": self.camera_id,
            "plate": self.plate,
            "attributes": dict(self.attributes),
        }

    def output_record(self, read: "PlateRead", dedup_key: str) -> dict:
        """The hit as the job sends it (spec §10): `to_record()` with its read's raw
        text, country and confidence, its dedup key as one text, and its first
        sighting (its own read). The one shape of a hit on every output: the Avro
        `Hit`, the JSON Lines hits file and the Parquet history (`connectors.history`)."""
        record = self.to_record()
        record["dedup_key"] = dedup_key
        record["sightings"] = 1
        record["plate_text"] = read.plate_text
        record["country"] = read.country
        record["ocr_confidence"] = read.ocr_confidence
        return record


def _pickle_as_tuple(cls) -> None:
    """Pickle `cls` as (cls, field values): reads and hits cross every Flink operator
    boundary pickled, and the generic state of a slotted dataclass costs about a
    third of the per-read path."""
    names = tuple(f.name for f in fields(cls))

    def __reduce__(self):
        return cls, tuple(getattr(self, name) for name in names)

    cls.__reduce__ = __reduce__


for _cls in (PlateRead, Hit, ReferenceEntry, Camera):
    _pickle_as_tuple(_cls)
