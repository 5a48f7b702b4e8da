"""The Avro contracts (`*.avsc`) of every FEBLAM feed, and a loader for them."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

SCHEMA_DIR = Path(__file__).resolve().parent


@lru_cache(maxsize=None)
def load(name: str) -> dict:
    """The parsed Avro schema `schemas/<name>.avsc` (e.g. `load("PlateRead")`).

    Raises FileNotFoundError naming the known schemas when `name` is unknown.
    """
    path = SCHEMA_DIR / f"{name}.avsc"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in SCHEMA_DIR.glob("*.avsc"))) or "none"
        raise FileNotFoundError(f"no schema {name!r} in {SCHEMA_DIR} (known: {known})")
    return json.loads(path.read_text(encoding="utf-8"))
