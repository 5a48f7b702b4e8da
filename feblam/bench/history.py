"""`feblam bench history`: the analysts' questions over a large synthetic history.

Writes `reads` reads over the `days` days before today (UTC) straight to Parquet
in the job's hourly layout (DuckDB generates them: no Flink, no Kafka), with
realistic Belgian plates (digit, three letters, three digits), `cameras`
cameras, and vehicles seen as a real network sees them: most a few times, some
(taxis, vans) dozens of times. One read in 200 is a hit. It then compacts the
history (history.layout) and asks, through the access gate and its log
(history.queries.GatedHistory, a JUDICIAL access with an authorisation):

- `journey`: the journeys of `plates` plates drawn from the reads;
- `camera_window`: 30-minute windows at `windows` cameras;
- `convoy`: the convoys of `convoys` plates;
- `retro_hit_pass`: a retro-hit pass (history.retro) for 10,000 new list entries
  (about half of them plates the network saw, one in a hundred a partial plate)
  over the reads of the last 7 days: the gate, the look-up, the job's matching
  and de-duplication, the hits;

and reports p50/p99 (or max) of each in seconds, the compaction's rows per
second, the sizes on disk, and the machine.
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import psutil

from history import layout
from history.accesslog import AccessLog
from history.gate import JUDICIAL, AccessRequest, TimeRange
from history.queries import GatedHistory

LETTERS = "ABCDEFGHJKLMNPRSTVWXYZ"
ANALYST = AccessRequest("bench.analyst", "BENCH", JUDICIAL, "feblam bench history: timing the questions",
                        authorisation="BENCH-0001")


def generate(root: Path, reads: int, days: int, cameras: int, seed: int, end: datetime) -> float:
    """Write the synthetic reads and hits under `root`; returns the seconds it took."""
    began = time.monotonic()
    vehicles = max(1_000, reads // 12)            # each vehicle read some 12 times over the period
    start = end - timedelta(days=days)
    span_ms = days * 86_400_000
    plate = (f"CAST(1 + v % 9 AS VARCHAR) || substr('{LETTERS}', CAST(1 + (v // 9) % 22 AS INT), 1) "
             f"|| substr('{LETTERS}', CAST(1 + (v // 198) % 22 AS INT), 1) "
             f"|| substr('{LETTERS}', CAST(1 + (v // 4356) % 22 AS INT), 1) "
             f"|| lpad(CAST((v // 95832) % 1000 AS VARCHAR), 3, '0')")
    # pow(u, 1.5): a vehicle's share of the reads falls with its rank, so the first
    # 1 % of the vehicles make about 5 % of the reads.
    base = (f"SELECT i, CAST(floor(pow((hash(i, {seed}) % 1000000007) / 1000000007.0, 1.5) * {vehicles}) AS BIGINT) AS v, "
            f"hash(i, {seed + 1}) % {cameras} AS cam, "
            f"TIMESTAMP '{start.replace(tzinfo=None).isoformat()}' + to_milliseconds(CAST(hash(i, {seed + 2}) % {span_ms} AS BIGINT)) "
            f"AS event_time FROM range({reads}) t(i)")
    partition = "CAST(event_time AS DATE) AS date, lpad(CAST(hour(event_time) AS VARCHAR), 2, '0') AS hour"
    db = duckdb.connect()
    try:
        db.execute("SET preserve_insertion_order = false")
        db.execute(f"CREATE TEMP VIEW generated AS SELECT *, {plate} AS plate FROM ({base})")
        (root / "reads").mkdir(parents=True, exist_ok=True)
        (root / "hits").mkdir(parents=True, exist_ok=True)
        db.execute(
            "COPY (SELECT 'r' || i AS read_id, 'CAM-' || lpad(CAST(cam AS VARCHAR), 5, '0') AS camera_id, "
            "plate AS plate_text, plate, 'BE' AS country, 0.9::DOUBLE AS ocr_confidence, NULL::VARCHAR AS make, "
            "NULL::VARCHAR AS colour, NULL::VARCHAR AS vehicle_type, NULL::VARCHAR AS image_ref, "
            f"NULL::VARCHAR AS source, event_time, {partition} FROM generated) "
            f"TO '{root / 'reads'}' (FORMAT parquet, PARTITION_BY (date, hour), FILENAME_PATTERN 'part-{{i}}', "
            "COMPRESSION zstd, OVERWRITE_OR_IGNORE true)")
        db.execute(
            "COPY (SELECT 'h' || i AS hit_id, 'r' || i AS read_id, 'stolen_vehicles' AS list_name, 'E' || v AS entry_id, "
            "'EXACT' AS match_kind, NULL::VARCHAR AS zone, 90 AS score, 'P1' AS priority, "
            "'CAM-' || lpad(CAST(cam AS VARCHAR), 5, '0') AS camera_id, plate, MAP {}::MAP(VARCHAR, VARCHAR) AS attributes, "
            f"event_time, {partition} FROM generated WHERE i % 200 = 0) "
            f"TO '{root / 'hits'}' (FORMAT parquet, PARTITION_BY (date, hour), FILENAME_PATTERN 'part-{{i}}', "
            "COMPRESSION zstd, OVERWRITE_OR_IGNORE true)")
    finally:
        db.close()
    return time.monotonic() - began


def _sizes(root: Path) -> dict[str, int]:
    def size(folder: Path) -> int:
        return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return {"hourly_bytes": size(root / "reads") + size(root / "hits"),
            "compacted_bytes": size(root / layout.COMPACTED) if (root / layout.COMPACTED).exists() else 0}


def _timed(ask) -> tuple[float, int]:
    began = time.perf_counter()
    answer = ask()
    return time.perf_counter() - began, len(answer.rows)


def _summary(timings: list[tuple[float, int]]) -> dict:
    seconds = sorted(t for t, _ in timings)
    p99 = seconds[min(len(seconds) - 1, round(0.99 * (len(seconds) - 1)))]
    return {"count": len(seconds), "p50_s": round(statistics.median(seconds), 3), "p99_s": round(p99, 3),
            "max_s": round(seconds[-1], 3), "rows_median": statistics.median(rows for _, rows in timings)}


def run(reads: int = 10_000_000, days: int = 2, cameras: int = 3_000, plates: int = 50, windows: int = 20,
        convoys: int = 5, entries: int = 10_000, seed: int = 7, workdir: Path | None = None, keep: bool = False,
        bloom_filters: bool = False, progress=lambda message: None) -> dict:
    if min(reads, days, cameras, plates, windows, convoys, entries) < 1:
        raise ValueError("--reads, --days, --cameras, --plates, --windows, --convoys and --entries must be positive")
    now = datetime.now(timezone.utc)
    end = datetime.combine(now.date(), datetime.min.time(), timezone.utc)      # today 00:00 UTC
    if workdir is None:
        from feblam.stack.settings import StackSettings

        workdir = StackSettings.current().var_dir / "bench-history"
    root = Path(workdir) / "history"
    marker = root / ".feblam-bench-history"
    if root.exists():
        if not marker.exists():
            raise ValueError(f"{root} exists and was not written by this benchmark: give another --workdir")
        shutil.rmtree(root)
    root.mkdir(parents=True)
    marker.write_text("written by feblam bench history; removed by its next run\n")
    log = AccessLog(root.parent / "access.log")
    if log.path.exists():
        log.path.unlink()
    try:
        progress(f"generating {reads:,} reads over {days} day(s) at {cameras:,} cameras")
        generated_s = generate(root, reads, days, cameras, seed, end)
        hourly = _sizes(root)["hourly_bytes"]
        progress(f"compacting ({hourly / 1e9:.2f} GB hourly)")
        began = time.monotonic()
        compacted = layout.compact(root, end + timedelta(hours=2), grace=timedelta(days=1),
                                   bloom_filters=bloom_filters)
        compact_s = time.monotonic() - began
        history = GatedHistory(root, log)
        rng = random.Random(seed)
        sample = duckdb.connect()
        files = [str(p) for p in layout.files(root, "reads")]
        drawn = [row[0] for row in sample.execute(
            "SELECT plate FROM read_parquet(?, hive_partitioning = false) USING SAMPLE reservoir(2000 ROWS) "
            f"REPEATABLE ({seed})", [files]).fetchall()]
        everything = TimeRange(end - timedelta(days=days), now)
        progress(f"asking: {plates} journeys, {windows} camera windows, {convoys} convoys, a retro-hit pass")
        journeys = [_timed(lambda p=p: history.journey(ANALYST, p, everything)) for p in rng.sample(drawn, plates)]
        camera_windows = []
        for _ in range(windows):
            at = end - timedelta(days=days) + timedelta(minutes=rng.randrange(days * 24 * 60 - 30))
            camera = f"CAM-{rng.randrange(cameras):05d}"
            camera_windows.append(_timed(lambda: history.camera(ANALYST, camera, TimeRange(at, at + timedelta(minutes=30)))))
        convoy = [_timed(lambda p=p: history.convoy(ANALYST, p, everything)) for p in rng.sample(drawn, convoys)]
        # Up to half the new entries are plates the network saw (those of the 2,000 reads
        # drawn, about 1,900), the rest plates it never did (Q is not a letter of the
        # generated plates).
        seen = list(dict.fromkeys(drawn))[: entries // 2]
        new_entries = seen + [f"{k % 9 + 1}QQ{LETTERS[(k // 9) % 22]}{(k // 198) % 1000:03d}"
                              for k in range(entries - len(seen))]
        retro_s, retro = _retro_pass(history, new_entries, now)
        return {
            "benchmark": "history", "reads": reads, "days": days, "cameras": cameras, "seed": seed,
            "bloom_filters": bloom_filters,
            "generate_s": round(generated_s, 1),
            "compaction": {"seconds": round(compact_s, 1), "rows": sum(d.rows for d in compacted),
                           "rows_per_s": round(sum(d.rows for d in compacted) / compact_s) if compact_s else None,
                           "days": len({d.day for d in compacted})},
            **_sizes(root),
            "journey": _summary(journeys), "camera_window": _summary(camera_windows), "convoy": _summary(convoy),
            "retro_hit_pass": {"entries": len(new_entries), "days": 7, "seconds": round(retro_s, 3),
                               "candidate_reads": retro["candidate_reads"], "hits": retro["hits"],
                               "sightings": retro["sightings"]},
            "access_log_records": sum(1 for _ in log.records()),
            "machine": {"cpus": psutil.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
                        "load_average": [round(x, 2) for x in os.getloadavg()]},
        }
    finally:
        if not keep:   # what this run wrote, nothing else of the work folder
            shutil.rmtree(root, ignore_errors=True)
            log.path.unlink(missing_ok=True)


def _retro_pass(history: GatedHistory, plates: list[str], now: datetime) -> tuple[float, dict]:
    """A retro-hit pass (history.retro) for `plates` as new entries published now: one in
    five a judicial alert (up to two OCR substitutions), the rest stolen vehicles (one),
    and one in a hundred a partial plate with a `?`. Searched over the last 7 days,
    through the gate, with the job's matching and de-duplication."""
    from history.retro import Change, RetroSettings, retro_hits
    from udfs.config import MatchingSettings
    from udfs.reference import parse_entry

    published = int(now.timestamp() * 1000)
    changes = []
    for n, plate in enumerate(plates):
        list_name = "judicial_alerts" if n % 5 == 0 else "stolen_vehicles"
        pattern = plate[:4] + "?" + plate[5:] if n % 100 == 1 and len(plate) >= 6 else plate
        changes.append(Change(parse_entry({"list_name": list_name, "entry_id": f"BENCH-{n}", "plate": pattern}),
                              published))
    began = time.perf_counter()
    result = retro_hits(history, changes, MatchingSettings(), RetroSettings(days=7, authorisation="BENCH-0001"))
    return time.perf_counter() - began, result.summary()
