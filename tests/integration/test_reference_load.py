"""`feblam reference load` and `status` against the real Kafka and registry: the diff
is published once, a second identical load publishes nothing, a changed export
publishes only its difference, and refused files publish nothing and leave a report."""

from __future__ import annotations

import csv
import json
import uuid

from confluent_kafka import Consumer, TopicPartition

from connectors.kafka_clients import client_config
from connectors.reference.diff import Diff
from connectors.reference.publisher import publish, read_published
from connectors.registry import RegistryClient
from connectors.topics import topic_names
from feblam.cli import main
from tests.unit.reference.files import write

LIST = "stolen_vehicles"


def _end_offset(stack, topic: str) -> int:
    consumer = Consumer(client_config({"bootstrap.servers": stack.bootstrap_servers,
                                       "group.id": f"t-{uuid.uuid4().hex}"}))
    try:
        return consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1]
    finally:
        consumer.close()


def _rows(count: int, start: int = 0) -> list[dict]:
    return [{"id": f"SV{i:04d}", "registration": f"{i % 10}-ABC-{i:03d}", "nat": "B", "from": "2026-01-01",
             "until": None, "severity": str(60 + i % 40), "case": f"PV-{i}"} for i in range(start, start + count)]


def test_load_publishes_the_difference_once_and_refusals_publish_nothing(stack, new_topic, tmp_path, capsys):
    prefix = f"reftest{uuid.uuid4().hex[:8]}."
    topic = new_topic(name=f"{prefix}{LIST}", config={"cleanup.policy": "compact"})
    mapping = tmp_path / "feeds.yaml"
    mapping.write_text(f"feeds:\n  {LIST}:\n    columns: {{entry_id: id, plate: registration, country: nat, "
                       "valid_from: from, valid_until: until}\n    attributes: [case]\n    row_count_change: 0.3\n")
    reports, history = tmp_path / "reports", tmp_path / "history.json"

    def load(path, *extra) -> tuple[int, str]:
        capsys.readouterr()
        status = main(["reference", "load", "--list", LIST, str(path), "--mapping", str(mapping), "--prefix", prefix,
                       "--reports", str(reports), "--history", str(history),
                       "--bootstrap-servers", stack.bootstrap_servers, "--registry-url", stack.schema_registry_url, *extra])
        return status, capsys.readouterr().out

    first = write(tmp_path, _rows(10), "csv", "v1")
    status, out = load(first)
    assert status == 0, out
    assert "10 upserts and 0 deletes" in out
    assert _end_offset(stack, topic) == 10
    accepted = next(p for p in reports.glob(f"{LIST}/*") if p.name in out)
    assert json.loads((accepted / "summary.json").read_text())["upserts"] == 10
    assert not (accepted / "gx").exists() and f"report: {accepted / 'report.html'}" in out

    # The same export again: nothing to publish.
    status, out = load(first)
    assert status == 0 and "0 upserts and 0 deletes" in out, out
    assert _end_offset(stack, topic) == 10

    # A changed export (JSON Lines): SV0000 gone, SV0001 changed, SV0010 new.
    rows = _rows(10)[1:] + _rows(1, start=10)
    rows[0]["severity"] = "99"
    status, out = load(write(tmp_path, rows, "jsonl", "v2"))
    assert status == 0 and "2 upserts and 1 deletes" in out, out
    assert _end_offset(stack, topic) == 13
    published = read_published(stack.bootstrap_servers, RegistryClient(stack.schema_registry_url), topic, prefix)
    assert sorted(published) == sorted(r["id"] for r in rows)
    assert published["SV0001"]["severity"] == 99 and published["SV0001"]["attributes"] == {"case": "PV-1"}
    assert published["SV0002"]["plate"] == "2ABC002" and published["SV0002"]["country"] == "BE"
    # and again, in another format, nothing
    status, out = load(write(tmp_path, rows, "parquet", "v2"))
    assert status == 0 and "0 upserts and 0 deletes" in out, out

    # A truncated export (Parquet, 3 of 10 rows) is refused by the row-count guard.
    status, out = load(write(tmp_path, rows[:3], "parquet", "truncated"))
    assert status == 1, out
    assert "REFUSED" in out and "row count within 30% of the 10 published entries" in out
    assert _end_offset(stack, topic) == 13
    report = next(p for p in reports.glob(f"{LIST}/*") if p.name in out)
    summary = json.loads((report / "summary.json").read_text())
    assert summary["accepted"] is False and summary["rows"] == 3 and summary["published_entries"] == 10
    assert f"report: {report / 'report.html'}" in out and "REFUSED" in (report / "report.html").read_text()

    # A file with a duplicate id and a bad date is refused; the failing rows are quarantined.
    bad = [dict(r) for r in rows]
    bad[4]["id"] = bad[3]["id"]
    bad[7]["from"] = "next tuesday"
    status, out = load(write(tmp_path, bad, "csv", "bad"))
    assert status == 1, out
    assert _end_offset(stack, topic) == 13
    quarantine = next(line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("quarantine: "))
    with open(quarantine, newline="") as lines:
        refused = list(csv.DictReader(lines))
    assert [(r["file_row"], r["id"]) for r in refused] == [("4", bad[3]["id"]), ("5", bad[3]["id"]), ("8", bad[7]["id"])]
    assert "unique" in refused[0]["refused_by"] and "date" in refused[2]["refused_by"]

    capsys.readouterr()
    assert main(["reference", "status", "--history", str(history)]) == 0
    status_out = capsys.readouterr().out
    assert f"{LIST}: 10 entries" in status_out
    assert "last load:" in status_out and "v2.parquet" in status_out
    assert "last refusal:" in status_out and "bad.csv" in status_out and "is unique" in status_out

    # --live counts the list in force on its topic, whoever published it: one more entry, by hand.
    publish(stack.bootstrap_servers, RegistryClient(stack.schema_registry_url), topic,
            Diff(upserts=({**published["SV0002"], "entry_id": "SV0099"},), deletes=()))
    assert main(["reference", "status", "--history", str(history), "--live", "--bootstrap-servers",
                 stack.bootstrap_servers, "--registry-url", stack.schema_registry_url]) == 0
    status_out = capsys.readouterr().out
    assert f"{LIST}: 10 entries" in status_out and f"on {topic} now: 11 entries" in status_out


