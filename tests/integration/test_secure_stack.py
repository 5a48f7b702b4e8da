"""`stack up --secure` on a second stack (its own ports and var dir): Kafka refuses
plaintext and wrong passwords, the registry refuses plain HTTP and requests
without credentials, the hit-generation job runs end to end on it as its own
user under the broker's ACLs, and no password shows in the stack's logs or in `ps`."""

from __future__ import annotations

import json
import os
import subprocess
import uuid

import pytest
import requests
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition
from confluent_kafka.admin import (AclBinding, AclBindingFilter, AclOperation, AclPermissionType, AdminClient,
                                   ResourcePatternType, ResourceType)

from connectors.kafka_clients import client_config
from connectors.registry import RegistryClient
from connectors.topics import TopicSpec, delete_topics, ensure_topics
from feblam.stack.settings import KAFKA_USERS, StackSettings

from .conftest import Endpoints
from .hitjob import Feeds, cancel, hits, submit, wait_running
from .test_stack_lifecycle import PORT_OPTIONS, _free_ports, _stack

LIST = "watch_list"
# Variables that would point this module's clients at another stack, or give them other credentials.
FOREIGN = ("FEBLAM_KAFKA_PORT", "FEBLAM_KAFKA_CONTROLLER_PORT", "FEBLAM_REGISTRY_PORT", "FEBLAM_REGISTRY_MANAGEMENT_PORT",
           "FEBLAM_FLINK_REST_PORT", "FEBLAM_FLINK_RPC_PORT", "FEBLAM_ZOOKEEPER_PORT", "FEBLAM_KAFKA_SECURITY_PROTOCOL",
           "FEBLAM_KAFKA_SASL_MECHANISM", "FEBLAM_KAFKA_SASL_USERNAME", "FEBLAM_KAFKA_SASL_PASSWORD_FILE",
           "FEBLAM_KAFKA_SSL_CA_LOCATION", "FEBLAM_REGISTRY_BASIC_AUTH_USER_INFO",
           "FEBLAM_REGISTRY_BASIC_AUTH_USER_INFO_FILE", "FEBLAM_REGISTRY_SSL_CA_LOCATION", "BOOTSTRAP_SERVERS",
           "SCHEMA_REGISTRY_URL", "FLINK_REST_URL")


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    """A secured stack with one taskmanager, and this process's FEBLAM_VAR_DIR naming
    it, so FEBLAM's clients here find its settings as any client of a local stack does."""
    var_dir = tmp_path_factory.mktemp("secured-stack")
    ports = dict(zip(PORT_OPTIONS, _free_ports(len(PORT_OPTIONS))))
    with pytest.MonkeyPatch.context() as env:
        for name in FOREIGN:
            env.delenv(name, raising=False)
        env.setenv("FEBLAM_VAR_DIR", str(var_dir))
        try:
            up = _stack(var_dir, "up", "--secure", "--taskmanagers", "1",
                        *[arg for option, port in ports.items() for arg in (f"--{option}", str(port))])
            assert up.returncode == 0, up.stdout + up.stderr
            settings = StackSettings.load(var_dir)
            assert settings is not None and settings.secure
            yield settings
        finally:
            down = _stack(var_dir, "down")
            assert down.returncode == 0, down.stdout + down.stderr


@pytest.fixture(scope="module")
def endpoints(secured) -> Endpoints:
    return Endpoints(secured.bootstrap_servers, secured.registry_url, secured.flink_rest_url)


@pytest.fixture
def new_topic(endpoints):
    created = []

    def make(prefix: str = "test", partitions: int = 1, config: dict | None = None, name: str | None = None) -> str:
        name = name or f"{prefix}-{uuid.uuid4().hex[:10]}"
        assert ensure_topics(endpoints.bootstrap_servers, {name: TopicSpec(partitions, dict(config or {}))})
        created.append(name)
        return name

    yield make
    delete_topics(endpoints.bootstrap_servers, created)


def _passwords(settings: StackSettings) -> list[str]:
    files = [settings.kafka_password_file(user) for user in KAFKA_USERS]
    files += [settings.registry_password_file, settings.secrets_dir / "kafka-keystore.password"]
    return [path.read_text().strip() for path in files]


def test_status_says_secured_and_where_the_client_settings_are(secured):
    status = _stack(secured.var_dir, "status", "--json")
    assert status.returncode == 0, status.stdout + status.stderr
    report = json.loads(status.stdout)
    assert report["secure"] is True and report["healthy"] is True
    assert report["schema_registry_url"].startswith("https://")
    kafka = report["client_security"]["kafka"]
    assert (kafka["security_protocol"], kafka["sasl_mechanism"]) == ("SASL_SSL", "SCRAM-SHA-512")
    assert set(kafka["users"]) == set(KAFKA_USERS)
    text = _stack(secured.var_dir, "status").stdout
    assert "secured" in text and str(secured.state_file) in text
    # Secrets are the owner's alone.
    for path in secured.secrets_dir.iterdir():
        if path.name != "ca.pem" and path.name != "server.pem":
            assert path.stat().st_mode & 0o077 == 0, path


def _metadata(config: dict) -> tuple[bool, list]:
    """(whether a metadata request succeeded, the client errors seen meanwhile)."""
    errors = []
    admin = AdminClient(client_config({**config, "error_cb": errors.append, "log_level": 0}))
    try:
        admin.list_topics(timeout=10)
        return True, errors
    except Exception as error:  # KafkaException: transport failure, authentication
        admin.poll(1)  # serves error_cb, where librdkafka says why
        return False, [*errors, error]


