"""Start-up snapshots of the reference lists: every list's entries in force at known
offsets of its topic, as Arrow columns, so that a match subtask loads them in bulk
and reads the topics only from those offsets on (spec §8, docs/operations.md
"Reference snapshots").

A subtask that loads the lists from their topics decodes and applies every record,
about 21 µs an entry (docs/benchmarks.md): 210 s at 10,000,000 entries, on every
start and every restore. From a snapshot it reads columns (Arrow IPC; the columns
are `snapshot_columns`) and builds its index with numpy (`HitEngine.load_columns`),
then applies only the records that came after the snapshot, as before.

A snapshot is a folder `<root>/<UTC time>/`: one `<n>.arrows` file (Arrow's IPC
stream format) per list, and `manifest.json`, written last, so a folder without
one is incomplete and ignored:

    {"format": 1, "created": "...", "entries": N,
     "positions": [[topic, partition, last offset included], ...],
     "lists": [{"name": list, "file": "0.arrows", "entries": n, "bytes": b,
                "sha256": "..."}, ...],
     "refusals": [{"topic", "partition", "offset", "key", "value" (base64 or null),
                   "reason", "detail"}, ...]}

What it holds is `udfs.list_state.ListState` after the records up to those
positions, decoded by the job's own codec: the same entries a load from the topics
gives (tested), and the same refusals, which a subtask reports again at start-up as
it would after a load from the topics. It depends on no job setting: the lists'
kinds are applied when it is loaded.

`root` is a folder: the one place the command that takes snapshots writes and
every taskmanager reads (on a cluster of several machines, a shared mount).
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc

from connectors.reference.snapshot_columns import SCHEMA, batch_table, table_batch
from udfs.bulkload import EntryBatch
from udfs.list_state import ListState
from udfs.reference import InvalidEntry
from udfs.startup import StartupPositions

FORMAT = 1
MANIFEST = "manifest.json"
KEEP = 3   # snapshots kept by `take_snapshot`; older ones are removed
# Rows loaded at once. The column load's numpy temporaries grow with the rows: 9,300,000
# at once peaked at 5.6 GB in one process (4.2 GB over what the index then held), a
# million at a time 3.1 GB in 25.6 s, half a million 2.9 GB in 21.6 s; each subtask
# of a taskmanager loads at the same time.
LOAD_ROWS = 500_000

Record = tuple[str, int, int, bytes | None, bytes | None]   # (topic, partition, offset, key, value)
TopicPartition = tuple[str, int]

class SnapshotError(RuntimeError):
    """A snapshot that cannot be written or read, with where and why."""


@dataclass(frozen=True)
class Snapshot:
    """One complete snapshot under a root, as its manifest describes it."""

    root: str
    name: str
    positions: dict[TopicPartition, int]
    lists: list[dict]
    refusals: list[dict] = field(default_factory=list)
    created: str = ""

    @property
    def entries(self) -> int:
        return sum(item["entries"] for item in self.lists)

    def batches(self) -> Iterator[EntryBatch]:
        """Each list's entries as the columns `HitEngine.load_columns` takes, in batches
        of at most LOAD_ROWS rows (one list's file is in memory while it is loaded)."""
        for item in self.lists:
            path = Path(self.root) / self.name / item["file"]
            try:
                data = _read_checked(path, item["bytes"], item["sha256"])
            except OSError as error:
                raise SnapshotError(f"snapshot {self.name}: cannot read {item['file']} ({item['name']}): "
                                    f"{error}") from error
            if data is None:
                raise SnapshotError(f"snapshot {self.name}: {item['file']} ({item['name']}) is not the file "
                                    "its manifest describes")
            table = ipc.open_stream(data).read_all()
            for start in range(0, table.num_rows, LOAD_ROWS):
                yield table_batch(item["name"], table.slice(start, LOAD_ROWS))

    def refused_records(self) -> list[tuple[Record, InvalidEntry]]:
        """The records refused up to the snapshot's positions, with their refusal, as a
        load from the topics meets them."""
        out = []
        try:
            for r in self.refusals:
                key, value = (None if r[k] is None else base64.b64decode(r[k]) for k in ("key", "value"))
                out.append(((r["topic"], r["partition"], r["offset"], key, value),
                            InvalidEntry(r["reason"], value, r.get("detail") or "")))
        except (KeyError, TypeError, ValueError) as error:   # binascii.Error is a ValueError
            raise SnapshotError(f"snapshot {self.name}: a refusal of its manifest without {error}") from error
        return out

    def unusable_for(self, ends: StartupPositions) -> str | None:
        """Why this snapshot cannot stand for the topics whose ends are `ends` (a topic
        of it gone, or shorter than the snapshot's position: deleted and made again),
        or None when it can."""
        for (topic, partition), last in sorted(self.positions.items()):
            end = ends.ends.get((topic, partition))
            if end is None:
                return f"{topic}/{partition} is no longer there"
            if last >= end:
                return f"{topic}/{partition} ends at {end}, before the snapshot's offset {last}"
        return None


# -- taking one ---------------------------------------------------------------------

@dataclass
class Progress:
    """What `take_snapshot` reports as it goes: records read, and refusals."""

    records: int = 0
    refused: int = 0


def take_snapshot(root: str | Path, ends: StartupPositions, replay: Callable[[dict], Iterable[Record]],
                  decode: Callable[[str, bytes | None, bytes | None], Any], keep: int = KEEP,
                  progress: Callable[[Progress], None] | None = None, every: int = 500_000) -> Snapshot:
    """Read the reference topics up to `ends` (`replay(upto)`, a feed's replay), fold
    their records into the lists in force (`decode(topic, key, value)`, the job
    codec's `update`: a dict, None for nothing, or `InvalidEntry`), write them under
    `root` and remove all but the `keep` newest snapshots. `progress` is called every
    `every` records and at the end."""
    upto = ends.last_positions()
    state, refusals, seen = ListState(), [], Progress()
    for topic, partition, offset, key, value in replay(upto):
        seen.records += 1
        try:
            update = decode(topic, key, value)
            if update is not None:
                state.apply(update)
        except InvalidEntry as error:
            seen.refused += 1
            refusals.append({"topic": topic, "partition": partition, "offset": offset,
                             "key": _b64(key), "value": _b64(value), "reason": error.reason,
                             "detail": error.detail or str(error)})
        if progress is not None and seen.records % every == 0:
            progress(seen)
    if progress is not None:
        progress(seen)
    snapshot = write_snapshot(root, state, upto, refusals)
    remove_old(root, keep)
    return snapshot


def take_kafka_snapshot(bootstrap_servers: str, registry_url: str, reference_prefix: str, cameras_topic: str,
                        root: str | Path, keep: int = KEEP,
                        progress: Callable[[Progress], None] | None = None) -> Snapshot:
    """`take_snapshot` of the reference topics `<reference_prefix><list>` (the cameras
    topic apart: a subtask always reads it whole), decoded as the Kafka job decodes them."""
    import re

    from connectors.codecs import KafkaUpdates
    from connectors.kafka_reading import KafkaFeed
    from connectors.registry import RegistryClient

    feed = KafkaFeed(bootstrap_servers, f"{re.escape(reference_prefix)}.+")
    ends = feed.ends()
    ends = StartupPositions({tp: end for tp, end in ends.ends.items() if tp[0] != cameras_topic},
                            {tp: start for tp, start in ends.starts.items() if tp[0] != cameras_topic})
    updates = KafkaUpdates(RegistryClient(registry_url), reference_prefix, cameras_topic)
    return take_snapshot(root, ends, feed.replay, updates.update, keep, progress)


def write_snapshot(root: str | Path, state: ListState, positions: dict[TopicPartition, int],
                   refusals: list[dict]) -> Snapshot:
    """Write `state` as a new snapshot under `root` (its manifest last)."""
    now = datetime.now(timezone.utc)
    name = now.strftime("%Y%m%dT%H%M%S.%fZ")   # sorts by time; one folder per snapshot
    folder = Path(root) / name
    try:
        folder.mkdir(parents=True)
    except OSError as error:
        raise SnapshotError(f"cannot make {folder}: {error}") from error
    lists = []
    for n, batch in enumerate(state.batches()):
        sink = pa.BufferOutputStream()
        with ipc.new_stream(sink, SCHEMA) as writer:
            writer.write_table(batch_table(batch))
        data = sink.getvalue().to_pybytes()
        file = f"{n}.arrows"
        (folder / file).write_bytes(data)
        lists.append({"name": batch.list_name, "file": file, "entries": len(batch), "bytes": len(data),
                      "sha256": hashlib.sha256(data).hexdigest()})
    snapshot = Snapshot(str(root), name, dict(positions), lists, refusals, now.strftime("%Y-%m-%dT%H:%M:%SZ"))
    manifest = {"format": FORMAT, "created": snapshot.created, "entries": snapshot.entries,
                "positions": [[t, p, o] for (t, p), o in sorted(positions.items())],
                "lists": lists, "refusals": refusals}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return snapshot


def remove_old(root: str | Path, keep: int) -> list[str]:
    """Remove every snapshot folder but the `keep` newest complete ones (and any
    incomplete folder older than those); the names removed."""
    complete = [name for name in _names(root) if _has_manifest(root, name)]
    kept = set(complete[-keep:]) if keep > 0 else set()
    oldest_kept = min(kept) if kept else None
    removed = []
    for name in _names(root):
        if name not in kept and (oldest_kept is None or name < oldest_kept):
            shutil.rmtree(Path(root) / name)
            removed.append(name)
    return removed


# -- reading one --------------------------------------------------------------------

def latest_snapshot(root: str | Path) -> Snapshot | None:
    """The newest complete snapshot under `root`, or None when there is none."""
    for name in reversed(_names(root)):
        if _has_manifest(root, name):
            return read_manifest(root, name)
    return None


def read_manifest(root: str | Path, name: str) -> Snapshot:
    try:
        manifest = json.loads((Path(root) / name / MANIFEST).read_bytes())
    except (OSError, ValueError) as error:
        raise SnapshotError(f"snapshot {name}: unreadable manifest: {error}") from error
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise SnapshotError(f"snapshot {name}: format {found!r}, this FEBLAM reads {FORMAT}")
    try:
        return Snapshot(str(root), name, {(t, p): o for t, p, o in manifest["positions"]},
                        [{k: item[k] for k in ("name", "file", "entries", "bytes", "sha256")}
                         for item in manifest["lists"]],
                        manifest.get("refusals", []), manifest.get("created", ""))
    except (KeyError, TypeError, ValueError) as error:
        raise SnapshotError(f"snapshot {name}: manifest without {error}") from error


# -- files ---------------------------------------------------------------------------

def _names(root: str | Path) -> list[str]:
    base = Path(root)
    return sorted(p.name for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")) \
        if base.is_dir() else []


def _has_manifest(root: str | Path, name: str) -> bool:
    return (Path(root) / name / MANIFEST).is_file()


def _read_checked(path: Path, size: int, sha256: str) -> pa.Buffer | None:
    """The file at `path` in memory Arrow owns, or None when it is not `size` bytes
    with that SHA-256.

    In a taskmanager's embedded Python (PyFlink's thread mode), pyarrow must not
    take the interpreter lock through PyGILState_Ensure, or it waits for ever for the
    lock its own thread holds. It does so when it raises an error, when it tries a
    source other than a Buffer (it first tries it as one, and fails), and when it
    frees a buffer that wraps a Python object. So the file is read by Python into a
    Buffer Arrow allocated, and checked against the manifest before pyarrow parses
    it: pyarrow only ever meets bytes it wrote."""
    if path.stat().st_size != size:
        return None
    buffer = pa.allocate_buffer(size)
    with open(path, "rb") as source:
        if source.readinto(memoryview(np.frombuffer(buffer, dtype=np.uint8))) != size:
            return None
    return buffer if hashlib.sha256(memoryview(buffer)).hexdigest() == sha256 else None


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")