def test_an_unknown_format_exits_2_and_names_the_known_ones(stack, tmp_path, capsys):
    path = tmp_path / "export.xlsx"
    path.write_text("x")
    status = main(["reference", "load", "--list", LIST, str(path), "--reports", str(tmp_path / "r"),
                   "--history", str(tmp_path / "h.json"), "--bootstrap-servers", stack.bootstrap_servers,
                   "--registry-url", stack.schema_registry_url])
    assert status == 2
    assert "known formats: csv, parquet, jsonl" in capsys.readouterr().err
    assert not (tmp_path / "h.json").exists()


def test_a_lez_status_export_publishes_admitted_as_an_attribute_and_dry_run_publishes_nothing(stack, new_topic, tmp_path, capsys):
    prefix = f"reftest{uuid.uuid4().hex[:8]}."
    topic = new_topic(name=f"{prefix}lez_vehicle_status", config={"cleanup.policy": "compact"})
    mapping = tmp_path / "feeds.yaml"
    mapping.write_text("feeds:\n  lez_vehicle_status:\n    columns: {entry_id: vid, admitted: euro_ok}\n    zones: [BXL, ANT]\n")
    rows = [{"vid": "S1", "plate": "1-abc-123", "zone": "BXL", "euro_ok": True},
            {"vid": "S2", "plate": "2XYZ999", "zone": None, "euro_ok": False}]
    common = ["--mapping", str(mapping), "--prefix", prefix, "--reports", str(tmp_path / "r"),
              "--history", str(tmp_path / "h.json"), "--bootstrap-servers", stack.bootstrap_servers,
              "--registry-url", stack.schema_registry_url]
    path = write(tmp_path, rows, "jsonl", "status")
    assert main(["reference", "load", "--list", "lez_vehicle_status", str(path), "--dry-run", *common]) == 0
    assert "would publish 2 upserts" in capsys.readouterr().out
    assert _end_offset(stack, topic) == 0 and not (tmp_path / "h.json").exists()

    assert main(["reference", "load", "--list", "lez_vehicle_status", str(path), *common]) == 0
    published = read_published(stack.bootstrap_servers, RegistryClient(stack.schema_registry_url), topic, prefix)
    assert {k: (v["plate"], v["zone"], v["attributes"]) for k, v in published.items()} == {
        "S1": ("1ABC123", "BXL", {"admitted": "true"}), "S2": ("2XYZ999", None, {"admitted": "false"})}

    rows[1]["zone"] = "LIEGE"
    capsys.readouterr()
    assert main(["reference", "load", "--list", "lez_vehicle_status", str(write(tmp_path, rows, "jsonl", "bad")), *common]) == 1
    assert "is a known zone: BXL, ANT: rows 2" in capsys.readouterr().out
    assert _end_offset(stack, topic) == 2


def test_a_list_that_is_neither_configured_mapped_nor_published_is_refused(stack, tmp_path, capsys):
    """A typo would otherwise start a new live alert list; --new-list creates one on purpose,
    and from then on the list is published and loads without it."""
    prefix = f"reftest{uuid.uuid4().hex[:8]}."
    path = write(tmp_path, [{"entry_id": "W1", "plate": "1-ABC-123"}], "csv", "vans")
    common = ["--prefix", prefix, "--reports", str(tmp_path / "r"), "--history", str(tmp_path / "h.json"),
              "--bootstrap-servers", stack.bootstrap_servers, "--registry-url", stack.schema_registry_url]
    capsys.readouterr()
    assert main(["reference", "load", "--list", "stolen_vehicle", str(path), *common]) == 2
    err = capsys.readouterr().err
    assert "no list 'stolen_vehicle'" in err and "did you mean 'stolen_vehicles'" in err and "--new-list" in err
    assert f"{prefix}stolen_vehicle" not in topic_names(stack.bootstrap_servers)

    assert main(["reference", "load", "--list", "wanted_vans", str(path), "--new-list", *common]) == 0
    assert "published 1 upserts" in capsys.readouterr().out
    assert main(["reference", "load", "--list", "wanted_vans", str(path), *common]) == 0


def test_an_absent_registry_is_one_line_naming_it(stack, tmp_path, capsys):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    registry = f"http://127.0.0.1:{port}/apis/ccompat/v7"
    path = write(tmp_path, [{"entry_id": "W1", "plate": "1-ABC-123"}], "csv", "sv")
    assert main(["reference", "load", "--list", LIST, str(path), "--history", str(tmp_path / "h.json"),
                 "--bootstrap-servers", stack.bootstrap_servers, "--registry-url", registry]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"no schema registry answers at {registry}" in err[0]
