"""Cameras and LEZs, routes that give repeated sightings, clones, the daily rhythm."""

from __future__ import annotations

import random
from collections import Counter, defaultdict

import pytest

from feblam.simulate.geography import LEZ_ZONES, PROVINCES
from feblam.simulate.network import MIN_CAMERAS, build_network, distance_km
from feblam.simulate.rhythm import DailyRhythm, local_hour
from feblam.simulate.simulation import Simulation
from udfs.instant import parse_instant
from udfs.validation import InvalidRead, validate_read

MINUTE = 60_000


def _valid_reads(small_run):
    out = []
    for line in small_run.lines("reads.jsonl"):
        try:
            out.append(validate_read(line))
        except InvalidRead:
            pass
    return out


def test_lez_cameras_exist_for_every_zone(small_run):
    zones = Counter(z for c in small_run.records("cameras.jsonl") for z in c["lez_zones"])
    assert set(zones) == set(LEZ_ZONES)
    assert all(count >= 1 for count in zones.values())


@pytest.mark.parametrize("cameras", [MIN_CAMERAS, 100, 1000])
def test_every_size_of_network_has_every_lez_and_covers_the_provinces(cameras):
    network = build_network(3, cameras)
    registered = network.registered
    assert len(registered) == cameras
    assert {z for c in registered for z in c.lez_zones} == set(LEZ_ZONES)
    assert len({c.camera_id for c in network.cameras}) == len(network.cameras)
    if cameras >= 100:
        assert {c.province for c in registered} == set(PROVINCES)
    # LEZ cameras stand in their own city only.
    for camera in registered:
        for zone in camera.lez_zones:
            assert camera.province == {"BXL": "BRU", "ANT": "ANT", "GNT": "OVL"}[zone]


def test_too_few_cameras_is_refused():
    with pytest.raises(ValueError):
        build_network(1, MIN_CAMERAS - 1)


def test_mobile_units_read_plates_but_are_not_in_the_registry(small_run):
    registry = {c["camera_id"] for c in small_run.records("cameras.jsonl")}
    read_cameras = {r.camera_id for r in _valid_reads(small_run)}
    unknown = read_cameras - registry
    assert unknown and all(c.startswith("ANPR-MOB-") for c in unknown)


def test_routes_never_revisit_and_legs_stay_short():
    network = build_network(4, 200)
    rng = random.Random(1)
    for _ in range(300):
        route = network.route(rng, rng.randrange(len(network.cameras)), 8)
        cameras = [c for c, _ in route]
        assert len(set(cameras)) == len(cameras)
        offsets = [t for _, t in route]
        assert offsets[0] == 0 and all(0 < b - a <= 15 * 60 for a, b in zip(offsets, offsets[1:]))


def test_a_vehicle_is_seen_by_several_cameras_within_ten_minutes(small_run):
    by_vehicle = defaultdict(list)
    for read in Simulation(small_run.settings).reads():
        if read.invalid is None:
            by_vehicle[read.vehicle_id].append((read.event_ms, read.camera_index))
    repeated = 0
    for sightings in by_vehicle.values():
        sightings.sort()
        repeated += sum(1 for (t1, c1), (t2, c2) in zip(sightings, sightings[1:])
                        if c1 != c2 and t2 - t1 <= 10 * MINUTE)
    assert repeated > 0.3 * small_run.settings.reads
    # And in the file itself: one canonical plate at different cameras minutes apart.
    by_plate = defaultdict(list)
    for read in _valid_reads(small_run):
        by_plate[read.plate].append((read.event_time, read.camera_id))
    seen_again = sum(1 for s in by_plate.values()
                     for (t1, c1), (t2, c2) in zip(sorted(s), sorted(s)[1:])
                     if c1 != c2 and t2 - t1 <= 10 * MINUTE)
    assert seen_again > 0.2 * small_run.settings.reads


def test_cloned_plates_are_seen_at_distant_cameras_too_close_in_time(small_run):
    cameras = {c["camera_id"]: c for c in small_run.records("cameras.jsonl")}
    simulation = Simulation(small_run.settings)
    mobile = {c.camera_id: {"lat": c.lat, "lon": c.lon} for c in simulation.network.cameras}
    position = {**mobile, **cameras}
    by_plate = defaultdict(list)
    for read in _valid_reads(small_run):
        by_plate[read.plate].append((read.event_time, read.camera_id))
    impossible = set()
    for plate, sightings in by_plate.items():
        sightings.sort()
        for i, (t1, c1) in enumerate(sightings):
            for t2, c2 in sightings[i + 1:]:
                if t2 - t1 > 15 * MINUTE:
                    break
                a, b = position[c1], position[c2]
                km = distance_km(a["lat"], a["lon"], b["lat"], b["lon"])
                if km >= 50 and km / max((t2 - t1) / 3_600_000, 1e-6) > 250:
                    impossible.add(plate)
    clones = {simulation.fleet.vehicles[a].plate.canon for a, _ in simulation.fleet.clone_pairs}
    assert clones and clones <= impossible, (clones, impossible)


def test_traffic_follows_the_daily_rhythm(small_run):
    hours = Counter(local_hour(r.event_time)[1] for r in _valid_reads(small_run))
    rush = hours[7] + hours[8] + hours[17]
    night = hours[2] + hours[3] + hours[4]
    assert rush > 5 * night > 0


def test_rhythm_inverse_is_monotone_and_spans_the_run():
    start = parse_instant("2026-03-07T10:30:00Z")  # a Saturday, not on the hour
    rhythm = DailyRhythm(start, start + 50 * 3_600_000)
    points = [rhythm.at(u / 1000) for u in range(1001)]
    assert points[0] == start and points[-1] == start + 50 * 3_600_000
    assert points == sorted(points)
