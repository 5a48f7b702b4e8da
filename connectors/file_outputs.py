"""The file mode's outputs, from the job's part files to the run's JSON Lines.

The job writes each output (hits, sightings, dead letters, refusals) as lines
`<order>\\t<JSON>` into `work/<output>/part-*` (`connectors.codecs.FileCodec`):
one or more part files per parallel subtask, each at most the sink's part size
(`connectors.files.PART_SIZE`). A part file is in input order where one step
alone fed its subtask; hits and sightings are not, since de-duplication takes
candidates from matching and from clone suspicion at once. `write_outputs`
sorts each part file (Timsort: linear on the runs it already has) and merges
them (a k-way merge, so memory grows with a part file, not with the input)
into one file per output in input order,
and gives every hit its `sightings` (spec §7: the reads folded into it, its own
included), the count its last sighting event carried. Only the hits that were
seen again are held in memory, as one count each.
"""

from __future__ import annotations

import heapq
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from connectors.codecs import DEAD_LETTERS, HITS, REFUSALS, SIGHTINGS


@dataclass
class OutputCounts:
    """What a file-mode run wrote, for the caller to print."""

    hits: int = 0
    sightings: int = 0
    dead_letters: int = 0
    refused_updates: int = 0
    hits_by_list: Counter = field(default_factory=Counter)
    hits_by_kind: Counter = field(default_factory=Counter)
    hits_by_priority: Counter = field(default_factory=Counter)
    dead_letters_by_reason: Counter = field(default_factory=Counter)
    refusals_by_reason: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict:
        return {
            "hits": self.hits,
            "sightings": self.sightings,
            "dead_letters": self.dead_letters,
            "refused_reference_updates": self.refused_updates,
            "hits_by_list": dict(self.hits_by_list),
            "hits_by_kind": dict(self.hits_by_kind),
            "hits_by_priority": dict(self.hits_by_priority),
            "dead_letters_by_reason": dict(self.dead_letters_by_reason),
            "refusals_by_reason": dict(self.refusals_by_reason),
        }


def _parts(work: Path, output: str) -> list[Path]:
    # Committed files only: Flink writes in-progress ones hidden ('.part-...').
    return sorted((work / output).glob("part-*"))


def _records(path: Path, key: Callable[[int, dict], tuple]) -> list[tuple[tuple, dict]]:
    """The records of one part file, sorted by `key` (stable: ties keep file order)."""
    records = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            order, _, text = line.rstrip("\n").partition("\t")
            record = json.loads(text)
            records.append((key(int(order), record), record))
    records.sort(key=lambda item: item[0])
    return records


def merged(work: Path, output: str, key: Callable[[int, dict], tuple]) -> Iterator[dict]:
    """The records of one output, all part files merged by `key` (ties: part file order)."""
    streams = [_records(part, key) for part in _parts(work, output)]
    for _, record in heapq.merge(*streams, key=lambda item: item[0]):
        yield record


def _hit_order(order: int, hit: dict) -> tuple:
    # The engine's order among one read's hits (udfs.engine.HitEngine.evaluate).
    return order, hit["list_name"], hit["entry_id"] or "", hit["zone"] or ""


def _line_order(order: int, record: dict) -> tuple:
    return (order, record.get("read_id") or "")


def _refusal_order(order: int, refusal: dict) -> tuple:
    return refusal["source"], order


def _write(path: Path | None, records: Iterable[dict]) -> Iterator[dict]:
    """Write `records` to `path` (atomically: readers never see half a file) while
    passing them on; with no path, only pass them on."""
    if path is None:
        yield from records
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, sort_keys=True) + "\n")
            yield record
    tmp.replace(path)


def write_outputs(work: Path, hits: Path, dead_letters: Path, sightings: Path | None = None,
                  refusals: Path | None = None) -> OutputCounts:
    """Merge the job's part files under `work` into the run's files (see the module doc)."""
    counts = OutputCounts()
    seen_again: dict[str, int] = {}
    for sighting in _write(sightings, merged(work, SIGHTINGS, _line_order)):
        counts.sightings += 1
        seen_again[sighting["hit_id"]] = max(sighting["sightings"], seen_again.get(sighting["hit_id"], 1))
    for hit in _write(hits, _with_sightings(merged(work, HITS, _hit_order), seen_again)):
        counts.hits += 1
        counts.hits_by_list[hit["list_name"]] += 1
        counts.hits_by_kind[hit["match_kind"]] += 1
        counts.hits_by_priority[hit["priority"]] += 1
    for dead in _write(dead_letters, merged(work, DEAD_LETTERS, _line_order)):
        counts.dead_letters += 1
        counts.dead_letters_by_reason[dead["reason"]] += 1
    for refusal in _write(refusals, merged(work, REFUSALS, _refusal_order)):
        counts.refused_updates += 1
        counts.refusals_by_reason[refusal["reason"]] += 1
    return counts


def _with_sightings(hits: Iterable[dict], seen_again: dict[str, int]) -> Iterator[dict]:
    for hit in hits:
        hit["sightings"] = seen_again.get(hit["hit_id"], 1)
        yield hit
