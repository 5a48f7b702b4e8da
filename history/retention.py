"""The retention purge: whole partitions of the history past the retention limit go.

The history is partitioned by the UTC date and hour of the event time
(`<table>/date=YYYY-MM-DD/hour=HH/`), and compacted by day
(`compacted/<table>/date=YYYY-MM-DD/`, history.layout). A partition holds its
hour, or its day; it is past the limit when all of it is, that is when its end
is at or before `now` minus the retention (12 calendar months,
`AccessPolicy.retention_limit`). A partition that straddles the limit is kept
until all of it is past; nothing is ever removed row by row.

A purge is recorded in the access log (who ordered it and why, the limit, each
partition with its rows) before anything is removed, and its outcome after. A
dry run finds and counts the same partitions, records that it looked, and
removes nothing. The access log itself is never purged.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow.parquet as pq

from history.accesslog import RESULT, AccessLog
from history.layout import COMPACTED, DAY_FOLDER, read_manifest, remove_if_empty
from history.gate import AccessPolicy, iso

PURGE = "PURGE"
TABLES = ("reads", "hits", "sightings")
_HOUR = re.compile(r"^hour=(\d{2})$")


@dataclass(frozen=True)
class Partition:
    table: str
    start: datetime          # UTC
    end: datetime            # the start's hour + 1 h, or its day + 1 day for a compacted day
    path: Path
    rows: int

    @property
    def compacted(self) -> bool:
        return self.end - self.start > timedelta(hours=1)

    def describe(self) -> dict:
        return {"table": self.table, "date": self.start.date().isoformat(),
                "hour": None if self.compacted else f"{self.start.hour:02d}", "rows": self.rows}


@dataclass(frozen=True)
class PurgeReport:
    limit: datetime
    partitions: tuple[Partition, ...]
    dry_run: bool
    log_seq: int

    @property
    def rows(self) -> int:
        return sum(p.rows for p in self.partitions)


def expired(root: Path, now: datetime, policy: AccessPolicy = AccessPolicy()) -> list[Partition]:
    """The partitions of `root` whose whole hour is past the retention limit at `now`,
    oldest first, with their rows (from the Parquet footers). Folders that are not
    `date=YYYY-MM-DD/hour=HH` are not the history's and are left alone."""
    limit = policy.retention_limit(now)
    found = []
    for table in TABLES:
        for day_dir in sorted((Path(root) / table).glob("date=*")):
            day = DAY_FOLDER.match(day_dir.name)
            if not day or not day_dir.is_dir():
                continue
            for hour_dir in sorted(day_dir.glob("hour=*")):
                hour = _HOUR.match(hour_dir.name)
                if not hour or not hour_dir.is_dir() or int(hour.group(1)) > 23:
                    continue
                start = datetime.fromisoformat(day.group(1)).replace(hour=int(hour.group(1)), tzinfo=timezone.utc)
                if start + timedelta(hours=1) <= limit:
                    found.append(Partition(table, start, start + timedelta(hours=1), hour_dir, _rows(hour_dir)))
        for day_dir in sorted((Path(root) / COMPACTED / table).glob("date=*")):
            day = DAY_FOLDER.match(day_dir.name)
            if not day or not day_dir.is_dir():
                continue
            start = datetime.fromisoformat(day.group(1)).replace(tzinfo=timezone.utc)
            if start + timedelta(days=1) <= limit:
                manifest = read_manifest(root, table, start.date())
                found.append(Partition(table, start, start + timedelta(days=1), day_dir,
                                       manifest.rows if manifest else _rows(day_dir, "v*.parquet")))
    return sorted(found, key=lambda p: (p.start, p.compacted, p.table))


def purge(root: Path, log: AccessLog, user: str, unit: str, justification: str, now: datetime,
          policy: AccessPolicy = AccessPolicy(), dry_run: bool = False) -> PurgeReport:
    """Remove the expired partitions of `root` (see the module's docstring), on the order
    of `user` of `unit` for `justification`; the caller has checked who they are."""
    partitions = expired(root, now, policy)
    limit = policy.retention_limit(now)
    record = log.append(PURGE, {
        "at": iso(now), "user": user, "unit": unit, "justification": justification, "dry_run": dry_run,
        "limit": iso(limit), "partitions": [p.describe() for p in partitions],
        "rows": sum(p.rows for p in partitions)})
    if not dry_run:
        try:
            for partition in partitions:
                shutil.rmtree(partition.path)
                remove_if_empty(partition.path.parent)
        except OSError as error:
            log.append(RESULT, {"access": record["seq"], "at": iso(datetime.now(timezone.utc)), "rows": None,
                                "error": f"removing {partition.path}: {error.strerror}"})
            raise
        log.append(RESULT, {"access": record["seq"], "at": iso(datetime.now(timezone.utc)),
                            "rows": sum(p.rows for p in partitions)})
    return PurgeReport(limit, tuple(partitions), dry_run, record["seq"])


def _rows(folder: Path, pattern: str = "part-*") -> int:
    total = 0
    for part in folder.glob(pattern):
        if part.is_file():
            try:
                total += pq.ParquetFile(part).metadata.num_rows
            except Exception:  # noqa: BLE001 - a file that is not Parquet still goes with its hour
                pass
    return total
