"""Hit identity (spec §9)."""

from __future__ import annotations

import hashlib


def hit_id(read_id: str, list_name: str, entry_id: str | None, zone: str | None) -> str:
    """First 32 hex characters of SHA-256 over ``read_id|list_name|entry_id|zone``.

    Absent parts (``None``) are written as the empty string. Depends on nothing
    else, so the same read, entry and zone give the same id in every run.
    """
    text = f"{read_id}|{list_name}|{entry_id or ''}|{zone or ''}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
