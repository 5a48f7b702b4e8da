"""No hit is lost, and the Parquet history holds every read exactly once, when the
job stops in the middle of a run: stopped with a savepoint and resumed from it
(an upgrade), and with its taskmanagers killed (a crash).

Each read matches its own stolen-vehicle entry, so every read makes exactly one
hit and the expected hit ids follow from spec §9 alone. Hits are delivered at
least once: consumers drop repeats by hit_id, and so does the test. The history
is exactly once: no read or hit missing, none twice.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time

import duckdb

from feblam.flinkrest import FlinkRest
from feblam.stack.services import Flink
from feblam.stack.settings import PROJECT_ROOT, StackSettings

from .hitjob import RECORDED_DATA, Feeds, cancel, decoded, hits, submit, wait_running

ENTRIES = 400


def _plate(i: int) -> str:
    return f"9R{i:04d}X"


def _hit_id(read_id: str, entry_id: str) -> str:
    return hashlib.sha256(f"{read_id}|stolen_vehicles|{entry_id}|".encode()).hexdigest()[:32]


def _load(feeds: Feeds) -> None:
    for i in range(ENTRIES):
        feeds.entry({"list_name": "stolen_vehicles", "entry_id": f"E{i}", "op": "UPSERT", "plate": _plate(i)})
    feeds.flush()


def _reads(feeds: Feeds, numbers: range) -> set[str]:
    for i in numbers:
        feeds.read({"read_id": f"R{i}", "camera_id": "CAM-A", "event_time": 1772352000000 + i * 1000,
                    "plate_text": _plate(i), "plate_country": "B", "ocr_confidence": 0.95})
    feeds.flush()
    return {_hit_id(f"R{i}", f"E{i}") for i in numbers}


def _hit_ids(stack, feeds, count: int, timeout_s: float = 120) -> set[str]:
    return {h["hit_id"] for h in hits(stack, feeds, count, timeout_s, distinct=True)}


def _history_counts(root, table: str, column: str, expected: int, timeout_s: float = 90) -> tuple[int, int]:
    """(rows, distinct ids) of a history table once it holds `expected` rows (files are
    committed at checkpoints, every 10 s) or the timeout passed."""
    deadline = time.monotonic() + timeout_s
    counts = (0, 0)
    while time.monotonic() < deadline:
        if list(root.glob(f"{table}/**/part-*")):
            counts = duckdb.connect().execute(f"SELECT count(*), count(DISTINCT {column}) FROM "
                                f"read_parquet('{root}/{table}/**/part-*', hive_partitioning = true)").fetchone()
            if counts[0] >= expected:
                break
        time.sleep(2)
    return counts


def _assert_history_exactly_once(root) -> None:
    assert _history_counts(root, "reads", "read_id", ENTRIES) == (ENTRIES, ENTRIES)
    assert _history_counts(root, "hits", "hit_id", ENTRIES) == (ENTRIES, ENTRIES)


def _wait_for_checkpoint(rest: FlinkRest, job_id: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if rest.checkpoints(job_id)["counts"]["completed"] >= 1:
            return
        time.sleep(1)
    raise AssertionError("no checkpoint completed")


def test_stop_with_savepoint_and_resume_loses_no_hit(stack, new_topic, tmp_path):
    rest = FlinkRest(stack.flink_rest_url)
    feeds = Feeds(stack, new_topic, ["stolen_vehicles"])
    _load(feeds)
    group = ("--group-id", f"g-restart-{feeds.prefix}", "--history", str(tmp_path / "history"), *RECORDED_DATA)
    job_id = submit(stack, feeds, *group)
    wait_running(stack, job_id)
    first = _reads(feeds, range(0, 200))
    assert _hit_ids(stack, feeds, len(first)) == first

    savepoint = subprocess.run([sys.executable, "-m", "feblam.cli", "jobs", "stop", job_id],
                               capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=300)
    assert savepoint.returncode == 0, savepoint.stderr
    location = savepoint.stdout.strip()
    assert rest.job(job_id)["state"] == "FINISHED"

    # Reads that arrive while the job is down are matched after the upgrade.
    second = _reads(feeds, range(200, ENTRIES))
    resumed = submit(stack, feeds, *group, submit_options=("--from-savepoint", location))
    try:
        wait_running(stack, resumed)
        assert _hit_ids(stack, feeds, ENTRIES) == first | second
        _assert_history_exactly_once(tmp_path / "history")
    finally:
        cancel(stack, resumed)


def _matched_and_checkpointed(stack, feeds, rest: FlinkRest, job_id: str, numbers: range) -> set[str]:
    """Once the job runs: these reads sent, their hits all out and a checkpoint taken
    after them, so a crash from now on must restore rather than start over."""
    wait_running(stack, job_id)
    first = _reads(feeds, numbers)
    assert _hit_ids(stack, feeds, len(first)) == first
    _wait_for_checkpoint(rest, job_id)
    return first


def test_killed_taskmanager_loses_no_hit(stack, new_topic, tmp_path):
    rest = FlinkRest(stack.flink_rest_url)
    feeds = Feeds(stack, new_topic, ["stolen_vehicles"])
    _load(feeds)
    job_id = submit(stack, feeds, "--history", str(tmp_path / "history"), *RECORDED_DATA)
    try:
        first = _matched_and_checkpointed(stack, feeds, rest, job_id, range(0, 200))

        # Every taskmanager's JVM, so the one running the job is among them; the stack's
        # supervisor starts new ones, as an orchestrator would.
        for taskmanager in Flink(StackSettings.current()).daemons[1:]:
            taskmanager.kill_descendants()
        second = _reads(feeds, range(200, ENTRIES))
        assert _hit_ids(stack, feeds, ENTRIES, timeout_s=180) == first | second
        assert rest.job(job_id)["state"] == "RUNNING"
        _assert_history_exactly_once(tmp_path / "history")
    finally:
        cancel(stack, job_id)
        _start_taskmanager()  # whatever happened above, leave the cluster whole for the next tests


def test_killed_jobmanager_is_replaced_and_the_job_resumes_with_no_hand_work(stack, new_topic, tmp_path):
    """JobManager high availability: kill -9 of the jobmanager's JVM. The stack's
    supervisor starts a new one, which finds the job in ZooKeeper and resumes it from
    its latest checkpoint: same job id, no resubmission, no hit lost, history exactly once."""
    rest = FlinkRest(stack.flink_rest_url)
    feeds = Feeds(stack, new_topic, ["stolen_vehicles"])
    _load(feeds)
    job_id = submit(stack, feeds, "--history", str(tmp_path / "history"), *RECORDED_DATA)
    try:
        first = _matched_and_checkpointed(stack, feeds, rest, job_id, range(0, 150))

        jobmanager = Flink(StackSettings.current()).daemons[0]
        jvms = jobmanager.kill_descendants()
        second = _reads(feeds, range(150, 300))  # while no jobmanager runs
        _wait_for_rest(rest)
        assert set(jobmanager.descendant_pids()).isdisjoint(jvms), "the old jobmanager still runs"
        wait_running(stack, job_id)  # the new jobmanager's, recovered from ZooKeeper
        third = _reads(feeds, range(300, ENTRIES))
        assert _hit_ids(stack, feeds, ENTRIES, timeout_s=240) == first | second | third
        assert rest.job(job_id)["state"] == "RUNNING"
        _assert_history_exactly_once(tmp_path / "history")
    finally:
        _wait_for_rest(rest)
        cancel(stack, job_id)


def _wait_for_rest(rest: FlinkRest, timeout_s: float = 120) -> None:
    """Until the (new) jobmanager's REST API answers."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            rest.jobs()
            return
        except Exception:
            time.sleep(1)


