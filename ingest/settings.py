"""Typed settings of one `feblam ingest` process; conflicting options are refused here,
at start-up, never half-way through a batch."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from connectors.contracts import feed


class IngestSettingsError(ValueError):
    """Options that cannot work together (e.g. a folder connector given a topic)."""


@dataclass(frozen=True)
class IngestSettings:
    """Where one ingest process reads, where it writes, and when it stops.

    Exactly one of `topics` (vendor topics, for a topic connector) and `folder`
    (a drop folder, for a folder connector). `group_id` defaults to
    `feblam-ingest.<connector>`: processes sharing it share the vendor topics'
    partitions. `once` stops when the input is drained (every assigned
    partition at its end; every file present at start-up processed);
    `max_idle_s` stops after that long without a payload. `commit_interval_s`
    is how often produced records are flushed and the consumed offsets
    committed; a crash repeats at most that much (at least once).
    """

    connector: str
    bootstrap_servers: str
    registry_url: str
    topics: tuple[str, ...] = ()
    folder: Path | None = None
    reads_topic: str = feed("reads").default_topic
    dead_letter_topic: str = feed("dead-letter").default_topic
    group_id: str | None = None
    once: bool = False
    max_idle_s: float | None = None
    progress_s: float = 5.0
    commit_interval_s: float = 1.0
    scan_interval_s: float = 1.0
    processed_dir: str = "processed"
    options: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if bool(self.topics) == (self.folder is not None):
            raise IngestSettingsError("give vendor topics (--topic) or a drop folder (--folder), not both or neither")
        if self.reads_topic == self.dead_letter_topic:
            raise IngestSettingsError("the reads topic and the dead-letter topic must differ")
        if set(self.topics) & {self.reads_topic, self.dead_letter_topic}:
            raise IngestSettingsError("a vendor topic cannot be the reads or the dead-letter topic")
        if self.max_idle_s is not None and self.max_idle_s <= 0:
            raise IngestSettingsError("--max-idle-s must be positive")
        if self.commit_interval_s <= 0 or self.progress_s <= 0 or self.scan_interval_s <= 0:
            raise IngestSettingsError("intervals must be positive")

    @property
    def consumer_group(self) -> str:
        return self.group_id or f"feblam-ingest.{self.connector}"
