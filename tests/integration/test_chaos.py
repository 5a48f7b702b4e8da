"""The short chaos run (`feblam chaos`): every kind of fault once while the hit job
and the Hit Gateway run on the stack, and nothing lost or doubled. The long run (2,000,000 reads, 10
faults) is in docs/operations.md with its figures."""

from __future__ import annotations

import json
import subprocess
import sys

import requests

from feblam.stack.settings import PROJECT_ROOT, StackSettings


def test_a_run_with_every_kind_of_fault_loses_no_hit_and_doubles_no_history_row(stack):
    result = subprocess.run([sys.executable, "-m", "feblam.cli", "chaos", "--reads", "20000", "--rate", "1000",
                             "--faults", "4", "--min-gap", "15", "--json"],
                            capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=1500)
    assert result.stdout, result.stderr[-3000:]
    figures = json.loads(result.stdout)
    # On a failure, the run's own account: its faults as they fell and what it saw.
    account = f"{json.dumps(figures, indent=1)}\n{result.stderr[-4000:]}"
    assert {f["kind"] for f in figures["faults"]} == {"taskmanager-kill", "jobmanager-kill", "broker-restart",
                                                       "registry-restart"}
    assert figures["hits_expected"] == 1000
    assert (figures["missing_hits"], figures["unexpected_hits"]) == (0, 0), account
    assert figures["history_reads"] == {"rows": 20000, "distinct": 20000}, account
    assert figures["history_hits"] == {"rows": 1000, "distinct": 1000}, account
    assert (figures["duplicate_history_rows"], figures["missing_history_rows"]) == (0, 0), account
    assert figures["restarts"] >= 1, account   # a killed taskmanager restarts the job: the monitor must see it
    # The gateway delivered every hit once in its audit, whatever it sent twice.
    assert figures["missing_deliveries"] == 0, account
    assert figures["audit_delivered"] == {"rows": 1000, "distinct": 1000}, account
    assert (figures["duplicate_audit_rows"], figures["missing_audit_rows"]) == (0, 0), account
    assert result.returncode == 0, result.stderr[-3000:]
    # The stack is whole again for the tests that follow.
    overview = requests.get(f"{stack.flink_rest_url}/overview", timeout=10).json()
    assert overview["taskmanagers"] == StackSettings.current().flink_taskmanagers
    for job in (figures["job_id"], figures["gateway_job_id"]):
        assert requests.get(f"{stack.flink_rest_url}/jobs/{job}", timeout=10).json()["state"] == "CANCELED"
