"""Every file parses, and every record is what the job accepts (or is meant to refuse)."""

from __future__ import annotations

import json
from collections import Counter

from feblam.simulate.lists import LIST_NAMES
from feblam.simulate.simulation import Simulation
from udfs.reference import parse_camera, parse_entry
from udfs.validation import REASONS, InvalidRead, validate_read

READ_FIELDS = {"read_id", "camera_id", "event_time", "plate_text", "plate_country",
               "ocr_confidence", "make", "colour", "vehicle_type", "image_ref", "source"}
ENTRY_FIELDS = {"list_name", "entry_id", "op", "plate", "country", "valid_from", "valid_until",
                "severity", "zone", "attributes"}


def test_counts_match_the_summary(small_run):
    assert len(small_run.lines("cameras.jsonl")) == small_run.summary["cameras"] \
        == small_run.settings.cameras
    assert len(small_run.lines("reference.jsonl")) == small_run.summary["reference_updates"]
    assert len(small_run.lines("reads.jsonl")) == small_run.summary["reads"] \
        == small_run.settings.reads


def test_every_camera_parses(small_run):
    cameras = [parse_camera(r) for r in small_run.records("cameras.jsonl")]
    assert len({c.camera_id for c in cameras}) == len(cameras)
    for camera in cameras:
        assert 49.4 < camera.lat < 51.6 and 2.4 < camera.lon < 6.5, camera
        assert camera.police_zone and camera.province


def test_every_reference_update_parses_and_has_every_field(small_run):
    records = small_run.records("reference.jsonl")
    for record in records:
        assert set(record) == ENTRY_FIELDS, record
        entry = parse_entry(record)
        assert entry.list_name in LIST_NAMES
        assert entry.op == record["op"]
    ids = Counter((r["list_name"], r["entry_id"]) for r in records if r["op"] == "UPSERT")
    assert len(ids) > 0.99 * len(records)  # mostly distinct entries, a few updated


def test_every_read_validates_or_is_an_intended_dead_letter(small_run):
    lines = small_run.lines("reads.jsonl")
    truth = list(Simulation(small_run.settings).reads())
    assert len(truth) == len(lines)
    reasons = Counter()
    for line, expected in zip(lines, truth):
        try:
            read = validate_read(line)
        except InvalidRead as error:
            assert error.reason == expected.invalid, (line, expected.invalid)
            reasons[error.reason] += 1
            continue
        assert expected.invalid is None, (line, expected.invalid)
        assert set(json.loads(line)) == READ_FIELDS
        assert read.plate
    assert set(reasons) == set(REASONS)
    assert sum(reasons.values()) == small_run.summary["invalid_reads"]
    share = sum(reasons.values()) / len(lines)
    assert 0.5 * small_run.settings.invalid_rate < share < 2 * small_run.settings.invalid_rate


def test_reads_stay_within_the_run_and_arrive_in_order(small_run):
    settings = small_run.settings
    truth = list(Simulation(settings).reads())
    assert all(settings.start_ms <= r.event_ms < settings.end_ms + 3_600_000 for r in truth)
    arrivals = [r.arrival_ms for r in truth]
    assert arrivals == sorted(arrivals)
    assert len({r.record["read_id"] for r in truth if isinstance(r.record, dict)
                and "read_id" in r.record}) > 0.99 * len(truth)


def test_the_summary_gives_the_clone_ground_truth(small_run):
    simulation = Simulation(small_run.settings)
    plates = small_run.summary["cloned_plates"]
    assert plates == sorted(plates) == simulation.cloned_plates()
    assert len(plates) == len(simulation.fleet.clone_pairs) > 0
    assert small_run.summary["clone_encounters"] == 3 * len(plates)
