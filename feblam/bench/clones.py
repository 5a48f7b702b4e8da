"""`feblam bench clones`: what the clone-suspicion rule (udfs.clones) holds and costs per read.

Feeds `reads` reads of `plates` plates at `cameras` cameras, one a second in
event time over a window's span, so that none is pruned and every read taking
part is held, through `udfs.clones.PlateTrails`, and reports:
- `bytes_per_held_read`: the memory the trails hold (tracemalloc), read_ids
  included, divided by the reads held;
- `observe_us_per_read`: the median of `passes` timed passes (tracemalloc off);
- `suspects`: hits raised (random positions make many; it shows the hit path
  is exercised, not a rate);
- `state_gb_at_50m_reads_a_day`: the bytes per read scaled to a network of 50
  million reads a day, every one taking part, over the rule's window.
"""

from __future__ import annotations

import random
import statistics
import time
import tracemalloc
import uuid
from collections.abc import Iterator

from udfs.clones import CloneSettings, PlateTrails
from udfs.model import Camera, PlateRead

T0 = 1_780_000_000_000
READS_A_DAY = 50_000_000
DAY_MS = 86_400_000


def _reads(reads: int, plates: int, cameras: int, seed: int) -> Iterator[tuple[PlateRead, Camera]]:
    rng = random.Random(seed)
    places = [Camera(f"CAM{i:05d}", lat=49.5 + 2 * rng.random(), lon=2.5 + 3.5 * rng.random())
              for i in range(cameras)]
    names = [f"{rng.randrange(10)}{''.join(rng.choices('ABCDEFGHJKLMNPRSTVWXYZ', k=3))}{rng.randrange(1000):03d}"
             for _ in range(plates)]
    for i in range(reads):
        camera = places[rng.randrange(cameras)]
        plate = names[rng.randrange(plates)]
        # A fresh read_id text per read, as decoding a read makes one.
        yield (PlateRead(str(uuid.UUID(int=rng.getrandbits(128))), camera.camera_id, T0 + i * 1000, plate,
                         plate, "B", 0.95), camera)


def run(reads: int = 300_000, plates: int = 100_000, cameras: int = 3_000, passes: int = 3,
        seed: int = 7) -> dict:
    if min(reads, plates, cameras, passes) < 1:
        raise ValueError("--reads, --plates, --cameras and --passes must be positive")
    settings = CloneSettings(window_ms=max(CloneSettings().window_ms, reads * 1000 + 1))
    batch = list(_reads(reads, plates, cameras, seed))
    timings = []
    for _ in range(passes):
        trails = PlateTrails(settings)
        began = time.perf_counter()
        for read, camera in batch:
            trails.observe(read, camera)
        timings.append((time.perf_counter() - began) / reads * 1e6)
    del trails, batch
    # The memory pass makes the same reads as it goes and drops each once observed: what
    # tracemalloc still counts at the end is what the rule keeps, read_id texts included.
    tracemalloc.start()
    trails = PlateTrails(settings)
    suspects = sum(trails.observe(read, camera) is not None for read, camera in _reads(reads, plates, cameras, seed))
    held_bytes, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    per_read = held_bytes / len(trails)
    held_in_window = READS_A_DAY * CloneSettings().window_ms / DAY_MS
    return {
        "reads": reads, "plates_held": trails.plates, "reads_held": len(trails), "suspects": suspects,
        "bytes_per_held_read": round(per_read), "observe_us_per_read": round(statistics.median(timings), 2),
        "state_gb_at_50m_reads_a_day": round(per_read * held_in_window / 1e9, 2), "passes": passes, "seed": seed,
    }
