"""Plate reads over time: trips of the fleet along routes, with a daily rhythm.

``Traffic.reads()`` yields exactly ``reads`` ``SimulatedRead``s in *arrival*
order (a read reaches the system a few hundred milliseconds to a few seconds
after the vehicle passed; mobile units upload in batches, minutes late), which
is the order a file of the embedded mode keeps. Each trip is one vehicle,
drawn by activity, driving a route of one to ten cameras from near its home,
so one vehicle is usually seen by several cameras minutes apart (the work of
de-duplication). Trip starts follow ``DailyRhythm``; the run's reads span
``[start, end)`` plus the last trips' few minutes.

Every vehicle's trips are physically possible one after the other: a
vehicle's next trip starts no earlier than ``TRIP_GAP_MS`` after the last read
of its previous trip, and at a first camera it could reach from that last
camera at ``TOP_KMH`` over the great-circle distance in the time between. A
vehicle still on the road when drawn is passed over for another (up to
``REPICKS`` draws; the last one drawn has its trip put off to the earliest
start allowed); a first camera it cannot reach in time is replaced by a camera
of the last camera's town (of the last camera or a neighbour on a motorway),
and the start is put off until that one is reachable too. So a vehicle's own
reads never move faster than ``TOP_KMH`` between two cameras, and the clone rule
(``udfs.clones``, over 250 km/h) can only fire on a plate two vehicles carry or
on an OCR misread. The state is one (end time, last camera) per vehicle.

Clone encounters are scheduled on top: the two vehicles of a clone pair drive
at the same time, far apart, so one plate is seen at two distant cameras
within minutes. Each of the two is an ordinary vehicle obeying the rule above;
only the pair is impossible. So that the encounters happen on time, from home,
a vehicle of a pair does not take an ordinary trip that would leave it unable
to reach every camera of its home town by its next encounter.

A share ``invalid_rate`` of the reads is broken on purpose
(``feblam.simulate.invalid``); ``SimulatedRead.invalid`` names the
dead-letter reason the job must give, ``None`` for a valid read.

Memory is bounded by the reads in flight (the routes of the last minutes) and
one entry per vehicle, whatever the number of reads.
"""

from __future__ import annotations

import bisect
import heapq
import math
import uuid
from typing import Iterator, NamedTuple

from feblam.simulate.fleet import Fleet, Vehicle
from feblam.simulate.invalid import corrupt
from feblam.simulate.network import Network
from feblam.simulate.ocr import GARBAGE, OcrModel
from feblam.simulate.plates import VEHICLE_CODE
from feblam.simulate.rhythm import DailyRhythm
from feblam.simulate.seeding import stream
from udfs.instant import format_instant

MINUTE = 60_000
HOME_START = 0.75      # trips that start near home; the rest start anywhere
CONTINUE = 0.65        # chance a route goes on to one more camera
MAX_STOPS = 10
CLONE_ENCOUNTERS = (0.2, 0.5, 0.8)  # when, as fractions of the run
TOP_KMH = 130.0        # the fastest a vehicle goes from one trip's end to the next's start
TRIP_GAP_MS = 2 * MINUTE  # the least time between a vehicle's two trips
REPICKS = 8            # draws to find a vehicle not on the road
HOUR_MS = 3_600_000
_LOOKALIKE_COLOURS = {"grey": "silver", "silver": "grey", "black": "blue", "blue": "black",
                      "white": "silver", "beige": "white", "red": "orange", "brown": "black"}


class SimulatedRead(NamedTuple):
    """One line of the reads file, with the truth the tests check it against.

    ``record`` is the read (a JSON-ready dict) or, for a line that is not JSON,
    its raw text. ``invalid`` is the expected dead-letter reason or ``None``.
    ``vehicle_id`` and ``camera_index`` are ground truth, never written.
    """

    record: dict | str
    invalid: str | None
    event_ms: int
    arrival_ms: int
    vehicle_id: int
    camera_index: int


