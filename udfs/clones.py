"""Clone suspicion (spec §11): one plate in two places at once.

The rule over one plate's trail, pure: `position` says whether a read takes part
(and where its camera is), `trail_entry` is what is kept of it, `judge` finds
its partner among the plate's earlier reads that took part and says whether
the pair is a suspicion, `clone_hit` makes the `CLONE_SUSPECT` hit of one, and
`pruned` forgets the reads no later read can take as its partner. `PlateTrails`
keeps the trails of many plates: the job one per bucket of plates
(`jobs.operators.DetectClones`), the unit tests and `feblam bench clones` one
for all.

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

import math
import zlib
from collections.abc import Iterator, Sequence
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
    spreads plates over (`bucket`, at most 128): at most that many of the clone
    step's subtasks have work, and changing it between a savepoint and its
    restore drops the trails held then (every plate moves to another key;
    docs/operations.md). Fewer buckets make fewer, larger records per batch, each
    of which costs a call into Python, but longer hourly sweeps of a bucket
    (docs/benchmarks.md, "What clone suspicion costs")."""

    confidence_floor: float = 0.90
    window_ms: int = 6 * HOUR_MS
    min_distance_km: float = 5.0
    max_speed_kmh: float = 250.0
    severity: int = 40
    enabled: bool = True
    buckets: int = 16


def hour_start(instant: int) -> int:
    """The start of the event-time hour `instant` is in: what `PlateTrails.prune`
    forgets before."""
    return instant // HOUR_MS * HOUR_MS


def bucket(plate: str, buckets: int) -> int:
    """The key under which the job keeps `plate`'s trail: the same in every process
    (CRC-32, not `hash`, which Python salts per process)."""
    return zlib.crc32(plate.encode("ascii")) % buckets


# A read kept in a plate's trail, as a later read's possible partner: the plain tuple
# (event_time, read_id, camera_id, country, ocr_confidence, lat, lon), by these indices.
# Not a NamedTuple: the job logs trail entries pickled in keyed state, and a NamedTuple
# trail of three reads took 8.3 µs to pickle and unpickle against 2.1 µs as tuples.
TIME, READ_ID, CAMERA_ID, COUNTRY, CONFIDENCE, LAT, LON = range(7)
TrailEntry = tuple


class Suspicion(NamedTuple):
    """A read's partner (a trail entry) and how far and fast apart they are."""

    partner: TrailEntry
    distance_km: float
    apart_ms: int
    speed_kmh: float


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


def trail_entry(read: PlateRead, lat: float, lon: float) -> TrailEntry:
    """What the trail keeps of `read`, taken at (`lat`, `lon`)."""
    return read.event_time, read.read_id, read.camera_id, read.country, read.ocr_confidence, lat, lon


def entry_read(entry: TrailEntry, plate: str, plate_text: str) -> PlateRead:
    """The read of `entry` as far as its hit and sightings need it (spec §10: read_id,
    camera, time, plate, raw text, country, confidence); the vehicle's description
    is not carried to the clone step, to keep what crosses to it small."""
    return PlateRead(entry[READ_ID], entry[CAMERA_ID], entry[TIME], plate_text, plate, entry[COUNTRY],
                     entry[CONFIDENCE])


def judge(trail: Sequence[TrailEntry], entry: TrailEntry, settings: CloneSettings,
          disorder: int | None = None) -> Suspicion | None:
    """Spec §11 for one read that takes part (its `entry`): the suspicion it raises, or
    None. `trail` is the plate's reads processed before it that took part (all, or
    the ones not yet pruned), in processing order. `disorder` bounds how far in event
    time any read of the trail is before one processed ahead of it (`disorder_of`,
    which gives it when None; 0 for a trail in event-time order): the partner is
    found walking back from the trail's end, as far as that bound makes it
    necessary. `clone_hit` makes the hit."""
    if disorder is None:
        disorder = disorder_of(trail)[0] if trail else 0
    partner = _partner(trail, entry, settings, disorder)
    if partner is None:
        return None
    distance = distance_km(partner[LAT], partner[LON], entry[LAT], entry[LON])
    apart_ms = abs(entry[TIME] - partner[TIME])
    speed = math.inf if apart_ms == 0 else distance / (apart_ms / HOUR_MS)
    if distance < settings.min_distance_km or not speed > settings.max_speed_kmh:
        return None
    return Suspicion(partner, distance, apart_ms, speed)


