"""``feblam bench matching``: build an index of N synthetic entries, match synthetic reads.

The entry mix follows the lists of a national deployment: LEZ vehicle status by
far the largest, then LEZ permits and day passes, stolen vehicles, judicial
alerts, another alert list, and a few wildcard entries. The read stream is
mostly vehicles that hit nothing or that are registered and admitted at LEZ
cameras, with some exact, OCR and wildcard hits on the alert lists.

Measured on one core (the match loop is one Python thread; ``pin_cpu`` also pins
the process to one CPU, which on a shared machine can pin it next to a busy neighbour):
* ``build_s``: loading every list (columnar bulk load, wildcards one by one);
* ``bytes_per_entry``: resident memory (RSS) grown by the build, after giving
  freed heap back to the OS (``malloc_trim``), divided by the entries;
* ``reads_per_s``: the match step (``HitEngine.match``: camera zones, index
  look-up, verification, LEZ decision) over pre-generated, validated reads, the
  best of ``passes`` passes (``reads_per_s_median`` beside it, and
  ``reads_per_cpu_s``, the same over the process's CPU time, which time spent
  waiting for a busy neighbour does not inflate);
* ``evaluate_reads_per_s``: the same plus scoring, hit_id and ``Hit`` objects.
"""

from __future__ import annotations

import ctypes
import gc
import os
import platform
import statistics
import time
from collections import Counter

import numpy as np

from udfs.bulkload import EntryBatch, load_batch
from udfs.engine import HitEngine
from udfs.model import FOR_EVER, SINCE_EVER, Camera, PlateRead, ReferenceEntry

NOW = 1_772_352_900_000  # 2026-03-01T08:15:00Z: a fixed clock keeps runs comparable
DAY = 86_400_000
ZONES = (b"ANTWERPEN", b"GENT", b"BRUSSEL")
MIX = (("lez_vehicle_status", 0.90), ("lez_permits", 0.05), ("stolen_vehicles", 0.025),
       ("judicial_alerts", 0.015), ("insurance_watch", 0.0099))
WILDCARD_SHARE = 0.0001
LETTERS = np.frombuffer(b"ABCDEFGHJKLMNPRSTUVWXYZ", dtype=np.uint8)
DIGITS = np.frombuffer(b"0123456789", dtype=np.uint8)


def random_plates(rng: np.random.Generator, n: int) -> np.ndarray:
    """Plates of Belgian (1ABC123) and Dutch (AB123C) shape, as an ``S7`` array."""
    m = np.zeros((n, 7), dtype=np.uint8)
    belgian = rng.random(n) < 0.8
    m[:, 0] = np.where(belgian, DIGITS[rng.integers(1, 10, n)], LETTERS[rng.integers(0, 23, n)])
    m[:, 1] = LETTERS[rng.integers(0, 23, n)]
    m[:, 2] = np.where(belgian, LETTERS[rng.integers(0, 23, n)], DIGITS[rng.integers(0, 10, n)])
    m[:, 3] = np.where(belgian, LETTERS[rng.integers(0, 23, n)], DIGITS[rng.integers(0, 10, n)])
    m[:, 4] = DIGITS[rng.integers(0, 10, n)]
    m[:, 5] = np.where(belgian, DIGITS[rng.integers(0, 10, n)], LETTERS[rng.integers(0, 23, n)])
    m[:, 6] = np.where(belgian, DIGITS[rng.integers(0, 10, n)], 0)
    return m.view("S7").reshape(n)


