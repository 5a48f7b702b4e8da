"""File readers of reference exports, looked up by format name.

``read_table(fmt, path)`` returns a ``pandas.DataFrame`` with one row per
record of the file, in file order, columns as named in the file. Missing values
(empty CSV cells, JSON nulls, Parquet nulls) are ``None``. CSV cells stay text;
Parquet and JSON values keep their types (the mapping step turns them into
fields). Raises ``UnknownFormat`` for a name that is not a reader and
``UnreadableFile`` for a file that cannot be read with the reader named.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import pandas as pd


class UnknownFormat(ValueError):
    """A format name no reader answers to; the message lists the known ones."""


class UnreadableFile(ValueError):
    """A file that the reader of its format cannot read."""


def _nulls(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.astype(object)
    return frame.where(pd.notna(frame), None)


def read_csv(path: Path) -> pd.DataFrame:
    """CSV with a header line, UTF-8; every cell is text, empty cells are missing."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    return frame.replace({"": None})


def read_parquet(path: Path) -> pd.DataFrame:
    """Parquet (any number of row groups); timestamps stay timestamps."""
    import pyarrow.parquet as pq

    return _nulls(pq.read_table(path).to_pandas())


def read_jsonl(path: Path) -> pd.DataFrame:
    """JSON Lines: one JSON object per non-blank line."""
    rows = []
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise UnreadableFile(f"{path}:{number}: not JSON: {error}") from None
            if not isinstance(row, dict):
                raise UnreadableFile(f"{path}:{number}: not a JSON object")
            rows.append(row)
    return _nulls(pd.DataFrame.from_records(rows)) if rows else pd.DataFrame()


READERS: dict[str, Callable[[Path], pd.DataFrame]] = {
    "csv": read_csv,
    "parquet": read_parquet,
    "jsonl": read_jsonl,
}


def reader(fmt: str) -> Callable[[Path], pd.DataFrame]:
    """The reader of format ``fmt``; ``UnknownFormat`` names the known formats."""
    try:
        return READERS[fmt.lower()]
    except KeyError:
        raise UnknownFormat(f"unknown format {fmt!r}; known formats: {', '.join(READERS)}") from None


def format_of(path: Path) -> str:
    """The format a file's extension names (``.csv``, ``.parquet``/``.pq``, ``.jsonl``/``.ndjson``)."""
    suffix = Path(path).suffix.lower().lstrip(".")
    return {"pq": "parquet", "ndjson": "jsonl"}.get(suffix, suffix)


def read_table(fmt: str, path: Path) -> pd.DataFrame:
    """The records of ``path`` read as format ``fmt``; see the module contract."""
    read = reader(fmt)
    try:
        return read(Path(path))
    except (UnreadableFile, FileNotFoundError):
        raise
    except Exception as error:
        raise UnreadableFile(f"{path}: cannot be read as {fmt}: {error}") from error
