"""The match step's start from a snapshot (DecodeAndMatch._load_snapshot): a usable
snapshot is loaded, with its refusals handed on and the positions to read the topics
after; any snapshot that cannot stand for the topics is left for a whole load, with a
fresh engine and a warning that says why."""

from __future__ import annotations

import json
import logging

import pytest

from jobs.match_step import DecodeAndMatch
from udfs.config import MatchingSettings
from udfs.engine import HitEngine
from udfs.startup import AppliedFeed, StartupPositions

from ..connectors.test_reference_snapshot import LINES, TOPIC, _records, _take


def _step(root) -> DecodeAndMatch:
    step = DecodeAndMatch(MatchingSettings(), codec=None, feed=None, snapshots=str(root))
    step.engine, step.subtask, step.applied = HitEngine(), 0, AppliedFeed({})
    return step


def test_a_usable_snapshot_is_loaded_and_its_refusals_reported(tmp_path):
    _take(tmp_path, _records(LINES))
    step = _step(tmp_path)
    assert step._load_snapshot(StartupPositions({(TOPIC, 0): len(LINES) + 3})) == {(TOPIC, 0): len(LINES) - 1}
    assert step.engine.index.get("stolen_vehicles", "S1") is not None
    assert [record[2] for record, _ in step.applied.take_refusals()] == [2, 6]


def _damage_manifest(root, name):
    manifest = root / name / "manifest.json"
    manifest.write_text(json.dumps({k: v for k, v in json.loads(manifest.read_text()).items() if k != "lists"}))


def _damage_file(root, name):
    first = next((root / name).glob("*.arrows"))
    first.write_bytes(first.read_bytes()[:-1])


@pytest.mark.parametrize("damage, why", [
    (None, "ends at 3, before the snapshot's offset"),
    (_damage_manifest, "manifest without"),
    (_damage_file, "is not the file its manifest describes"),
])
def test_a_snapshot_that_cannot_stand_for_the_topics_is_left(tmp_path, caplog, damage, why):
    name = _take(tmp_path, _records(LINES)).name
    if damage is not None:
        damage(tmp_path, name)
    step = _step(tmp_path)
    with caplog.at_level(logging.WARNING):
        assert step._load_snapshot(StartupPositions({(TOPIC, 0): 3 if damage is None else 99})) == {}
    assert len(step.engine.index) == 0 and step.applied.take_refusals() == []
    assert why in caplog.text and "loading the lists from the start" in caplog.text


def test_no_snapshot_yet(tmp_path, caplog):
    step = _step(tmp_path / "none")
    with caplog.at_level(logging.WARNING):
        assert step._load_snapshot(StartupPositions({(TOPIC, 0): 9})) == {}
    assert "there is none" in caplog.text