def _start_taskmanager() -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "feblam.cli", "stack", "up", "flink"], capture_output=True,
                          text=True, cwd=PROJECT_ROOT, timeout=300)


def test_list_changes_made_while_stopped_are_in_force_when_it_resumes(stack, new_topic, tmp_path):
    """A resumed job rebuilds its lists from the topics up to its savepoint's offsets,
    then holds reads until it has read what was published while it was down: a
    deleted entry makes no hit and a new one does, from the first read on."""
    rest = FlinkRest(stack.flink_rest_url)
    feeds = Feeds(stack, new_topic, ["stolen_vehicles"])
    _load(feeds)
    group = ("--group-id", f"g-lists-{feeds.prefix}")
    job_id = submit(stack, feeds, *group)
    wait_running(stack, job_id)
    first = _reads(feeds, range(0, 10))
    assert _hit_ids(stack, feeds, len(first)) == first
    savepoint = subprocess.run([sys.executable, "-m", "feblam.cli", "jobs", "stop", job_id],
                               capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=300)
    assert savepoint.returncode == 0, savepoint.stderr
    assert rest.job(job_id)["state"] == "FINISHED"

    feeds.entry({"list_name": "stolen_vehicles", "entry_id": "E10", "op": "DELETE"})
    feeds.entry({"list_name": "stolen_vehicles", "entry_id": f"E{ENTRIES}", "op": "UPSERT",
                 "plate": _plate(ENTRIES)})
    feeds.flush()
    deleted = _reads(feeds, range(10, 11))  # read before the job is back: held until the lists are current
    resumed = submit(stack, feeds, *group, submit_options=("--from-savepoint", savepoint.stdout.strip()))
    try:
        wait_running(stack, resumed)
        later = _reads(feeds, [11, ENTRIES])
        assert _hit_ids(stack, feeds, len(first) + len(later)) == first | later
        time.sleep(3)  # a hit for the deleted entry would have come before these (one partition, in order)
        assert not deleted & _hit_ids(stack, feeds, len(first) + len(later) + 1, timeout_s=5)
    finally:
        cancel(stack, resumed)


