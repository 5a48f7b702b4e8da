"""One load of a reference export, end to end.

``load(request)``: read the file with the reader of its format, map its columns
(``mapping``), read the list in force back from its topic, check the file with
the suite of the list's kind (the row-count guard against the published
entries), then either

- publish the difference (UPSERTs and tombstones) and record the load (the
  report folder keeps ``summary.json`` and ``report.html``), or
- publish nothing, write the refusal report (``summary.json``, ``report.html``,
  ``quarantine/<list>.csv`` with the failing rows and the expectations they broke)
  and record the refusal.

``report.html`` (``connectors.reference.report``) is one self-contained page that
renders with no network: every expectation marked PASS or FAIL, the failing rows
and their values.

Returns a ``LoadOutcome``; raises ``LoadError`` subclasses (unknown format,
unreadable file, bad mapping, Kafka) for problems that are not the file's data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from connectors.reference import history
from connectors.reference.diff import Diff, diff, records
from connectors.reference.formats import format_of, read_table
from connectors.reference.mapping import FeedMapping
from connectors.reference.publisher import ensure_topic, publish, read_published
from connectors.reference.quality import QualityResult, prepare, validate
from connectors.reference.report import REPORT_NAME, write_report
from connectors.registry import RegistryClient


@dataclass(frozen=True)
class LoadRequest:
    file: Path
    mapping: FeedMapping
    bootstrap_servers: str
    registry_url: str
    prefix: str = "ref."
    topic: str | None = None
    format: str | None = None
    report_root: Path = Path("var/reference/reports")
    history_file: Path = Path("var/reference/history.json")
    dry_run: bool = False

    @property
    def topic_name(self) -> str:
        return self.topic or f"{self.prefix}{self.mapping.list_name}"


@dataclass(frozen=True)
class LoadOutcome:
    accepted: bool
    entries: int
    published_before: int
    changes: Diff = field(default_factory=lambda: Diff((), ()))
    quality: QualityResult | None = None
    report_dir: Path | None = None
    reasons: tuple[str, ...] = ()
    report_file: Path | None = None  # report_dir/report.html


def _reasons(quality: QualityResult) -> tuple[str, ...]:
    lines = []
    for check in quality.failures:
        detail = (f"rows {', '.join(map(str, check.failing_rows[:10]))}"
                  + (" ..." if len(check.failing_rows) > 10 else "")) if check.failing_rows else ""
        if check.observed is not None:
            detail = f"observed {check.observed}" + (f", {detail}" if detail else "")
        if check.error:
            detail = f"error: {check.error}"
        lines.append(f"{check.description}" + (f": {detail}" if detail else ""))
    return tuple(lines)


def _quarantine(raw: pd.DataFrame, quality: QualityResult, path: Path) -> int:
    broken: dict[int, list[str]] = {}
    for check in quality.failures:
        for row in check.failing_rows:
            broken.setdefault(row, []).append(check.description)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = sorted(broken)
    out = raw.iloc[[r - 1 for r in rows]].copy()
    out.insert(0, "refused_by", ["; ".join(broken[r]) for r in rows])
    out.insert(0, "file_row", rows)
    out.to_csv(path, index=False)
    return len(rows)


def load(request: LoadRequest) -> LoadOutcome:
    """Check ``request.file`` and publish it, or refuse it; see the module doc."""
    mapping = request.mapping
    fmt = request.format or mapping.format or format_of(request.file)
    raw = read_table(fmt, request.file)
    registry = RegistryClient(request.registry_url)
    topic = request.topic_name
    published = read_published(request.bootstrap_servers, registry, topic, request.prefix)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    report_dir = Path(request.report_root) / mapping.list_name / stamp
    frame = prepare(raw, mapping)
    quality = validate(frame, mapping, len(published))
    report_file = report_dir / REPORT_NAME
    page = dict(mapping=mapping, file=request.file, fmt=fmt, topic=topic, frame=frame,
                published_entries=len(published), quality=quality, dry_run=request.dry_run)
    summary = {"list": mapping.list_name, "kind": mapping.kind, "file": str(request.file), "format": fmt,
               "topic": topic, "rows": len(raw), "published_entries": len(published),
               "accepted": quality.success, "report": str(report_file),
               "expectations": [{"expectation": c.expectation, "description": c.description, "column": c.column,
                                 "success": c.success, "failing_rows": list(c.failing_rows),
                                 "observed": c.observed, "error": c.error} for c in quality.checks]}
    if not quality.success:
        reasons = _reasons(quality)
        quarantined = _quarantine(raw, quality, report_dir / "quarantine" / f"{mapping.list_name}.csv")
        summary.update(reasons=list(reasons), quarantined_rows=quarantined,
                       quarantine=str(report_dir / "quarantine" / f"{mapping.list_name}.csv"))
        (report_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        write_report(report_file, **page, quarantine=report_dir / "quarantine" / f"{mapping.list_name}.csv")
        if not request.dry_run:
            history.record_refusal(request.history_file, mapping.list_name, {
                "at": history.now(), "file": str(request.file), "reasons": list(reasons),
                "report": str(report_dir)})
        return LoadOutcome(accepted=False, entries=len(published), published_before=len(published),
                           quality=quality, report_dir=report_dir, reasons=reasons, report_file=report_file)
    wanted = records(frame, raw, mapping)
    changes = diff(published, wanted)
    summary.update(upserts=len(changes.upserts), deletes=len(changes.deletes), dry_run=request.dry_run)
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    write_report(report_file, **page, changes=changes)
    if not request.dry_run:
        ensure_topic(request.bootstrap_servers, topic)
        publish(request.bootstrap_servers, registry, topic, changes)
        history.record_load(request.history_file, mapping.list_name, {
            "at": history.now(), "file": str(request.file), "topic": topic, "entries": len(wanted),
            "upserts": len(changes.upserts), "deletes": len(changes.deletes), "report": str(report_dir)})
    return LoadOutcome(accepted=True, entries=len(wanted), published_before=len(published),
                       changes=changes, quality=quality, report_dir=report_dir, report_file=report_file)
