"""Where the history's rows are: the job's hourly files, and the daily files they are
compacted into for fast look-ups by plate.

The job writes each table (`reads`, `hits`, `sightings`) by the UTC date and hour of
the event time, `<root>/<table>/date=YYYY-MM-DD/hour=HH/part-*`, a file at every
checkpoint: good for "what happened at this camera between 02:10 and 02:40", bad
for "where has this plate been", which must open every file.

`compact` rewrites the hourly files of a day, once that day is `lag` behind, into
one file sorted by 4-hour block and then by plate (hits and reads; sightings by
hit), with row groups of `ROW_GROUP_ROWS`, so that DuckDB's min/max statistics
skip every row group but the one or two of each block that can hold a plate,
and those of the other blocks for a window of time:

    <root>/compacted/<table>/date=YYYY-MM-DD/v<N>-<id>.parquet
    <root>/compacted/<table>/date=YYYY-MM-DD/manifest.json

The manifest names the current daily file and every hourly file it holds
(`sources`), and is replaced atomically (written aside, then renamed). `files`
lists, for a range of days, each day's daily file and the hourly files its
manifest does not name: a read that arrives late, into a day already compacted,
is read from its hourly file until the next compaction takes it in. So a reader
sees every row once, before, during and after a compaction.

What a compaction replaces is removed only `grace` after the manifest that
replaced it (the hourly files it took in, earlier daily files): a query that
listed its files before the switch still finds them. Nothing else is deleted.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

TABLES = ("reads", "hits", "sightings")
COMPACTED = "compacted"
MANIFEST = "manifest.json"
# Rows per row group of a daily file (DuckDB's own default).
ROW_GROUP_ROWS = 122_880
# A daily file is sorted by 4-hour block, then by plate: a plate's reads of a day sit
# in one or two row groups of each block (6 a day), and a camera's window of half an
# hour in the row groups of one block. Sorted by plate alone, a plate's journey read
# one row group a day but a camera window every row group of the day: at 100,000,000
# reads, p99 1.10 s against the target of 1 s (docs/benchmarks.md).
BLOCK = "time_bucket(INTERVAL 4 HOUR, event_time)"
SORT_KEYS = {"reads": f"{BLOCK}, plate, event_time, read_id", "hits": f"{BLOCK}, plate, event_time, hit_id",
             "sightings": "hit_id, event_time, read_id"}
# DuckDB writes a Bloom filter only for a dictionary-encoded column, and a row group's
# 100,000 or so distinct plates exceed its default dictionary: these make it write
# dictionaries, and so filters, for them. (A limit of 10,000,000 ran out of memory here.)
BLOOM_FILTER_OPTIONS = "DICTIONARY_SIZE_LIMIT 1000000, BLOOM_FILTER_FALSE_POSITIVE_RATIO 0.01"
# A day's folder, as the job names it.
DAY_FOLDER = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True)
class Manifest:
    version: int
    file: str
    sources: frozenset[str]      # hourly files taken in, relative to <root>/<table>/date=D
    rows: int
    compacted_at: float          # epoch seconds

    def to_json(self) -> str:
        return json.dumps({"version": self.version, "file": self.file, "sources": sorted(self.sources),
                           "rows": self.rows, "compacted_at": self.compacted_at}, indent=1)


@dataclass(frozen=True)
class DayCompacted:
    table: str
    day: date
    version: int
    rows: int
    taken_in: int                # hourly files new to this version


def days(root: Path, table: str) -> list[date]:
    """Every day of `table` that has hourly or compacted files."""
    found = set()
    for folder in (Path(root) / table, Path(root) / COMPACTED / table):
        for child in folder.glob("date=*"):
            match = DAY_FOLDER.match(child.name)
            if match and child.is_dir():
                found.add(date.fromisoformat(match.group(1)))
    return sorted(found)


def files(root: Path, table: str, first: date | None = None, last: date | None = None) -> list[Path]:
    """The files holding `table`'s rows of the days first..last (None: unbounded), each
    row in exactly one of them (see the module's docstring)."""
    chosen = []
    for day in days(root, table):
        if (first is not None and day < first) or (last is not None and day > last):
            continue
        manifest = read_manifest(root, table, day)
        if manifest is not None:
            chosen.append(_compacted_dir(root, table, day) / manifest.file)
        taken = manifest.sources if manifest is not None else frozenset()
        chosen += [path for relative, path in _hourly(root, table, day) if relative not in taken]
    return chosen


def add_rows(root: Path, table: str, rows: list[dict], schema: pa.Schema, name: str) -> list[Path]:
    """Write `rows` (each with an `event_time`, a UTC datetime without a zone) into
    `table`'s hourly folders, as the job writes its files: one file per hour,
    `part-<name>`, written hidden and then renamed, so a reader sees all of it or
    nothing. A day already compacted takes the file in at its next compaction. Returns
    the files written. For the rows FEBLAM derives from the history after the fact
    (retro-hits); the job's own rows come through its sink."""
    by_hour: dict[tuple[date, int], list[dict]] = {}
    for row in rows:
        moment = row["event_time"]
        by_hour.setdefault((moment.date(), moment.hour), []).append(row)
    written = []
    for (day, hour), part in sorted(by_hour.items()):
        folder = Path(root) / table / f"date={day}" / f"hour={hour:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / f"part-{name}"
        aside = folder / f".part-{name}.{uuid.uuid4().hex[:8]}"
        pq.write_table(pa.Table.from_pylist(part, schema=schema), aside)
        _fsync(aside)
        os.replace(aside, final)
        _fsync(folder)
        written.append(final)
    return written


def read_manifest(root: Path, table: str, day: date) -> Manifest | None:
    path = _compacted_dir(root, table, day) / MANIFEST
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    return Manifest(data["version"], data["file"], frozenset(data["sources"]), data["rows"], data["compacted_at"])


def compact(root: Path, now: datetime, lag: timedelta = timedelta(hours=2), grace: timedelta = timedelta(minutes=30),
            threads: int | None = None, bloom_filters: bool = False) -> list[DayCompacted]:
    """Compact every day that ended at least `lag` before `now` and has hourly files its
    manifest does not hold yet; then remove what manifests replaced more than `grace`
    ago. Returns what was compacted. Runs that overlap (a slow run and the next one of a
    schedule) take turns: the second waits for the first's lock.

    `bloom_filters`: write the daily files with Bloom filters on their text columns
    (`BLOOM_FILTER_OPTIONS`), for `feblam bench history --bloom-filters` to measure;
    off by default, since they doubled the files and sped no look-up up
    (docs/benchmarks.md)."""
    (Path(root) / COMPACTED).mkdir(parents=True, exist_ok=True)
    with open(Path(root) / COMPACTED / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = []
        for table in TABLES:
            for day in days(root, table):
                day_end = datetime.combine(day, datetime.min.time(), timezone.utc) + timedelta(days=1)
                if day_end + lag > now:
                    continue
                result = _compact_day(root, table, day, threads, bloom_filters)
                if result is not None:
                    done.append(result)
                _remove_replaced(root, table, day, grace)
        return done


def _compact_day(root: Path, table: str, day: date, threads: int | None,
                 bloom_filters: bool = False) -> DayCompacted | None:
    manifest = read_manifest(root, table, day)
    taken = manifest.sources if manifest is not None else frozenset()
    pending = [(relative, path) for relative, path in _hourly(root, table, day) if relative not in taken]
    if not pending:
        return None
    folder = _compacted_dir(root, table, day)
    folder.mkdir(parents=True, exist_ok=True)
    inputs = ([folder / manifest.file] if manifest is not None else []) + [path for _, path in pending]
    version = (manifest.version if manifest is not None else 0) + 1
    name = f"v{version}-{uuid.uuid4().hex[:12]}.parquet"
    aside = folder / f".{name}.writing"
    listed = ", ".join("'" + str(path).replace("'", "''") + "'" for path in inputs)
    db = duckdb.connect()
    try:
        if threads:
            db.execute(f"SET threads = {int(threads)}")
        db.execute("SET preserve_insertion_order = false")
        db.execute(f"COPY (SELECT * FROM read_parquet([{listed}], hive_partitioning = false, union_by_name = true) ORDER BY {SORT_KEYS[table]}) "
                   f"TO '{str(aside).replace(chr(39), chr(39) * 2)}' "
                   f"(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {ROW_GROUP_ROWS}"
                   f"{', ' + BLOOM_FILTER_OPTIONS if bloom_filters else ''})")
        rows = db.execute(f"SELECT count(*) FROM read_parquet('{str(aside).replace(chr(39), chr(39) * 2)}')"
                          ).fetchone()[0]
    finally:
        db.close()
    _fsync(aside)
    os.replace(aside, folder / name)
    new = Manifest(version, name, taken | {relative for relative, _ in pending}, rows, time.time())
    _write_atomically(folder / MANIFEST, new.to_json())
    return DayCompacted(table, day, version, rows, len(pending))


def _remove_replaced(root: Path, table: str, day: date, grace: timedelta) -> None:
    manifest = read_manifest(root, table, day)
    if manifest is None or time.time() - manifest.compacted_at < grace.total_seconds():
        return
    for relative, path in _hourly(root, table, day):
        if relative in manifest.sources:
            path.unlink(missing_ok=True)
    for hour_dir in (Path(root) / table / f"date={day}").glob("hour=*"):
        remove_if_empty(hour_dir)
    remove_if_empty(Path(root) / table / f"date={day}")
    for old in _compacted_dir(root, table, day).glob("v*.parquet"):
        if old.name != manifest.file:
            old.unlink(missing_ok=True)


def _hourly(root: Path, table: str, day: date) -> list[tuple[str, Path]]:
    """The committed hourly files of a day, as (path relative to the day's folder, path).
    Files being written are hidden (a leading dot) and not named part-*."""
    folder = Path(root) / table / f"date={day}"
    return sorted((path.relative_to(folder).as_posix(), path) for path in folder.glob("hour=*/part-*")
                  if path.is_file())


def _compacted_dir(root: Path, table: str, day: date) -> Path:
    return Path(root) / COMPACTED / table / f"date={day}"


def _write_atomically(path: Path, text: str) -> None:
    aside = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    aside.write_text(text)
    _fsync(aside)
    os.replace(aside, path)
    _fsync(path.parent)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_if_empty(folder: Path) -> None:
    """Remove `folder` if nothing is left in it (another hour of the day may still be)."""
    try:
        folder.rmdir()
    except OSError:
        pass
