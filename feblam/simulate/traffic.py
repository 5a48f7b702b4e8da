"""Plate reads over time: trips of the fleet along routes, with a daily rhythm.

``Traffic.reads()`` yields exactly ``reads`` ``SimulatedRead``s in *arrival*
order (a read reaches the system a few hundred milliseconds to a few seconds
after the vehicle passed; mobile units upload in batches, minutes late), which
is the order a file of the embedded mode keeps. Each trip is one vehicle,
drawn by activity, driving a route of one to ten cameras from near its home,
so one vehicle is usually seen by several cameras minutes apart (the work of
de-duplication). Trip starts follow ``DailyRhythm``; the run's reads span
``[start, end)`` plus the last trips' few minutes.

Clone encounters are scheduled on top: the two vehicles of a clone pair drive
at the same time, far apart, so one plate is seen at two distant cameras
within minutes. A share ``invalid_rate`` of the reads is broken on purpose
(``feblam.simulate.invalid``); ``SimulatedRead.invalid`` names the
dead-letter reason the job must give, ``None`` for a valid read.

Memory is bounded by the reads in flight (the routes of the last minutes),
whatever the number of reads.
"""

from __future__ import annotations

import heapq
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
            trips.append((now, self.fleet.pick(rng), False))
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

    def _trip(self, vehicle: Vehicle, start: int, budget: int,
              near_home: bool) -> list[SimulatedRead]:
        rng, network = self.rng, self.network
        if near_home or rng.random() < HOME_START:
            first = rng.choice(network.town_cameras[vehicle.home_town])
        else:
            first = rng.randrange(len(network.cameras))
        stops = 1
        while stops < MAX_STOPS and rng.random() < CONTINUE:
            stops += 1
        route = network.route(rng, first, min(stops, budget))
        return [self._read(vehicle, camera, start + int(offset * 1000) + rng.randrange(1000))
                for camera, offset in route]

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