def pruned(trail: list[TrailEntry], before: int) -> list[TrailEntry]:
    """`trail` without its reads of an event time before `before` (the same list when
    there are none)."""
    if all(r[TIME] >= before for r in trail):
        return trail
    return [r for r in trail if r[TIME] >= before]


def disorder_of(trail: Sequence[TrailEntry]) -> tuple[int, int]:
    """(disorder, latest) of a non-empty trail: how far in event time its reads fall
    at most behind the latest processed before them (0 when in event-time order),
    and its latest event time."""
    disorder, latest = 0, trail[0][TIME]
    for entry in trail:
        time = entry[TIME]
        if time < latest:
            disorder = max(disorder, latest - time)
        else:
            latest = time
    return disorder, latest


def _partner(trail: Sequence[TrailEntry], entry: TrailEntry, settings: CloneSettings,
             disorder: int) -> TrailEntry | None:
    """The earlier-processed read nearest in event time, within the window, with a
    compatible country; on a tie the one processed first (the trail is in that order)."""
    t, country = entry[TIME], entry[COUNTRY]
    # Every read processed before the k-th is at most `disorder` after it in event
    # time. So once t - time(k) - disorder is more than the best gap found (or the
    # window), no read from the k-th back is as near, and the walk back from the end
    # stops; walking back, a read as near as the best was processed before it and
    # replaces it. Reads mostly come after their plate's last one, or a little
    # before: a trail of 15 reads, as `feblam bench e2e`'s backlog holds, is then a
    # few steps instead of 15 (docs/benchmarks.md, "What clone suspicion costs").
    best, limit = None, settings.window_ms
    for earlier in reversed(trail):
        time = earlier[TIME]
        if t - time - disorder > limit:
            break
        gap = t - time if t >= time else time - t
        # The country last: most earlier reads are too far or no nearer than the best.
        if gap <= limit and compatible(country, earlier[COUNTRY]):
            best, limit = earlier, gap
    return best


def clone_hit(read: PlateRead, suspicion: Suspicion, settings: CloneSettings) -> Hit:
    """The `CLONE_SUSPECT` hit of `read` for `suspicion` (spec §11)."""
    partner, distance, apart_ms, speed = suspicion
    severity = settings.severity
    value, rank, explanation = score(severity, CLONE_SUSPECT, 0, read.country is not None,
                                     min(read.ocr_confidence, partner[CONFIDENCE]))
    extra = [("distance_km", round(distance, 3)), ("seconds_apart", apart_ms / 1000)]
    if math.isfinite(speed):
        extra.append(("speed_kmh", round(speed, 1)))
    return Hit(
        hit_id=hit_id(read.read_id, CLONE_LIST, None, None), read_id=read.read_id, list_name=CLONE_LIST,
        entry_id=None, match_kind=CLONE_SUSPECT, substitutions=0, zone=None, severity=severity,
        score=value, priority=rank, explanation=explanation[:-1] + tuple(extra) + explanation[-1:],
        event_time=read.event_time, camera_id=read.camera_id, plate=read.plate,
        dedup_key=(CLONE_SUSPECT, read.plate, local_date(read.event_time)), dedup_window_ms=None,
        attributes={"partner_read_id": partner[READ_ID], "partner_camera_id": partner[CAMERA_ID]},
    )


