"""The de-duplication decision (spec §7), as a small state machine.

The keyed step of the job keeps one ``DedupState`` per dedup key in Flink keyed
state and calls ``decide`` for each candidate hit of that key, in arrival order.
The state is a tuple of ``(event_time, hit_id, sightings)`` triples, one per
hit emitted for the key, sorted by event time: plain ints and text, small and
serialisable by any serializer (pickle, JSON, Avro array of records).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from udfs.model import Hit

DedupState = tuple[tuple[int, str, int], ...]
EMPTY_STATE: DedupState = ()
LEZ_TIMEZONE = ZoneInfo("Europe/Brussels")


class Decision(NamedTuple):
    """``emit``: send the hit. Else it was folded into ``folded_into`` (a hit_id),
    which has now been seen ``sightings`` times (its own read included)."""

    emit: bool
    folded_into: str | None
    sightings: int
    state: DedupState


def decide(state: DedupState | None, hit: Hit) -> Decision:
    """Spec §7 for one candidate ``hit`` given the ``state`` of its dedup key.

    Alert hits (``hit.dedup_window_ms`` set): emitted unless a hit of the key was
    already emitted for a read less than the window away, either side; otherwise
    folded into the nearest such hit (the earliest on a tie). LEZ hits
    (``dedup_window_ms is None``): at most one per key; every later one is folded
    into it. A folded read adds one sighting to the hit it is folded into.
    """
    state = state or EMPTY_STATE
    t = hit.event_time
    window = hit.dedup_window_ms
    best = -1
    if window is None:
        best = 0 if state else -1
    else:
        best_gap = None
        for i, (emitted_at, _, _) in enumerate(state):
            gap = abs(t - emitted_at)
            if gap < window and (best_gap is None or gap < best_gap):
                best, best_gap = i, gap
    if best < 0:
        new_state = tuple(sorted(state + ((t, hit.hit_id, 1),)))
        return Decision(True, None, 1, new_state)
    emitted_at, emitted_id, sightings = state[best]
    folded = (emitted_at, emitted_id, sightings + 1)
    return Decision(False, emitted_id, sightings + 1,
                    state[:best] + (folded,) + state[best + 1:])


def expires_at(state: DedupState, window_ms: int | None) -> int | None:
    """The event time from which no read can be folded into ``state`` any more.

    For an alert key: the last emitted time plus the window. For a LEZ key:
    the end of the local (Europe/Brussels) day of its hit. Once the job's
    event-time clock, less the lateness it tolerates, passes this instant, the
    state may be cleared without changing any later decision. ``None`` for an
    empty state.
    """
    if not state:
        return None
    if window_ms is not None:
        return max(emitted_at for emitted_at, _, _ in state) + window_ms
    return next_local_midnight(state[0][0])


def prune(state: DedupState, horizon: int, window_ms: int) -> DedupState:
    """Drop alert hits that no read at or after ``horizon`` can be folded into."""
    return tuple(s for s in state if s[0] + window_ms > horizon)


def local_date(event_time: int) -> str:
    """Spec §7: the calendar date of ``event_time`` in Europe/Brussels, ``YYYY-MM-DD``."""
    return datetime.fromtimestamp(event_time // 1000, LEZ_TIMEZONE).date().isoformat()


def next_local_midnight(event_time: int) -> int:
    """Epoch millis of the first Brussels midnight after ``event_time``."""
    local = datetime.fromtimestamp(event_time // 1000, LEZ_TIMEZONE)
    midnight = datetime(local.year, local.month, local.day, tzinfo=LEZ_TIMEZONE) \
        + timedelta(days=1)
    return int(midnight.timestamp() * 1000)
