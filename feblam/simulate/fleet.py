"""The simulated fleet: the vehicles that drive past the cameras during the run.

``build_fleet(seed, vehicles, network)`` draws ``vehicles`` vehicles with
distinct plates (87 % Belgian in the formats still on the road, the rest Dutch,
French, German and Luxembourgish), a home town, a make, a colour, a type and
an activity (how often it drives). A few plates are worn (misread at the same
character again and again).

It also casts the vehicles the reference lists will be about, each vehicle in
at most one alert role (``ROLES``), and their low-emission-zone status (``LEZ_*``).
Listed vehicles drive more than most, so a small run shows every kind of hit.
The last vehicles are *clones*: a second vehicle, of another make and colour,
living at least ``CLONE_MIN_KM`` away, that carries the plate of another
vehicle of the fleet.
"""

from __future__ import annotations

import bisect
import itertools
import random
from dataclasses import dataclass, field

from feblam.simulate.geography import HOME_PROVINCES, LEZ_ZONES, TOWNS
from feblam.simulate.network import distance_km
from feblam.simulate.ocr import OcrModel
from feblam.simulate.plates import Plate, pick_format
from feblam.simulate.seeding import stream

COUNTRY_SHARES = (("BE", 0.87), ("NL", 0.05), ("FR", 0.04), ("DE", 0.025), ("LU", 0.015))
MAKES = (("Volkswagen", 11), ("BMW", 9), ("Mercedes-Benz", 8), ("Audi", 7), ("Toyota", 6),
         ("Peugeot", 6), ("Renault", 5), ("Skoda", 5), ("Volvo", 5), ("Kia", 4), ("Citroën", 4),
         ("Ford", 4), ("Opel", 4), ("Hyundai", 4), ("Dacia", 3), ("Tesla", 2), ("Fiat", 2),
         ("Nissan", 2), ("MG", 1), ("Mini", 1))
MOTORCYCLE_MAKES = (("Yamaha", 3), ("Honda", 3), ("BMW", 3), ("Kawasaki", 2), ("Ducati", 1),
                    ("Triumph", 1), ("Harley-Davidson", 1))
TRUCK_MAKES = (("DAF", 4), ("Volvo", 3), ("Scania", 3), ("Mercedes-Benz", 3), ("MAN", 3),
               ("Iveco", 2), ("Renault", 2))
COLOURS = (("grey", 24), ("black", 20), ("white", 18), ("blue", 11), ("silver", 10), ("red", 7),
           ("green", 3), ("brown", 2), ("beige", 2), ("yellow", 1), ("orange", 1))

# Alert roles: (role, share of the fleet, minimum count, activity boost).
STOLEN = "stolen"
JUDICIAL = "judicial"
JUDICIAL_WILDCARD = "judicial_wildcard"
INSURANCE = "insurance_expired"
REPORTED_STOLEN_MIDRUN = "reported_stolen_midrun"
RECOVERED_MIDRUN = "recovered_midrun"
WARRANT_ENDS_MIDRUN = "warrant_ends_midrun"
ESCALATED = "escalated"
ENTERED_IN_ERROR = "entered_in_error"
ROLES = ((STOLEN, 0.005, 4, 2.0), (JUDICIAL, 0.003, 3, 2.0), (JUDICIAL_WILDCARD, 0.002, 3, 2.0),
         (INSURANCE, 0.003, 3, 1.5), (REPORTED_STOLEN_MIDRUN, 0, 1, 5.0),
         (RECOVERED_MIDRUN, 0, 1, 5.0), (WARRANT_ENDS_MIDRUN, 0, 1, 5.0),
         (ESCALATED, 0, 1, 5.0), (ENTERED_IN_ERROR, 0, 1, 3.0))

# Low-emission-zone status of a vehicle (see feblam.simulate.lists).
LEZ_ADMITTED = "admitted"
LEZ_NOT_ADMITTED = "not_admitted"          # no-zone entry admitted=false
LEZ_NOT_ADMITTED_BXL = "not_admitted_bxl"  # admitted, but a BXL entry says false
LEZ_UNREGISTERED = "unregistered"          # in no status entry (foreign, not registered)

CLONE_MIN_KM = 80.0
MIN_VEHICLES = 50
WORN_SHARE = 0.04


@dataclass
class Vehicle:
    """One vehicle. ``weak`` is the index of a worn plate character, or ``None``."""

    vehicle_id: int
    plate: Plate
    make: str
    colour: str
    vehicle_type: str
    home_town: int
    activity: float
    weak: int | None = None
    role: str | None = None
    lez: str = LEZ_ADMITTED
    lez_permit_zone: str | None = None   # a standing exemption for that zone
    lez_day_pass_zone: str | None = None  # a day pass for the first day of the run
    clone_of: int | None = None

    @property
    def country(self) -> str:
        return self.plate.country


@dataclass
class Fleet:
    vehicles: list[Vehicle]
    roles: dict[str, list[int]]
    clone_pairs: list[tuple[int, int]]
    _cumulative: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._cumulative = list(itertools.accumulate(v.activity for v in self.vehicles))

    def pick(self, rng: random.Random) -> Vehicle:
        """A vehicle drawn by activity: the one that starts the next trip."""
        x = rng.random() * self._cumulative[-1]
        return self.vehicles[bisect.bisect_right(self._cumulative, x)]

    def role(self, name: str) -> list[Vehicle]:
        return [self.vehicles[i] for i in self.roles.get(name, [])]