def entry_ids(prefix: bytes, n: int) -> np.ndarray:
    """``prefix`` followed by a ten-digit sequence number, as an ``S`` array."""
    width = len(prefix) + 10
    m = np.empty((n, width), dtype=np.uint8)
    m[:, :len(prefix)] = np.frombuffer(prefix, dtype=np.uint8)
    seq = np.arange(n, dtype=np.int64)
    for i in range(10):
        m[:, width - 1 - i] = 48 + (seq // 10**i) % 10
    return m.view(f"S{width}").reshape(n)


def synthetic_lists(n: int, rng: np.random.Generator
                    ) -> tuple[list[EntryBatch], list[ReferenceEntry]]:
    batches = []
    wildcard_count = max(10, int(n * WILDCARD_SHARE))
    remaining = n - wildcard_count
    for i, (name, share) in enumerate(MIX):
        count = remaining - sum(len(b) for b in batches) if i == len(MIX) - 1 \
            else int(remaining * share)
        plates = random_plates(rng, count)
        countries = np.where(rng.random(count) < 0.93, b"BE",
                             np.array([b"NL", b"FR", b"DE"])[rng.integers(0, 3, count)])
        batch = EntryBatch(name, entry_ids(name[:3].upper().encode() + b"-", count), plates,
                           countries=countries)
        if name == "lez_vehicle_status":
            zoned = rng.random(count) < 0.15
            batch.zones = np.where(zoned, np.array(ZONES)[rng.integers(0, 3, count)], b"")
            batch.admitted = np.where(rng.random(count) < 0.08, b"false", b"true")
        elif name == "lez_permits":
            batch.zones = np.array(ZONES)[rng.integers(0, 3, count)]
            start = NOW - rng.integers(0, 2 * DAY, count)
            batch.valid_from, batch.valid_until = start, start + DAY
        else:
            batch.severity = np.where(rng.random(count) < 0.2, rng.integers(40, 101, count), -1)
            start = NOW - rng.integers(0, 365 * DAY, count)
            batch.valid_from = np.where(rng.random(count) < 0.5, start, SINCE_EVER)
            batch.valid_until = np.full(count, FOR_EVER, dtype=np.int64)
        batches.append(batch)
    wildcards = []
    for i, plate in enumerate(random_plates(rng, wildcard_count).tolist()):
        text = plate.decode()
        shape = i % 3
        pattern = (text[:3] + "?" + text[4:] if shape == 0 else
                   text[:4] + "*" if shape == 1 else "*" + text[2:])
        wildcards.append(ReferenceEntry(
            list_name="stolen_vehicles" if i % 2 else "judicial_alerts",
            entry_id=f"WLD-{i:08d}", op="UPSERT", plate=pattern))
    return batches, wildcards


def synthetic_cameras(rng: np.random.Generator, count: int = 3000) -> list[Camera]:
    cameras = []
    for i in range(count):
        zones: tuple[str, ...] = ()
        if i % 10 == 0:  # one camera in ten enforces a LEZ, some on a zone border
            zones = (ZONES[i % 3].decode(),) + ((ZONES[(i + 1) % 3].decode(),) if i % 70 == 0
                                                else ())
        cameras.append(Camera(f"CAM{i:05d}", lez_zones=zones))
    return cameras


_OCR_SWAP = {"0": "O", "O": "0", "1": "I", "I": "1", "2": "Z", "Z": "2", "5": "S", "S": "5",
             "6": "G", "G": "6", "8": "B", "B": "8", "D": "0", "Q": "0"}


def _ocr_variant(plate: str) -> str:
    for i, ch in enumerate(plate):
        if ch in _OCR_SWAP:
            return plate[:i] + _OCR_SWAP[ch] + plate[i + 1:]
    return plate


def synthetic_reads(count: int, rng: np.random.Generator, batches: list[EntryBatch],
                    wildcards: list[ReferenceEntry], cameras: list[Camera]) -> list[PlateRead]:
    """A read stream: 45% registered vehicles at LEZ cameras, 10% at other cameras,
    30% unknown vehicles at other cameras, 8% unknown at LEZ cameras, 3% exact and 2%
    OCR variants of alert entries, 1% wildcard hits, 1% at unregistered cameras."""
    by_name = {b.list_name: b for b in batches}
    status = by_name["lez_vehicle_status"].plates
    alerts = np.concatenate([by_name["stolen_vehicles"].plates,
                             by_name["judicial_alerts"].plates])
    lez_cams = [c.camera_id for c in cameras if c.lez_zones]
    other_cams = [c.camera_id for c in cameras if not c.lez_zones]
    fresh = random_plates(rng, count).tolist()
    kinds = rng.choice(8, size=count, p=[0.45, 0.10, 0.30, 0.08, 0.03, 0.02, 0.01, 0.01])
    reads = []
    for i in range(count):
        kind = int(kinds[i])
        camera = other_cams[i % len(other_cams)]
        if kind in (0, 1):
            plate = status[rng.integers(len(status))].decode()
            camera = lez_cams[i % len(lez_cams)] if kind == 0 else camera
        elif kind in (2, 3):
            plate = fresh[i].decode()
            camera = lez_cams[i % len(lez_cams)] if kind == 3 else camera
        elif kind == 4:
            plate = alerts[rng.integers(len(alerts))].decode()
        elif kind == 5:
            plate = _ocr_variant(alerts[rng.integers(len(alerts))].decode())
        elif kind == 6:
            pattern = wildcards[rng.integers(len(wildcards))].plate
            plate = pattern.replace("?", "X").replace("*", "9")
        else:
            plate = fresh[i].decode()
            camera = "CAM-UNREGISTERED"
        reads.append(PlateRead(
            read_id=f"R{i:09d}", camera_id=camera,
            event_time=NOW + int(rng.integers(-3_600_000, 3_600_000)),
            plate_text=plate, plate=plate, country="BE" if rng.random() < 0.9 else None,
            ocr_confidence=float(rng.uniform(0.7, 1.0))))
    return reads


def _rss() -> int:
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)  # give freed heap back, so RSS is live memory
    except OSError:
        pass
    import psutil

    return psutil.Process().memory_info().rss


