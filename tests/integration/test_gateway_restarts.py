"""The Hit Gateway loses no delivery and writes no audit row twice when it is upgraded
with a savepoint and when its taskmanagers are killed: the cases survive (an
acknowledgement sent while it was down is accepted after), deliveries are at least
once (consumers drop repeats by delivery_id), the audit exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import duckdb

from feblam.flinkrest import FlinkRest
from feblam.stack.settings import PROJECT_ROOT, StackSettings
from gateway.records import delivery_id

from .gatewayjob import GatewayRun, hit
from .hitjob import cancel, wait_running
from .test_restarts import _start_taskmanager

CONFIG = """\
national: {run}-nat
destinations:
  {run}-nat: {users: [n1]}
route: {destination: {run}-nat}
"""
HITS = 120


def _hits(run: GatewayRun, numbers: range) -> set[str]:
    for i in numbers:
        run.hit(hit(f"x{i}", priority="P3", entry_id=f"E{i}"))
    run.flush()
    return {delivery_id(f"x{i}", run.name("nat")) for i in numbers}


def _delivery_ids(run: GatewayRun, expected: int, timeout_s: float, wanted) -> set[str]:
    """The delivery_ids of the messages to nat that `wanted` keeps, once `expected` are there
    or the timeout passed (the caller asserts)."""
    deadline = time.monotonic() + timeout_s
    found: set[str] = set()
    while time.monotonic() < deadline and len(found) < expected:
        found = {m["delivery_id"] for m in run.messages("nat", 10**6, timeout_s=3) if wanted(m)}
    return found


def _delivered(run: GatewayRun, expected: int, timeout_s: float = 180) -> set[str]:
    return _delivery_ids(run, expected, timeout_s, lambda m: m["kind"] == "DELIVERY")


def _acknowledged(run: GatewayRun, expected: int, timeout_s: float = 120) -> set[str]:
    return _delivery_ids(run, expected, timeout_s,
                         lambda m: m["kind"] == "STATE" and m["state"]["to_state"] == "ACKNOWLEDGED")


def _submit(run: GatewayRun, audit) -> str:
    """The run's configuration applied and the gateway submitted with its audit; its JobID."""
    run.apply()
    run.flush()
    return run.submit("--audit", str(audit))


def _first_half(stack, run: GatewayRun, job_id: str) -> set[str]:
    """The first half of the hits, sent once the job runs and delivered: their delivery_ids."""
    wait_running(stack, job_id)
    first = _hits(run, range(0, HITS // 2))
    assert _delivered(run, len(first)) == first
    return first


def _audit_once(root, kinds: dict[str, int], timeout_s: float = 90) -> None:
    """Each (kind, delivery) of the audit once, and as many as `kinds` says."""
    deadline = time.monotonic() + timeout_s
    counts = {}
    while time.monotonic() < deadline:
        if list(root.glob("audit/**/part-*")):
            counts = dict(duckdb.connect().execute(
                f"SELECT kind || ':' || (count(*) = count(DISTINCT delivery_id)), count(*) "
                f"FROM read_parquet('{root}/audit/**/part-*', hive_partitioning = true) GROUP BY kind").fetchall())
            if counts == {f"{k}:true": n for k, n in kinds.items()}:
                return
        time.sleep(2)
    assert counts == {f"{k}:true": n for k, n in kinds.items()}


def _wait_for_checkpoint_after(rest: FlinkRest, job_id: str, completed: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if rest.checkpoints(job_id)["counts"]["completed"] >= completed + 2:
            return
        time.sleep(1)
    raise AssertionError("no checkpoint completed after the deliveries")


def _acknowledge(run: GatewayRun, numbers: range) -> set[str]:
    for i in numbers:
        run.event(f"x{i}", run.name("nat"), "ACKNOWLEDGE", "n1")
    run.flush()
    return {delivery_id(f"x{i}", run.name("nat")) for i in numbers}


def test_gateway_upgrade_with_a_savepoint(stack, new_topic, tmp_path):
    rest = FlinkRest(stack.flink_rest_url)
    run = GatewayRun(stack, new_topic, CONFIG)
    audit = tmp_path / "audit"
    try:
        job_id = _submit(run, audit)
        first = _first_half(stack, run, job_id)
        stopped = subprocess.run([sys.executable, "-m", "feblam.cli", "jobs", "stop", job_id],
                                 capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=300)
        assert stopped.returncode == 0, stopped.stderr
        assert rest.job(job_id)["state"] == "FINISHED"
        # While it is down: more hits, and acknowledgements of the hits it delivered before.
        second = _hits(run, range(HITS // 2, HITS))
        acknowledged = _acknowledge(run, range(0, HITS // 2))
        resumed = run.submit("--audit", str(audit), submit_options=("--from-savepoint", stopped.stdout.strip()))
        try:
            wait_running(stack, resumed)
            assert _delivered(run, HITS) == first | second
            assert _acknowledged(run, len(acknowledged)) == acknowledged
            assert run.refusals(1, timeout_s=3) == []
            _audit_once(audit, {"DELIVERED": HITS, "TRANSITION": HITS // 2})
        finally:
            cancel(stack, resumed)
    finally:
        run.cleanup()


def test_gateway_taskmanagers_killed(stack, new_topic, tmp_path):
    rest = FlinkRest(stack.flink_rest_url)
    run = GatewayRun(stack, new_topic, CONFIG)
    audit = tmp_path / "audit"
    job_id = None
    try:
        job_id = _submit(run, audit)
        first = _first_half(stack, run, job_id)
        # A checkpoint begun after those deliveries holds their cases: the acknowledgements
        # below are for hits the restored job knows (a restore from an earlier one would
        # read the hits again, and an acknowledgement could then come before its hit).
        _wait_for_checkpoint_after(rest, job_id, rest.checkpoints(job_id)["counts"]["completed"])
        for pid_file in StackSettings.current().run_dir.glob("flink-taskmanager-*.pid"):
            os.killpg(int(pid_file.read_text()), signal.SIGKILL)
        second = _hits(run, range(HITS // 2, HITS))
        acknowledged = _acknowledge(run, range(0, HITS // 2))
        assert _start_taskmanager().returncode == 0
        assert _delivered(run, HITS) == first | second
        assert _acknowledged(run, len(acknowledged)) == acknowledged
        assert rest.job(job_id)["state"] == "RUNNING"
        _audit_once(audit, {"DELIVERED": HITS, "TRANSITION": HITS // 2})
    finally:
        if job_id is not None:
            cancel(stack, job_id)
        _start_taskmanager()
        run.cleanup()
