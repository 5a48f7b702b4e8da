"""The access log: every access to the history, append-only and hash-chained.

One JSON object a line. Each record carries `seq` (1, 2, ...), `prev` (the
SHA-256 of the previous record's line; 64 zeros for the first) and `sha256`
(of its own content with `prev`, without `sha256` itself). So:

- a record changed later no longer matches its own `sha256`, nor the `prev` of
  the record after it;
- a record removed leaves a gap in `seq` and a `prev` that names no record;
- records reordered break the order of `seq` and the chain.

`verify` finds each of these and names the record. Records cut from the end,
or a whole file rewritten with every hash recomputed, are caught only against
a head noted elsewhere: `verify` returns the head (`sha256` of the last record)
so that it can be written down, and `verify(expect_head=...)` checks that the
record it names is still in the chain (the log only grows, so it stays there).

Two kinds of record: an `ACCESS` (who, why, what was asked, what the gate
decided), written and flushed to disk before anything is read; and a `RESULT`
(the access's `seq`, the rows returned or the error), written once the query
ran. Both are appended under an exclusive lock, so that concurrent analysts
keep one chain. The log lives apart from the data (its own path) and no purge
of the history touches it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GENESIS = "0" * 64
ACCESS, RESULT = "ACCESS", "RESULT"


class AccessLogError(RuntimeError):
    """The access log cannot be written or read: no access goes unrecorded, so none runs."""


@dataclass(frozen=True)
class Problem:
    """One thing `verify` found: the line and the `seq` it concerns, and what is wrong."""

    line: int
    seq: int | None
    what: str

    def __str__(self) -> str:
        return f"line {self.line} (record {self.seq if self.seq is not None else '?'}): {self.what}"


@dataclass(frozen=True)
class Verification:
    records: int
    head: str
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def _digest(content: dict[str, Any]) -> str:
    # Canonical JSON (sorted keys, no spaces) so that the hash does not depend on how a
    # reader or writer happens to format the record.
    body = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


class AccessLog:
    """The log at `path` (created, with its folder, mode 0600/0700, on first write)."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def append(self, kind: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Append one record of `kind` with `fields`, chained to the last one, and flush it
        to disk before returning it (with its `seq`, `prev` and `sha256`)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as error:
            raise AccessLogError(f"cannot open the access log {self.path}: {error.strerror}") from error
        with os.fdopen(fd, "r+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                last = _last_record(handle)
                record = {"seq": (last["seq"] + 1) if last else 1, "kind": kind, **fields,
                          "prev": last["sha256"] if last else GENESIS}
                record["sha256"] = _digest(record)
                handle.seek(0, os.SEEK_END)
                handle.write((json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8"))
                handle.flush()
                os.fsync(handle.fileno())
            except (OSError, ValueError, KeyError) as error:
                raise AccessLogError(f"cannot append to the access log {self.path}: {error}") from error
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return record

    def records(self) -> Iterator[dict[str, Any]]:
        """Every record, in file order (unparseable lines are `verify`'s business: skipped here)."""
        for _, record in self._lines():
            if record is not None:
                yield record

    def verify(self, expect_head: str | None = None) -> Verification:
        """Check the chain (see the module's docstring); the head is the last record's `sha256`."""
        problems: list[Problem] = []
        entries = list(self._lines())
        records = [(line, record) for line, record in entries if record is not None]
        problems += [Problem(line, None, "not a JSON record") for line, record in entries if record is None]
        for line, record in records:
            if record.get("sha256") != _digest({k: v for k, v in record.items() if k != "sha256"}):
                problems.append(Problem(line, record.get("seq"), "changed: its content does not match its sha256"))
        seqs = [record.get("seq") for _, record in records]
        numbered = [seq for seq in seqs if isinstance(seq, int)]
        for seq in sorted(set(range(1, max(numbered, default=0) + 1)) - set(numbered)):
            problems.append(Problem(_line_before(records, seq), seq, f"removed: no record {seq} in the log"))
        for seq in sorted({seq for seq in numbered if numbered.count(seq) > 1}):
            problems.append(Problem(_line_of(records, seq), seq, f"record {seq} appears more than once"))
        previous: tuple[int, dict] | None = None
        for line, record in records:
            seq = record.get("seq")
            if previous is not None:
                before = previous[1].get("seq")
                if not isinstance(seq, int) or not isinstance(before, int) or seq <= before:
                    problems.append(Problem(line, seq, f"out of order: record {seq} after record {before}"))
                elif seq == before + 1 and record.get("prev") != previous[1].get("sha256"):
                    problems.append(Problem(line, seq, f"its prev does not match record {before}: the record "
                                            "before it was changed or replaced"))
            elif record.get("prev") != GENESIS and seq == 1:
                problems.append(Problem(line, seq, "the first record does not start the chain"))
            previous = (line, record)
        head = records[-1][1].get("sha256", "") if records else GENESIS
        if expect_head is not None and expect_head not in {record.get("sha256") for _, record in records}:
            problems.append(Problem(len(entries), seqs[-1] if seqs else None,
                                    f"no record is the head {expect_head} noted earlier: records were removed "
                                    "from the end, or the whole log rewritten"))
        problems.sort(key=lambda problem: problem.line)
        return Verification(len(entries), head, tuple(problems))

    def _lines(self) -> Iterator[tuple[int, dict[str, Any] | None]]:
        try:
            handle = open(self.path, encoding="utf-8")
        except FileNotFoundError:
            return
        except OSError as error:
            raise AccessLogError(f"cannot read the access log {self.path}: {error.strerror}") from error
        with handle:
            for number, line in enumerate(handle, 1):
                try:
                    record = json.loads(line)
                except ValueError:
                    record = None
                yield number, record if isinstance(record, dict) else None


def _line_before(records: list[tuple[int, dict]], seq: int) -> int:
    """The line where record `seq` should be: that of the first later record (or the end)."""
    later = [line for line, record in records if isinstance(record.get("seq"), int) and record["seq"] > seq]
    return min(later) if later else (records[-1][0] + 1 if records else 1)


def _line_of(records: list[tuple[int, dict]], seq: int) -> int:
    return next(line for line, record in records if record.get("seq") == seq)


def _last_record(handle) -> dict[str, Any] | None:
    """The last record of the log open in binary: read backwards from the end, so an
    append costs the same however long the log has grown. A last line that is not a
    record is a ValueError: the chain cannot go on from it (`verify` says what is wrong)."""
    size = handle.seek(0, os.SEEK_END)
    if size == 0:
        return None
    chunk, position, tail = 8192, size, b""
    while position > 0:
        step = min(chunk, position)
        position -= step
        handle.seek(position)
        tail = handle.read(step) + tail
        lines = tail.rstrip(b"\n").split(b"\n")
        if len(lines) > 1 or position == 0:
            record = json.loads(lines[-1])
            if not isinstance(record, dict) or "seq" not in record or "sha256" not in record:
                raise ValueError("the last line of the log is not a record")
            return record
    return None
