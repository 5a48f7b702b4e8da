"""The hit-generation job on Kafka, submitted to the standalone cluster: the spec's
data set produced as Avro through the real registry, hits and dead letters
consumed back and checked hit by hit, at parallelism 1 and 2; then a tombstone on
a reference topic stops a hit and a new entry makes one, while the job runs."""

from __future__ import annotations

import math
import time

import duckdb
import pytest

import schemas
from connectors.avro import AvroDecoder
from feblam.cli import main
from feblam.stack.settings import StackSettings

from .conftest import consume_all
from .hitjob import RECORDED_DATA, Feeds, assert_no_restart, cancel, decoded, hits, submit, wait_running
from .test_embedded_spec import CAMERAS, CASES, REFERENCE, expected_hits, expected_refusals, expected_sightings

LEFT_OVER = "_left_over"  # bytes appended to a read's encoded value
BAD_KAFKA_READS = [
    ("MALFORMED", None, b"not avro at all"),
    ("MALFORMED", None, b"\x00\x00\x0f\x42\x3f" + b"\x02"),  # wire format, but no schema 999999
    ("EMPTY_PLATE", "K3", {"read_id": "K3", "camera_id": "CAM-A", "event_time": "2026-03-01T08:00:00Z", "plate_text": "- -", "plate_country": None, "ocr_confidence": 0.9}),
    ("PLATE_TOO_LONG", "K4", {"read_id": "K4", "camera_id": "CAM-A", "event_time": "2026-03-01T08:00:00Z", "plate_text": "ABCDEFGHIJKLM", "plate_country": None, "ocr_confidence": 0.9}),
    ("BAD_CONFIDENCE", "K5", {"read_id": "K5", "camera_id": "CAM-A", "event_time": "2026-03-01T08:00:00Z", "plate_text": "1ABC123", "plate_country": None, "ocr_confidence": 1.5}),
    ("BAD_CONFIDENCE", "K6", {"read_id": "K6", "camera_id": "CAM-A", "event_time": "2026-03-01T08:00:00Z", "plate_text": "1ABC123", "plate_country": None, "ocr_confidence": math.nan}),
    # Larger than Kafka's default record limit: its dead letter, which keeps it whole, would
    # not fit a dead-letter topic of the default size; the job makes room at submission.
    ("PLATE_TOO_LONG", "K8", {"read_id": "K8", "camera_id": "CAM-A", "event_time": "2026-03-01T08:00:00Z", "plate_text": "A" * 1_500_000, "plate_country": None, "ocr_confidence": 0.9}),
    ("MALFORMED", None, None),  # no value at all: a null message
    ("MALFORMED", None, b""),   # an empty one, told apart by its detail
    # A valid read with a byte after it: spec §3 decodes exactly or not at all.
    ("MALFORMED", None, {"read_id": "K7", "camera_id": "CAM-A", "event_time": "2026-03-01T08:00:00Z", "plate_text": "1ABC123", "plate_country": None, "ocr_confidence": 0.9, LEFT_OVER: b"\x00"}),
]
# Updates a reference topic must refuse: the topic decides the list, the key names the entry.
BAD_KAFKA_ENTRIES = [
    ("WRONG_LIST", "W1", b"W1", {"list_name": "judicial_alerts", "entry_id": "W1", "op": "UPSERT", "plate": "8WRO888"}),
    ("KEY_MISMATCH", "W2", b"NOT-W2", {"list_name": "stolen_vehicles", "entry_id": "W2", "op": "UPSERT", "plate": "8KEY888"}),
]


def _send_bad_read(feeds, payload) -> None:
    if payload is None or isinstance(payload, bytes):
        feeds.raw_read(payload)
    elif LEFT_OVER in payload:
        read = {k: v for k, v in payload.items() if k != LEFT_OVER}
        feeds.raw_read(feeds.encoded_read(read) + payload[LEFT_OVER])
    else:
        feeds.read(payload)


def _history_ids(root, table: str, column: str, expected: int, timeout_s: float = 60) -> list[str]:
    deadline = time.monotonic() + timeout_s
    ids: list[str] = []
    while time.monotonic() < deadline:
        if list(root.glob(f"{table}/**/part-*")):
            ids = sorted(row[0] for row in duckdb.connect().execute(
                f"SELECT {column} FROM read_parquet('{root}/{table}/**/part-*', hive_partitioning = true)").fetchall())
            if len(ids) >= expected:
                break
        time.sleep(2)
    return ids


FIELDS = ("hit_id", "read_id", "list_name", "entry_id", "match_kind", "substitutions", "zone", "score", "priority")


@pytest.mark.parametrize("parallelism, snapshot", [(1, False), (2, False), (2, True)],
                         ids=["p1", "p2", "p2-from-a-snapshot"])
