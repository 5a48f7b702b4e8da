"""Connectors found through the `feblam.read_connectors` entry points, and what a broken one does."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from connectors.sources import discover
from connectors.sources.discovery import UnknownConnectorError

ROOT = Path(__file__).resolve().parents[2]


def fake_distribution(site: Path, name: str, entry_points: dict[str, str], modules: dict[str, str] | None = None) -> None:
    """A minimal installed distribution: a dist-info folder with METADATA and entry_points.txt."""
    info = site / f"{name.replace('-', '_')}-0.3.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.3\n")
    lines = "".join(f"{key} = {value}\n" for key, value in entry_points.items())
    (info / "entry_points.txt").write_text(f"[feblam.read_connectors]\n{lines}")
    for module, source in (modules or {}).items():
        (site / f"{module}.py").write_text(textwrap.dedent(source))


GOOD_MODULE = """
    from connectors.sources import TopicConnector

    class PipeReads(TopicConnector):
        name = "pipe"
        description = "pipe-separated test reads"

        def decode(self, payload):
            read_id, camera, millis, plate, confidence = payload.decode().split("|")
            return {"read_id": read_id, "camera_id": camera, "event_time": int(millis),
                    "plate_text": plate, "ocr_confidence": float(confidence)}

    class NotAConnector:
        pass
"""


def test_feblam_ships_three_connectors():
    found = discover()
    assert {"avro", "vendor-json", "csv-folder"} <= set(found.connectors)
    assert found.connectors["csv-folder"].kind == "folder"
    assert found.connectors["vendor-json"].kind == "topic"
    assert found.connectors["avro"].distribution.startswith("feblam ")


def test_a_package_adds_a_connector_and_broken_ones_are_named_without_hiding_it(tmp_path, monkeypatch):
    fake_distribution(tmp_path, "feblam-pipe", {"pipe": "pipe_reads:PipeReads"}, {"pipe_reads": GOOD_MODULE})
    fake_distribution(tmp_path, "feblam-broken", {
        "missing-module": "no_such_module_here:Reads",
        "not-a-connector": "pipe_reads:NotAConnector",
        "vendor-json": "pipe_reads:PipeReads",  # claims a name FEBLAM already uses
    })
    monkeypatch.syspath_prepend(str(tmp_path))
    found = discover()
    assert "pipe" in found.connectors and found.connectors["pipe"].distribution == "feblam-pipe 0.3"
    assert {"avro", "csv-folder"} <= set(found.connectors)
    broken = {b.name: b for b in found.broken}
    assert set(broken) == {"missing-module", "not-a-connector", "vendor-json"}
    assert "ModuleNotFoundError" in broken["missing-module"].error
    assert "no_such_module_here:Reads" in broken["missing-module"].message()
    assert "feblam-broken 0.3" in broken["missing-module"].message()
    assert "not a ReadConnector subclass" in broken["not-a-connector"].error
    assert "claimed by" in broken["vendor-json"].error
    with pytest.raises(UnknownConnectorError, match="cannot be loaded"):
        found.get("missing-module")
    with pytest.raises(UnknownConnectorError, match="installed: avro, csv-folder, pipe"):
        found.get("nope")
    reader = found.get("pipe").create()
    assert reader.decode(b"P1|C1|5|AB12|0.5")["plate_text"] == "AB12"


def test_connectors_list_names_a_broken_entry_point_without_a_traceback(tmp_path):
    fake_distribution(tmp_path, "feblam-broken", {"exploding": "exploding_reads:Reads"},
                      {"exploding_reads": "raise RuntimeError('vendor SDK not configured')\n"})
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "feblam.cli", "connectors", "list"], capture_output=True,
                            text=True, env=env, cwd=ROOT, timeout=120)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert ("connector 'exploding' (exploding_reads:Reads, from feblam-broken 0.3) cannot be loaded: "
            "RuntimeError: vendor SDK not configured") in result.stderr
    for name in ("avro", "vendor-json", "csv-folder"):
        assert name in result.stdout