def test_sightings_across_a_savepoint_are_neither_lost_nor_counted_twice(stack, new_topic, tmp_path):
    """Spec §7 across an upgrade: one vehicle read 40 times within its list's window is
    one hit and 39 sightings. Half the reads come before a stop with savepoint, half
    while the job is down: the resumed job goes on counting from the savepoint's
    state, every sighting is an event, and the history holds each sighting once."""
    rest = FlinkRest(stack.flink_rest_url)
    feeds = Feeds(stack, new_topic, ["stolen_vehicles"])
    feeds.entry({"list_name": "stolen_vehicles", "entry_id": "E0", "op": "UPSERT", "plate": _plate(0)})
    feeds.flush()
    history = tmp_path / "history"
    group = ("--group-id", f"g-sightings-{feeds.prefix}", "--history", str(history), *RECORDED_DATA)

    def read(numbers):
        for i in numbers:  # every 10 s, all within the 10 min window of the first
            feeds.read({"read_id": f"R{i}", "camera_id": f"CAM-{i % 3}", "event_time": 1772352000000 + i * 10_000,
                        "plate_text": _plate(0), "plate_country": "B", "ocr_confidence": 0.95})
        feeds.flush()

    def sightings(count, timeout_s=120):
        events = decoded(stack, feeds, feeds.sightings, "HitSighting", count, timeout_s)
        return {e["read_id"]: (e["hit_id"], e["sightings"]) for e in events}  # repeats (at least once) collapse

    job_id = submit(stack, feeds, *group)
    wait_running(stack, job_id)
    read(range(0, 20))
    assert len(sightings(19)) == 19
    stop = subprocess.run([sys.executable, "-m", "feblam.cli", "jobs", "stop", job_id],
                          capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=300)
    assert stop.returncode == 0, stop.stderr
    assert rest.job(job_id)["state"] == "FINISHED"

    read(range(20, 40))
    resumed = submit(stack, feeds, *group, submit_options=("--from-savepoint", stop.stdout.strip()))
    try:
        wait_running(stack, resumed)
        seen = sightings(39)
        hit = _hit_id("R0", "E0")
        assert seen == {f"R{i}": (hit, i + 1) for i in range(1, 40)}
        assert _hit_ids(stack, feeds, 1) == {hit}
        assert _history_counts(history, "sightings", "read_id", 39) == (39, 39)
        assert _history_counts(history, "hits", "hit_id", 1) == (1, 1)
    finally:
        cancel(stack, resumed)


def test_a_clone_whose_reads_straddle_a_savepoint_is_still_found(stack, new_topic):
    """Spec §11 across an upgrade: a plate read in Brussels before a stop with savepoint
    and in Antwerp five minutes later, while the job is down. The resumed job takes
    the first read's trail from the savepoint (the clone step's log) and raises the
    CLONE_SUSPECT hit with it as partner. The plate is also stolen, so that its hit
    and sighting show that the first reads were processed before the stop."""
    feeds = Feeds(stack, new_topic, ["stolen_vehicles"])
    feeds.entry({"list_name": "stolen_vehicles", "entry_id": "E0", "op": "UPSERT", "plate": "1CLN001"})
    for camera_id, lat, lon in (("CAM-BXL", 50.8466, 4.3528), ("CAM-ANT", 51.2194, 4.4025)):
        feeds.camera({"camera_id": camera_id, "lat": lat, "lon": lon, "lez_zones": [], "police_zone": "5339",
                      "province": "Brussels"})
    feeds.flush()
    group = ("--group-id", f"g-clone-{feeds.prefix}")

    def read(read_id: str, camera_id: str, minute: int) -> None:
        feeds.read({"read_id": read_id, "camera_id": camera_id, "event_time": 1772352000000 + minute * 60_000,
                    "plate_text": "1CLN001", "plate_country": "B", "ocr_confidence": 0.95})
        feeds.flush()

    job_id = submit(stack, feeds, *group)
    wait_running(stack, job_id)
    read("R-BXL", "CAM-BXL", 0)
    read("R-BXL-2", "CAM-BXL", 1)   # the same place: no suspicion, a sighting of the stolen hit
    assert [h["read_id"] for h in hits(stack, feeds, 1)] == ["R-BXL"]
    assert len(decoded(stack, feeds, feeds.sightings, "HitSighting", 1)) == 1
    stop = subprocess.run([sys.executable, "-m", "feblam.cli", "jobs", "stop", job_id],
                          capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=300)
    assert stop.returncode == 0, stop.stderr

    read("R-ANT", "CAM-ANT", 6)
    resumed = submit(stack, feeds, *group, submit_options=("--from-savepoint", stop.stdout.strip()))
    try:
        wait_running(stack, resumed)
        clone = [h for h in hits(stack, feeds, 2, distinct=True) if h["match_kind"] == "CLONE_SUSPECT"]
        assert [h["read_id"] for h in clone] == ["R-ANT"]
        assert dict(clone[0]["attributes"])["partner_read_id"] == "R-BXL-2"   # the nearest in time
    finally:
        cancel(stack, resumed)