def test_kafka_refuses_plaintext_and_a_wrong_password(secured, endpoints):
    servers = {"bootstrap.servers": endpoints.bootstrap_servers}
    assert _metadata(client_config(servers))[0], "the stack's own settings must be accepted"

    assert not _metadata(client_config({**servers, "security.protocol": "PLAINTEXT"}))[0]

    wrong = {**client_config(servers), "sasl.password": "not-the-password"}
    ok, errors = _metadata(wrong)
    assert not ok
    assert any(isinstance(e, KafkaError) and e.code() == KafkaError._AUTHENTICATION for e in errors), errors

    # TLS without the stack's CA: the broker's certificate is not trusted.
    untrusted = {k: v for k, v in client_config(servers).items() if k != "ssl.ca.location"}
    assert not _metadata({**untrusted, "ssl.ca.location": "probe"})[0]


def test_registry_refuses_plain_http_and_missing_or_wrong_credentials(secured, endpoints):
    url = f"{endpoints.schema_registry_url}/subjects"
    ca = str(secured.ca_file)
    assert RegistryClient(endpoints.schema_registry_url).subjects() is not None  # the stack's own settings work
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(url.replace("https://", "http://"), timeout=10)
    assert requests.get(url, verify=ca, timeout=10).status_code == 401
    assert requests.get(url, verify=ca, auth=("feblam", "not-the-password"), timeout=10).status_code == 401
    with pytest.raises(requests.exceptions.SSLError):  # a certificate of no CA the system knows
        requests.get(url, timeout=10)


def _topic_acls(topics: list[str], grants: dict[str, tuple]) -> list[AclBinding]:
    return [AclBinding(ResourceType.TOPIC, topic, ResourcePatternType.LITERAL, f"User:{user}", "*", operation,
                       AclPermissionType.ALLOW)
            for topic in topics for user, operations in grants.items() for operation in operations]


def test_hit_generation_runs_end_to_end_as_its_own_user_under_acls(secured, endpoints, new_topic):
    """The job names no user: its main makes it feblam-jobs. The broker's ACLs let only
    feblam-jobs read its reads and its list, so a job (Java source, or the consumers
    that load the list on the taskmanager) that were anyone else would get no hit."""
    feeds = Feeds(endpoints, new_topic, {LIST})
    restricted = [feeds.reads, feeds.topics[LIST]]
    # The job reads its inputs' max.message.bytes to size its refusal topics (DESCRIBE_CONFIGS).
    acls = _topic_acls(restricted, {"feblam-jobs": (AclOperation.READ, AclOperation.DESCRIBE,
                                                    AclOperation.DESCRIBE_CONFIGS),
                                    "feblam-admin": (AclOperation.WRITE, AclOperation.DESCRIBE)})
    admin = AdminClient(client_config({"bootstrap.servers": endpoints.bootstrap_servers}))
    for future in admin.create_acls(acls).values():
        future.result(timeout=30)
    job_id = None
    try:
        feeds.entry({"list_name": LIST, "entry_id": "W1", "op": "UPSERT", "plate": "1ABC123"})
        feeds.flush()
        # The ACLs hold: the operator who wrote the list may not read it back.
        consumer = Consumer(client_config({"bootstrap.servers": endpoints.bootstrap_servers,
                                           "group.id": f"acl-probe-{uuid.uuid4().hex[:8]}"}))
        try:
            consumer.assign([TopicPartition(feeds.topics[LIST], 0, OFFSET_BEGINNING)])
            message = consumer.poll(30)
            assert message is not None and message.error() is not None, "feblam-admin read a topic only feblam-jobs may"
            assert message.error().code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, message.error()
        finally:
            consumer.close()
        assert "FEBLAM_KAFKA_SASL_USERNAME" not in os.environ
        job_id = submit(endpoints, feeds)
        wait_running(endpoints, job_id)
        for read_id, plate in (("R1", "1ABC123"), ("R2", "9ZZZ999")):
            feeds.read({"read_id": read_id, "camera_id": "CAM-X", "event_time": "2026-03-05T08:00:00Z",
                        "plate_text": plate, "plate_country": "B", "ocr_confidence": 1.0})
        feeds.flush()
        found = hits(endpoints, feeds, 1, timeout_s=180)
        assert [(h["read_id"], h["list_name"], h["entry_id"]) for h in found] == [("R1", LIST, "W1")]
    finally:
        if job_id is not None:
            cancel(endpoints, job_id)
        # Before the topics go: feblam-admin may not delete a topic that has ACLs without it.
        filters = [AclBindingFilter(ResourceType.TOPIC, topic, ResourcePatternType.LITERAL, None, None,
                                    AclOperation.ANY, AclPermissionType.ANY) for topic in restricted]
        for future in admin.delete_acls(filters).values():
            future.result(timeout=30)


def test_no_password_in_the_logs_or_on_a_command_line(secured):
    passwords = _passwords(secured)
    assert all(len(p) >= 32 for p in passwords)
    logs = [path for path in secured.log_dir.rglob("*") if path.is_file()]
    assert logs, "the stack wrote no log"
    for path in logs:
        text = path.read_text(errors="replace")
        leaked = [i for i, password in enumerate(passwords) if password in text]
        assert not leaked, f"{path} holds a password"
    commands = subprocess.run(["ps", "-eww", "-o", "args"], capture_output=True, text=True, check=True).stdout
    assert str(secured.var_dir) in commands  # the stack's own processes are in the list
    assert not [p for p in passwords if p in commands]
    # Nor in any process's environment of this stack (readable by its owner only, but still).
    for pid in (int(p) for p in os.listdir("/proc") if p.isdigit()):
        try:
            environ = open(f"/proc/{pid}/environ", "rb").read().decode(errors="replace")
        except OSError:
            continue
        assert not [p for p in passwords if p in environ], pid
