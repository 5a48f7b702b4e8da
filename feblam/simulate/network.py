"""The simulated camera network: where the cameras are, who they belong to, and
how a vehicle drives from one to the next.

``build_network(seed, cameras)`` places ``cameras`` registered cameras over the
Belgian towns (by weight, every province covered from 55 cameras on) and
motorways (a fifth of them), marks the ones in
Brussels, Antwerp and Ghent that enforce their LEZ (at least one per zone),
and adds mobile ANPR units (one per hundred cameras, at least one) that are
*not* in the registry: their reads are valid, alert lists apply, LEZ lists do
not (spec §3). Each camera belongs to a vendor feed, which fixes how its reads
print plates and times.

Routes walk from a camera to one of its nearest unvisited neighbours, at town
or motorway speed, and stop when the next leg would take more than 15 minutes
(the vehicle left the covered roads).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from feblam.simulate.geography import (
    HIGHWAY_POLICE,
    LEZ_ZONES,
    MOTORWAYS,
    PROVINCES,
    TOWN_INDEX,
    TOWNS,
)
from feblam.simulate.seeding import stream

MIN_CAMERAS = 12
MOTORWAY_SHARE = 0.2
NEIGHBOURS = 8
MAX_NEIGHBOUR_KM = 25.0
MAX_LEG_S = 15 * 60
TOWN_KMH = 30.0
MOTORWAY_KMH = 95.0
_CELL = 0.04  # degrees

FLEMISH = {"ANT", "OVL", "WVL", "VBR", "LIM"}


@dataclass(frozen=True)
class Feed:
    """A vendor feed: how its cameras print plates (``plates.STYLES``) and times."""

    name: str
    plate_style: str
    epoch_millis: bool = False


FEEDS = {
    "brussels": Feed("anpr-brussels", "native"),
    "flanders": Feed("anpr-flanders", "compact"),
    "wallonia": Feed("anpr-wallonia", "space"),
    "highway": Feed("anpr-highway", "native", epoch_millis=True),
    "mobile": Feed("anpr-mobile", "compact"),
}


@dataclass
class SimCamera:
    """A camera of the simulation; ``record()`` is its registry line (spec §1)."""

    camera_id: str
    lat: float
    lon: float
    province: str                      # a key of geography.PROVINCES
    police_zone: str
    feed: Feed
    town: int | None = None            # index into TOWNS; None on a motorway
    motorway: str | None = None
    lez_zones: tuple[str, ...] = ()
    registered: bool = True

    def record(self) -> dict:
        return {
            "camera_id": self.camera_id,
            "lat": round(self.lat, 5),
            "lon": round(self.lon, 5),
            "lez_zones": list(self.lez_zones),
            "police_zone": self.police_zone,
            "province": PROVINCES[self.province],
        }


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine), km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def _largest_remainder(total: int, weights: list[float], minimum: list[int]) -> list[int]:
    counts = list(minimum)
    left = total - sum(counts)
    if left <= 0:
        return counts
    scale = sum(weights)
    shares = [left * w / scale for w in weights]
    floors = [int(s) for s in shares]
    counts = [c + f for c, f in zip(counts, floors)]
    order = sorted(range(len(weights)), key=lambda i: (-(shares[i] - floors[i]), i))
    for i in order[: left - sum(floors)]:
        counts[i] += 1
    return counts


def _feed_for(province: str, motorway: bool) -> Feed:
    if motorway:
        return FEEDS["highway"]
    if province == "BRU":
        return FEEDS["brussels"]
    return FEEDS["flanders"] if province in FLEMISH else FEEDS["wallonia"]


@dataclass
class Network:
    """Cameras (registered first, then mobile units), their neighbours, and routes."""

    cameras: list[SimCamera]
    neighbours: list[list[tuple[int, float]]] = field(default_factory=list)
    town_cameras: list[list[int]] = field(default_factory=list)

    @property
    def registered(self) -> list[SimCamera]:
        return [c for c in self.cameras if c.registered]

    def distance(self, i: int, j: int) -> float:
        a, b = self.cameras[i], self.cameras[j]
        return distance_km(a.lat, a.lon, b.lat, b.lon)

    def cameras_near_town(self, town: int) -> list[int]:
        """The cameras of ``town``, or the nearest camera when it has none."""
        return self.town_cameras[town]

    def route(self, rng: random.Random, start: int, stops: int) -> list[tuple[int, float]]:
        """Up to ``stops`` cameras from ``start``, each with its offset in seconds
        from the first; a route never visits a camera twice."""
        out = [(start, 0.0)]
        visited = {start}
        current, elapsed = start, 0.0
        while len(out) < stops:
            options = [(j, d) for j, d in self.neighbours[current] if j not in visited][:4]
            if not options:
                break
            nxt, km = rng.choice(options)
            fast = self.cameras[current].motorway or self.cameras[nxt].motorway
            leg = km / (MOTORWAY_KMH if fast else TOWN_KMH) * 3600 * rng.uniform(0.9, 1.6) \
                + rng.uniform(5, 40)
            if leg > MAX_LEG_S:
                break
            elapsed += leg
            out.append((nxt, elapsed))
            visited.add(nxt)
            current = nxt
        return out


def build_network(seed: int, cameras: int) -> Network:
    """Place ``cameras`` registered cameras and the mobile units; deterministic in ``seed``."""
    if cameras < MIN_CAMERAS:
        raise ValueError(f"the network needs at least {MIN_CAMERAS} cameras, got {cameras}")
    rng = stream(seed, "network")
    placed: list[SimCamera] = []
    motorway_count = round(cameras * MOTORWAY_SHARE)
    town_count = cameras - motorway_count
    minimum = [2 if t.name in ("Brussel", "Antwerpen", "Gent") else 0 for t in TOWNS]
    if town_count >= 4 * len(PROVINCES):
        # Every province has a camera: its first (largest) town gets one at least.
        for province in PROVINCES:
            first = next(i for i, t in enumerate(TOWNS) if t.province == province)
            minimum[first] = max(minimum[first], 1)
    per_town = _largest_remainder(town_count, [t.weight for t in TOWNS], minimum)
    zone_seen: set[str] = set()
    for index, (town, count) in enumerate(zip(TOWNS, per_town)):
        spread = 0.006 * math.sqrt(town.weight)
        for _ in range(count):
            zones: tuple[str, ...] = ()
            if town.lez and (town.lez not in zone_seen or rng.random() < town.lez_share):
                zones = (town.lez,)
                zone_seen.add(town.lez)
            placed.append(SimCamera("", town.lat + rng.gauss(0, spread),
                                    town.lon + rng.gauss(0, spread * 1.5), town.province,
                                    town.police_zone, _feed_for(town.province, False),
                                    town=index, lez_zones=zones))
    legs = [(name, TOWNS[TOWN_INDEX[a]], TOWNS[TOWN_INDEX[b]])
            for name, chain in MOTORWAYS.items() for a, b in zip(chain, chain[1:])]
    lengths = [distance_km(a.lat, a.lon, b.lat, b.lon) for _, a, b in legs]
    for _ in range(motorway_count):
        name, a, b = rng.choices(legs, lengths)[0]
        f = rng.uniform(0.15, 0.85)
        nearer = a if f < 0.5 else b
        placed.append(SimCamera("", a.lat + (b.lat - a.lat) * f + rng.gauss(0, 0.002),
                                a.lon + (b.lon - a.lon) * f + rng.gauss(0, 0.002),
                                nearer.province, HIGHWAY_POLICE,
                                _feed_for(nearer.province, True), motorway=name))
    numbers: dict[str, int] = {}
    for camera in placed:
        numbers[camera.province] = numbers.get(camera.province, 0) + 1
        camera.camera_id = f"ANPR-{camera.province}-{numbers[camera.province]:04d}"
    for k in range(max(1, cameras // 100)):
        index = rng.choices(range(len(TOWNS)), [t.weight for t in TOWNS])[0]
        town = TOWNS[index]
        placed.append(SimCamera(f"ANPR-MOB-{k + 1:03d}", town.lat + rng.gauss(0, 0.01),
                                town.lon + rng.gauss(0, 0.015), town.province,
                                town.police_zone, FEEDS["mobile"], town=index,
                                registered=False))
    missing = set(LEZ_ZONES) - zone_seen
    assert not missing, f"no LEZ camera for {missing}"  # guaranteed by the town minimums
    network = Network(placed)
    network.neighbours = _neighbours(placed)
    network.town_cameras = _town_cameras(placed)
    return network


def _town_cameras(cameras: list[SimCamera]) -> list[list[int]]:
    out: list[list[int]] = [[] for _ in TOWNS]
    for i, camera in enumerate(cameras):
        if camera.town is not None and camera.registered:
            out[camera.town].append(i)
    for t, town in enumerate(TOWNS):
        if not out[t]:
            nearest = min(range(len(cameras)), key=lambda i: (
                distance_km(town.lat, town.lon, cameras[i].lat, cameras[i].lon), i))
            out[t].append(nearest)
    return out


def _neighbours(cameras: list[SimCamera]) -> list[list[tuple[int, float]]]:
    grid: dict[tuple[int, int], list[int]] = {}
    cells = []
    for i, c in enumerate(cameras):
        cell = (int(math.floor(c.lat / _CELL)), int(math.floor(c.lon / _CELL)))
        cells.append(cell)
        grid.setdefault(cell, []).append(i)
    max_ring = int(MAX_NEIGHBOUR_KM / (_CELL * 70)) + 1
    out = []
    for i, c in enumerate(cameras):
        cy, cx = cells[i]
        found: list[tuple[float, int]] = []
        ring = 1
        while True:
            found = []
            for y in range(cy - ring, cy + ring + 1):
                for x in range(cx - ring, cx + ring + 1):
                    for j in grid.get((y, x), ()):
                        if j != i:
                            d = distance_km(c.lat, c.lon, cameras[j].lat, cameras[j].lon)
                            if d <= MAX_NEIGHBOUR_KM:
                                found.append((d, j))
            if len(found) >= NEIGHBOURS or ring >= max_ring:
                break
            ring *= 2
        if len(found) < 2:
            found = sorted((distance_km(c.lat, c.lon, o.lat, o.lon), j)
                           for j, o in enumerate(cameras) if j != i)[:2]
        found.sort()
        out.append([(j, d) for d, j in found[:NEIGHBOURS]])
    return out
