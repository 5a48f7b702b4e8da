"""A PyFlink job reads one Kafka topic and writes another, Python in thread mode:
once on the embedded mini-cluster, once submitted to the standalone cluster."""

from __future__ import annotations

import subprocess
import sys
import uuid

from confluent_kafka import Producer

from connectors.kafka_clients import client_config
from feblam.stack.settings import PROJECT_ROOT

from .conftest import assert_passthrough_ran, consume_all

JOB = PROJECT_ROOT / "jobs" / "kafka_passthrough.py"
FEBLAM = [sys.executable, "-m", "feblam.cli"]


def _fill(stack, topic: str, count: int) -> list[str]:
    values = [f"plate-{i}-{uuid.uuid4().hex[:6]}" for i in range(count)]
    producer = Producer(client_config({"bootstrap.servers": stack.bootstrap_servers}))
    for value in values:
        producer.produce(topic, value.encode())
    assert producer.flush(30) == 0
    return values


def _job_args(stack, source: str, sink: str) -> list[str]:
    return ["--bootstrap-servers", stack.bootstrap_servers, "--input", source, "--output", sink, "--group", f"g-{uuid.uuid4().hex}"]


def _run(argv: list[str], timeout: int = 300) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=PROJECT_ROOT)
    assert result.returncode == 0, f"{argv} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def test_passthrough_on_embedded_mini_cluster(stack, new_topic):
    source, sink = new_topic("in"), new_topic("out")
    values = _fill(stack, source, 20)
    _run([sys.executable, str(JOB), "--embedded", *_job_args(stack, source, sink)])
    out = sorted(m.value().decode() for m in consume_all(stack.bootstrap_servers, sink, expected=20))
    assert out == sorted(v.upper() for v in values)


def test_passthrough_submitted_to_standalone_cluster(stack, new_topic):
    source, sink = new_topic("in"), new_topic("out")
    values = _fill(stack, source, 20)
    result = _run([*FEBLAM, "submit", str(JOB), "--", *_job_args(stack, source, sink)])
    assert_passthrough_ran(stack, result.stdout, sink, values)
