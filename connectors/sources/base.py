"""The read-connector interface: one vendor payload in, one canonical plate read out.

A *read connector* turns what a camera vendor sends into the fields of
`schemas/PlateRead.avsc`, or refuses it with a `RejectedPayload`. It does no
I/O of its own: `feblam ingest` reads the payloads (Kafka message values, or
the rows of the files in a drop folder), calls `decode`, validates the result
exactly as the hit-generation job does (`udfs.validation.validate_read`), and
writes canonical reads or dead letters. So a connector is pure, small, and
tested on sample files alone (`connectors.testkit`).

Two kinds:
- `TopicConnector` ("topic"): each Kafka message value is one payload.
- `FolderConnector` ("folder"): files dropped in a folder; `split` cuts one
  file into payloads, each with the bytes a dead letter keeps (`raw`, e.g. the
  file's line) and the bytes `decode` takes (`payload`, which may carry context
  such as the file's header row).

Connectors are found through the Python entry-point group
`feblam.read_connectors` (see `connectors.sources.discovery` and
docs/adding-a-connector.md): the entry point's name is the connector's name,
its object is the connector class (called with a `ConnectorContext`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Iterator

from udfs.validation import BAD_CONFIDENCE, BAD_TIMESTAMP, EMPTY_PLATE, MALFORMED, PLATE_TOO_LONG

# The dead-letter reasons of spec §3; a connector should use these where one fits
# (a payload that does not parse is MALFORMED, a time without an offset BAD_TIMESTAMP,
# a confidence outside its range BAD_CONFIDENCE) so that dead letters from ingest and
# from the job are counted and replayed alike.
REASONS = (MALFORMED, BAD_TIMESTAMP, EMPTY_PLATE, PLATE_TOO_LONG, BAD_CONFIDENCE)

TOPIC = "topic"
FOLDER = "folder"


class RejectedPayload(ValueError):
    """A payload that does not make a plate read; it goes to the dead-letter topic.

    `reason` is one word in capitals, preferably one of `REASONS`; `detail`
    says what exactly was wrong, for a person; `raw` is the payload exactly as
    received, never re-encoded, so the dead letter can be replayed; `read_id`
    is the read's id when it could be read.
    """

    def __init__(self, reason: str, detail: str, raw: bytes, read_id: str | None = None):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.raw = raw
        self.read_id = read_id


class ConnectorError(RuntimeError):
    """A connector misbehaved (returned fields that are not a PlateRead's, or raised
    something other than `RejectedPayload`): a bug to fix, never a dead letter."""


@dataclass(frozen=True)
class ConnectorContext:
    """What a connector may need from where it runs.

    `registry` is a `connectors.registry.RegistryClient` (or anything with its
    `schema(id)` method), for connectors that decode registered Avro; `options`
    are the connector's own settings (`feblam ingest --option KEY=VALUE`).
    """

    registry: Any = None
    options: dict[str, str] = field(default_factory=dict)


class ReadConnector(ABC):
    """One vendor read format. Subclass `TopicConnector` or `FolderConnector`.

    Class attributes, shown by `feblam connectors list`: `name` (the name the
    entry point registers), `kind` ("topic" or "folder") and `description`
    (one line: the vendor and the format).

    Contract of `decode(payload)`: return a dict of PlateRead fields
    (`read_id`, `camera_id`, `event_time` as epoch milliseconds UTC or as
    ISO-8601 text with its UTC offset, `plate_text` untouched, `plate_country`, `ocr_confidence` in [0, 1], and
    any of `make`, `colour`, `vehicle_type`, `image_ref`, `source`; absent
    optional fields are null), or raise `RejectedPayload`. Never return a field
    the contract does not have. It must not keep state between payloads: ingest
    may call it from any process, in any order, more than once for one payload.
    """

    name: ClassVar[str] = ""
    kind: ClassVar[str] = TOPIC
    description: ClassVar[str] = ""

    def __init__(self, context: ConnectorContext | None = None):
        self.context = context or ConnectorContext()

    @abstractmethod
    def decode(self, payload: bytes) -> dict:
        """The PlateRead fields of `payload`; raises `RejectedPayload`."""


class TopicConnector(ReadConnector):
    """A connector whose payloads are Kafka message values (`feblam ingest --topic`)."""

    kind: ClassVar[str] = TOPIC


@dataclass(frozen=True)
class FilePayload:
    """One payload cut from a dropped file.

    `line` is its 1-based line number in the file (the dead letter's position),
    `raw` the bytes a dead letter keeps (the line, without its line ending), and
    `payload` what `decode` is given.
    """

    line: int
    raw: bytes
    payload: bytes


class FolderConnector(ReadConnector):
    """A connector for files dropped in a folder (`feblam ingest --folder`).

    `pattern` is the glob of the files it takes (e.g. "*.csv"); a file is taken
    only under its final name, so writers write `name.csv.part` and rename it
    when complete (a rename is atomic within one file system).
    """

    kind: ClassVar[str] = FOLDER
    pattern: ClassVar[str] = "*"

    @abstractmethod
    def split(self, path: Path) -> Iterator[FilePayload]:
        """The payloads of the file at `path`, in file order. A line that carries
        no read (a header, a blank line) yields nothing."""
