"""What an ingest process has done so far, and its progress line on stderr."""

from __future__ import annotations

import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, TextIO


@dataclass
class IngestCounters:
    payloads: int = 0
    reads: int = 0
    dead_letters: Counter = field(default_factory=Counter)
    files: int = 0
    commits: int = 0

    def as_dict(self) -> dict:
        return {"payloads": self.payloads, "reads": self.reads,
                "dead_letters": sum(self.dead_letters.values()),
                "dead_letters_by_reason": dict(sorted(self.dead_letters.items())),
                "files": self.files, "commits": self.commits}

    def line(self, connector: str) -> str:
        dead = sum(self.dead_letters.values())
        reasons = ", ".join(f"{reason} {n}" for reason, n in sorted(self.dead_letters.items()))
        text = f"ingest {connector}: {self.payloads} payload(s), {self.reads} read(s), {dead} dead letter(s)"
        if reasons:
            text += f" ({reasons})"
        if self.files:
            text += f", {self.files} file(s) done"
        return text


class Progress:
    """Prints the counters every `interval_s` seconds (and once at the end) to `out`."""

    def __init__(self, counters: IngestCounters, connector: str, interval_s: float,
                 out: TextIO | None = None, clock: Callable[[], float] = time.monotonic):
        self.counters = counters
        self.connector = connector
        self.interval_s = interval_s
        self.out = out or sys.stderr
        self.clock = clock
        self._next = clock() + interval_s

    def tick(self) -> None:
        if self.clock() >= self._next:
            self.print()

    def print(self) -> None:
        print(self.counters.line(self.connector), file=self.out, flush=True)
        self._next = self.clock() + self.interval_s
