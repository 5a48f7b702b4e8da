"""The retention purge (history.retention): the boundary hour by hour, the dry run, and
the record of every purge in the access log."""

from __future__ import annotations

from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.parquet as pq

from history.accesslog import AccessLog
from history.retention import expired, purge

NOW = datetime(2026, 12, 6, 9, 30, tzinfo=timezone.utc)   # the limit: 2025-12-06 09:30


def hour(root, table: str, day: str, hour_: int, rows: int = 3):
    folder = root / table / f"date={day}" / f"hour={hour_:02d}"
    folder.mkdir(parents=True)
    pq.write_table(pa.table({"read_id": [f"r{i}" for i in range(rows)]}), folder / "part-0")
    return folder


def layout(tmp_path):
    root = tmp_path / "history"
    for h in (22, 23):
        hour(root, "reads", "2025-12-05", h)
    for h in (8, 9, 10):
        hour(root, "reads", "2025-12-06", h)
    hour(root, "hits", "2025-12-06", 8, rows=1)
    hour(root, "sightings", "2026-12-01", 8)
    (root / "reads" / "date=2025-01-01" / "notes").mkdir(parents=True)   # not the history's: left alone
    return root


def test_a_partition_goes_only_when_all_of_its_hour_is_past_the_limit(tmp_path):
    root = layout(tmp_path)
    gone = [(p.table, p.start.isoformat(), p.rows) for p in expired(root, NOW)]
    assert gone == [("reads", "2025-12-05T22:00:00+00:00", 3), ("reads", "2025-12-05T23:00:00+00:00", 3),
                    ("hits", "2025-12-06T08:00:00+00:00", 1), ("reads", "2025-12-06T08:00:00+00:00", 3)]
    # 09:00-10:00 straddles 09:30: kept until 10:30 has passed.
    assert [p.start.hour for p in expired(root, NOW.replace(hour=10, minute=0)) if p.start.day == 6] == [8, 8, 9]


def test_a_dry_run_removes_nothing_and_is_recorded(tmp_path):
    root = layout(tmp_path)
    log = AccessLog(tmp_path / "access.log")
    report = purge(root, log, "ops.dubois", "DRI", "monthly retention purge", NOW, dry_run=True)
    assert (report.rows, len(report.partitions), report.dry_run) == (10, 4, True)
    assert (root / "reads" / "date=2025-12-05" / "hour=22").is_dir()
    [record] = log.records()
    assert (record["kind"], record["dry_run"], record["rows"], record["limit"]) == \
        ("PURGE", True, 10, "2025-12-06T09:30:00Z")


def test_a_purge_removes_whole_partitions_records_them_and_keeps_the_rest(tmp_path):
    root = layout(tmp_path)
    log = AccessLog(tmp_path / "access.log")
    report = purge(root, log, "ops.dubois", "DRI", "monthly retention purge", NOW)
    assert report.rows == 10
    assert not (root / "reads" / "date=2025-12-05").exists()        # every hour gone, the day too
    assert sorted(p.name for p in (root / "reads" / "date=2025-12-06").iterdir()) == ["hour=09", "hour=10"]
    assert (root / "sightings" / "date=2026-12-01" / "hour=08").is_dir()
    assert (root / "reads" / "date=2025-01-01" / "notes").is_dir()
    record, result = log.records()
    assert record["user"] == "ops.dubois" and [p["rows"] for p in record["partitions"]] == [3, 3, 1, 3]
    assert (result["kind"], result["access"], result["rows"]) == ("RESULT", 1, 10)
    assert purge(root, log, "ops.dubois", "DRI", "monthly retention purge", NOW).rows == 0
    assert log.verify().ok


def test_a_compacted_day_goes_when_all_of_the_day_is_past(tmp_path):
    from datetime import date, timedelta

    from history import layout

    from .test_layout import hourly

    root = tmp_path / "history"
    hourly(root, 10, "a", ["1AAA111"] * 3, day=date(2025, 12, 5))
    hourly(root, 3, "b", ["1AAA111"], day=date(2025, 12, 6))
    layout.compact(root, NOW, grace=timedelta(0))
    gone = [(p.table, p.start.date().isoformat(), p.compacted, p.rows) for p in expired(root, NOW)]
    assert gone == [("reads", "2025-12-05", True, 3)]           # 2025-12-06 straddles the limit
    purge(root, AccessLog(tmp_path / "log"), "ops.dubois", "DRI", "monthly retention purge", NOW)
    assert [p.name for p in (root / "compacted" / "reads").iterdir()] == ["date=2025-12-06"]
