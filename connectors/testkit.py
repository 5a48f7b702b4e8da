"""The connector test kit: sample payloads and the reads (or refusals) they must give.

A data engineer writes sample payloads of a vendor format in a folder, with,
beside each, what FEBLAM must make of it; the kit runs every payload through
the connector and the same validation `feblam ingest` applies
(`connectors.sources.canonical_read`) and reports every case that differs.

Folder layout (the connector's kind decides what a sample file is):

    samples/
      good-summer-time.json              a payload: one Kafka message value (topic connectors),
      good-summer-time.expected.jsonl    or a dropped file (folder connectors; files matching
      no-offset.json                     the connector's pattern, e.g. *.csv)
      no-offset.expected.jsonl

`NAME.expected.jsonl` holds one JSON object per payload of `NAME.*`, in order
(one for a Kafka payload, one per data row for a file):

    {"read": {"read_id": "VG-1", "camera_id": "ANPR-BRU-0001",
              "event_time": "2026-03-01T07:15:02.120Z", "plate_text": "1-ABC-123",
              "plate_country": "B", "ocr_confidence": 0.875}}
    {"rejected": "BAD_TIMESTAMP", "detail": "no UTC offset", "line": 3}

A `read` names the PlateRead fields it expects; a field it leaves out must be
null, except `source`, compared only when given. `event_time` may be epoch
milliseconds or ISO-8601 text with an offset. A `rejected` names the reason;
`detail` (a piece of the detail text) and `line` (the payload's line in its
file) are checked when given. Files starting with `.` or `README` are ignored.

Offline, Avro payloads are decoded with `OfflineRegistry`, which knows
FEBLAM's PlateRead contract under schema id 1; pass a context with a real
registry client to check against one.

From pytest: `assert_samples("vendor-json", Path("tests/data/connectors/vendor-json"))`.
From the shell: `feblam connectors check vendor-json tests/data/connectors/vendor-json`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import schemas
from connectors.registry import SchemaNotFoundError
from connectors.sources.base import (
    ConnectorContext,
    ConnectorError,
    FilePayload,
    FolderConnector,
    ReadConnector,
    RejectedPayload,
)
from connectors.sources.canonical import FIELDS, canonical_read
from udfs.instant import BadInstant, format_instant, parse_instant

EXPECTED_SUFFIX = ".expected.jsonl"
OFFLINE_SCHEMA_IDS = {1: "PlateRead"}


class OfflineRegistry:
    """Stands in for the schema registry when checking samples: schema id 1 is
    FEBLAM's PlateRead contract, any other id is unknown (HTTP 404)."""

    def schema(self, schema_id: int) -> dict:
        if schema_id not in OFFLINE_SCHEMA_IDS:
            raise SchemaNotFoundError(f"no schema with id {schema_id} offline (known: {sorted(OFFLINE_SCHEMA_IDS)})",
                                      404, 40403)
        return schemas.load(OFFLINE_SCHEMA_IDS[schema_id])


@dataclass(frozen=True)
class Mismatch:
    """One payload whose outcome differs from its expectation."""

    case: str
    line: int | None
    problem: str

    def __str__(self) -> str:
        where = f"{self.case} line {self.line}" if self.line is not None else self.case
        return f"{where}: {self.problem}"


@dataclass
class CheckReport:
    """What `check_samples` found: the sample files, the payloads in them, and the mismatches."""

    connector: str
    folder: Path
    cases: int = 0
    payloads: int = 0
    reads: int = 0
    rejected: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.cases > 0 and not self.mismatches

    def summary(self) -> str:
        head = (f"{self.connector}: {self.cases} sample file(s), {self.payloads} payload(s) "
                f"({self.reads} read(s), {self.rejected} rejected) in {self.folder}")
        if self.cases == 0:
            return head + "\nno samples found"
        if not self.mismatches:
            return head + "\nevery payload gives what its expectation says"
        return "\n".join([head, f"{len(self.mismatches)} mismatch(es):"] + [f"  {m}" for m in self.mismatches])


def _connector(connector: str | ReadConnector | type, context: ConnectorContext | None) -> ReadConnector:
    context = context or ConnectorContext(registry=OfflineRegistry())
    if isinstance(connector, ReadConnector):
        return connector
    if isinstance(connector, type):
        return connector(context)
    from connectors.sources.discovery import discover

    return discover().get(connector).create(context)


def _payloads(connector: ReadConnector, path: Path) -> list[FilePayload]:
    if isinstance(connector, FolderConnector):
        return list(connector.split(path))
    raw = path.read_bytes()
    return [FilePayload(1, raw, raw)]


def _sample_files(connector: ReadConnector, folder: Path) -> list[Path]:
    pattern = connector.pattern if isinstance(connector, FolderConnector) else "*"
    return sorted(
        p for p in folder.glob(pattern)
        if p.is_file() and not p.name.endswith(EXPECTED_SUFFIX)
        and not p.name.startswith((".", "README"))
    )


