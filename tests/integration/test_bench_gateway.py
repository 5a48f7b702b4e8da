"""`feblam bench gateway` on the stack, small: its figures are there and make sense."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from feblam.stack.settings import PROJECT_ROOT


def test_bench_gateway_reports_latency_escalation_and_state(stack):
    result = subprocess.run([sys.executable, "-m", "feblam.cli", "bench", "gateway", "--rate", "100",
                             "--seconds", "15", "--escalating", "0.2", "--json", "--quiet"],
                            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["hits_offered"] == 1500 and figures["delivery_samples"] == 1500
    assert 0 < figures["delivery_p50_ms"] <= figures["delivery_p99_ms"] <= figures["delivery_max_ms"]
    # The split at the routing step: both halves on one machine's clock, in order.
    assert 0 <= figures["to_routing_p50_ms"] <= figures["delivery_max_ms"]
    assert 0 <= figures["from_routing_p50_ms"] <= figures["delivery_max_ms"]
    # About a fifth of the hits escalate, each once, after its 5 s deadline.
    assert 200 <= figures["escalations"] <= 400, figures["escalations"]
    assert 0 <= figures["escalation_late_p50_ms"] <= figures["escalation_late_max_ms"]
    assert figures["state_bytes"] and all(size >= 0 for _, size in figures["state_bytes"])
    assert figures["deliveries"] >= figures["hits_offered"] + figures["escalations"]
    # Who had the CPU while hits were offered: the gateway's taskmanagers, the broker and this command.
    cores = figures["cpu_cores_by_kind"]
    assert cores["taskmanager"] > 0.01 and cores["kafka"] > 0 and cores["benchmark"] > 0
    assert sum(v for k, v in cores.items() if k != "machine") >= cores["machine"] - 0.1
    # The routing step's thread is named after it (the kernel keeps 15 characters).
    assert figures["cpu_cores_by_thread"].get("route-and-follo", 0) > 0


def test_bench_gateway_backlog_reports_capacity(stack):
    result = subprocess.run([sys.executable, "-m", "feblam.cli", "bench", "gateway", "--backlog", "--rate", "100",
                             "--seconds", "10", "--json", "--quiet"],
                            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["backlog_hits"] == figures["hits_delivered"] == 1000
    assert figures["backlog_inputs"] > 2000   # a sighting each, and the events
    assert figures["drain_seconds"] > 0
    assert figures["drain_inputs_per_s"] == pytest.approx(figures["backlog_inputs"] / figures["drain_seconds"], rel=0.01)
    assert figures["cpu_cores_by_kind"]["taskmanager"] > 0.01
