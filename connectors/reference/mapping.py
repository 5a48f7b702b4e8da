"""Per-feed column mapping: which column of an export holds which field.

YAML shape (one entry per list; every key optional)::

    feeds:
      stolen_vehicles:
        format: csv            # csv, parquet or jsonl; default: the file's extension
        kind: alert            # alert, lez_status or lez_permit; default: the list's
                               # kind in udfs.config (any unnamed list is an alert list)
        columns:               # field: column of the file; a field not named here is
          entry_id: id         # read from the column of its own name, when there is one
          plate: registration
          valid_until: expires
        attributes: [case_ref, instructions]   # columns copied into `attributes`
        zones: [BXL, ANT]      # LEZ lists: the known zones (a zone outside is refused)
        row_count_change: 0.5  # refuse a file whose row count differs from the
                               # published list by more than this fraction

Unknown keys and bad values raise ``MappingError`` naming the key, at load.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from udfs.config import DEFAULT_LISTS, KINDS, LEZ_STATUS

FIELDS = ("entry_id", "plate", "country", "valid_from", "valid_until", "severity", "zone", "admitted")
DEFAULT_ROW_COUNT_CHANGE = 0.5
_FEED_KEYS = {"format", "kind", "columns", "attributes", "zones", "row_count_change"}


class MappingError(ValueError):
    """A mapping file refused at load; the message names the key and the problem."""


@dataclass(frozen=True)
class FeedMapping:
    """How one list's export maps to ReferenceEntry fields (see the module doc)."""

    list_name: str
    kind: str
    format: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    attributes: tuple[str, ...] = ()
    zones: tuple[str, ...] | None = None
    row_count_change: float = DEFAULT_ROW_COUNT_CHANGE

    def column(self, name: str) -> str:
        """The file column holding field ``name``."""
        return self.columns.get(name, name)


def default_kind(list_name: str) -> str:
    settings = DEFAULT_LISTS.get(list_name)
    return settings.kind if settings else "alert"


def feed_mapping(list_name: str, raw: Any = None) -> FeedMapping:
    """The mapping of ``list_name`` from its YAML entry ``raw`` (``None``: all defaults)."""
    where = f"feeds.{list_name}"
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        raise MappingError(f"{where}: must be a mapping, got {type(raw).__name__}")
    unknown = sorted(set(raw) - _FEED_KEYS)
    if unknown:
        raise MappingError(f"{where}: unknown keys {unknown}; known keys: {sorted(_FEED_KEYS)}")
    kind = raw.get("kind", default_kind(list_name))
    if kind not in KINDS:
        raise MappingError(f"{where}.kind: must be one of {', '.join(KINDS)}, got {kind!r}")
    fmt = raw.get("format")
    if fmt is not None:
        from connectors.reference.formats import READERS

        if fmt not in READERS:
            raise MappingError(f"{where}.format: must be one of {', '.join(READERS)}, got {fmt!r}")
    columns = raw.get("columns") or {}
    if not isinstance(columns, dict):
        raise MappingError(f"{where}.columns: must map fields to column names")
    for name, column in columns.items():
        if name not in FIELDS:
            raise MappingError(f"{where}.columns: unknown field {name!r}; fields: {', '.join(FIELDS)}")
        if not isinstance(column, str) or not column:
            raise MappingError(f"{where}.columns.{name}: must be a column name, got {column!r}")
    if "admitted" in columns and kind != LEZ_STATUS:
        raise MappingError(f"{where}.columns.admitted: only lists of kind {LEZ_STATUS} have it")
    attributes = raw.get("attributes") or []
    if not isinstance(attributes, list) or not all(isinstance(a, str) and a for a in attributes):
        raise MappingError(f"{where}.attributes: must be a list of column names")
    zones = raw.get("zones")
    if zones is not None and (not isinstance(zones, list)
                              or not all(isinstance(z, str) and z for z in zones)):
        raise MappingError(f"{where}.zones: must be a list of zone names")
    change = raw.get("row_count_change", DEFAULT_ROW_COUNT_CHANGE)
    if isinstance(change, bool) or not isinstance(change, (int, float)) or change < 0:
        raise MappingError(f"{where}.row_count_change: must be a fraction >= 0, got {change!r}")
    return FeedMapping(list_name=list_name, kind=kind, format=fmt, columns=dict(columns),
                       attributes=tuple(attributes), zones=tuple(zones) if zones is not None else None,
                       row_count_change=float(change))


def load_mapping(path: Path | None, list_name: str) -> FeedMapping:
    """The mapping of ``list_name`` in the YAML file ``path``; the defaults when ``path``
    is ``None``. A file without a feed for ``list_name`` raises ``MappingError``: a
    mapping given and then ignored (a typo in the list's name) would load the export
    with the wrong columns. A feed may be empty (``name: {}``) to take the defaults."""
    if path is None:
        return feed_mapping(list_name)
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise MappingError(f"{path}: cannot be read: {error}") from None
    if not isinstance(data, dict):
        raise MappingError(f"{path}: must be a mapping with the key 'feeds'")
    unknown = sorted(set(data) - {"feeds"})
    if unknown:
        raise MappingError(f"{path}: unknown keys {unknown}; the only key is 'feeds'")
    feeds = data.get("feeds") or {}
    if not isinstance(feeds, dict):
        raise MappingError(f"{path}: feeds: must map list names to feed mappings")
    if list_name not in feeds:
        raise MappingError(f"{path}: no feed {list_name!r} (its feeds: {', '.join(sorted(map(str, feeds))) or 'none'})")
    return feed_mapping(list_name, feeds[list_name])
