"""A small simulated run, generated once per session and shared by the tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from feblam.simulate.simulation import SimulationSettings, run
from feblam.simulate.writer import FileSink

SMALL = SimulationSettings(reads=4000, cameras=60, vehicles=400, lez_entries=3000, hours=24,
                           seed=7, invalid_rate=0.01)


@dataclass
class SmallRun:
    settings: SimulationSettings
    out: Path
    summary: dict

    def lines(self, name: str) -> list[str]:
        return (self.out / name).read_text(encoding="utf-8").splitlines()

    def records(self, name: str) -> list[dict]:
        return [json.loads(line) for line in self.lines(name)]


@pytest.fixture(scope="session")
def small_run(tmp_path_factory) -> SmallRun:
    out = tmp_path_factory.mktemp("simulate-small")
    summary = run(SMALL, FileSink(out))
    return SmallRun(SMALL, out, summary)
