"""The history's layout (history.layout): daily compaction sorted by plate, and a reader
that sees every row once before, during and after it, late reads included."""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta, timezone

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from history import layout
from history.accesslog import AccessLog
from history.gate import JUDICIAL, AccessRequest, TimeRange
from history.queries import GatedHistory

DAY = date(2026, 12, 3)
NOW = datetime(2026, 12, 5, 12, tzinfo=timezone.utc)
JUDGE = AccessRequest("j.claes", "PJF", JUDICIAL, "investigation AN.12.L3.004512/26", authorisation="PK-17")


def hourly(root, hour: int, name: str, plates: list[str], day: date = DAY) -> None:
    folder = root / "reads" / f"date={day}" / f"hour={hour:02d}"
    folder.mkdir(parents=True, exist_ok=True)
    start = datetime.combine(day, datetime.min.time()) + timedelta(hours=hour)
    pq.write_table(pa.table({"read_id": [f"{name}-{i}" for i in range(len(plates))],
                             "camera_id": ["CAM-1"] * len(plates), "plate": plates, "plate_text": plates,
                             "country": ["BE"] * len(plates), "ocr_confidence": [0.9] * len(plates),
                             "event_time": pa.array([start + timedelta(minutes=i) for i in range(len(plates))],
                                                    pa.timestamp("ms"))}), folder / f"part-{name}")


def rows(root) -> list[str]:
    listed = [str(p) for p in layout.files(root, "reads")]
    return sorted(r[0] for r in duckdb.connect().execute(
        "SELECT read_id FROM read_parquet(?, hive_partitioning = false, union_by_name = true)", [listed]).fetchall())


def test_a_day_is_compacted_into_one_file_sorted_by_block_then_plate_and_read_once(tmp_path):
    root = tmp_path / "h"
    hourly(root, 1, "a", ["9ZZZ999", "1AAA111"])
    hourly(root, 3, "b", ["5MMM555", "1AAA111"])
    hourly(root, 5, "c", ["0BBB000"])                          # the next 4-hour block
    before = rows(root)
    [done] = layout.compact(root, NOW)
    assert (done.table, done.day, done.version, done.rows, done.taken_in) == ("reads", DAY, 1, 5, 3)
    [daily] = layout.files(root, "reads")
    assert daily.parent == root / "compacted" / "reads" / f"date={DAY}"
    assert [r[0] for r in duckdb.connect().execute(f"SELECT plate FROM '{daily}'").fetchall()] == \
        ["1AAA111", "1AAA111", "5MMM555", "9ZZZ999", "0BBB000"]
    assert rows(root) == before
    assert layout.compact(root, NOW) == []                       # nothing new: nothing done


def test_a_day_not_yet_behind_by_the_lag_is_left_hourly(tmp_path):
    root = tmp_path / "h"
    hourly(root, 23, "a", ["1AAA111"])
    assert layout.compact(root, datetime(2026, 12, 4, 1, tzinfo=timezone.utc)) == []
    assert len(layout.compact(root, datetime(2026, 12, 4, 2, tzinfo=timezone.utc))) == 1


def test_a_late_read_is_seen_from_its_hourly_file_then_taken_in_by_the_next_compaction(tmp_path):
    root = tmp_path / "h"
    hourly(root, 1, "a", ["1AAA111"])
    layout.compact(root, NOW)
    hourly(root, 2, "late", ["2BBB222"])
    assert rows(root) == ["a-0", "late-0"]
    [again] = layout.compact(root, NOW)
    assert (again.version, again.rows, again.taken_in) == (2, 2, 1)
    assert rows(root) == ["a-0", "late-0"] and len(layout.files(root, "reads")) == 1


def test_what_a_compaction_replaced_goes_only_after_the_grace(tmp_path):
    root = tmp_path / "h"
    hourly(root, 1, "a", ["1AAA111"])
    layout.compact(root, NOW)
    listed_before = layout.files(root, "reads")               # a query that listed its files then
    hourly(root, 2, "late", ["2BBB222"])
    layout.compact(root, NOW)                                 # v2; v1 and the hourly files stay
    assert all(path.exists() for path in listed_before)
    layout.compact(root, NOW, grace=timedelta(0))              # grace passed: the replaced files go
    assert not (root / "reads" / f"date={DAY}").exists()
    assert [p.name.split("-")[0] for p in (root / "compacted" / "reads" / f"date={DAY}").glob("v*")] == ["v2"]
    assert rows(root) == ["a-0", "late-0"]


def test_questions_answer_the_same_before_and_after_compaction(tmp_path):
    root = tmp_path / "h"
    for hour in range(6):
        hourly(root, hour, f"h{hour}", ["1AAA111", f"{hour}XYZ00{hour}", "1AAA111"])
    history = GatedHistory(root, AccessLog(tmp_path / "log"), clock=lambda: NOW)
    asked = TimeRange(datetime(2026, 12, 3, 2, tzinfo=timezone.utc), datetime(2026, 12, 3, 5, tzinfo=timezone.utc))
    before = (history.journey(JUDGE, "1AAA111").rows, history.camera(JUDGE, "CAM-1", asked).rows)
    layout.compact(root, NOW)
    assert (history.journey(JUDGE, "1AAA111").rows, history.camera(JUDGE, "CAM-1", asked).rows) == before
    assert len(before[0]) == 12 and len(before[1]) == 9


def test_hidden_files_being_written_are_not_read(tmp_path):
    root = tmp_path / "h"
    hourly(root, 1, "a", ["1AAA111"])
    folder = root / "reads" / f"date={DAY}" / "hour=01"
    (folder / ".part-b.inprogress").write_bytes(b"half written")
    assert [p.name for p in layout.files(root, "reads")] == ["part-a"]
    assert os.path.exists(folder / ".part-b.inprogress")


def test_overlapping_compactions_take_turns(tmp_path):
    import threading

    root = tmp_path / "h"
    for hour in range(4):
        hourly(root, hour, f"h{hour}", ["1AAA111", "2BBB222"])
    results = []
    threads = [threading.Thread(target=lambda: results.append(layout.compact(root, NOW))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(len(r) for r in results) == [0, 0, 1]        # one did the day, the others found it done
    assert len(rows(root)) == 8 and len(layout.files(root, "reads")) == 1


def test_bloom_filters_are_written_only_when_asked(tmp_path):
    """The daily files carry Bloom filters on their plates with `bloom_filters` (for the
    benchmark to compare), and none by default."""
    for asked in (False, True):
        root = tmp_path / str(asked)
        hourly(root, 1, "a", [f"{i}ABC{i:03d}" for i in range(300)])
        layout.compact(root, NOW, bloom_filters=asked)
        [daily] = layout.files(root, "reads")
        filters = duckdb.connect().execute(f"SELECT count(bloom_filter_offset) FROM parquet_metadata('{daily}') "
                                           "WHERE path_in_schema = 'plate'").fetchone()[0]
        assert (filters > 0) == asked
