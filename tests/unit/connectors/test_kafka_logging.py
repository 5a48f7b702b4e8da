"""librdkafka's log lines go through Python logging (connectors.kafka_clients), never
straight to stderr, and every client FEBLAM builds takes its configuration from there.
No broker: the clients are pointed at a closed loopback port, so librdkafka's
connection-refused error is the line to follow."""

from __future__ import annotations

import ast
import logging
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

from connectors.kafka_clients import LOGGER_NAME, client_config

ROOT = Path(__file__).resolve().parents[3]
CLIENTS = {"Producer", "Consumer", "AdminClient", "SerializingProducer", "DeserializingConsumer"}
SCANNED = ("feblam", "connectors", "udfs", "gateway", "jobs", "tests", "scripts", "examples")
RAW_LIBRDKAFKA_LINE = re.compile(r"^%\d\|", re.MULTILINE)

# A Consumer, a Producer and an AdminClient on a port nobody listens on, polled for two
# seconds; the handler on the root logger prints each record that gets through as
# "LOGGED <logger> <level> <message>".
CHILD = textwrap.dedent("""
    import logging, sys, time
    from confluent_kafka import Consumer, Producer
    from confluent_kafka.admin import AdminClient
    from connectors.kafka_clients import client_config

    class Show(logging.Handler):
        def emit(self, record):
            print("LOGGED", record.name, record.levelname, record.getMessage(), flush=True)

    logging.getLogger().addHandler(Show())
    logging.getLogger().setLevel(logging.DEBUG)  # whatever is dropped, feblam.kafka dropped it
    where = {"bootstrap.servers": "127.0.0.1:1", "reconnect.backoff.ms": 100}
    consumer = Consumer(client_config({**where, "group.id": "feblam-quiet-test"}))
    consumer.subscribe(["feblam-quiet-test"])
    producer = Producer(client_config(where))
    admin = AdminClient(client_config(where))
    end = time.monotonic() + 2
    while time.monotonic() < end:
        consumer.poll(0.1)
        producer.poll(0.05)
        admin.poll(0.05)
    consumer.close()
    producer.flush(0)
    print("DONE", flush=True)
""")


def _run_child() -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)


def test_librdkafka_lines_arrive_as_feblam_log_records_and_not_on_stderr():
    child = _run_child()
    assert child.returncode == 0, child.stderr
    assert "DONE" in child.stdout
    raw = RAW_LIBRDKAFKA_LINE.findall(child.stdout) + RAW_LIBRDKAFKA_LINE.findall(child.stderr)
    assert raw == [], f"librdkafka printed its own lines:\n{child.stderr}{child.stdout}"
    assert child.stderr == ""
    records = [line.split(" ", 3) for line in child.stdout.splitlines() if line.startswith("LOGGED ")]
    assert records, child.stdout
    assert {name for _, name, _, _ in records} == {LOGGER_NAME}
    assert {level for _, _, level, _ in records} <= {"WARNING", "ERROR", "CRITICAL"}
    refused = [message for _, _, level, message in records if "Connection refused" in message]
    assert any("rdkafka#consumer-" in message for message in refused), records
    assert any("rdkafka#producer-" in message for message in refused), records


def test_client_config_copies_and_routes_without_overriding_the_caller():
    given = {"bootstrap.servers": "b:9092", "group.id": "g"}
    routed = client_config(given)
    assert given == {"bootstrap.servers": "b:9092", "group.id": "g"}
    assert routed["logger"] is logging.getLogger(LOGGER_NAME)
    assert routed["log_level"] == 4  # syslog's warning
    assert logging.getLogger(LOGGER_NAME).getEffectiveLevel() == logging.WARNING
    assert client_config({"log_level": 0})["log_level"] == 0
    own = logging.getLogger("feblam.kafka.own")
    assert client_config({"logger": own})["logger"] is own


def bypasses(source: str) -> list[str]:
    """`line: name` for every construction of a confluent-kafka client in `source` whose
    configuration is not `client_config(...)` or that overrides its logger."""
    tree = ast.parse(source)
    names = set(CLIENTS)
    for node in ast.walk(tree):  # `from confluent_kafka import Producer as KafkaProducer`
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("confluent_kafka"):
            names |= {alias.asname for alias in node.names if alias.name in CLIENTS and alias.asname}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
        if name not in names:
            continue
        config = node.args[0] if node.args else next(
            (k.value for k in node.keywords if k.arg in ("conf", "config")), None)
        wrapped = isinstance(config, ast.Call) and (
            getattr(config.func, "id", None) == "client_config" or getattr(config.func, "attr", None) == "client_config")
        if not wrapped or any(k.arg in ("logger", None) for k in node.keywords):
            found.append((node.lineno, name))
    return [f"{line}: {name}" for line, name in sorted(found)]


def _scanned_files() -> list[Path]:
    return sorted(path for top in SCANNED if (ROOT / top).is_dir() for path in (ROOT / top).rglob("*.py")
                  if ".venv" not in path.parts)


def test_every_kafka_client_is_built_from_client_config():
    found = {}
    for path in _scanned_files():
        relative = path.relative_to(ROOT).as_posix()
        if relative == "connectors/kafka_clients.py":
            continue
        if hits := bypasses(path.read_text()):
            found[relative] = hits
    assert found == {}, ("build these clients as Client(client_config({...})) "
                         "(connectors.kafka_clients), or their librdkafka lines reach stderr")


def test_every_kind_of_bypass_is_caught():
    source = "\n".join([
        "from confluent_kafka import Producer as KafkaProducer",
        "a = Consumer({'group.id': 'g'})",
        "b = confluent_kafka.admin.AdminClient(conf)",
        "c = KafkaProducer(config)",
        "d = Producer(client_config(conf), logger=logging.getLogger('x'))",
        "e = Producer(client_config(conf))",
        "f = kafka_clients.client_config(conf); g = AdminClient(kafka_clients.client_config(conf))",
        "h = SerializingProducer(conf)",
        "i = Consumer(**settings)",
    ])
    assert bypasses(source) == ["2: Consumer", "3: AdminClient", "4: KafkaProducer", "5: Producer",
                                "8: SerializingProducer", "9: Consumer"]


def test_the_client_names_are_confluent_kafkas():
    import confluent_kafka
    import confluent_kafka.admin

    assert all(hasattr(confluent_kafka, kind) or hasattr(confluent_kafka.admin, kind) for kind in CLIENTS)