class PlateTrails:
    """The trails of many plates in one dict: the recent reads of each plate that took
    part (those not yet pruned), in processing order, and nothing for a plate none of
    whose reads took part. The job keeps one per bucket of plates in Python memory
    (`jobs.operators.DetectClones`, which also logs what it keeps in keyed state);
    the unit tests and `feblam bench clones` use one for every plate. All call
    `judge`."""

    def __init__(self, settings: CloneSettings | None = None):
        self.settings = settings or CloneSettings()
        self._trails: dict[str, list[TrailEntry]] = {}
        # Hour of event time -> the plates kept in it (once per read), so that `prune`
        # visits the plates of the hours it forgets rather than every plate held.
        self._hours: dict[int, list[str]] = {}
        # (disorder, latest) of the plates whose trail has a read earlier in event time
        # than one processed before it (`disorder_of`); every other trail is in
        # event-time order, a disorder of 0 for `judge`.
        self._disorder: dict[str, tuple[int, int]] = {}
        self._held = 0
        self.latest: int | None = None   # the latest event time kept

    def __len__(self) -> int:
        """The reads held, all plates together."""
        return self._held

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
        suspicion = self.take(read.plate, trail_entry(read, *place))
        return None if suspicion is None else clone_hit(read, suspicion, self.settings)

    def take(self, plate: str, entry: TrailEntry) -> Suspicion | None:
        """`judge` the read of `entry` against `plate`'s trail, then keep it there."""
        trail = self._trails.get(plate)
        suspicion = None if trail is None else judge(trail, entry, self.settings, self.disorder(plate))
        self.keep(plate, entry)
        return suspicion

    def disorder(self, plate: str) -> int:
        """How far `plate`'s trail is out of event-time order (`disorder_of`): 0 when it
        is in order or holds nothing."""
        held = self._disorder.get(plate)
        return 0 if held is None else held[0]

    def keep(self, plate: str, entry: TrailEntry) -> None:
        """Keep `entry` at the end of `plate`'s trail, unjudged (as when a trail is
        rebuilt from what was kept before)."""
        trail = self._trails.get(plate)
        if trail is None:
            self._trails[plate] = [entry]
        else:
            # `disorder_of(trail)` kept up to date one read at a time.
            time, disorder = entry[TIME], self._disorder.get(plate)
            latest = trail[-1][TIME] if disorder is None else disorder[1]
            if time < latest:
                if disorder is None or latest - time > disorder[0]:
                    self._disorder[plate] = (latest - time, latest)
            elif disorder is not None:
                self._disorder[plate] = (disorder[0], time)
            trail.append(entry)
        hour = entry[TIME] // HOUR_MS
        plates = self._hours.get(hour)
        if plates is None:
            self._hours[hour] = [plate]
        else:
            plates.append(plate)
        self._held += 1
        if self.latest is None or entry[TIME] > self.latest:
            self.latest = entry[TIME]

    def entries(self) -> Iterator[tuple[str, TrailEntry]]:
        """Every read held as (plate, entry), each plate's in processing order: `keep`
        of them, in this order, gives these trails again."""
        for plate, trail in self._trails.items():
            for entry in trail:
                yield plate, entry

    def prune(self, before: int) -> int:
        """Forget the reads of the event-time hours that end at or before `before` (the
        caller's clock minus the window and the lateness it allows): every read before
        `before` rounded down to its hour, and the plates left with none. Returns how
        many reads were forgotten. Visits only the plates read in those hours: a
        bucket that forgets an hour every hour pays for that hour's reads, not for
        the twelve or so hours it holds (docs/benchmarks.md, "What clone suspicion
        costs")."""
        cutoff = hour_start(before)
        forgotten, trails, disorders = 0, self._trails, self._disorder
        for hour in [hour for hour in self._hours if hour * HOUR_MS < cutoff]:
            for plate in self._hours.pop(hour):
                trail = trails.get(plate)
                if trail is None:
                    continue          # forgotten already, through an earlier hour of it
                kept = pruned(trail, cutoff)
                if kept is not trail:
                    forgotten += len(trail) - len(kept)
                    if kept:
                        trails[plate] = kept
                        if plate in disorders:     # the reads forgotten may have been the late ones
                            disorder = disorder_of(kept)
                            if disorder[0]:
                                disorders[plate] = disorder
                            else:
                                del disorders[plate]
                    else:
                        del trails[plate]
                        disorders.pop(plate, None)
        self._held -= forgotten
        return forgotten
