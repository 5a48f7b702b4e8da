"""The facade the hit-generation job calls: reference updates, cameras, reads in; hits out.

``HitEngine`` holds the reference index and the camera registry of one Flink
subtask (broadcast state delivers updates one at a time through ``apply`` and
``put_camera``); ``evaluate`` turns one valid read into its candidate hits,
scored, identified and keyed for de-duplication. The keyed step then calls
``udfs.dedup.decide`` per hit.
"""

from __future__ import annotations

from typing import Any

from udfs import dedup, scoring
from udfs.config import LEZ_STATUS, MatchingSettings
from udfs.identity import hit_id
from udfs.index import ReadMatches, ReferenceIndex
from udfs.model import LEZ_NOT_ADMITTED, Camera, Hit, PlateRead, ReferenceEntry
from udfs.reference import parse_camera, parse_entry

DEFAULT_LEZ_LIST = "lez_vehicle_status"


def alert_dedup_key(list_name: str, entry_id: str) -> tuple[str, ...]:
    """Spec §7: (list_name, entry_id) for alert lists."""
    return ("ALERT", list_name, entry_id)


def lez_dedup_key(match_kind: str, plate: str, zone: str, event_time: int) -> tuple[str, ...]:
    """Spec §7: (match kind, r, Z, local calendar date in Europe/Brussels) for LEZ hits."""
    return ("LEZ", match_kind, plate, zone, dedup.local_date(event_time))


class HitEngine:
    """Matching for one subtask. Not thread-safe.

    Contract: ``evaluate`` depends only on the read, the updates applied so far
    (in their order) and the cameras put so far; it never raises for a valid
    ``PlateRead``. Hits come sorted by (list_name, entry_id, zone), so the output
    does not depend on the index's internal layout.
    """

    def __init__(self, settings: MatchingSettings | None = None):
        self.settings = settings or MatchingSettings()
        self.index = ReferenceIndex(self.settings)
        self.cameras: dict[str, Camera] = {}
        self.lez_list_name = self.settings.lez_list(LEZ_STATUS) or DEFAULT_LEZ_LIST
        self._floor = self.settings.lez_confidence_floor
        self._match = self.index.match
        self._lez_cameras: dict[str, tuple[str, ...]] = {}  # cameras with zones only

    # -- reference state -----------------------------------------------------------

    def apply(self, entry: ReferenceEntry) -> None:
        """Apply one reference update (UPSERT or DELETE), in arrival order."""
        self.index.apply(entry)

    def apply_record(self, raw: Any) -> ReferenceEntry:
        """Parse and apply one update record; raises ``reference.InvalidEntry``
        (the index unchanged) when the record is refused."""
        entry = parse_entry(raw)
        self.index.apply(entry)
        return entry

    def put_camera(self, camera: Camera | dict) -> None:
        """Add or replace a camera of the registry."""
        if not isinstance(camera, Camera):
            camera = parse_camera(camera)
        self.cameras[camera.camera_id] = camera
        if camera.lez_zones:
            self._lez_cameras[camera.camera_id] = camera.lez_zones
        else:
            self._lez_cameras.pop(camera.camera_id, None)

    def remove_camera(self, camera_id: str) -> None:
        """Forget a camera: its reads are then from an unknown camera (no LEZ, §3)."""
        self.cameras.pop(camera_id, None)
        self._lez_cameras.pop(camera_id, None)

    # -- reads ---------------------------------------------------------------------

    def lez_zones(self, read: PlateRead) -> tuple[str, ...]:
        """Spec §3, §5: the zones to decide for ``read``: none at an unknown camera,
        none below the confidence floor."""
        if read.ocr_confidence < self._floor:
            return ()
        return self._lez_cameras.get(read.camera_id, ())

    def match(self, read: PlateRead) -> ReadMatches:
        """The match step alone: what the read matches, and the LEZ verdicts per zone
        (no scoring, no ids). The result is read-only (parts are shared)."""
        zones = self._lez_cameras.get(read.camera_id, ())
        if zones and read.ocr_confidence < self._floor:
            zones = ()
        return self._match(read.plate, read.country, read.event_time, zones)

    def evaluate(self, read: PlateRead) -> list[Hit]:
        """Spec §4-§7, §9: the candidate hits of one valid read (before de-duplication)."""
        found = self.match(read)
        if not found.matches and not found.lez:
            return []
        hits = []
        for m in found.matches:
            list_settings = self.settings.for_list(m.list_name)
            severity = m.severity if m.severity is not None else list_settings.severity
            hits.append(self._hit(read, m.list_name, m.entry_id, m.kind, m.substitutions,
                                  None, severity, alert_dedup_key(m.list_name, m.entry_id),
                                  list_settings.dedup_window_ms, m.attributes))
        for zone, verdict in found.lez:
            if verdict.kind == LEZ_NOT_ADMITTED:
                entry_id = verdict.status.entry_id
                severity = verdict.status.severity
                if severity is None:
                    severity = self.settings.lez_not_admitted_severity
            else:
                entry_id, severity = None, self.settings.lez_unregistered_severity
            hits.append(self._hit(read, self.lez_list_name, entry_id, verdict.kind, 0, zone,
                                  severity, lez_dedup_key(verdict.kind, read.plate, zone,
                                                          read.event_time), None, {}))
        hits.sort(key=lambda h: (h.list_name, h.entry_id or "", h.zone or ""))
        return hits

    def _hit(self, read: PlateRead, list_name: str, entry_id: str | None, kind: str,
             substitutions: int, zone: str | None, severity: int,
             dedup_key: tuple[str, ...], window: int | None, attributes) -> Hit:
        value, prio, explanation = scoring.score(severity, kind, substitutions,
                                                 read.country is not None,
                                                 read.ocr_confidence)
        return Hit(hit_id=hit_id(read.read_id, list_name, entry_id, zone), read_id=read.read_id,
                   list_name=list_name, entry_id=entry_id, match_kind=kind,
                   substitutions=substitutions, zone=zone, severity=severity, score=value,
                   priority=prio, explanation=explanation, event_time=read.event_time,
                   camera_id=read.camera_id, plate=read.plate, dedup_key=dedup_key,
                   dedup_window_ms=window, attributes=dict(attributes))
