"""A restarted registry keeps every subject, version and id (issue: "the registry
forgets"): records already on Kafka carry schema ids in their headers, so a registry
that forgot them, or handed the same ids to other schemas, would turn every read
into a dead letter for any job started afterwards.

This test restarts the local stack's registry as an operator would (`feblam stack down
registry`, then `up registry`), and as a crash would (kill -9 at once after the last
registration, then `up registry`)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest

from connectors.avro import AvroDecoder, AvroEncoder
from connectors.registry import RegistryClient
from feblam.stack.services import Registry
from feblam.stack.settings import PROJECT_ROOT, StackSettings


def _schema(name: str, extra_field: bool = False) -> dict:
    fields = [{"name": "read_id", "type": "string"}]
    if extra_field:
        fields.append({"name": "lane", "type": ["null", "int"], "default": None})
    return {"type": "record", "name": name, "namespace": "org.feblam.test", "fields": fields}


def _stack(*args: str) -> None:
    result = subprocess.run([sys.executable, "-m", "feblam.cli", "stack", *args], capture_output=True, text=True,
                            cwd=PROJECT_ROOT, timeout=300)
    assert result.returncode == 0, f"stack {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"


def _kill_registry() -> None:
    daemon = Registry(StackSettings.current()).daemons[0]
    pid = daemon.pid()
    assert pid is not None, "the registry does not run"
    os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while daemon.running() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not daemon.running(), "the registry survived kill -9"


@pytest.mark.parametrize("restart", ["down-up", "kill-9"])
def test_a_restarted_registry_keeps_subjects_versions_and_ids(stack, restart):
    if stack.schema_registry_url != StackSettings.current().registry_url:
        pytest.fail("this test restarts the local stack's registry; SCHEMA_REGISTRY_URL names another one")
    run = uuid.uuid4().hex[:8]
    subjects = [f"restart-{run}-a-value", f"restart-{run}-b-value"]
    registry = RegistryClient(stack.schema_registry_url)
    ids = {
        (subjects[0], 1): registry.register(subjects[0], _schema("A")),
        (subjects[0], 2): registry.register(subjects[0], _schema("A", extra_field=True)),
        (subjects[1], 1): registry.register(subjects[1], _schema("B")),
    }
    before = {s: registry.versions(s) for s in subjects}
    written = AvroEncoder(ids[(subjects[0], 2)], _schema("A", extra_field=True)).encode({"read_id": "r-1", "lane": 3})
    highest_before = max(int(i) for i in ids.values())

    if restart == "kill-9":
        _kill_registry()
    else:
        _stack("down", "registry")
    _stack("up", "registry")

    after = RegistryClient(stack.schema_registry_url)
    assert set(subjects) <= set(after.subjects())
    assert {s: after.versions(s) for s in subjects} == before == {subjects[0]: [1, 2], subjects[1]: [1]}
    assert after.lookup(subjects[0], _schema("A")) == ids[(subjects[0], 1)]
    assert after.lookup(subjects[0], _schema("A", extra_field=True)) == ids[(subjects[0], 2)]
    assert after.lookup(subjects[1], _schema("B")) == ids[(subjects[1], 1)]
    # A record written before the restart still decodes by the id in its header.
    assert AvroDecoder(after, _schema("A", extra_field=True)).decode(written) == {"read_id": "r-1", "lane": 3}
    # New schemas get new ids: none of the old ones is handed out again.
    new_id = after.register(f"restart-{run}-c-value", _schema("C"))
    assert new_id > highest_before
