"""The de-duplication decision (spec §7), as a small state machine with bounded state.

The keyed step of the job keeps one ``DedupState`` per dedup key in Flink keyed
state and calls ``decide`` for each candidate hit of that key, in arrival order.
The state is a tuple of ``(event_time, hit_id, sightings)`` triples, one per
emitted hit of the key that can still matter, sorted by event time: plain ints
and text, small and serialisable by any serializer (pickle, JSON, Avro array of
records).

**Bounded state** (spec §7 "State"). Every emitted hit has a *window end*, the
first instant at which no read of its key folds into it any more: its event
time plus the list's ``dedup_window`` for an alert hit, the next Brussels
midnight for a LEZ hit (its key holds one local day). The job's event-time
clock is its watermark ``M``; a read is *late* when its event time is more than
``allowed_lateness`` (``L``) behind the clock (``t < M - L``), *on time*
otherwise. A hit whose window ended more than ``L`` ago (its last instant,
window end - 1 ms, is more than ``L`` before ``M``: ``window_end + L <= M``)
is forgotten: ``decide`` drops it from the state, and ``forget_at`` tells when
the whole key may go. Decisions for on-time reads never change (see ``decide``).

**One event-time timer per key.** The step keeps, beside the state, the
instant ``forget`` of the key (a LONG, initially none):

    watermark = ctx.timer_service().current_watermark()
    d = decide(state, hit, watermark=watermark, allowed_lateness_ms=L)
    at = forget_at(d.state, hit.dedup_window_ms, L)
    if at is not None:
        if forget is None:
            register_event_time_timer(at)     # the key's one timer
        forget = at if forget is None else max(forget, at)
    state = d.state

    on_timer(T):
        if forget is None or forget <= T:     # nothing emitted since: clear it all
            clear state and forget
        else:
            register_event_time_timer(forget) # hits emitted since moved the instant

A key has at most one pending timer; clearing is never early, because ``forget``
is never before the instant at which the state may be forgotten.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import NamedTuple
from zoneinfo import ZoneInfo

from udfs.model import Hit

DedupState = tuple[tuple[int, str, int], ...]
EMPTY_STATE: DedupState = ()
LEZ_TIMEZONE = ZoneInfo("Europe/Brussels")

HOUR_MS = 3_600_000
DEFAULT_ALLOWED_LATENESS_MS = 6 * HOUR_MS   # spec §7 (config)
LONGEST_LOCAL_DAY_MS = 25 * HOUR_MS         # a Brussels day ending summer time


class Decision(NamedTuple):
    """``emit``: send the hit. Else it was folded into ``folded_into`` (a hit_id),
    which has now been seen ``sightings`` times (its own read included).
    ``state`` is the key's new state."""

    emit: bool
    folded_into: str | None
    sightings: int
    state: DedupState


def decide(state: DedupState | None, hit: Hit, *, watermark: int | None = None,
           allowed_lateness_ms: int = DEFAULT_ALLOWED_LATENESS_MS) -> Decision:
    """Spec §7 for one candidate ``hit`` given the ``state`` of its dedup key.

    Alert hits (``hit.dedup_window_ms`` set): emitted unless a hit of the key was
    already emitted for a read less than the window away, either side; otherwise
    folded into the nearest such hit (the earliest on a tie). LEZ hits
    (``dedup_window_ms is None``): at most one per key; every later one is folded
    into it. A folded read adds one sighting to the hit it is folded into.

    ``watermark`` is the job's event-time clock (``None`` or very old at start:
    nothing is forgotten). Before deciding, and for the hit it emits, ``decide``
    drops every emitted hit whose window ended more than ``allowed_lateness_ms``
    before the clock (``window_end + L <= watermark``). Why that changes no
    decision for an on-time read: the clock never goes back, so every read that
    is on time now or later has ``t >= watermark - L >= window_end``, while a
    hit only ever folds reads with ``t < window_end`` (alert: ``|t - h| < W``;
    LEZ: the same Brussels day). A dropped hit could therefore neither take such
    a read nor be the nearest candidate for it, and the sighting counts of the
    hits kept are the same as without dropping.

    Why the watermark and not the read's own event time: a read's time bounds
    "now" only for that read, and for that read the window test already
    decides. It says nothing about the reads that follow: a read stamped a day
    ahead (a camera clock off, within the bounds of §3) taken as the clock
    would forget hits that the next on-time reads still fold into.

    A late read is decided against the hits kept, i.e. as if the hits the job
    may forget had never been emitted (spec: "decided as if nothing had been
    emitted for its key"), whether or not the key's timer has fired yet; a hit
    emitted for it is kept only if it can still matter.
    """
    window = hit.dedup_window_ms
    state = prune(state or EMPTY_STATE, watermark, window, allowed_lateness_ms)
    t = hit.event_time
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
        if watermark is not None and _may_forget(t, window, allowed_lateness_ms, watermark):
            return Decision(True, None, 1, state)
        return Decision(True, None, 1, tuple(sorted(state + ((t, hit.hit_id, 1),))))
    emitted_at, emitted_id, sightings = state[best]
    folded = (emitted_at, emitted_id, sightings + 1)
    return Decision(False, emitted_id, sightings + 1,
                    state[:best] + (folded,) + state[best + 1:])


