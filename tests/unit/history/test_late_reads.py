"""history.late_reads: which reads a job writing the history may not keep, by the hour
partition they would land in, against the retention limit of its clock."""

from __future__ import annotations

import pickle
import time
from datetime import datetime, timezone

from history.gate import AccessPolicy
from history.late_reads import LateReads


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp() * 1000)


NOW = ms("2026-12-06T09:30:00")            # the limit: 2025-12-06T09:30:01


def test_a_read_whose_hour_is_wholly_past_the_limit_is_refused_with_why():
    late = LateReads(now_ms=NOW)
    problem = late.problem(ms("2025-12-06T08:59:59"))
    assert problem.startswith("event time 2025-12-06T08:59:59Z is in an hour of the history already past its "
                              "12-month retention (limit 2025-12-06T09:30:01Z)")
    assert late.problem(ms("2024-01-01T00:00:00")) is not None


def test_the_hour_that_straddles_the_limit_is_kept_as_the_purge_keeps_it():
    late = LateReads(now_ms=NOW)
    assert late.problem(ms("2025-12-06T09:00:00")) is None     # its hour ends at 10:00, after the limit
    assert late.problem(ms("2025-12-06T09:10:00")) is None
    assert late.problem(ms("2026-12-06T09:29:00")) is None


def test_a_shorter_policy_and_the_wall_clock():
    assert LateReads(AccessPolicy(retention_months=6), now_ms=NOW).problem(ms("2026-06-06T08:00:00")) is not None
    wall = LateReads()
    now = int(time.time() * 1000)
    assert wall.problem(now) is None and wall.problem(now - 400 * 86_400_000) is not None


def test_it_travels_pickled_to_the_taskmanagers():
    late = pickle.loads(pickle.dumps(LateReads(now_ms=NOW)))
    assert late.problem(ms("2025-12-05T00:00:00")) is not None