def _expectation_file(sample: Path) -> Path:
    stem = sample.name.rsplit(".", 1)[0] if "." in sample.name else sample.name
    return sample.with_name(stem + EXPECTED_SUFFIX)


def _expectations(path: Path) -> list[dict]:
    expected = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as error:
            raise ValueError(f"{path} line {number} is not JSON: {error}") from None
        if not isinstance(value, dict) or ("read" in value) == ("rejected" in value):
            raise ValueError(f"{path} line {number}: give exactly one of \"read\" and \"rejected\"")
        expected.append(value)
    return expected


def _time(value: Any) -> Any:
    try:
        return parse_instant(value)
    except BadInstant:
        return value


def _show(name: str, value: Any) -> str:
    if name == "event_time" and isinstance(value, int):
        return f"{value} ({format_instant(value)})"
    return repr(value)


def _compare_read(expected: dict, actual: dict) -> list[str]:
    problems = []
    unknown = sorted(set(expected) - set(FIELDS))
    if unknown:
        problems.append(f"the expectation names fields PlateRead does not have: {unknown}")
    for name in FIELDS:
        if name == "source" and name not in expected:
            continue
        want = expected.get(name)
        if name == "event_time":
            want = _time(want)
        got = actual.get(name)
        same = (math.isclose(want, got, rel_tol=0, abs_tol=1e-9)
                if name == "ocr_confidence" and isinstance(want, (int, float)) and isinstance(got, float)
                else want == got)
        if not same:
            problems.append(f"{name} expected {_show(name, want)}, got {_show(name, got)}")
    return problems


def _outcome(connector: ReadConnector, payload: FilePayload) -> dict | RejectedPayload | ConnectorError:
    try:
        return canonical_read(connector, payload.payload, payload.raw)
    except (RejectedPayload, ConnectorError) as outcome:
        return outcome


def _compare(expected: dict, outcome: Any, payload: FilePayload) -> list[str]:
    problems = []
    if "line" in expected and expected["line"] != payload.line:
        problems.append(f"expected at line {expected['line']}, the payload is at line {payload.line}")
    if isinstance(outcome, ConnectorError):
        return problems + [f"the connector broke its contract: {outcome}"]
    if "read" in expected:
        if isinstance(outcome, RejectedPayload):
            return problems + [f"expected a read, got rejected {outcome.reason}: {outcome.detail}"]
        return problems + _compare_read(expected["read"], outcome)
    if not isinstance(outcome, RejectedPayload):
        return problems + [f"expected rejected {expected['rejected']}, got read {outcome.get('read_id')!r}"]
    if outcome.reason != expected["rejected"]:
        problems.append(f"expected rejected {expected['rejected']}, got {outcome.reason}: {outcome.detail}")
    elif "detail" in expected and expected["detail"] not in outcome.detail:
        problems.append(f"detail {outcome.detail!r} does not contain {expected['detail']!r}")
    if outcome.raw != payload.raw:
        problems.append(f"the rejection does not carry the original bytes: {outcome.raw[:80]!r}")
    return problems


def check_samples(connector: str | ReadConnector | type, folder: Path,
                  context: ConnectorContext | None = None) -> CheckReport:
    """Run every sample payload in `folder` through `connector` (a name found by
    discovery, a connector, or its class) and compare with the expectations."""
    instance = _connector(connector, context)
    folder = Path(folder)
    report = CheckReport(instance.name or type(instance).__name__, folder)
    if not folder.is_dir():
        report.mismatches.append(Mismatch(str(folder), None, "no such folder"))
        return report
    for sample in _sample_files(instance, folder):
        report.cases += 1
        expectation = _expectation_file(sample)
        payloads = _payloads(instance, sample)
        report.payloads += len(payloads)
        if not expectation.is_file():
            report.mismatches.append(Mismatch(sample.name, None, f"no expectation file {expectation.name}"))
            continue
        try:
            expected = _expectations(expectation)
        except ValueError as error:
            report.mismatches.append(Mismatch(sample.name, None, str(error)))
            continue
        if len(expected) != len(payloads):
            report.mismatches.append(Mismatch(sample.name, None, f"{len(payloads)} payload(s) but "
                                              f"{len(expected)} expectation(s) in {expectation.name}"))
        for payload, want in zip(payloads, expected):
            outcome = _outcome(instance, payload)
            if isinstance(outcome, dict):
                report.reads += 1
            elif isinstance(outcome, RejectedPayload):
                report.rejected += 1
            line = payload.line if isinstance(instance, FolderConnector) else None
            report.mismatches.extend(Mismatch(sample.name, line, p) for p in _compare(want, outcome, payload))
    return report


def assert_samples(connector: str | ReadConnector | type, folder: Path,
                   context: ConnectorContext | None = None) -> CheckReport:
    """`check_samples`, failing with every mismatch listed (for pytest)."""
    report = check_samples(connector, folder, context)
    assert report.ok, report.summary()
    return report