def _cpu_model() -> str:
    # Neither psutil nor platform names the CPU model on Linux; /proc/cpuinfo does.
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def run(entries: int, reads: int = 200_000, seed: int = 7, pin_cpu: bool = False,
        passes: int = 3) -> dict:
    """Build, measure, match; returns the result as a JSON-ready dict."""
    if pin_cpu and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    rng = np.random.default_rng(seed)
    t = time.perf_counter()
    batches, wildcards = synthetic_lists(entries, rng)
    cameras = synthetic_cameras(rng)
    stream = synthetic_reads(reads, rng, batches, wildcards, cameras)
    generate_s = time.perf_counter() - t

    engine = HitEngine()
    for camera in cameras:
        engine.put_camera(camera)
    rss_before = _rss()
    t = time.perf_counter()
    refused = 0
    for batch in batches:
        refused += len(load_batch(engine.index, batch))
    for wildcard in wildcards:
        engine.apply(wildcard)
    build_s = time.perf_counter() - t
    rss_after = _rss()
    held = len(engine.index)

    match = engine.match
    for r in stream[:10_000]:  # warm-up
        match(r)
    # Several timed passes: other processes on the machine only ever slow a pass
    # down, so the best pass is the figure; the median shows the spread.
    gc.disable()
    match_times, match_cpu = [], []
    for _ in range(passes):
        t, c = time.perf_counter(), time.process_time()
        for r in stream:
            match(r)
        match_times.append(time.perf_counter() - t)
        match_cpu.append(time.process_time() - c)
    evaluate = engine.evaluate
    evaluate_times = []
    for _ in range(passes):
        t = time.perf_counter()
        for r in stream:
            evaluate(r)
        evaluate_times.append(time.perf_counter() - t)
    outcomes: Counter = Counter()
    gc.enable()
    for r in stream:
        hits = evaluate(r)
        outcomes["reads_with_hits"] += bool(hits)
        for h in hits:
            outcomes[h.match_kind] += 1
    return {
        "entries": held,
        "build_s": round(build_s, 3),
        "reads_per_s": round(len(stream) / min(match_times)),
        "bytes_per_entry": round((rss_after - rss_before) / held, 1),
        "evaluate_reads_per_s": round(len(stream) / min(evaluate_times)),
        "reads_per_s_median": round(len(stream) / statistics.median(match_times)),
        "reads_per_cpu_s": round(len(stream) / min(match_cpu)),
        "passes": passes,
        "reads": len(stream),
        "index_bytes_counted_per_entry": round(engine.index.nbytes / held, 1),
        "rss_delta_bytes": rss_after - rss_before,
        "refused_entries": refused,
        "wildcard_entries": len(wildcards),
        "hits": dict(sorted(outcomes.items())),
        "generate_s": round(generate_s, 3),
        "seed": seed,
        "cpu": _cpu_model(),
        "nproc": os.cpu_count(),
        "pinned_to_one_cpu": pin_cpu,
        "match_threads": 1,
        "python": platform.python_version(),
        "loadavg_1m": round(os.getloadavg()[0], 2),
    }
