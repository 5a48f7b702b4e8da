"""Fixtures for tests against the real stack.

Endpoints come from BOOTSTRAP_SERVERS / SCHEMA_REGISTRY_URL / FLINK_REST_URL
when set (an existing cluster), otherwise from the stack that `scripts/stack up`
started (var/run/stack.json). A stack that does not answer fails the tests
with a message saying how to start it: integration tests never skip.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass

import pytest
import requests
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from connectors.kafka_clients import client_config
from connectors.registry import RegistryClient
from connectors.topics import TopicSpec, delete_topics, ensure_topics
from feblam.stack.settings import StackSettings


@dataclass(frozen=True)
class Endpoints:
    bootstrap_servers: str
    schema_registry_url: str
    flink_rest_url: str


@pytest.fixture(scope="session")
def stack() -> Endpoints:
    settings = StackSettings.current()
    endpoints = Endpoints(
        os.environ.get("BOOTSTRAP_SERVERS", settings.bootstrap_servers),
        os.environ.get("SCHEMA_REGISTRY_URL", settings.registry_url),
        os.environ.get("FLINK_REST_URL", settings.flink_rest_url),
    )
    problems = []
    admin = AdminClient(client_config({"bootstrap.servers": endpoints.bootstrap_servers}))
    try:
        admin.list_topics(timeout=5)
    except Exception as error:
        problems.append(f"Kafka at {endpoints.bootstrap_servers}: {error}")
    try:
        # Through FEBLAM's client, which authenticates to a secured stack's registry.
        RegistryClient(endpoints.schema_registry_url).subjects()
    except Exception as error:
        problems.append(f"registry at {endpoints.schema_registry_url}: {error}")
    try:
        requests.get(f"{endpoints.flink_rest_url}/overview", timeout=5).raise_for_status()
    except Exception as error:
        problems.append(f"Flink at {endpoints.flink_rest_url}: {error}")
    if problems:
        pytest.fail("the stack does not answer; start it with `scripts/stack up`:\n  " + "\n  ".join(problems))
    return endpoints


@pytest.fixture
def new_topic(stack):
    """Factory: creates a topic, uniquely named after `prefix` unless `name` is given,
    and returns its name. Every topic it made is deleted after the test (a topic the
    test deleted itself counts as deleted; any other refusal fails the teardown)."""
    created = []

    def make(prefix: str = "test", partitions: int = 1, config: dict | None = None, name: str | None = None) -> str:
        name = name or f"{prefix}-{uuid.uuid4().hex[:10]}"
        if not ensure_topics(stack.bootstrap_servers, {name: TopicSpec(partitions, dict(config or {}))}):
            raise AssertionError(f"topic {name} already exists: a test's topic must be new")
        created.append(name)
        return name

    yield make
    delete_topics(stack.bootstrap_servers, created)


def registry_get(url: str, **options) -> requests.Response:
    """GET `url` of the registry with FEBLAM's registry settings for it (the secured
    stack's credentials and CA, or FEBLAM_REGISTRY_*), for a test that asks the
    registry's HTTP API directly."""
    from connectors.registry import RegistrySettings

    settings = RegistrySettings.from_env(url)
    if settings.basic_auth_user_info:
        options.setdefault("auth", tuple(settings.basic_auth_user_info.split(":", 1)))
    if settings.ssl_ca_location:
        options.setdefault("verify", settings.ssl_ca_location)
    return requests.get(url, timeout=10, **options)


def consume_all(bootstrap: str, topic: str, expected: int, timeout_s: float = 60.0, distinct=None) -> list:
    """Read `topic` from the beginning until `expected` messages arrived (or, with
    `distinct`, a function of a message, `expected` distinct values of it) or the
    timeout passed; returns the messages (possibly fewer, for the caller to assert)."""
    consumer = Consumer(client_config({"bootstrap.servers": bootstrap, "group.id": f"test-{uuid.uuid4().hex}",
                                       "enable.auto.commit": False}))
    try:
        metadata = consumer.list_topics(topic, timeout=10).topics[topic]
        consumer.assign([TopicPartition(topic, p, 0) for p in metadata.partitions])
        messages, seen = [], set()
        deadline = time.monotonic() + timeout_s
        while (len(seen) if distinct else len(messages)) < expected and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            messages.append(message)
            if distinct:
                seen.add(distinct(message))
        return messages
    finally:
        consumer.close()


def assert_passthrough_ran(stack: Endpoints, client_stdout: str, sink: str, values: list[str]) -> None:
    """jobs/kafka_passthrough.py, submitted by a client that printed `client_stdout`, ran
    on the standalone cluster to its end, its Python map saw every record, and `sink`
    holds every value upper-cased."""
    job_id = next(line.split()[-1] for line in client_stdout.splitlines() if "submitted with JobID" in line)
    job = requests.get(f"{stack.flink_rest_url}/jobs/{job_id}", timeout=10).json()
    assert job["state"] == "FINISHED"
    python_map = next(v for v in job["vertices"] if "upper-case" in v["name"])
    assert python_map["metrics"]["read-records"] == len(values)
    out = sorted(m.value().decode() for m in consume_all(stack.bootstrap_servers, sink, expected=len(values)))
    assert out == sorted(v.upper() for v in values)
