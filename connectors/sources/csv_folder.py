"""`csv-folder`: CSV files dropped in a folder, one read a line.

The files of the municipal camera systems that cannot stream: `*.csv`, UTF-8
(a byte-order mark is allowed), a header row naming the columns in any order:

    read_id,camera_id,event_time,plate,country,confidence,make,colour,vehicle_type,image_ref
    GNT-000001,ANPR-GNT-0003,2026-03-01T08:15:02.120+01:00,1-ABC-123,B,0.91,,,car,

Required: read_id, camera_id, event_time (ISO-8601 with a UTC offset; `T` or a
space between date and time), plate, confidence (a decimal in [0, 1]).
Optional: country, make, colour, vehicle_type, image_ref; an empty cell is
null. Other columns are ignored.

Each line after the header is one payload: its dead letter keeps the line's
bytes and its line number. Blank lines carry no read and are skipped. A line
is one row: a quoted cell may not hold a line break (such a row is MALFORMED).
`decode` takes a one-row CSV document (the header line, a newline, the row
line), so it needs no state between rows.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Iterator

from connectors.sources.base import FilePayload, FolderConnector, RejectedPayload
from udfs.validation import BAD_CONFIDENCE, BAD_TIMESTAMP, MALFORMED

REQUIRED = ("read_id", "camera_id", "event_time", "plate", "confidence")
OPTIONAL = {"country": "plate_country", "make": "make", "colour": "colour",
            "vehicle_type": "vehicle_type", "image_ref": "image_ref"}


class CsvFolderReads(FolderConnector):
    name = "csv-folder"
    description = ("CSV drop folder: *.csv with a header row (read_id, camera_id, event_time with offset, "
                   "plate, country, confidence 0..1), one read a line")
    pattern = "*.csv"

    def split(self, path: Path) -> Iterator[FilePayload]:
        lines = Path(path).read_bytes().split(b"\n")
        header = None
        for number, line in enumerate(lines, start=1):
            line = line[:-1] if line.endswith(b"\r") else line
            if not line.strip():
                continue
            if header is None:
                header = line
                continue
            yield FilePayload(number, line, header + b"\n" + line)

    def decode(self, payload: bytes) -> dict:
        header_bytes, _, row_bytes = payload.partition(b"\n")
        try:
            columns = _cells(header_bytes.decode("utf-8-sig"))
            cells = _cells(row_bytes.decode("utf-8"))
        except (UnicodeDecodeError, csv.Error) as error:
            raise RejectedPayload(MALFORMED, f"not a UTF-8 CSV row: {error}", payload) from None
        columns = [c.strip() for c in columns]
        missing = [c for c in REQUIRED if c not in columns]
        if missing:
            raise RejectedPayload(MALFORMED, f"the file's header lacks {', '.join(missing)}", payload)
        if len(cells) != len(columns):
            raise RejectedPayload(MALFORMED, f"{len(cells)} cells for {len(columns)} columns", payload)
        row = {column: (cell.strip() or None) for column, cell in zip(columns, cells)}
        read_id = row["read_id"]
        for column in ("read_id", "camera_id", "plate"):
            if row[column] is None:
                raise RejectedPayload(MALFORMED, f"{column} is empty", payload, read_id)
        if row["event_time"] is None:
            raise RejectedPayload(BAD_TIMESTAMP, "event_time is empty", payload, read_id)
        record = {
            "read_id": read_id,
            "camera_id": row["camera_id"],
            # ISO text with its offset: validation turns it into UTC millis and refuses one without.
            "event_time": row["event_time"],
            "plate_text": row["plate"],
            "ocr_confidence": _confidence(row["confidence"], payload, read_id),
            "source": self.name,
        }
        record.update({field: row.get(column) for column, field in OPTIONAL.items()})
        return record


def _cells(text: str) -> list[str]:
    rows = list(csv.reader([text], strict=True))
    return rows[0] if rows else []


def _confidence(text: str | None, payload: bytes, read_id: str | None) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        raise RejectedPayload(BAD_CONFIDENCE, f"confidence {text!r} is not a number", payload, read_id) from None
