"""The clone rule against the simulator's ground truth (feblam.bench.clone_truth), and the
simulator's rule that makes it meaningful: a vehicle's own reads are physically possible."""

from __future__ import annotations

from collections import defaultdict

import pytest

from feblam.bench.clone_truth import evaluate
from feblam.simulate.simulation import Simulation, SimulationSettings
from feblam.simulate.traffic import TOP_KMH, TRIP_GAP_MS
from udfs.normalise import canon

SMALL = SimulationSettings(reads=20_000, vehicles=3_000, cameras=240, seed=3)


@pytest.fixture(scope="module")
def figures() -> dict:
    return evaluate(SMALL)


def test_the_rule_finds_the_planted_clones(figures):
    assert figures["reads"] == 20_000 and figures["valid_reads"] <= 20_000
    planted = figures["planted_clone_plates"]
    assert planted >= 2 and figures["clone_encounters"] == 3 * planted
    assert figures["recall"] >= 0.95, figures


def test_ordinary_vehicles_raise_almost_no_false_suspicion(figures):
    assert figures["false_per_100k_valid_reads"] <= 1, figures
    assert sum(figures["false_by_cause"].values()) == figures["false_suspicions"]
    assert figures["hits"] >= figures["planted_found"] + figures["false_suspicions"]


def test_every_vehicle_moves_at_a_plausible_speed():
    simulation = Simulation(SMALL)
    network = simulation.network
    by_vehicle = defaultdict(list)
    for read in simulation.reads():
        by_vehicle[read.vehicle_id].append((read.event_ms, read.camera_index))
    legs = 0
    for sightings in by_vehicle.values():
        sightings.sort()
        for (t1, c1), (t2, c2) in zip(sightings, sightings[1:]):
            km = network.distance(c1, c2)
            assert t2 > t1 and km <= TOP_KMH * (t2 - t1) / 3_600_000 + 1e-6, (t1, c1, t2, c2, km)
            legs += 1
    assert legs > SMALL.reads // 2


def test_a_vehicle_busy_on_a_trip_does_not_start_another():
    # Trips of one vehicle do not overlap: between two reads more than a leg apart (15 min)
    # or at the same camera there is at least the gap between trips.
    simulation = Simulation(SMALL)
    by_vehicle = defaultdict(list)
    for read in simulation.reads():
        by_vehicle[read.vehicle_id].append((read.event_ms, read.camera_index))
    for sightings in by_vehicle.values():
        sightings.sort()
        for (t1, c1), (t2, c2) in zip(sightings, sightings[1:]):
            if c1 == c2:   # a route never visits a camera twice: two trips
                assert t2 - t1 >= TRIP_GAP_MS


def test_the_summary_names_the_planted_clone_plates():
    simulation = Simulation(SMALL)
    plates = simulation.cloned_plates()
    assert plates == sorted(plates) and len(plates) == len(simulation.fleet.clone_pairs)
    for original, clone in simulation.fleet.clone_pairs:
        plate = simulation.fleet.vehicles[original].plate
        assert simulation.fleet.vehicles[clone].plate == plate
        assert canon(plate.display("native")) == canon(plate.display("space")) in plates
    assert simulation.clone_encounters() == 3 * len(plates)
