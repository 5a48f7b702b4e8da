"""A job submitted the way docs/operations.md ("Deploying on your own Flink cluster")
tells an operator to: Flink's own `flink run -py`, from outside the project, with
none of FEBLAM's environment and no `feblam` code building the command.

The client's configuration is made as the docs say: the Flink distribution's
conf/ (here the one inside the apache-flink wheel) with flink-conf/config.yaml
appended. The cluster is the one the `stack` fixture names.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlparse

import pytest
from confluent_kafka import Producer

from connectors.kafka_clients import client_config

from .conftest import assert_passthrough_ran

ROOT = Path(__file__).resolve().parents[2]


def _flink_home() -> Path:
    import pyflink

    return Path(pyflink.__file__).resolve().parent


def _java_home() -> str:
    # An operator knows their JDK; this machine may have several, so ask the same finder the stack uses.
    from feblam.stack.java import java_home

    return os.environ.get("JAVA_HOME") or str(java_home(17))


def _client_conf(directory: Path) -> Path:
    shutil.copytree(_flink_home() / "conf", directory)
    with (directory / "config.yaml").open("a") as config:
        config.write("\n" + (ROOT / "flink-conf" / "config.yaml").read_text())
    return directory


@pytest.mark.integration
def test_plain_flink_run_of_the_passthrough_job(stack, new_topic, tmp_path):
    source, sink = new_topic("in"), new_topic("out")
    values = [f"plate-{i}-{uuid.uuid4().hex[:6]}" for i in range(20)]
    producer = Producer(client_config({"bootstrap.servers": stack.bootstrap_servers}))
    for value in values:
        producer.produce(source, value.encode())
    assert producer.flush(30) == 0

    rest = urlparse(stack.flink_rest_url)
    python = sys.executable  # the virtualenv the cluster's taskmanagers run, at the same path
    argv = [
        "bash", str(_flink_home() / "bin" / "flink"), "run", "-m", rest.netloc,
        "-pyclientexec", python, "-pyexec", python,
        "-py", str(ROOT / "jobs" / "kafka_passthrough.py"), "--",
        "--jars", str(ROOT / "var" / "lib" / "flink-jars"),
        "--bootstrap-servers", stack.bootstrap_servers,
        "--input", source, "--output", sink, "--group", f"g-{uuid.uuid4().hex}",
    ]
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "JAVA_HOME": _java_home(),
        "FLINK_CONF_DIR": str(_client_conf(tmp_path / "flink-client")),
        # The client's own log; by default it would go into the wheel's pyflink/log.
        "FLINK_LOG_DIR": str(tmp_path / "log"),
        # FEBLAM importable by the client's interpreter: this checkout rather than an installed copy.
        "PYTHONPATH": str(ROOT),
    }
    result = subprocess.run(argv, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"flink run failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert_passthrough_ran(stack, result.stdout, sink, values)
