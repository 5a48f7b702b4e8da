"""What every ingest loop holds: its settings, connector, writer, counters, progress
line and stop signal."""

from __future__ import annotations

import threading

from connectors.sources.base import ReadConnector
from ingest.counters import IngestCounters, Progress
from ingest.settings import IngestSettings
from ingest.writer import CanonicalWriter


class IngestLoop:
    """Base of `TopicIngest` and `FolderIngest`; `run()` runs until `stop` is set or
    the input is drained or idle (see `IngestSettings`)."""

    def __init__(self, settings: IngestSettings, connector: ReadConnector, writer: CanonicalWriter,
                 counters: IngestCounters, progress: Progress, stop: threading.Event):
        self.settings = settings
        self.connector = connector
        self.writer = writer
        self.counters = counters
        self.progress = progress
        self.stop = stop

    def run(self) -> None:
        raise NotImplementedError
