"""Clone suspicion (spec §11): one plate in two places at once.

The rule over one plate's trail, pure: `position` says whether a read takes part
(and where its camera is), `judge` gives its `CLONE_SUSPECT` hit against the
plate's earlier reads that took part, `trail_read` is what is kept of it for
later reads, and `pruned` forgets the reads no later read can take as its
partner. The job keeps each plate's trail in keyed state
(`jobs.operators.DetectClones`); `PlateTrails` keeps many in a dict, for the
unit tests and `feblam bench clones`.

Readings of the spec (docs/matching.md says the same):
- "at cameras of the registry" needs a position: a camera of the registry
  without `lat` and `lon` has no distance to give, and its reads take no part;
- "within 6 h" includes 6 h exactly;
- the hit's explanation holds numbers only (its contract is (factor, double)):
  `distance_km`, `seconds_apart` and, when they are not at the same instant,
  `speed_kmh`, just before `score`, which stays last as in every hit; the partner's `read_id` and `camera_id` are in its
  `attributes`, as `partner_read_id` and `partner_camera_id`;
- the §6 country penalty is the read's own country, as for any other hit.
"""

from __future__ import annotations

import heapq
import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from udfs.dedup import HOUR_MS, local_date
from udfs.identity import hit_id
from udfs.model import Camera, Hit, PlateRead
from udfs.normalise import compatible
from udfs.scoring import score

CLONE_SUSPECT = "CLONE_SUSPECT"
CLONE_LIST = "clone_detection"
EARTH_RADIUS_KM = 6371.0


@dataclass(frozen=True, slots=True)
class CloneSettings:
    """The thresholds of spec §11, each *(config)*; the defaults are the spec's.

    `enabled` turns the rule off in the job. `buckets` is how many keys the job
    spreads plates over (`bucket`): the clone step's parallelism can be at most
    that, and changing it between a savepoint and its restore loses the trails
    held then (every plate moves to another key)."""

    confidence_floor: float = 0.90
    window_ms: int = 6 * HOUR_MS
    min_distance_km: float = 5.0
    max_speed_kmh: float = 250.0
    severity: int = 40
    enabled: bool = True
    buckets: int = 64


def bucket(plate: str, buckets: int) -> int:
    """The key under which the job keeps `plate`'s trail: the same in every process
    (CRC-32, not `hash`, which Python salts per process)."""
    return zlib.crc32(plate.encode("ascii")) % buckets


