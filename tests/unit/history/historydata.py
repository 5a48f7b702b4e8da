"""A small Parquet history in the job's layout (connectors/history.py), for the
history package's tests: reads, hits (one of a covert entry) and sightings."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

READS = [  # read_id, camera_id, plate, days ago
    ("r1", "CAM-1", "1ABC123", 100), ("r2", "CAM-2", "1ABC123", 20), ("r3", "CAM-1", "1ABC123", 2),
    ("r4", "CAM-3", "2XYZ999", 1), ("r5", "CAM-2", "2XYZ999", 0.5), ("r6", "CAM-4", "3DEF456", 10),
]
HITS = [  # hit_id, read_id, list, plate, days ago, attributes
    ("h1", "r2", "stolen_vehicles", "1ABC123", 20, {}),
    ("h2", "r3", "judicial_alerts", "1ABC123", 2, {"covert": "true", "owner": "PJF-ANTWERPEN"}),
    ("h3", "r5", "stolen_vehicles", "2XYZ999", 0.5, {}),
]
SIGHTINGS = [("h2", "r9", "CAM-5", 1.5), ("h1", "r8", "CAM-5", 1.5)]


def write(root: Path, table: str, rows: list[dict]) -> None:
    by_hour: dict[tuple, list[dict]] = {}
    for row in rows:
        moment = row["event_time"]
        by_hour.setdefault((moment.date(), moment.hour), []).append(row)
    for (day, hour), part in by_hour.items():
        folder = root / table / f"date={day}" / f"hour={hour:02d}"
        folder.mkdir(parents=True)
        pq.write_table(pa.Table.from_pylist(part), folder / "part-0")


def write_history(root: Path, now: datetime) -> Path:
    """A small history under `root` in the job's layout, its event times counted back
    from `now`: READS, HITS (one covert, owned by PJF-ANTWERPEN) and SIGHTINGS."""
    def ago(days: float) -> datetime:
        return (now - timedelta(days=days)).replace(tzinfo=None)

    write(root, "reads", [{"read_id": r, "camera_id": c, "plate_text": p, "plate": p, "country": "BE",
                           "ocr_confidence": 0.95, "event_time": ago(d)} for r, c, p, d in READS])
    hits = [{"hit_id": h, "read_id": r, "list_name": l, "entry_id": "E", "match_kind": "EXACT", "zone": None,
             "score": 90, "priority": "P1", "camera_id": "CAM", "plate": p,
             "attributes": list(a.items()),
             "event_time": ago(d)} for h, r, l, p, d, a in HITS]
    schema = pa.schema([("hit_id", pa.string()), ("read_id", pa.string()), ("list_name", pa.string()),
                        ("entry_id", pa.string()), ("match_kind", pa.string()), ("zone", pa.string()),
                        ("score", pa.int32()), ("priority", pa.string()), ("camera_id", pa.string()),
                        ("plate", pa.string()), ("attributes", pa.map_(pa.string(), pa.string())),
                        ("event_time", pa.timestamp("ms"))])
    for hit in hits:
        folder = root / "hits" / f"date={hit['event_time'].date()}" / f"hour={hit['event_time'].hour:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist([hit], schema=schema), folder / f"part-{hit['hit_id']}")
    write(root, "sightings", [{"hit_id": h, "read_id": r, "camera_id": c, "event_time": ago(d)}
                              for h, r, c, d in SIGHTINGS])
    return root