def test_kafka_job_end_to_end(stack, new_topic, parallelism, snapshot, tmp_path, capsys):
    feeds = Feeds(stack, new_topic, {e["list_name"] for e in REFERENCE} | {"late_list"})
    # Reference lists and cameras are on Kafka before the job starts; reads follow at once,
    # so the job must hold them back until every list is loaded (spec §8).
    for camera in CAMERAS:
        feeds.camera(camera)
    half = len(REFERENCE) // 2
    for entry in REFERENCE[:half]:
        feeds.entry(entry)
    for _, _, key, entry in BAD_KAFKA_ENTRIES:
        feeds.raw_entry("stolen_vehicles", key, entry)
    extra, taken = [], ""
    if snapshot:
        # The same outputs from a start-up snapshot of half the updates (refusals among
        # them) and the topics after it, as from the topics alone.
        feeds.flush()
        snapshots = tmp_path / "snapshots"
        assert main(["reference", "snapshot", "--to", str(snapshots), "--prefix", feeds.prefix,
                     "--cameras-topic", feeds.cameras, "--bootstrap-servers", stack.bootstrap_servers,
                     "--registry-url", stack.schema_registry_url]) == 0
        taken = capsys.readouterr().out
        assert f" in {snapshots}: " in taken and f", {len(BAD_KAFKA_ENTRIES)} refused records" in taken
        extra = ["--reference-snapshots", str(snapshots)]
    for entry in REFERENCE[half:]:
        feeds.entry(entry)
    feeds.flush()
    history = tmp_path / "history"
    job_id = submit(stack, feeds, "--parallelism", str(parallelism), "--history", str(history), *RECORDED_DATA,
                    *extra)
    try:
        for read, _ in CASES:
            feeds.read(read)
        for _, _, payload in BAD_KAFKA_READS:
            _send_bad_read(feeds, payload)
        feeds.flush()

        expected = [{k: h[k] for k in FIELDS} for h in expected_hits()]
        got = hits(stack, feeds, len(expected))
        assert sorted(({k: h[k] for k in FIELDS} for h in got), key=lambda h: h["hit_id"]) == expected

        # Spec §7 on Kafka: every read folded into a hit is an event, with the count so far;
        # the last count of each hit is the file mode's `sightings` for it.
        events = decoded(stack, feeds, feeds.sightings, "HitSighting", len(expected_sightings()))
        assert sorted((e["hit_id"], e["read_id"], e["sightings"]) for e in events) == expected_sightings()
        by_key = {h["hit_id"]: h["dedup_key"] for h in got}
        assert all(by_key[e["hit_id"]] == e["dedup_key"] for e in events)

        wanted = expected_refusals() + [(reason, entry_id) for reason, entry_id, _, _ in BAD_KAFKA_ENTRIES]
        refusals = decoded(stack, feeds, feeds.refusals, "ReferenceRefusal", len(wanted))
        assert sorted((r["reason"], r["original"] and feeds.entry_id_of(r["original"])) for r in refusals) == \
            sorted(wanted)
        assert all(r["source_topic"].startswith(feeds.prefix) and r["source_offset"] >= 0 for r in refusals)
        # ... and `feblam reference status --live` shows them from that topic, by reason and position.
        capsys.readouterr()
        assert main(["reference", "status", "--live", "--history", str(tmp_path / "no-loads.json"),
                     "--refusals-topic", feeds.refusals, "--bootstrap-servers", stack.bootstrap_servers,
                     "--registry-url", stack.schema_registry_url]) == 0
        shown = capsys.readouterr().out
        refused_topic = feeds.topics["judicial_alerts"]
        assert f"refused by the hit job ({feeds.refusals}): {len(wanted)} update(s)" in shown
        assert f"  {refused_topic}: 1" in shown and "BAD_WILDCARD (reference)" in shown
        assert f"  {feeds.topics['stolen_vehicles']}: {len(BAD_KAFKA_ENTRIES)}" in shown
        assert "*A*B*" not in shown  # the record itself is not printed

        dead_decoder = AvroDecoder(feeds.registry, schemas.load("DeadLetter"))
        dead = [dead_decoder.decode(m.value()) for m in consume_all(stack.bootstrap_servers, feeds.dead, len(BAD_KAFKA_READS), 60)]
        assert sorted((d["reason"], d["read_id"] or "") for d in dead) == sorted((r, i or "") for r, i, _ in BAD_KAFKA_READS)
        raw_bad = {p for _, _, p in BAD_KAFKA_READS if isinstance(p, bytes)}
        assert raw_bad <= {d["original"] for d in dead}
        assert max(len(d["original"]) for d in dead) > 1_500_000   # K8, whole
        details = [d["detail"] for d in dead]
        assert any("null" in d for d in details) and any("empty value" in d for d in details)
        assert any("1 byte(s) left over" in d for d in details)
        assert all(d["source_topic"] == feeds.reads and d["source_offset"] is not None for d in dead)

        # While the job runs: a tombstone stops a hit; an entry on a list that was empty
        # at start makes one.
        feeds.producer.produce(feeds.topics["insurance_expired"], key=b"I1", value=None)
        feeds.entry({"list_name": "late_list", "entry_id": "N1", "op": "UPSERT", "plate": "7NEW777"})
        feeds.flush()
        time.sleep(3)
        feeds.read({"read_id": "T1", "camera_id": "CAM-A", "event_time": "2026-03-05T08:00:00Z", "plate_text": "4NOP444", "plate_country": "B", "ocr_confidence": 1.0})
        feeds.read({"read_id": "T2", "camera_id": "CAM-A", "event_time": "2026-03-05T08:00:00Z", "plate_text": "7NEW777", "plate_country": "B", "ocr_confidence": 1.0})
        feeds.flush()
        # Wait for one more hit than expected, so a hit that should not be there shows up.
        later = hits(stack, feeds, len(expected) + 2, 30)
        new = [h for h in later if h["read_id"] in ("T1", "T2")]
        assert [(h["read_id"], h["list_name"], h["entry_id"]) for h in new] == [("T2", "late_list", "N1")]

        # The Parquet history, queried with DuckDB while the job runs (files appear at checkpoints).
        valid_reads = sorted([r["read_id"] for r, _ in CASES] + ["T1", "T2"])
        assert _history_ids(history, "reads", "read_id", len(valid_reads)) == valid_reads
        assert _history_ids(history, "hits", "hit_id", len(expected) + 1) == sorted({h["hit_id"] for h in later})

        # The operator's commands answer in one line: what was done, or why not.
        jobs = ["jobs", "--flink-url", stack.flink_rest_url]
        capsys.readouterr()
        assert main([*jobs, "cancel", job_id]) == 0
        assert f"cancelled {job_id} (" in capsys.readouterr().out
        assert main([*jobs, "cancel", job_id]) == 1
        assert capsys.readouterr().err.strip().endswith("has already ended: CANCELED")
        assert main([*jobs, "stop", job_id]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "is CANCELED: only a RUNNING job can be stopped" in err[0]
        assert main([*jobs, "stop", "0" * 32]) == 2
        assert f"no job {'0' * 32} on the cluster" in capsys.readouterr().err

        # Plates are personal data: no log of the stack names one of this run's.
        assert _logs_naming(_spec_plates()) == {}
        if snapshot:   # the job did start from it
            loaded = f"reference snapshot {taken.split()[1]} loaded"
            assert len(_logs_naming({loaded})) >= 1, loaded
    finally:
        cancel(stack, job_id)


def _spec_plates() -> set[str]:
    """The spec data set's plates as written and in canonical form: the ones long
    enough not to turn up in a log by chance (a class name, an id)."""
    from udfs.normalise import canon

    written = {r["plate_text"] for r, _ in CASES if isinstance(r.get("plate_text"), str)}
    written |= {e["plate"] for e in REFERENCE if e.get("plate")}
    plates = written | {canon(p) for p in written}
    return {p for p in plates if len(p) >= 6 and any(c.isdigit() for c in p) and any(c.isalpha() for c in p)
            and "*" not in p and "?" not in p}


def _logs_naming(plates: set[str]) -> dict[str, list[str]]:
    """{log file: the plates it names} over every log of the stack."""
    found = {}
    for path in sorted(StackSettings.current().log_dir.rglob("*")):
        if path.is_file():
            text = path.read_text(errors="replace")
            named = sorted(p for p in plates if p in text)
            if named:
                found[path.name] = named
    return found


def test_a_valid_read_as_large_as_its_topic_takes_gives_its_hit_without_a_restart(stack, new_topic):
    """Spec §3: a single read never restarts the job. A read of 1.9 MB whose plate is
    short once canonical is valid, and its hit carries its plate_text whole: the job
    makes its hits topic take a read and a list entry of the largest sizes their topics take."""
    feeds = Feeds(stack, new_topic, {"stolen_vehicles"})
    feeds.entry({"list_name": "stolen_vehicles", "entry_id": "S1", "op": "UPSERT", "plate": "1BIG123"})
    feeds.flush()
    job_id = submit(stack, feeds)
    try:
        wait_running(stack, job_id)
        plate_text = "1-BIG-123" + " " * 1_900_000
        feeds.read({"read_id": "BIG1", "camera_id": "CAM-A", "event_time": "2026-03-05T08:00:00Z",
                    "plate_text": plate_text, "plate_country": "B", "ocr_confidence": 1.0})
        feeds.flush()
        [hit] = hits(stack, feeds, 1)
        assert (hit["read_id"], hit["entry_id"], hit["plate"], hit["plate_text"] == plate_text) == \
            ("BIG1", "S1", "1BIG123", True)
        assert_no_restart(stack, job_id)
    finally:
        cancel(stack, job_id)