class Traffic:
    def __init__(self, seed: int, network: Network, fleet: Fleet, rhythm: DailyRhythm,
                 reads: int, invalid_rate: float = 0.005):
        if reads < 1:
            raise ValueError("reads must be at least 1")
        if not 0.0 <= invalid_rate <= 1.0:
            raise ValueError("invalid_rate must be in [0, 1]")
        self.network, self.fleet, self.rhythm = network, fleet, rhythm
        self.total = reads
        self.invalid_rate = invalid_rate
        self.rng = stream(seed, "traffic")
        self.noise_rng = stream(seed, "ocr")
        self.invalid_rng = stream(seed, "invalid")
        self.ocr = OcrModel()
        self.invalid_count = 0
        # vehicle id -> (event ms of its last read, index of that read's camera)
        self._last: dict[int, tuple[int, int]] = {}
        # vehicle id -> the start times of its clone encounter trips, sorted
        self._encounter_times: dict[int, list[int]] = {}

    def _encounters(self) -> list[tuple[int, int, int]]:
        """(time, order, vehicle id) of the clone trips: each pair at the same time."""
        span = self.rhythm.end_ms - self.rhythm.start_ms
        out = []
        for original, clone in self.fleet.clone_pairs:
            for fraction in CLONE_ENCOUNTERS:
                t = self.rhythm.start_ms + int(span * (fraction + self.rng.uniform(-0.05, 0.05)))
                out.append((t, len(out), original))
                out.append((t + self.rng.randint(2 * MINUTE, 6 * MINUTE), len(out), clone))
        out.sort()
        for t, _, vid in out:
            self._encounter_times.setdefault(vid, []).append(t)
        return out

    def reads(self) -> Iterator[SimulatedRead]:
        rng = self.rng
        encounters = self._encounters()
        in_flight: list[tuple[int, int, SimulatedRead]] = []
        scheduled = order = 0
        mean_trip = 1 / (1 - CONTINUE)
        while scheduled < self.total:
            now = self.rhythm.at((scheduled + rng.random() * mean_trip) / self.total)
            trips = []
            while encounters and encounters[0][0] <= now:
                t, _, vid = encounters.pop(0)
                trips.append((t, self.fleet.vehicles[vid], True))
            trips.append((now, self._pick(now), False))
            for start, vehicle, near_home in trips:
                for read in self._trip(vehicle, start, self.total - scheduled, near_home):
                    heapq.heappush(in_flight, (read.arrival_ms, order, read))
                    order += 1
                    scheduled += 1
                if scheduled >= self.total:
                    break
            # Every later trip starts at or after this instant: reads that arrived
            # by then are final in arrival order.
            settled = self.rhythm.at(scheduled / self.total)
            if encounters:
                settled = min(settled, encounters[0][0])
            while in_flight and in_flight[0][0] <= settled:
                yield heapq.heappop(in_flight)[2]
        while in_flight:
            yield heapq.heappop(in_flight)[2]

    def _pick(self, now: int) -> Vehicle:
        """A vehicle drawn by activity, passing over (up to ``REPICKS`` draws) those
        whose previous trip has not ended ``TRIP_GAP_MS`` before ``now``."""
        for _ in range(REPICKS):
            vehicle = self.fleet.pick(self.rng)
            last = self._last.get(vehicle.vehicle_id)
            if last is None or last[0] + TRIP_GAP_MS <= now:
                break
        return vehicle

    def _travel_ms(self, a: int, b: int) -> int:
        """The least time from camera ``a`` to camera ``b`` at ``TOP_KMH``."""
        return math.ceil(self.network.distance(a, b) / TOP_KMH * HOUR_MS)

    def _plausible(self, vehicle: Vehicle, start: int, first: int,
                   near_home: bool) -> tuple[int, int]:
        """(start, first camera) of a trip the vehicle can make after its previous one:
        the start put off and, unless the trip must start at home, the first camera
        moved near the last one when it is out of reach."""
        last = self._last.get(vehicle.vehicle_id)
        if last is None:
            return start, first
        end, at = last
        start = max(start, end + TRIP_GAP_MS)
        if self._travel_ms(at, first) > start - end and not near_home:
            camera = self.network.cameras[at]
            if camera.town is not None:
                first = self.rng.choice(self.network.town_cameras[camera.town])
            else:
                first = self.rng.choice([at] + [j for j, _ in self.network.neighbours[at][:3]])
        return max(start, end + self._travel_ms(at, first)), first

    def _keeps_encounters(self, vehicle: Vehicle, now: int, end: int, at: int) -> bool:
        """Whether a trip ending at ``end`` at camera ``at`` leaves the vehicle time to
        reach any camera of its home town for its next clone encounter after ``now``."""
        times = self._encounter_times.get(vehicle.vehicle_id)
        if not times:
            return True
        k = bisect.bisect_right(times, now)
        if k == len(times):
            return True
        home = self.network.town_cameras[vehicle.home_town]
        return end + TRIP_GAP_MS + max(self._travel_ms(at, c) for c in home) <= times[k]

    def _trip(self, vehicle: Vehicle, start: int, budget: int,
              near_home: bool) -> list[SimulatedRead]:
        """The reads of one trip; none when an ordinary trip of a clone pair's vehicle
        would make it late for its next encounter."""
        rng, network = self.rng, self.network
        if near_home or rng.random() < HOME_START:
            first = rng.choice(network.town_cameras[vehicle.home_town])
        else:
            first = rng.randrange(len(network.cameras))
        drawn = start
        start, first = self._plausible(vehicle, start, first, near_home)
        stops = 1
        while stops < MAX_STOPS and rng.random() < CONTINUE:
            stops += 1
        route = network.route(rng, first, min(stops, budget))
        times = [start + int(offset * 1000) + rng.randrange(1000) for _, offset in route]
        end, at = max(times), route[-1][0]
        if not near_home and not self._keeps_encounters(vehicle, drawn, end, at):
            return []
        self._last[vehicle.vehicle_id] = (end, at)
        return [self._read(vehicle, camera, t) for (camera, _), t in zip(route, times)]

    def _read(self, vehicle: Vehicle, camera_index: int, event_ms: int) -> SimulatedRead:
        rng, noise = self.rng, self.noise_rng
        camera = self.network.cameras[camera_index]
        printed = vehicle.plate.display(camera.feed.plate_style)
        ocr = self.ocr.read(noise, printed, vehicle.country,
                            night=self.rhythm.is_night(event_ms), weak=vehicle.weak)
        draw = rng.random()
        if ocr.kind == GARBAGE or draw >= 0.985:
            country = None if ocr.kind == GARBAGE or draw < 0.995 else \
                rng.choice(("B", "NL", "F", "D", "L"))
        else:
            country = VEHICLE_CODE[vehicle.country] if draw < 0.89 else None
        colour = vehicle.colour
        draw = rng.random()
        if draw < 0.08:
            colour = None
        elif draw < 0.12:
            colour = _LOOKALIKE_COLOURS.get(colour, colour)
        read_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        record = {
            "read_id": read_id,
            "camera_id": camera.camera_id,
            "event_time": event_ms if camera.feed.epoch_millis else format_instant(event_ms),
            "plate_text": ocr.text,
            "plate_country": country,
            "ocr_confidence": ocr.confidence,
            "make": vehicle.make if rng.random() < 0.85 else None,
            "colour": colour,
            "vehicle_type": vehicle.vehicle_type if rng.random() < 0.9 else None,
            "image_ref": f"img://{camera.feed.name}/{camera.camera_id}/{read_id}.jpg",
            "source": camera.feed.name,
        }
        if camera.feed.name == "anpr-mobile":
            latency = rng.randint(5_000, 8 * MINUTE)       # uploads in batches over 4G
        elif rng.random() < 0.002:
            latency = rng.randint(MINUTE, 20 * MINUTE)     # a link outage, then catch-up
        else:
            latency = rng.randint(200, 3_000)
        invalid = None
        payload: dict | str = record
        if self.invalid_rate and self.invalid_rng.random() < self.invalid_rate:
            payload, invalid = corrupt(self.invalid_rng, record, self.invalid_count)
            self.invalid_count += 1
        return SimulatedRead(payload, invalid, event_ms, event_ms + latency, vehicle.vehicle_id,
                             camera_index)
