"""`feblam simulate --kafka`: the simulated network on Kafka as the job reads it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid

import schemas
from connectors.avro import AvroDecoder
from connectors.kafka_clients import client_config
from connectors.registry import RegistryClient
from feblam.stack.settings import PROJECT_ROOT

from .conftest import consume_all

ARGS = ["--reads", "400", "--cameras", "30", "--vehicles", "120", "--lez-entries", "500", "--hours", "6",
        "--seed", "3"]


def test_simulate_writes_avro_records_keyed_by_id_at_the_rate(stack, new_topic):
    run = uuid.uuid4().hex[:8]
    reads, cameras, prefix = f"simreads-{run}", f"simcams-{run}", f"simref{run}."
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "feblam.cli", "simulate", "--kafka", "--bootstrap-servers", stack.bootstrap_servers,
         "--registry-url", stack.schema_registry_url, "--reads-topic", reads, "--cameras-topic", cameras,
         "--reference-prefix", prefix, "--rate", "400", *ARGS],
        capture_output=True, text=True, timeout=120, cwd=PROJECT_ROOT)
    elapsed = time.monotonic() - started
    summary = json.loads(result.stdout)
    topics = [reads, cameras, *summary["kafka"]["reference"].values()]
    try:
        assert result.returncode == 0, result.stderr[-2000:]
        assert elapsed >= 1.0  # 400 reads at 400/s
        registry = RegistryClient(stack.schema_registry_url)
        read_decoder = AvroDecoder(registry, schemas.load("PlateRead"))
        messages = consume_all(stack.bootstrap_servers, reads, summary["reads"], timeout_s=30)
        assert len(messages) == summary["reads"] == 400
        decoded = []
        for message in messages:
            if message.value()[:1] == b"\x00":
                decoded.append(read_decoder.decode(message.value()))
                assert message.key().decode() == decoded[-1]["camera_id"]  # one camera, one partition
        assert len(decoded) == 400 - summary["kafka"]["reads_sent_as_raw_json"]
        assert all(isinstance(read["event_time"].timestamp(), float) for read in decoded)

        camera_decoder = AvroDecoder(registry, schemas.load("Camera"))
        camera_messages = consume_all(stack.bootstrap_servers, cameras, summary["cameras"], timeout_s=30)
        assert len(camera_messages) == summary["cameras"]
        for message in camera_messages:
            assert camera_decoder.decode(message.value())["camera_id"] == message.key().decode()

        entry_decoder = AvroDecoder(registry, schemas.load("ReferenceEntry"))
        assert set(summary["kafka"]["reference"]) == set(summary["reference_by_list"])
        tombstones = 0
        for list_name, topic in summary["kafka"]["reference"].items():
            expected = summary["reference_by_list"][list_name]
            entries = consume_all(stack.bootstrap_servers, topic, expected, timeout_s=30)
            assert len(entries) == expected
            for message in entries:
                if message.value() is None:
                    tombstones += 1
                    continue
                entry = entry_decoder.decode(message.value())
                assert (entry["list_name"], entry["entry_id"]) == (list_name, message.key().decode())
        assert tombstones == summary["reference_deletes"] == summary["kafka"]["tombstones"]
    finally:
        from confluent_kafka.admin import AdminClient

        admin = AdminClient(client_config({"bootstrap.servers": stack.bootstrap_servers}))
        for future in admin.delete_topics(topics).values():
            try:
                future.result(timeout=30)
            except Exception:
                pass
