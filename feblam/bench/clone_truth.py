"""The clone rule (udfs.clones) against the simulator's ground truth: recall and false suspicions.

`evaluate(settings)` generates the simulation (`feblam.simulate`), feeds every
valid read (`udfs.validation.validate_read`), in the simulator's arrival order,
through `udfs.clones.PlateTrails` with the registered cameras, keeps the first
hit per `dedup_key`, and compares the hits with the plates the simulator
planted as clones (`Simulation.cloned_plates`). Pure: nothing is written, no
service is used.

A false suspicion is a hit on a plate that is not a planted clone. Its cause,
from the truth each simulated read carries (the vehicle that was read):
- `misread`: the hit's read or its partner is an OCR misread of its vehicle's
  plate (the read plate is not the vehicle's canonical plate);
- `same_vehicle`: both reads are true reads of one vehicle (the simulator let a
  vehicle move impossibly fast: a bug of the simulator);
- `two_vehicles`: true reads of two vehicles carrying one plate that is not
  planted (never expected: the fleet's plates are distinct);
- `unknown`: the partner read was not found (never expected).
"""

from __future__ import annotations

from collections import Counter

from feblam.simulate.simulation import Simulation, SimulationSettings
from udfs.clones import CloneSettings, PlateTrails, position
from udfs.model import Hit
from udfs.reference import parse_camera
from udfs.validation import InvalidRead, validate_read

PER_READS = 100_000


def evaluate(settings: SimulationSettings, clone_settings: CloneSettings | None = None) -> dict:
    """The clone rule's recall and false suspicions on the simulation of `settings`."""
    simulation = Simulation(settings)
    reads, valid, hits, taking_part = _observe(simulation, clone_settings or CloneSettings())
    planted = simulation.cloned_plates()
    planted_set = set(planted)
    found = sorted({hit.plate for hit in hits} & planted_set)
    causes: Counter = Counter()
    for hit in hits:
        if hit.plate not in planted_set:
            causes[_cause(hit, taking_part, simulation.fleet.vehicles)] += 1
    false = sum(causes.values())
    return {
        "reads": reads,
        "valid_reads": valid,
        "planted_clone_plates": len(planted),
        "clone_encounters": simulation.clone_encounters(),
        "planted_found": len(found),
        "planted_missed": sorted(planted_set - set(found)),
        "recall": len(found) / len(planted) if planted else 1.0,
        "hits": len(hits),
        "false_suspicions": false,
        "false_per_100k_valid_reads": false * PER_READS / valid if valid else 0.0,
        "false_by_cause": dict(sorted(causes.items())),
    }


def suspicions(settings: SimulationSettings, clone_settings: CloneSettings | None = None) -> list[Hit]:
    """The `CLONE_SUSPECT` hits of the simulation of `settings`, the first of each dedup
    key, in arrival order: what the job must give on the same reads."""
    return _observe(Simulation(settings), clone_settings or CloneSettings())[2]


def _observe(simulation: Simulation, rule: CloneSettings) -> tuple[int, int, list[Hit], dict[str, tuple[int, str]]]:
    """(reads, valid reads, the first hit of each dedup key, read_id -> (vehicle id,
    plate read) of the reads that took part)."""
    cameras = {c.camera_id: c for c in map(parse_camera, simulation.cameras())}
    trails = PlateTrails(rule)
    reads = valid = 0
    hits: dict = {}
    taking_part: dict[str, tuple[int, str]] = {}
    for simulated in simulation.reads():
        reads += 1
        try:
            read = validate_read(simulated.record)
        except InvalidRead:
            continue
        valid += 1
        camera = cameras.get(read.camera_id)
        if position(read, camera, rule) is not None:
            taking_part[read.read_id] = (simulated.vehicle_id, read.plate)
        hit = trails.observe(read, camera)
        if hit is not None and hit.dedup_key not in hits:
            hits[hit.dedup_key] = hit
    return reads, valid, list(hits.values()), taking_part


def _cause(hit, taking_part: dict[str, tuple[int, str]], vehicles) -> str:
    partner = (hit.attributes or {}).get("partner_read_id")
    pair = [taking_part.get(hit.read_id), taking_part.get(partner)]
    if None in pair:
        return "unknown"
    if any(plate != vehicles[vid].plate.canon for vid, plate in pair):
        return "misread"
    return "same_vehicle" if pair[0][0] == pair[1][0] else "two_vehicles"
