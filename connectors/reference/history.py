"""Load and refusal history of the reference lists: one small JSON file.

Shape: ``{"lists": {NAME: {"entries": N, "last_load": {...}, "last_refusal": {...}}}}``.
``last_load`` holds ``at`` (UTC ISO-8601), ``file``, ``topic``, ``entries``,
``upserts``, ``deletes``; ``last_refusal`` holds ``at``, ``file``, ``reasons``
(one line per failed expectation) and ``report`` (the report folder). The file
is replaced atomically; the truth about what is published stays the topic.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def read_history(path: Path) -> dict:
    """The history in ``path`` (an empty one when the file does not exist)."""
    if not Path(path).is_file():
        return {"lists": {}}
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    data.setdefault("lists", {})
    return data


def _write(path: Path, data: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    temporary.replace(path)


def record_load(path: Path, list_name: str, load: dict) -> None:
    data = read_history(path)
    entry = data["lists"].setdefault(list_name, {})
    entry["entries"] = load["entries"]
    entry["last_load"] = load
    _write(path, data)


def record_refusal(path: Path, list_name: str, refusal: dict) -> None:
    data = read_history(path)
    data["lists"].setdefault(list_name, {})["last_refusal"] = refusal
    _write(path, data)
