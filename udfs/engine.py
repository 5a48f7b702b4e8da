"""The facade the hit-generation job calls: reference updates, cameras, reads in; hits out.

``HitEngine`` holds the reference index and the camera registry of one Flink
subtask (broadcast state delivers updates one at a time through ``apply`` and
``put_camera``); ``evaluate`` turns one valid read into its candidate hits,
scored, identified and keyed for de-duplication. The keyed step then calls
``udfs.dedup.decide`` per hit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from udfs import dedup, scoring
from udfs.bulkload import EntryBatch, load_batch
from udfs.config import LEZ_STATUS, MatchingSettings
from udfs.identity import hit_id
from udfs.index import ReadMatches, ReferenceIndex
from udfs.list_state import admitted_as_attribute
from udfs.model import FOR_EVER, LEZ_NOT_ADMITTED, SINCE_EVER, Camera, Hit, PlateRead, ReferenceEntry
from udfs.instant import BadInstant, parse_instant
from udfs.normalise import canon_pattern
from udfs.reference import InvalidEntry, parse_camera, parse_entry

DEFAULT_LEZ_LIST = "lez_vehicle_status"
# Runs of UPSERTs of one list shorter than this are applied one by one: the
# column load's fixed cost (some 40 numpy calls) is more than it saves there.
BULK_MIN_RUN = 32


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

    def apply_records(self, records: Sequence[Any]) -> list[tuple[int, InvalidEntry]]:
        """Apply reference update records (as ``parse_entry`` takes them) in order; the
        refused ones as (index in ``records``, ``InvalidEntry``), the index unchanged by them.

        The index ends exactly as applying each record in order would. Runs of plain
        UPSERTs of one list go through ``bulkload.load_batch`` (columns and numpy: a
        third of the cost of one by one at 1,000,000 entries); DELETEs, records
        with values the columns cannot hold, and short runs go one by one.
        """
        refused: list[tuple[int, InvalidEntry]] = []
        run: list[tuple[int, tuple]] = []

        def flush() -> None:
            if len(run) < BULK_MIN_RUN:
                for i, _ in run:
                    self._apply_one(i, records[i], refused)
            else:
                batch = _entry_batch(run)
                refused.extend((run[row][0], error) for row, error in load_batch(self.index, batch))
            run.clear()

        for i, raw in enumerate(records):
            row = self._bulk_row(raw)
            if run and (row is None or row[0] != run[0][1][0]):
                flush()
            if row is None:
                self._apply_one(i, raw, refused)
            else:
                run.append((i, row))
        flush()
        refused.sort(key=lambda item: item[0])
        return refused

    def load_columns(self, batch: EntryBatch) -> list[tuple[int, InvalidEntry]]:
        """Load the rows of one list given as columns, with their ``admitted`` attribute
        in a column of its own whatever the list's kind (``udfs.list_state``), as
        ``bulkload.load_batch`` does; the refused rows as (row, ``InvalidEntry``)."""
        if self.settings.for_list(batch.list_name).kind != LEZ_STATUS:
            batch = admitted_as_attribute(batch)
        return load_batch(self.index, batch)

    def _apply_one(self, i: int, raw: Any, refused: list) -> None:
        try:
            self.index.apply(parse_entry(raw))
        except InvalidEntry as error:
            refused.append((i, error))

    def _bulk_row(self, raw: Any) -> tuple | None:
        """The columns of one UPSERT record for ``load_batch``, or None when it must be
        applied one by one (a DELETE, an odd value: ``parse_entry`` then decides)."""
        if not isinstance(raw, dict) or raw.get("op", "UPSERT") != "UPSERT":
            return None
        list_name, entry_id, plate = raw.get("list_name"), raw.get("entry_id"), raw.get("plate")
        country, zone, severity = raw.get("country"), raw.get("zone"), raw.get("severity")
        if not (isinstance(list_name, str) and isinstance(entry_id, str) and isinstance(plate, str)) \
                or not (country is None or isinstance(country, str)) or not (zone is None or isinstance(zone, str)) \
                or not (severity is None or (isinstance(severity, int) and not isinstance(severity, bool)
                                             and 0 <= severity <= 100)):
            # A severity out of range goes one by one, to be refused: the columns hold -1
            # for "none", and a negative one would come out of them as none.
            return None
        try:
            valid_from = _instant(raw.get("valid_from"), SINCE_EVER)
            valid_until = _instant(raw.get("valid_until"), FOR_EVER)
        except (BadInstant, TypeError):
            return None
        attributes = raw.get("attributes") or {}
        if not isinstance(attributes, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in attributes.items()):
            return None
        admitted = None
        if self.settings.for_list(list_name).kind == LEZ_STATUS and "admitted" in attributes:
            attributes = dict(attributes)
            admitted = attributes.pop("admitted")
        # Canonical already, so the column load takes it (parse_entry does the same).
        return (list_name, entry_id, canon_pattern(plate), country, valid_from, valid_until,
                -1 if severity is None else severity, zone, admitted, attributes or None)

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


def _instant(value: Any, open_value: int) -> int:
    if value is None:
        return open_value
    if isinstance(value, bool):
        raise TypeError("not an instant")
    return value if isinstance(value, int) else parse_instant(value)


def _entry_batch(run: list[tuple[int, tuple]]) -> EntryBatch:
    """The rows of one run (``HitEngine._bulk_row``) as the columns of one list."""
    (list_name, entry_ids, plates, countries, valid_from, valid_until, severity, zones, admitted,
     attributes) = zip(*(row for _, row in run))
    has_admitted = any(a is not None for a in admitted)
    return EntryBatch(list_name[0], list(entry_ids), list(plates), countries=list(countries),
                      valid_from=valid_from, valid_until=valid_until, severity=severity, zones=list(zones),
                      admitted=list(admitted) if has_admitted else None,
                      attributes=list(attributes) if any(attributes) else None)
