"""Retro-hits: past reads matched against alert-list entries added or changed after them.

A vehicle reported stolen this morning passed a camera yesterday. The hit-generation
job could not know then; the history can tell now. `retro_hits` takes the alert-list
updates published since the last pass (`Change`: the entry and when it was
published) and matches each against the reads of the `days` before it, in two
questions through the gate (`GatedHistory.candidates`, then `entry_hits`), so the
search is an access like any other: decided, narrowed to what the list's purpose
may see, and logged.

The rules, as in the job (`udfs`), for the same reads and entries:
- matching is `udfs.engine.HitEngine.evaluate`, over an engine that holds only the
  changed entries: EXACT, OCR, WILDCARD, validity, countries, scores and `hit_id`
  are the job's own;
- a read is the pass's when its event time lies in [published - days, published):
  later reads reach the job, which holds the entry by then;
- de-duplication is `udfs.dedup.decide`, per dedup key, reads in event-time order
  (then read_id), against the key's hits already in the history: a read the job
  already hit (the same `hit_id`) gives nothing, a read within the list's window of
  an earlier hit of the key is folded into it, and only reads folded into a hit of
  this pass become its sightings (those folded into an earlier hit are counted,
  not sent again: that hit was delivered long ago);
- each hit is marked `retro: true`; its event_time and camera_id are those of the
  past read.

LEZ lists are not searched: a LEZ hit is a fine for a passage, decided by the
lists in force at the time of the passage, never by a later one.

Covert entries: the search for a covert entry (`attributes.covert = "true"`) is made
for its owner unit (`attributes.owner`), so that it sees that entry's covert hits;
the others for `RetroSettings.unit`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pyarrow as pa

from history import layout
from history.gate import JUDICIAL, PURPOSES, AccessRequest, TimeRange, from_ms
from history.queries import GatedHistory
from udfs import dedup
from udfs.config import ALERT, MatchingSettings
from udfs.engine import HitEngine, alert_dedup_key
from udfs.model import UPSERT, PlateRead, ReferenceEntry

DAY_MS = 86_400_000
EPOCH = datetime(1970, 1, 1)

# The history's columns of hits and sightings (connectors/history.py), and `retro`.
HIT_SCHEMA = pa.schema([
    ("hit_id", pa.string()), ("read_id", pa.string()), ("list_name", pa.string()), ("entry_id", pa.string()),
    ("match_kind", pa.string()), ("substitutions", pa.int32()), ("severity", pa.int32()), ("zone", pa.string()),
    ("score", pa.int32()), ("priority", pa.string()), ("explanation_factors", pa.list_(pa.string())),
    ("explanation_values", pa.list_(pa.float64())), ("camera_id", pa.string()), ("plate", pa.string()),
    ("plate_text", pa.string()), ("country", pa.string()), ("ocr_confidence", pa.float64()),
    ("dedup_key", pa.string()), ("attributes", pa.map_(pa.string(), pa.string())),
    ("event_time", pa.timestamp("ms")), ("retro", pa.bool_())])
SIGHTING_SCHEMA = pa.schema([("hit_id", pa.string()), ("read_id", pa.string()), ("camera_id", pa.string()),
                             ("event_time", pa.timestamp("ms"))])


@dataclass(frozen=True)
class Change:
    """One reference update and the instant (epoch ms) it was published: reads before
    it were matched by the job without it."""

    entry: ReferenceEntry
    published: int


@dataclass(frozen=True)
class RetroSettings:
    """How far back a pass looks, and as whom it asks the history.

    `purposes` names the purpose of a list's searches (a list it does not name:
    `default_purpose`); the gate then bounds how far back that purpose may look
    (docs/history.md): a `days` beyond it is narrowed, and the pass says so."""

    days: int = 7
    purposes: Mapping[str, str] = field(default_factory=dict)
    default_purpose: str = JUDICIAL
    user: str = "feblam-retro-hits"
    unit: str = "FEBLAM"
    authorisation: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.days <= 366:
            raise ValueError(f"days {self.days}: 1 to 366")
        for name, purpose in [*self.purposes.items(), ("default", self.default_purpose)]:
            if purpose not in PURPOSES:
                raise ValueError(f"purpose of {name}: {purpose!r} is not one of {', '.join(PURPOSES)}")

    def purpose(self, list_name: str) -> str:
        return self.purposes.get(list_name, self.default_purpose)


@dataclass(frozen=True)
class Search:
    """One search of a pass (one purpose and unit): its two accesses and what the gate said."""

    purpose: str
    unit: str
    entries: int
    access_ids: tuple[int, ...]
    statement: str


@dataclass
class RetroResult:
    """What a pass found.

    `hits`: the hits as the job writes them (`Hit.output_record`), plus `retro: True`;
    `sightings` is the hit's count at the end of the pass (its own read included).
    `sightings`: one event per read folded into a hit of this pass, as the job sends
    them on Kafka (hit_id, read_id, camera_id, event_time, the count so far, dedup_key)."""

    hits: list[dict] = field(default_factory=list)
    sightings: list[dict] = field(default_factory=list)
    searches: list[Search] = field(default_factory=list)
    entries: int = 0
    candidates: int = 0
    already_hit: int = 0
    folded_into_earlier: int = 0

    def summary(self) -> dict:
        return {"entries": self.entries, "candidate_reads": self.candidates, "hits": len(self.hits),
                "sightings": len(self.sightings), "already_hit": self.already_hit,
                "folded_into_earlier_hits": self.folded_into_earlier,
                "searches": [search.__dict__ for search in self.searches]}


def searched(list_name: str, matching: MatchingSettings) -> bool:
    """Whether a pass searches for the updates of `list_name`: alert lists only."""
    return matching.for_list(list_name).kind == ALERT


def latest_changes(changes: Sequence[Change], matching: MatchingSettings) -> list[Change]:
    """The changes a pass searches for: per (list, entry), the last of `changes` (in their
    order), when it is an UPSERT of an alert list. A DELETE cancels what came before it."""
    last: dict[tuple[str, str], Change] = {}
    for change in changes:
        entry = change.entry
        if not searched(entry.list_name, matching):
            continue
        last[(entry.list_name, entry.entry_id)] = change
    return [change for change in last.values() if change.entry.op == UPSERT]


def retro_hits(history: GatedHistory, changes: Sequence[Change], matching: MatchingSettings,
               settings: RetroSettings = RetroSettings()) -> RetroResult:
    """The retro-hits of `changes` (see the module's docstring). Raises
    `history.gate.AccessError` when the gate refuses a search (logged first)."""
    result = RetroResult()
    wanted = latest_changes(changes, matching)
    result.entries = len(wanted)
    groups: dict[tuple[str, str], list[Change]] = {}
    for change in wanted:
        groups.setdefault((settings.purpose(change.entry.list_name), _unit(change.entry, settings)),
                          []).append(change)
    for (purpose, unit), group in sorted(groups.items()):
        _search(history, group, purpose, unit, matching, settings, result)
    result.hits.sort(key=lambda hit: (hit["event_time"], hit["hit_id"]))
    return result


def _unit(entry: ReferenceEntry, settings: RetroSettings) -> str:
    attributes = entry.attributes or {}
    if attributes.get("covert") == "true":
        return attributes.get("owner") or settings.unit
    return settings.unit


def _search(history: GatedHistory, group: list[Change], purpose: str, unit: str,
            matching: MatchingSettings, settings: RetroSettings, result: RetroResult) -> None:
    lists = sorted({change.entry.list_name for change in group})
    request = AccessRequest(settings.user, unit, purpose,
                            f"retro-hit search for {len(group)} entries added or changed in {', '.join(lists)}",
                            settings.authorisation)
    since = {(c.entry.list_name, c.entry.entry_id): c.published for c in group}
    asked = TimeRange(from_ms(min(since.values()) - settings.days * DAY_MS), from_ms(max(since.values())))
    reads = history.candidates(request, [c.entry.plate for c in group], matching.ocr_classes, asked)
    # A hit of the key up to one window before the first read still folds that read in.
    longest = max(matching.for_list(name).dedup_window_ms for name in lists)
    earlier = history.entry_hits(request, list(since), TimeRange(asked.start - timedelta(milliseconds=longest),
                                                                  asked.end))
    result.searches.append(Search(purpose, unit, len(group), (reads.access_id, earlier.access_id),
                                  reads.decision.statement))
    engine = HitEngine(matching)
    for change in group:
        engine.apply(change.entry)
    existing = {hit_id for _, _, hit_id, _ in earlier.rows}
    states: dict[str, dedup.DedupState] = {}
    for list_name, entry_id, hit_id, event_time in earlier.rows:
        key = "|".join(alert_dedup_key(list_name, entry_id))
        states[key] = tuple(sorted(states.get(key, ()) + ((_ms(event_time), hit_id, 1),)))
    emitted: dict[str, dict] = {}
    window = settings.days * DAY_MS
    for read_id, camera_id, event_time, plate_text, plate, country, confidence in reads.rows:
        result.candidates += 1
        read = PlateRead(read_id, camera_id, _ms(event_time), plate_text, plate, country, confidence)
        for hit in engine.evaluate(read):
            published = since[(hit.list_name, hit.entry_id)]
            if not published - window <= read.event_time < published:
                continue
            if hit.hit_id in existing:
                result.already_hit += 1
                continue
            key = "|".join(hit.dedup_key)
            decision = dedup.decide(states.get(key), hit)
            states[key] = decision.state
            if decision.emit:
                record = hit.output_record(read, key)
                record["retro"] = True
                emitted[hit.hit_id] = record
                result.hits.append(record)
            elif decision.folded_into in emitted:
                emitted[decision.folded_into]["sightings"] = decision.sightings
                result.sightings.append({"hit_id": decision.folded_into, "read_id": read.read_id,
                                         "camera_id": read.camera_id, "event_time": read.event_time,
                                         "sightings": decision.sightings, "dedup_key": key})
            else:
                result.folded_into_earlier += 1


def _ms(moment: datetime) -> int:
    """A history timestamp (UTC wall clock, no zone) as epoch milliseconds."""
    return (moment.replace(tzinfo=None) - EPOCH) // timedelta(milliseconds=1)


def write_to_history(root, result: RetroResult, name: str) -> list:
    """Add the pass's hits and sightings to the history under `root` (history.layout.add_rows),
    in files named `part-<name>`, so that the analysts see them and the next pass knows
    them (a hit already in the history is not sent again). Returns the files written."""
    hits = [{**{column: hit.get(column) for column in HIT_SCHEMA.names},
             "explanation_factors": [str(f) for f, _ in hit["explanation"]],
             "explanation_values": [float(v) for _, v in hit["explanation"]],
             "attributes": list(hit["attributes"].items()), "event_time": _wall(hit["event_time"])}
            for hit in result.hits]
    sightings = [{"hit_id": s["hit_id"], "read_id": s["read_id"], "camera_id": s["camera_id"],
                  "event_time": _wall(s["event_time"])} for s in result.sightings]
    return (layout.add_rows(root, "hits", hits, HIT_SCHEMA, name)
            + layout.add_rows(root, "sightings", sightings, SIGHTING_SCHEMA, name))


def _wall(ms: int) -> datetime:
    """Epoch milliseconds as the history's UTC wall clock without a zone."""
    return EPOCH + timedelta(milliseconds=ms)
