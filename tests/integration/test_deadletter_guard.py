"""The dead-letter share guard on the stack (udfs.deadletter_guard, docs/operations.md
"The dead-letter guard"): a run whose reads are mostly garbage trips it. With the
default setting the job fails (and restarts, and trips again) without writing the
same dead letters again; the ERROR line is in a taskmanager's log, without a plate,
and the metric and the job's restarts show it. With `fail_job: false` the same reads
become dead letters as before, and the incident is still reported."""

from __future__ import annotations

import time
from pathlib import Path

import requests

from feblam.stack.settings import StackSettings

from . import prometheus
from .conftest import consume_all
from .hitjob import Feeds, cancel, decoded, submit, wait_running

GARBAGE = 400
VALID = [f"1GRD{i:03d}" for i in range(20)]   # plates that must never reach a log line
TRIPPED = "dead-letter guard tripped"


def _config(tmp_path: Path, fail_job: bool) -> Path:
    path = tmp_path / "guard.yaml"
    path.write_text(f"dead_letter_guard: {{max_share: 0.5, min_reads: 200, fail_job: {str(fail_job).lower()}}}\n")
    return path


def _feeds(stack, new_topic) -> Feeds:
    feeds = Feeds(stack, new_topic, {"stolen_vehicles"})
    feeds.entry({"list_name": "stolen_vehicles", "entry_id": "S1", "op": "UPSERT", "plate": VALID[0]})
    for i, plate in enumerate(VALID):
        feeds.read({"read_id": f"G{i}", "camera_id": "CAM-G", "event_time": "2026-03-01T08:00:00Z",
                    "plate_text": plate, "plate_country": None, "ocr_confidence": 0.95})
    for _ in range(GARBAGE):
        feeds.raw_read(b"not avro at all")
    feeds.flush()
    return feeds


class LogTail:
    """The lines the taskmanagers log from now on."""

    def __init__(self):
        self.files = {p: p.stat().st_size for p in StackSettings.current().log_dir.glob("flink-taskmanager-*.log")}

    def lines(self) -> list[str]:
        found = []
        for path, start in self.files.items():
            with path.open("rb") as f:
                f.seek(start)
                found += f.read().decode("utf-8", errors="replace").splitlines()
        return found


def _wait(what: str, check, timeout_s: float = 180):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


def _restarts(stack, job_id: str) -> int:
    value = prometheus.total(prometheus.scrape(), "jobmanager_job_numRestarts", job_id)
    return int(value or 0)


def test_garbage_trips_the_guard_and_fails_the_job_without_repeating_dead_letters(stack, new_topic, tmp_path):
    log = LogTail()
    feeds = _feeds(stack, new_topic)
    # Small batches: the first attempt writes the dead letters of the batches before the
    # window closes, and the restarted one must hold those same reads' dead letters back.
    job_id = submit(stack, feeds, "--config", str(_config(tmp_path, fail_job=True)), "--batch-records", "50")
    try:
        wait_running(stack, job_id)
        # The failing subtask stays up a scrape interval: its metric is seen before it goes.
        _wait("deadLetterIncidents on Prometheus",
              lambda: (prometheus.total(prometheus.scrape(), "feblam_deadLetterIncidents", job_id) or 0) >= 1)
        _wait("a restart", lambda: _restarts(stack, job_id) >= 1)
        first = consume_all(stack.bootstrap_servers, feeds.dead, GARBAGE, timeout_s=5)
        # The restarted attempt meets the same reads, holds their dead letters and trips again.
        _wait("held dead letters on Prometheus",
              lambda: (prometheus.total(prometheus.scrape(), "feblam_deadLettersHeld", job_id) or 0) >= 1)
        _wait("a second trip", lambda: sum(TRIPPED in line for line in log.lines()) >= 2)
        exceptions = requests.get(f"{stack.flink_rest_url}/jobs/{job_id}/exceptions", timeout=10).json()
        assert "DeadLetterIncident" in str(exceptions) and "dead-letter share" in str(exceptions)
        errors = [line for line in log.lines() if TRIPPED in line]
        assert all(" ERROR " in line and "MALFORMED" in line and "failing the job" in line for line in errors), errors
        assert not [line for line in log.lines() if any(plate in line for plate in VALID)]
        # Only what the first attempt wrote before its window closed: never the world, and
        # nothing again after the restart.
        dead = consume_all(stack.bootstrap_servers, feeds.dead, GARBAGE, timeout_s=10)
        positions = [m.key() for m in dead]
        assert len(positions) == len(set(positions)) == len(first) < GARBAGE, (len(first), len(dead))
    finally:
        cancel(stack, job_id)


def test_with_fail_job_off_the_same_reads_become_dead_letters(stack, new_topic, tmp_path):
    log = LogTail()
    feeds = _feeds(stack, new_topic)
    job_id = submit(stack, feeds, "--config", str(_config(tmp_path, fail_job=False)))
    try:
        wait_running(stack, job_id)
        dead = decoded(stack, feeds, feeds.dead, "DeadLetter", GARBAGE, timeout_s=120)
        assert len(dead) == GARBAGE and {d["reason"] for d in dead} == {"MALFORMED"}
        samples = prometheus.scrape()
        assert (prometheus.total(samples, "feblam_deadLetterIncidents", job_id) or 0) >= 1
        assert prometheus.total(samples, "jobmanager_job_numRestarts", job_id) == 0
        errors = _wait("the ERROR line", lambda: [line for line in log.lines() if TRIPPED in line])
        assert all(" ERROR " in line and "writing them as usual" in line for line in errors), errors
        assert not [line for line in log.lines() if any(plate in line for plate in VALID)]
    finally:
        cancel(stack, job_id)
