"""The ingest stage without Kafka: settings, the drop-folder loop with an in-memory writer,
positions and counters."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest

from connectors.sources.csv_folder import CsvFolderReads
from ingest.counters import IngestCounters, Progress
from ingest.folder import FolderIngest
from ingest.settings import IngestSettings, IngestSettingsError
from ingest.writer import DeliveryError, SourcePosition

HEADER = b"read_id,camera_id,event_time,plate,confidence\n"


class MemoryWriter:
    """Stands in for CanonicalWriter: keeps what would be produced; `flushed` is what
    Kafka acknowledged. `fail_flush` makes the next flush fail like a refused record."""

    def __init__(self, counters: IngestCounters):
        self.counters = counters
        self.pending: list = []
        self.flushed: list = []
        self.fail_flush = False

    def read(self, record):
        self.pending.append(("read", record["read_id"]))
        self.counters.reads += 1

    def dead_letter(self, rejected, position):
        self.pending.append(("dead", rejected.reason, rejected.raw, position))
        self.counters.dead_letters[rejected.reason] += 1

    def poll(self):
        pass

    def flush(self):
        if self.fail_flush:
            raise DeliveryError("Kafka refused 1 record(s)")
        self.flushed += self.pending
        self.pending = []


def settings(folder: Path, **changes) -> IngestSettings:
    return IngestSettings(connector="csv-folder", bootstrap_servers="unused", registry_url="unused",
                          folder=folder, **changes)


def folder_ingest(folder: Path, stop: threading.Event | None = None, **changes):
    counters = IngestCounters()
    writer = MemoryWriter(counters)
    ingest = FolderIngest(settings(folder, **changes), CsvFolderReads(), writer, counters,
                          Progress(counters, "csv-folder", 60, io.StringIO()), stop or threading.Event())
    return ingest, writer, counters


def test_settings_refuse_conflicts(tmp_path):
    with pytest.raises(IngestSettingsError, match="not both or neither"):
        IngestSettings(connector="x", bootstrap_servers="b", registry_url="r")
    with pytest.raises(IngestSettingsError, match="not both or neither"):
        IngestSettings(connector="x", bootstrap_servers="b", registry_url="r", topics=("t",), folder=tmp_path)
    with pytest.raises(IngestSettingsError, match="must differ"):
        IngestSettings(connector="x", bootstrap_servers="b", registry_url="r", topics=("t",), reads_topic="d",
                       dead_letter_topic="d")
    with pytest.raises(IngestSettingsError, match="cannot be the reads"):
        IngestSettings(connector="x", bootstrap_servers="b", registry_url="r", topics=("plate-reads",))
    assert IngestSettings(connector="vendor-json", bootstrap_servers="b", registry_url="r",
                          topics=("t",)).consumer_group == "feblam-ingest.vendor-json"


def test_a_complete_file_is_produced_then_moved(tmp_path):
    (tmp_path / "a.csv").write_bytes(HEADER + b"R1,C,2026-03-01T08:15:02+01:00,AB1,0.5\n,,,,\nR3,C,2026-03-01T08:15,AB3,0.5\n")
    (tmp_path / "b.csv.part").write_bytes(HEADER + b"R9,C,2026-03-01T08:15:02Z,AB9,0.5\n")  # still being written
    ingest, writer, counters = folder_ingest(tmp_path, once=True)
    ingest.run()
    assert writer.flushed[0] == ("read", "R1")
    assert [(d[1], d[2], d[3]) for d in writer.flushed[1:]] == [
        ("MALFORMED", b",,,,", SourcePosition(offset=3, file="a.csv")),
        ("BAD_TIMESTAMP", b"R3,C,2026-03-01T08:15,AB3,0.5", SourcePosition(offset=4, file="a.csv")),
    ]
    assert (tmp_path / "processed" / "a.csv").is_file() and not (tmp_path / "a.csv").exists()
    assert (tmp_path / "b.csv.part").is_file()
    assert counters.files == 1 and counters.payloads == 3


def test_a_file_whose_records_kafka_refused_stays_for_the_next_run(tmp_path):
    (tmp_path / "a.csv").write_bytes(HEADER + b"R1,C,2026-03-01T08:15:02Z,AB1,0.5\n")
    ingest, writer, _ = folder_ingest(tmp_path, once=True)
    writer.fail_flush = True
    with pytest.raises(DeliveryError):
        ingest.run()
    assert (tmp_path / "a.csv").is_file() and not (tmp_path / "processed" / "a.csv").exists()


def test_a_stop_half_way_leaves_the_file_in_place(tmp_path):
    (tmp_path / "a.csv").write_bytes(HEADER + b"R1,C,2026-03-01T08:15:02Z,AB1,0.5\n")
    stop = threading.Event()
    stop.set()
    ingest, writer, _ = folder_ingest(tmp_path, stop=stop)
    assert ingest.ingest_file(tmp_path / "a.csv") is False
    assert (tmp_path / "a.csv").is_file() and writer.flushed == []


def test_the_same_name_dropped_twice_keeps_both_in_processed(tmp_path):
    ingest, _, counters = folder_ingest(tmp_path, once=True)
    for _ in range(2):
        (tmp_path / "a.csv").write_bytes(HEADER + b"R1,C,2026-03-01T08:15:02Z,AB1,0.5\n")
        ingest.run()
    assert counters.files == 2
    assert len(list((tmp_path / "processed").iterdir())) == 2


def test_files_are_taken_oldest_first_and_idle_stops(tmp_path):
    import os

    for name, mtime in (("new.csv", 2_000_000_000), ("old.csv", 1_000_000_000)):
        (tmp_path / name).write_bytes(HEADER + f"{name},C,2026-03-01T08:15:02Z,AB1,0.5\n".encode())
        os.utime(tmp_path / name, (mtime, mtime))
    ingest, writer, _ = folder_ingest(tmp_path, max_idle_s=0.2, scan_interval_s=0.05)
    ingest.run()  # returns once nothing new came for 0.2 s
    assert [r[1] for r in writer.flushed] == ["old.csv", "new.csv"]


def test_positions_and_progress():
    assert SourcePosition("vigilant.reads", 2, 41).key == b"vigilant.reads/2/41"
    assert SourcePosition(offset=7, file="gent.csv").key == b"gent.csv:7"
    counters = IngestCounters(payloads=5, reads=3, files=1)
    counters.dead_letters.update({"MALFORMED": 1, "BAD_TIMESTAMP": 1})
    out = io.StringIO()
    clock = iter([0.0, 1.0, 10.0, 10.0]).__next__
    progress = Progress(counters, "csv-folder", 5.0, out, clock)
    progress.tick()
    assert out.getvalue() == ""
    progress.tick()
    assert out.getvalue() == ("ingest csv-folder: 5 payload(s), 3 read(s), 2 dead letter(s) "
                              "(BAD_TIMESTAMP 1, MALFORMED 1), 1 file(s) done\n")
