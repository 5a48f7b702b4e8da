"""The connector test kit: the shipped samples pass, and every kind of mismatch is reported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from connectors.sources import TopicConnector
from connectors.testkit import assert_samples, check_samples

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "tests" / "data" / "connectors"


@pytest.mark.parametrize("name", ["avro", "vendor-json", "csv-folder"])
def test_shipped_samples_pass(name):
    report = assert_samples(name, SAMPLES / name)
    assert report.reads > 0 and report.rejected > 0


def write_case(folder: Path, name: str, payload: bytes, *expected: dict) -> None:
    (folder / f"{name}.json").write_bytes(payload)
    (folder / f"{name}.expected.jsonl").write_text("".join(json.dumps(e) + "\n" for e in expected))


GOOD = {"readId": "VG-1", "cam": "CAM-1", "ts": "2026-03-01T08:15:02.120+01:00", "plate": "1-ABC-123",
        "confidencePct": 50}


def test_every_mismatch_is_reported(tmp_path):
    payload = json.dumps(GOOD).encode()
    write_case(tmp_path, "right", payload, {"read": {"read_id": "VG-1", "camera_id": "CAM-1",
               "event_time": "2026-03-01T07:15:02.120Z", "plate_text": "1-ABC-123", "ocr_confidence": 0.5}})
    write_case(tmp_path, "wrong-time-and-confidence", payload, {"read": {"read_id": "VG-1", "camera_id": "CAM-1",
               "event_time": "2026-03-01T08:15:02.120Z", "plate_text": "1-ABC-123", "ocr_confidence": 50}})
    write_case(tmp_path, "expects-refusal", payload, {"rejected": "BAD_TIMESTAMP"})
    write_case(tmp_path, "wrong-reason", b"{}", {"rejected": "BAD_TIMESTAMP"})
    write_case(tmp_path, "wrong-detail", b"[]", {"rejected": "MALFORMED", "detail": "cheese"})
    write_case(tmp_path, "expects-read", b"nope", {"read": {"read_id": "X"}})
    (tmp_path / "no-expectation.json").write_bytes(payload)
    write_case(tmp_path, "two-expectations", payload, {"rejected": "MALFORMED"}, {"rejected": "MALFORMED"})
    report = check_samples("vendor-json", tmp_path)
    assert not report.ok
    text = report.summary()
    by_case = {}
    for mismatch in report.mismatches:
        by_case.setdefault(mismatch.case, []).append(mismatch.problem)
    assert "right.json" not in by_case
    assert set(by_case) == {"wrong-time-and-confidence.json", "expects-refusal.json", "wrong-reason.json",
                            "wrong-detail.json", "expects-read.json", "no-expectation.json", "two-expectations.json"}
    assert len(by_case["wrong-time-and-confidence.json"]) == 2  # both fields, not just the first
    assert "event_time expected 1772352902120 (2026-03-01T08:15:02.120Z), got 1772349302120" in text
    assert "ocr_confidence expected 50, got 0.5" in text
    assert "expected rejected BAD_TIMESTAMP, got read 'VG-1'" in text
    assert "expected rejected BAD_TIMESTAMP, got MALFORMED" in text
    assert "does not contain 'cheese'" in text
    assert "expected a read, got rejected MALFORMED" in text
    assert "no expectation file no-expectation.expected.jsonl" in text
    assert "1 payload(s) but 2 expectation(s)" in text
    with pytest.raises(AssertionError, match="mismatch"):
        assert_samples("vendor-json", tmp_path)


def test_a_folder_connector_is_checked_line_by_line(tmp_path):
    (tmp_path / "drop.csv").write_bytes(b"read_id,camera_id,event_time,plate,confidence\n"
                                        b"R1,C,2026-03-01T08:15:02Z,AB1,0.5\n\nR2,C,2026-03-01T08:15:02,AB2,0.5\n")
    (tmp_path / "drop.expected.jsonl").write_text(
        '{"line": 2, "read": {"read_id": "R1", "camera_id": "C", "event_time": 1772352902000, '
        '"plate_text": "AB1", "ocr_confidence": 0.5}}\n'
        '{"line": 3, "rejected": "BAD_TIMESTAMP"}\n')
    report = check_samples("csv-folder", tmp_path)
    assert [str(m) for m in report.mismatches] == ["drop.csv line 4: expected at line 3, the payload is at line 4"]


def test_a_connector_bug_is_a_mismatch_not_a_crash(tmp_path):
    class Buggy(TopicConnector):
        name = "buggy"

        def decode(self, payload):
            return {"read_id": "B", "plate": "wrong field name"}

    write_case(tmp_path, "one", b"x", {"rejected": "MALFORMED"})
    report = check_samples(Buggy, tmp_path)
    assert "broke its contract" in report.summary() and "'plate'" in report.summary()


def test_an_empty_folder_is_not_a_pass(tmp_path):
    assert not check_samples("vendor-json", tmp_path).ok


def test_cli_check_exit_status(tmp_path):
    def check(*args):
        return subprocess.run([sys.executable, "-m", "feblam.cli", "connectors", "check", *args],
                              capture_output=True, text=True, cwd=ROOT, timeout=120)

    passed = check("vendor-json", str(SAMPLES / "vendor-json"))
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "every payload gives what its expectation says" in passed.stdout
    write_case(tmp_path, "wrong", b"{}", {"rejected": "BAD_TIMESTAMP"})
    failed = check("vendor-json", str(tmp_path))
    assert failed.returncode == 1 and "wrong.json: expected rejected BAD_TIMESTAMP, got MALFORMED" in failed.stdout
    unknown = check("acme-fax", str(tmp_path))
    assert unknown.returncode == 2 and "no read connector 'acme-fax'" in unknown.stderr
