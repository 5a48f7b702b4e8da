"""`feblam ingest` on the real Kafka and registry: vendor payloads and dropped CSV files
become canonical PlateRead Avro on the reads topic, and refused ones DeadLetter records
with their original bytes, reason and position; offsets and files are only let go once
the records are delivered."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from confluent_kafka import Producer

import schemas
from connectors.avro import AvroDecoder
from connectors.contracts import ReadDecoder
from connectors.kafka_clients import client_config
from connectors.registry import RegistryClient
from tests.integration.conftest import consume_all
from udfs.instant import parse_instant

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "tests" / "data" / "connectors"


def ingest_command(stack, connector: str, source: list[str], reads: str, dead: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "feblam.cli", "ingest", "--connector", connector, *source,
            "--reads-topic", reads, "--dead-letter-topic", dead, "--bootstrap-servers", stack.bootstrap_servers,
            "--registry-url", stack.schema_registry_url, *extra]


def run_ingest(stack, connector, source, reads, dead, *extra) -> dict:
    result = subprocess.run(ingest_command(stack, connector, source, reads, dead, "--once", "--json", *extra),
                            capture_output=True, text=True, cwd=ROOT, timeout=180)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return json.loads(result.stdout)


def samples(connector: str) -> list[tuple[Path, list[dict]]]:
    folder = SAMPLES / connector
    cases = []
    for expected in sorted(folder.glob("*.expected.jsonl")):
        stem = expected.name[: -len(".expected.jsonl")]
        payload = next(p for p in folder.iterdir() if p.name.startswith(stem + ".") and p != expected)
        cases.append((payload, [json.loads(line) for line in expected.read_text().splitlines() if line.strip()]))
    return cases


def decoded(stack, reads_topic: str, dead_topic: str, n_reads: int, n_dead: int):
    registry = RegistryClient(stack.schema_registry_url)
    read_decoder = ReadDecoder(registry)
    dead_decoder = AvroDecoder(registry, schemas.load("DeadLetter"))
    reads = consume_all(stack.bootstrap_servers, reads_topic, n_reads, timeout_s=30)
    dead = consume_all(stack.bootstrap_servers, dead_topic, n_dead, timeout_s=30)
    return ([(m, read_decoder.decode(m.value())) for m in reads], [(m, dead_decoder.decode(m.value())) for m in dead])


def assert_read(expected: dict, actual: dict) -> None:
    want = dict(expected)
    want["event_time"] = parse_instant(want["event_time"])
    assert {k: actual[k] for k in want} == want
    assert all(actual[k] is None for k in actual if k not in want and k != "source")


def test_vendor_json_payloads_become_canonical_reads_and_dead_letters(stack, new_topic):
    vendor, reads, dead = new_topic("vigilant"), new_topic("reads"), new_topic("reads-dlq")
    cases = samples("vendor-json")
    producer = Producer(client_config({"bootstrap.servers": stack.bootstrap_servers}))
    for payload, _ in cases:
        producer.produce(vendor, payload.read_bytes())
    producer.flush(30)
    expected_reads = {e["read"]["read_id"]: e["read"] for _, exp in cases for e in exp if "read" in e}
    expected_dead = {offset: (payload.read_bytes(), exp[0]["rejected"])
                     for offset, (payload, exp) in enumerate(cases) if "rejected" in exp[0]}

    counters = run_ingest(stack, "vendor-json", ["--topic", vendor], reads, dead)
    assert counters["payloads"] == len(cases)
    assert (counters["reads"], counters["dead_letters"]) == (len(expected_reads), len(expected_dead))

    got_reads, got_dead = decoded(stack, reads, dead, len(expected_reads), len(expected_dead))
    assert len(got_reads) == len(expected_reads) and len(got_dead) == len(expected_dead)
    for message, record in got_reads:
        assert_read(expected_reads[record["read_id"]], record)
        assert record["source"] == "vendor-json"
        assert message.key() == record["camera_id"].encode()
    for message, letter in got_dead:
        original, reason = expected_dead[letter["source_offset"]]
        assert letter["original"] == original  # byte for byte, garbage included
        assert letter["reason"] == reason
        assert (letter["source_topic"], letter["source_partition"]) == (vendor, 0)
        assert message.key() == f"{vendor}/0/{letter['source_offset']}".encode()

    # Offsets were committed after delivery: a second run has nothing to do, a new payload is taken alone.
    assert run_ingest(stack, "vendor-json", ["--topic", vendor], reads, dead)["payloads"] == 0
    producer.produce(vendor, (SAMPLES / "vendor-json" / "good-winter-time.json").read_bytes())
    producer.flush(30)
    assert run_ingest(stack, "vendor-json", ["--topic", vendor], reads, dead)["reads"] == 1


def test_csv_drop_folder_file_becomes_reads_and_dead_letters_then_moves_to_processed(stack, new_topic, tmp_path):
    reads, dead = new_topic("reads"), new_topic("reads-dlq")
    drop = tmp_path / "drop"
    drop.mkdir()
    mixed = (SAMPLES / "csv-folder" / "mixed.csv").read_bytes()
    (drop / "gent-0800.csv").write_bytes(mixed)
    (drop / "gent-0815.csv.part").write_bytes(mixed)  # not yet renamed by its writer: left alone
    expected = [json.loads(line) for line in (SAMPLES / "csv-folder" / "mixed.expected.jsonl").read_text().splitlines()]
    n_reads = sum("read" in e for e in expected)
    lines = mixed.split(b"\n")

    counters = run_ingest(stack, "csv-folder", ["--folder", str(drop)], reads, dead)
    assert (counters["reads"], counters["dead_letters"], counters["files"]) == (n_reads, len(expected) - n_reads, 1)
    assert sorted(p.name for p in drop.iterdir()) == ["gent-0815.csv.part", "processed"]
    assert (drop / "processed" / "gent-0800.csv").read_bytes() == mixed

    got_reads, got_dead = decoded(stack, reads, dead, n_reads, len(expected) - n_reads)
    assert [r["read_id"] for _, r in got_reads] == [e["read"]["read_id"] for e in expected if "read" in e]
    by_line = {e["line"]: e["rejected"] for e in expected if "rejected" in e}
    assert len(got_dead) == len(by_line)
    for message, letter in got_dead:
        line = letter["source_offset"]
        assert letter["reason"] == by_line[line]
        assert letter["original"] == lines[line - 1]  # the row's line, exactly
        assert letter["source_topic"] is None
        assert message.key() == f"gent-0800.csv:{line}".encode()
        assert dict(message.headers())["source_file"] == b"gent-0800.csv"


def test_sigterm_stops_cleanly_with_every_read_delivered_and_committed(stack, new_topic):
    vendor, reads, dead = new_topic("vigilant"), new_topic("reads"), new_topic("reads-dlq")
    process = subprocess.Popen(ingest_command(stack, "vendor-json", ["--topic", vendor], reads, dead,
                                              "--commit-interval-s", "30", "--json"),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        producer = Producer(client_config({"bootstrap.servers": stack.bootstrap_servers}))
        good = json.loads((SAMPLES / "vendor-json" / "good-winter-time.json").read_bytes())
        for i in range(200):
            producer.produce(vendor, json.dumps({**good, "readId": f"VG-SIG-{i:03d}"}).encode())
        producer.flush(30)
        assert len(consume_all(stack.bootstrap_servers, reads, 200, timeout_s=60)) == 200
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "SIGTERM" in err and "Traceback" not in err
    assert json.loads(out)["reads"] == 200
    # The commit interval (30 s) never came: the stop itself committed.
    assert run_ingest(stack, "vendor-json", ["--topic", vendor], reads, dead)["payloads"] == 0


def test_the_walkthrough_connector_runs_in_ingest_once_installed(stack, new_topic, tmp_path):
    """docs/adding-a-connector.md, last step: the example package, installed on its own,
    is run by `feblam ingest` with no change to FEBLAM."""
    import shutil

    source = tmp_path / "source"
    shutil.copytree(ROOT / "examples" / "feblam-acme-connector", source,
                    ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    site = tmp_path / "site"
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                                "--no-deps", "--target", str(site), str(source)], capture_output=True, text=True,
                               timeout=300)
    assert installed.returncode == 0, installed.stderr
    vendor, reads, dead = new_topic("acme"), new_topic("reads"), new_topic("reads-dlq")
    producer = Producer(client_config({"bootstrap.servers": stack.bootstrap_servers}))
    for sample in sorted((source / "samples").glob("*.xml")):
        producer.produce(vendor, sample.read_bytes())
    producer.flush(30)
    result = subprocess.run(ingest_command(stack, "acme-xml", ["--topic", vendor], reads, dead, "--once", "--json"),
                            capture_output=True, text=True, cwd=ROOT, timeout=180,
                            env={**os.environ, "PYTHONPATH": str(site)})
    assert result.returncode == 0, result.stderr
    counters = json.loads(result.stdout)
    assert (counters["reads"], counters["dead_letters"]) == (1, 4)
    got_reads, got_dead = decoded(stack, reads, dead, 1, 4)
    assert [r["read_id"] for _, r in got_reads] == ["ACME-LEU-12-000042"]
    assert got_reads[0][1]["ocr_confidence"] == 0.913 and got_reads[0][1]["source"] == "acme-xml"
    assert sorted(d["reason"] for _, d in got_dead) == ["BAD_CONFIDENCE", "BAD_CONFIDENCE", "BAD_TIMESTAMP",
                                                         "MALFORMED"]


def test_native_avro_reads_are_validated_at_the_boundary(stack, new_topic):
    from connectors.contracts import encoder as contract_encoder

    native, reads, dead = new_topic("native"), new_topic("reads"), new_topic("reads-dlq")
    encoder = contract_encoder(RegistryClient(stack.schema_registry_url), native, "PlateRead", register=True)
    read = {"read_id": "AV-1", "camera_id": "CAM-1", "event_time": 1772349302120, "plate_text": "1-ABC-123",
            "plate_country": "B", "ocr_confidence": 0.9, "make": None, "colour": None, "vehicle_type": None,
            "image_ref": None, "source": "firmware-7"}
    producer = Producer(client_config({"bootstrap.servers": stack.bootstrap_servers}))
    bad_confidence = encoder.encode({**read, "read_id": "AV-2", "ocr_confidence": 1.5})
    for value in (encoder.encode(read), bad_confidence, b"not avro at all"):
        producer.produce(native, value)
    producer.flush(30)
    counters = run_ingest(stack, "avro", ["--topic", native], reads, dead)
    assert (counters["reads"], counters["dead_letters_by_reason"]) == (1, {"BAD_CONFIDENCE": 1, "MALFORMED": 1})
    got_reads, got_dead = decoded(stack, reads, dead, 1, 2)
    assert got_reads[0][1]["source"] == "firmware-7"  # a source the camera names is kept
    assert {d["original"] for _, d in got_dead} == {bad_confidence, b"not avro at all"}


def test_two_processes_in_one_group_share_the_partitions(stack, new_topic):
    vendor, reads, dead = new_topic("vigilant", partitions=2), new_topic("reads"), new_topic("reads-dlq")
    command = ingest_command(stack, "vendor-json", ["--topic", vendor], reads, dead, "--group-id",
                             f"share-{vendor}", "--max-idle-s", "20", "--json")
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
                 for _ in range(2)]
    try:
        time.sleep(10)  # both join the group and get a partition each
        producer = Producer(client_config({"bootstrap.servers": stack.bootstrap_servers}))
        good = json.loads((SAMPLES / "vendor-json" / "good-winter-time.json").read_bytes())
        for i in range(400):
            producer.produce(vendor, json.dumps({**good, "readId": f"VG-{i:03d}"}).encode(), partition=i % 2)
        producer.flush(30)
        results = [p.communicate(timeout=120) for p in processes]
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
    assert all(p.returncode == 0 for p in processes), [err for _, err in results]
    counts = [json.loads(out)["reads"] for out, _ in results]
    assert all(n > 0 for n in counts) and sum(counts) == 400, counts
    got = consume_all(stack.bootstrap_servers, reads, 400, timeout_s=30)
    assert len({m.value() for m in got}) == 400