def prune(state: DedupState, watermark: int | None, window_ms: int | None,
          allowed_lateness_ms: int) -> DedupState:
    """``state`` without the hits whose window ended more than ``allowed_lateness_ms``
    before ``watermark`` (see ``decide``); ``window_ms`` is the key's alert window,
    ``None`` for a LEZ key. ``watermark=None`` forgets nothing."""
    if watermark is None or not state:
        return state
    # Window ends grow with event time and the state is sorted by it, so the
    # hits to forget are a prefix.
    keep = 0
    while keep < len(state) and _may_forget(state[keep][0], window_ms, allowed_lateness_ms,
                                            watermark):
        keep += 1
    return state[keep:]


def forget_at(state: DedupState, window_ms: int | None,
              allowed_lateness_ms: int) -> int | None:
    """The event time from which the whole of ``state`` may be forgotten: the end of
    the last emitted hit's window (its event time plus ``window_ms`` for an alert
    key; for a LEZ key, ``window_ms is None``, the end of its Brussels day, 23 to
    25 h long) plus ``allowed_lateness_ms``. ``None`` for an empty state. Until
    the watermark reaches it, a read may still fold into the state; a read of the
    key decided after it would be late (see ``decide``)."""
    if not state:
        return None
    return window_end(state[-1][0], window_ms) + allowed_lateness_ms


def window_end(event_time: int, window_ms: int | None) -> int:
    """The first instant no read folds into a hit emitted at ``event_time`` any more:
    plus the alert window, or (``window_ms is None``) the next Brussels midnight."""
    if window_ms is not None:
        return event_time + window_ms
    return next_local_midnight(event_time)


def _may_forget(event_time: int, window_ms: int | None, lateness_ms: int,
                watermark: int) -> bool:
    if window_ms is None and watermark - lateness_ms <= event_time:
        return False  # the day has not ended before the hit: spare the calendar
    return window_end(event_time, window_ms) + lateness_ms <= watermark


# -- the Brussels calendar ---------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MS = timedelta(milliseconds=1)
# 400 Gregorian years are a whole number of weeks (146,097 days): dates, week
# days and the Brussels summer-time rule (last Sundays of March and October)
# repeat with that period. An instant that ``datetime`` cannot hold, or close to
# its limits (year 1 or 9999), is moved by whole periods into a safe band and
# the answer moved back, so these functions never raise. Valid reads lie in
# 2000..2099 (spec §3); this is defence for other callers.
_CYCLE_MS = 146_097 * 86_400_000
_SAFE_FROM = -2_208_988_800_000   # 1900-01-01T00:00:00Z
_SAFE_UNTIL = 221_845_392_000_000  # 9000-01-01T00:00:00Z
_BAND_FROM = 946_684_800_000      # 2000-01-01T00:00:00Z


def _local(event_time: int) -> tuple[int, datetime]:
    """(periods of 400 years moved, the Brussels wall-clock time of the moved instant)."""
    cycles = 0
    if not _SAFE_FROM <= event_time < _SAFE_UNTIL:
        cycles = (event_time - _BAND_FROM) // _CYCLE_MS
        event_time -= cycles * _CYCLE_MS
    return cycles, datetime.fromtimestamp(event_time // 1000, LEZ_TIMEZONE)


def local_date(event_time: int) -> str:
    """Spec §7: the calendar date of ``event_time`` in Europe/Brussels, ``YYYY-MM-DD``."""
    cycles, local = _local(event_time)
    return f"{local.year + 400 * cycles:04d}-{local.month:02d}-{local.day:02d}"


def next_local_midnight(event_time: int) -> int:
    """Epoch millis of the first Brussels midnight after ``event_time``: the end of
    its local day, 23 h after the day's start when summer time begins, 25 h when
    it ends (Brussels changes its clocks at 02:00 and 03:00, never at midnight)."""
    cycles, local = _local(event_time)
    # Wall-clock arithmetic: the next calendar day at 00:00, at that day's offset.
    midnight = datetime(local.year, local.month, local.day, tzinfo=LEZ_TIMEZONE) \
        + timedelta(days=1)
    return (midnight - _EPOCH) // _MS + cycles * _CYCLE_MS
