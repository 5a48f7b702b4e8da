"""Real export files for the reference-loader tests, in each format."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

FORMATS = ("csv", "parquet", "jsonl")


def write(directory: Path, rows: list[dict], fmt: str, name: str = "export") -> Path:
    """Write `rows` (all with the same keys; None = missing) as a `fmt` file; its path."""
    columns = list(rows[0]) if rows else []
    path = Path(directory) / f"{name}.{fmt}"
    if fmt == "csv":
        import csv

        with open(path, "w", newline="", encoding="utf-8") as out:
            writer = csv.DictWriter(out, fieldnames=columns)
            writer.writeheader()
            for row in rows:
                writer.writerow({k: "" if v is None else v for k, v in row.items()})
    elif fmt == "parquet":
        pq.write_table(pa.Table.from_pylist(rows), path)
    elif fmt == "jsonl":
        path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    else:
        raise ValueError(fmt)
    return path


def alert_rows() -> list[dict]:
    return [
        {"entry_id": "E1", "plate": "1-ABC-123", "country": "B", "valid_from": "2026-01-01",
         "valid_until": "2027-01-01T00:00:00Z", "severity": "80", "case": "C-1"},
        {"entry_id": "E2", "plate": "AB?C12*", "country": None, "valid_from": None,
         "valid_until": None, "severity": None, "case": None},
        {"entry_id": "E3", "plate": "2 xyz 999", "country": "NL", "valid_from": "1767225600000",
         "valid_until": None, "severity": "0", "case": "C-3"},
    ]


def status_rows() -> list[dict]:
    return [
        {"entry_id": "S1", "plate": "1ABC123", "zone": "BXL", "admitted": "true"},
        {"entry_id": "S2", "plate": "2XYZ999", "zone": None, "admitted": "FALSE"},
        {"entry_id": "S3", "plate": "3DEF456", "zone": "ANT", "admitted": "false"},
    ]


def permit_rows() -> list[dict]:
    return [
        {"entry_id": "P1", "plate": "1ABC123", "zone": "BXL", "valid_from": "2026-01-01", "valid_until": "2026-01-02"},
        {"entry_id": "P2", "plate": "2XYZ999", "zone": "ANT", "valid_from": None, "valid_until": None},
        {"entry_id": "P3", "plate": "3DEF456", "zone": "GNT", "valid_from": "2026-03-01", "valid_until": None},
    ]
