"""Reads too late for the history: the job's side of the retention rule (docs/history.md).

The purge removes each hour partition of the history once all of it is past the
retention limit (12 calendar months before now). A job that wrote a read into such
a partition would keep what the law says must be gone, until the next purge. So a
job that writes the history asks `LateReads.problem` of each valid read, as it
processes it: a read whose hour (UTC) ended at or before the limit is not matched
and not written, and goes to the dead-letter output instead, with the reason
`PAST_RETENTION` and this text. A read in the hour that straddles the limit is
written, as the purge keeps that partition.

The clock is the wall clock, unless `now_ms` fixes it: for replaying recorded data
whose dates are fixed (a test data set, a reconstruction), where a moving clock would
make the same input give other output from one month to the next.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

from history.gate import AccessPolicy, from_ms, iso

HOUR_MS = 3_600_000


class LateReads:
    """Picklable (a Flink operator holds one). Not thread-safe."""

    def __init__(self, policy: AccessPolicy = AccessPolicy(), now_ms: int | None = None):
        self.policy = policy
        self.now_ms = now_ms
        self._second = None
        self._limit_ms = 0

    def limit_ms(self) -> int:
        """The retention limit now, epoch ms. Worked out once per second of the clock: the
        calendar arithmetic costs more than the rest of a read's check."""
        now_s = self.now_ms // 1000 if self.now_ms is not None else int(time.time())
        if now_s != self._second:
            # The limit of the second's end: the check is never more lenient than the law.
            moment = datetime.fromtimestamp(now_s + 1, timezone.utc)
            self._limit_ms = int(self.policy.retention_limit(moment).timestamp() * 1000)
            self._second = now_s
        return self._limit_ms

    def problem(self, event_ms: int) -> str | None:
        """Why a read at `event_ms` may not enter the history, or None when it may."""
        hour_end = event_ms - event_ms % HOUR_MS + HOUR_MS
        limit = self.limit_ms()
        if hour_end > limit:
            return None
        return (f"event time {iso(from_ms(event_ms))} is in an hour of the history already past its "
                f"{self.policy.retention_months}-month retention (limit {iso(from_ms(limit))}): "
                "not kept, not matched")