class TrailRead(NamedTuple):
    """What the rule keeps of a read that may be a later read's partner: a plain tuple,
    since the job keeps a plate's trail pickled in keyed state (a slotted dataclass
    pickles to twice the bytes)."""

    event_time: int
    read_id: str
    camera_id: str
    country: str | None
    ocr_confidence: float
    lat: float
    lon: float


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance by the haversine formula on a sphere of 6371.0 km (spec §11).

    Not the `haversine` package: its kilometre uses a mean radius of 6371.0088 km,
    and the spec fixes 6371.0 (a difference of 1.4 m per 1,000 km, enough to move a
    read across the 5 km floor or the speed threshold in a test of the spec's edges)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    a = (math.sin((phi2 - phi1) / 2) ** 2
         + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def position(read: PlateRead, camera: Camera | None, settings: CloneSettings) -> tuple[float, float] | None:
    """The (lat, lon) of `read`'s camera when the read takes part in the rule (a
    confident read at a camera of the registry with a position), else None.
    `camera` is the read's camera in the registry, None if it is not there."""
    if camera is None or camera.lat is None or camera.lon is None or read.ocr_confidence < settings.confidence_floor:
        return None
    return camera.lat, camera.lon


def trail_read(read: PlateRead, lat: float, lon: float) -> TrailRead:
    return TrailRead(read.event_time, read.read_id, read.camera_id, read.country, read.ocr_confidence, lat, lon)


def judge(trail: Sequence[TrailRead], read: PlateRead, lat: float, lon: float, settings: CloneSettings) -> Hit | None:
    """Spec §11 for one read that takes part, at (`lat`, `lon`): its `CLONE_SUSPECT` hit
    or None. `trail` is the plate's reads processed before it that took part (all or
    the ones not yet pruned), in processing order."""
    partner = _partner(trail, read, settings)
    if partner is None:
        return None
    distance = distance_km(partner.lat, partner.lon, lat, lon)
    apart_ms = abs(read.event_time - partner.event_time)
    speed = math.inf if apart_ms == 0 else distance / (apart_ms / HOUR_MS)
    if distance < settings.min_distance_km or not speed > settings.max_speed_kmh:
        return None
    return _hit(read, partner, distance, apart_ms, speed, settings.severity)


def pruned(trail: list[TrailRead], before: int) -> list[TrailRead]:
    """`trail` without its reads of an event time before `before` (the same list when
    there are none)."""
    if all(r.event_time >= before for r in trail):
        return trail
    return [r for r in trail if r.event_time >= before]


def _partner(trail: Sequence[TrailRead], read: PlateRead, settings: CloneSettings) -> TrailRead | None:
    """The earlier-processed read nearest in event time, within the window, with a
    compatible country; on a tie the one processed first (the trail is in that order)."""
    best, best_gap = None, None
    for earlier in trail:
        gap = abs(read.event_time - earlier.event_time)
        if gap > settings.window_ms or not compatible(read.country, earlier.country):
            continue
        if best_gap is None or gap < best_gap:
            best, best_gap = earlier, gap
    return best


def _hit(read: PlateRead, partner: TrailRead, distance: float, apart_ms: int, speed: float, severity: int) -> Hit:
    value, rank, explanation = score(severity, CLONE_SUSPECT, 0, read.country is not None,
                                     min(read.ocr_confidence, partner.ocr_confidence))
    extra = [("distance_km", round(distance, 3)), ("seconds_apart", apart_ms / 1000)]
    if math.isfinite(speed):
        extra.append(("speed_kmh", round(speed, 1)))
    return Hit(
        hit_id=hit_id(read.read_id, CLONE_LIST, None, None), read_id=read.read_id, list_name=CLONE_LIST,
        entry_id=None, match_kind=CLONE_SUSPECT, substitutions=0, zone=None, severity=severity,
        score=value, priority=rank, explanation=explanation[:-1] + tuple(extra) + explanation[-1:], event_time=read.event_time,
        camera_id=read.camera_id, plate=read.plate,
        dedup_key=(CLONE_SUSPECT, read.plate, local_date(read.event_time)), dedup_window_ms=None,
        attributes={"partner_read_id": partner.read_id, "partner_camera_id": partner.camera_id},
    )


class PlateTrails:
    """The rule over many plates in one Python dict: the recent confident reads of each
    plate (those that took part and are not yet pruned, in processing order), nothing
    for a plate none of whose reads took part. The job keeps the same trails in keyed
    state instead (`jobs.operators.DetectClones`); this holder serves the unit tests
    and `feblam bench clones`, and both call `judge`."""

    def __init__(self, settings: CloneSettings | None = None):
        self.settings = settings or CloneSettings()
        self._trails: dict[str, list[TrailRead]] = {}
        # (event time, plate) of every read kept, earliest first: `prune` visits only the
        # plates with something to forget, not every plate held.
        self._expiry: list[tuple[int, str]] = []

    def __len__(self) -> int:
        """The reads held, all plates together."""
        return sum(len(trail) for trail in self._trails.values())

    @property
    def plates(self) -> int:
        return len(self._trails)

    def observe(self, read: PlateRead, camera: Camera | None) -> Hit | None:
        """The `CLONE_SUSPECT` hit of `read` (spec §11), or None; `read` is then kept
        as a partner for later reads when it takes part. `camera` is the read's camera
        in the registry, None if it is not there."""
        place = position(read, camera, self.settings)
        if place is None:
            return None
        trail = self._trails.setdefault(read.plate, [])
        hit = judge(trail, read, *place, self.settings)
        trail.append(trail_read(read, *place))
        heapq.heappush(self._expiry, (read.event_time, read.plate))
        return hit

    def prune(self, before: int) -> int:
        """Forget the reads with an event time before `before` (the caller's clock minus
        the window and the lateness it allows); returns how many were forgotten."""
        forgotten = 0
        while self._expiry and self._expiry[0][0] < before:
            _, plate = heapq.heappop(self._expiry)
            trail = self._trails.get(plate)
            if trail is None:
                continue   # forgotten whole by an earlier entry of the same plate
            kept = pruned(trail, before)
            forgotten += len(trail) - len(kept)
            if kept:
                self._trails[plate] = kept
            else:
                del self._trails[plate]
        return forgotten
