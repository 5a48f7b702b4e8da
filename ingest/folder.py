"""A drop folder through a folder connector to the reads and dead-letter topics.

Convention: a writer drops `name.csv.part` (or any name the connector's
pattern does not match) and renames it to `name.csv` when it is complete; a
rename within one file system is atomic, so ingest never sees half a file.
Files are taken oldest first. Each file is read whole; once every record made
from it has been acknowledged by Kafka, it is moved to `processed/` in the
folder. A crash before the move reads the file again: its reads are produced
twice (at least once), which the hit job tolerates (hit ids derive from read ids).
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from connectors.sources.base import FolderConnector, RejectedPayload
from connectors.sources.canonical import canonical_read
from ingest.counters import IngestCounters, Progress
from ingest.loop import IngestLoop
from ingest.settings import IngestSettings
from ingest.writer import CanonicalWriter, SourcePosition


class FolderIngest(IngestLoop):
    connector: FolderConnector

    def __init__(self, settings: IngestSettings, connector: FolderConnector, writer: CanonicalWriter,
                 counters: IngestCounters, progress: Progress, stop: threading.Event):
        super().__init__(settings, connector, writer, counters, progress, stop)
        self.folder = Path(settings.folder)
        self.processed = self.folder / settings.processed_dir

    def waiting(self) -> list[Path]:
        """The complete files waiting in the folder, oldest first."""
        files = [p for p in self.folder.glob(self.connector.pattern) if p.is_file()]
        return sorted(files, key=lambda p: (p.stat().st_mtime_ns, p.name))

    def ingest_file(self, path: Path) -> bool:
        """Produce every payload of `path`, flush, move it to processed/. False when
        stopped half-way (the file stays, and is read again next time)."""
        for payload in self.connector.split(path):
            if self.stop.is_set():
                self.writer.flush()
                return False
            self.counters.payloads += 1
            try:
                record = canonical_read(self.connector, payload.payload, payload.raw)
            except RejectedPayload as rejected:
                self.writer.dead_letter(rejected, SourcePosition(offset=payload.line, file=path.name))
            else:
                self.writer.read(record)
            self.writer.poll()
            self.progress.tick()
        self.writer.flush()
        self._move(path)
        self.counters.files += 1
        return True

    def _move(self, path: Path) -> None:
        self.processed.mkdir(exist_ok=True)
        target = self.processed / path.name
        if target.exists():  # the same name dropped again: keep both
            stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
            target = self.processed / f"{path.name}.{stamp}"
        path.replace(target)

    def run(self) -> None:
        if not self.folder.is_dir():
            raise FileNotFoundError(f"no drop folder {self.folder}")
        last_file = time.monotonic()
        while not self.stop.is_set():
            files = self.waiting()
            for path in files:
                if self.stop.is_set() or not self.ingest_file(path):
                    break
                last_file = time.monotonic()
            self.progress.tick()
            if self.settings.once:
                break
            if self.settings.max_idle_s is not None and time.monotonic() - last_file >= self.settings.max_idle_s:
                break
            if not files:
                self.stop.wait(self.settings.scan_interval_s)