def _weighted(rng: random.Random, table) -> str:
    return rng.choices([name for name, _ in table], [w for _, w in table])[0]


def _home_town(rng: random.Random, country: str) -> int:
    provinces = HOME_PROVINCES[country]
    weights = [t.weight * (1 if provinces is None else provinces.get(t.province, 0))
               for t in TOWNS]
    return rng.choices(range(len(TOWNS)), weights)[0]


def _vehicle(rng: random.Random, vehicle_id: int, plate: Plate, fmt_type: str,
             home: int) -> Vehicle:
    vehicle_type = fmt_type
    if fmt_type == "car" and not plate.format.startswith(("be_taxi", "be_oldtimer")):
        vehicle_type = rng.choices(("car", "van", "truck"), (84, 11, 5))[0]
    makes = {"motorcycle": MOTORCYCLE_MAKES, "truck": TRUCK_MAKES}.get(vehicle_type, MAKES)
    activity = rng.lognormvariate(0, 0.7) * {"van": 1.8, "truck": 1.5, "motorcycle": 0.6}.get(
        vehicle_type, 1.0)
    if plate.format == "be_taxi":
        activity *= 4
    elif plate.format == "be_oldtimer":
        activity *= 0.2
    return Vehicle(vehicle_id, plate, _weighted(rng, makes), _weighted(rng, COLOURS),
                   vehicle_type, home, activity)


def build_fleet(seed: int, vehicles: int) -> Fleet:
    """``vehicles`` vehicles (clones included), their roles and LEZ status."""
    rng = stream(seed, "fleet")
    ocr = OcrModel()
    pairs = max(2, vehicles // 1500)
    minimum = max(MIN_VEHICLES, sum(m for _, _, m, _ in ROLES) + 2 * pairs + 10)
    if vehicles < minimum:
        raise ValueError(f"the fleet needs at least {minimum} vehicles, got {vehicles}")
    fleet: list[Vehicle] = []
    seen: set[str] = set()
    while len(fleet) < vehicles - pairs:
        country = _weighted(rng, COUNTRY_SHARES)
        fmt = pick_format(rng, country)
        plate = fmt.sample(rng)
        if plate.canon in seen:
            continue
        seen.add(plate.canon)
        vehicle = _vehicle(rng, len(fleet), plate, fmt.vehicle_type, _home_town(rng, country))
        if rng.random() < WORN_SHARE:
            vehicle.weak = ocr.weak_position(rng, plate.canon)
        fleet.append(vehicle)

    roles: dict[str, list[int]] = {}
    free = [v.vehicle_id for v in fleet if v.plate.format not in ("be_oldtimer",)]
    rng.shuffle(free)
    for role, share, least, boost in ROLES:
        count = max(least, int(vehicles * share))
        chosen, free = free[:count], free[count:]
        roles[role] = sorted(chosen)
        for k, vid in enumerate(roles[role]):
            vehicle = fleet[vid]
            vehicle.role = role
            vehicle.activity *= boost
            # Some listed plates are worn, so OCR-class misreads of them show up.
            if role in (STOLEN, JUDICIAL) and k % (3 if role == STOLEN else 2) == 0:
                vehicle.weak = ocr.weak_position(rng, vehicle.plate.canon)

    _cast_lez(rng, fleet)
    clone_pairs = _clones(rng, fleet, pairs, free)
    return Fleet(fleet, roles, clone_pairs)


def _cast_lez(rng: random.Random, fleet: list[Vehicle]) -> None:
    for vehicle in fleet:
        draw = rng.random()
        if vehicle.country == "BE":
            vehicle.lez = (LEZ_NOT_ADMITTED if draw < 0.04 else
                           LEZ_NOT_ADMITTED_BXL if draw < 0.06 else LEZ_ADMITTED)
            if vehicle.lez == LEZ_NOT_ADMITTED and rng.random() < 0.25:
                home_zone = TOWNS[vehicle.home_town].lez
                vehicle.lez_permit_zone = home_zone or rng.choice(LEZ_ZONES)
        else:
            vehicle.lez = (LEZ_UNREGISTERED if draw < 0.3 else
                           LEZ_NOT_ADMITTED if draw < 0.35 else LEZ_ADMITTED)
            if vehicle.lez == LEZ_UNREGISTERED and rng.random() < 0.3:
                vehicle.lez_day_pass_zone = rng.choice(LEZ_ZONES)


def _clones(rng: random.Random, fleet: list[Vehicle], pairs: int,
            free: list[int]) -> list[tuple[int, int]]:
    originals = [vid for vid in free if fleet[vid].plate.format == "be_current"][:pairs]
    out = []
    for original_id in originals:
        original = fleet[original_id]
        home = TOWNS[original.home_town]
        far = [i for i, t in enumerate(TOWNS)
               if distance_km(home.lat, home.lon, t.lat, t.lon) >= CLONE_MIN_KM]
        town = rng.choices(far, [TOWNS[i].weight for i in far])[0]
        clone = _vehicle(rng, len(fleet), original.plate, "car", town)
        clone.vehicle_type = "car"
        while clone.make == original.make or clone.colour == original.colour:
            clone.make, clone.colour = _weighted(rng, MAKES), _weighted(rng, COLOURS)
        clone.clone_of = original_id
        clone.lez = original.lez  # the plate's status, whichever vehicle carries it
        fleet.append(clone)
        out.append((original_id, clone.vehicle_id))
    return out
