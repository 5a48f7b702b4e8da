"""Spec §11 on the simulated network, through the file job: the job's clone suspicions
are the pure rule's (feblam.bench.clone_truth.suspicions, the same reads in the same
order) at parallelism 2, and they find the plates the simulator planted."""

from __future__ import annotations

import json

from feblam.bench.clone_truth import suspicions
from feblam.cli import main
from feblam.simulate.simulation import SimulationSettings
from udfs.clones import CLONE_SUSPECT

SMALL = SimulationSettings(reads=20_000, vehicles=3_000, cameras=240, seed=3)


def test_the_file_job_raises_the_rules_clone_suspicions_and_finds_the_planted_plates(tmp_path, capsys):
    data = tmp_path / "data"
    assert main(["simulate", "--out", str(data), "--reads", str(SMALL.reads), "--vehicles", str(SMALL.vehicles),
                 "--cameras", str(SMALL.cameras), "--seed", str(SMALL.seed), "--quiet"]) == 0
    summary = json.loads(capsys.readouterr().out)
    out = tmp_path / "out"
    assert main(["run", "--reads", str(data / "reads.jsonl"), "--reference", str(data / "reference.jsonl"),
                 "--cameras", str(data / "cameras.jsonl"), "--hits", str(out / "hits.jsonl"),
                 "--dead-letters", str(out / "dead.jsonl"), "--sightings", str(out / "sightings.jsonl"),
                 "--parallelism", "2"]) == 0
    hits = [json.loads(line) for line in (out / "hits.jsonl").read_text().splitlines()]
    clones = [h for h in hits if h["match_kind"] == CLONE_SUSPECT]
    expected = suspicions(SMALL)
    assert expected, "the simulation must plant clones for this test to mean anything"
    assert sorted(h["hit_id"] for h in clones) == sorted(h.hit_id for h in expected)
    assert set(summary["cloned_plates"]) <= {h["plate"] for h in clones}
    assert all(h["list_name"] == "clone_detection" and h["entry_id"] is None for h in clones)
