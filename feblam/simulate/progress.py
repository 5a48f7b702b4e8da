"""Progress of a long run on stderr: rows written and rate, every few seconds.

The clock is passed in, so the reporter is tested without waiting.
"""

from __future__ import annotations

import sys
import time
from typing import Callable, TextIO


class Progress:
    """Counts rows per file; ``tick`` prints at most every ``interval`` seconds."""

    def __init__(self, stream: TextIO | None = sys.stderr, interval: float = 3.0,
                 clock: Callable[[], float] = time.monotonic):
        self.stream = stream
        self.interval = interval
        self.clock = clock
        self.started = clock()
        self.last = self.started
        self.rows = 0
        self._since_check = 0

    def tick(self, name: str, written: int) -> None:
        """One more row of file ``name``, which now holds ``written`` rows."""
        self.rows += 1
        self._since_check += 1
        if self.stream is None or self._since_check < 1000:
            return
        self._since_check = 0
        now = self.clock()
        if now - self.last >= self.interval:
            self.last = now
            rate = self.rows / max(now - self.started, 1e-9)
            print(f"simulate: {name}: {written:,} rows ({self.rows:,} in all, {rate:,.0f} rows/s)",
                  file=self.stream, flush=True)

    def elapsed(self) -> float:
        return self.clock() - self.started
