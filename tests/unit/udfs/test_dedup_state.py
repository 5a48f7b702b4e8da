"""Spec §7 "State": de-duplication state is forgotten by the job's event-time clock,
never changes a decision for an on-time read, and stays bounded."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from udfs.dedup import (DEFAULT_ALLOWED_LATENESS_MS, EMPTY_STATE, LONGEST_LOCAL_DAY_MS, decide,
                        forget_at, local_date, next_local_midnight, prune)
from udfs.engine import alert_dedup_key, lez_dedup_key
from udfs.instant import parse_instant
from udfs.model import EXACT, LEZ_UNREGISTERED, Hit

from .helpers import MIN, T0

HOUR = 60 * MIN
DAY = 24 * HOUR
LATENESS = DEFAULT_ALLOWED_LATENESS_MS
FLINK_START = -(2**63)  # Long.MIN_VALUE, the watermark before the first one


def alert(t: int, read_id: str = "r", window: int = 10 * MIN) -> Hit:
    return Hit(hit_id=f"h-{read_id}", read_id=read_id, list_name="stolen_vehicles",
               entry_id="E1", match_kind=EXACT, substitutions=0, zone=None, severity=70,
               score=70, priority="P2", explanation=(), event_time=t, camera_id="C1",
               plate="1ABC123", dedup_key=alert_dedup_key("stolen_vehicles", "E1"),
               dedup_window_ms=window)


def lez(t: int, read_id: str = "r") -> Hit:
    return Hit(hit_id=f"h-{read_id}", read_id=read_id, list_name="lez_vehicle_status",
               entry_id=None, match_kind=LEZ_UNREGISTERED, substitutions=0, zone="GENT",
               severity=10, score=10, priority="P4", explanation=(), event_time=t,
               camera_id="C1", plate="1ABC123",
               dedup_key=lez_dedup_key(LEZ_UNREGISTERED, "1ABC123", "GENT", t),
               dedup_window_ms=None)


class KeyedStep:
    """The protocol of the ``udfs.dedup`` docstring, run as a Flink KeyedProcessFunction
    would: per key a state, a ``forget`` instant and at most one event-time timer,
    timers firing (in time order) as the watermark passes them."""

    def __init__(self, lateness: int = LATENESS):
        self.lateness = lateness
        self.watermark = FLINK_START
        self.state: dict[tuple, tuple] = {}
        self.forget: dict[tuple, int] = {}
        self.timers: dict[tuple, int] = {}  # key -> its one pending timer

    def advance(self, watermark: int) -> None:
        self.watermark = max(self.watermark, watermark)
        while True:
            due = [(at, key) for key, at in self.timers.items() if at <= self.watermark]
            if not due:
                return
            at, key = min(due)
            del self.timers[key]
            self._on_timer(key, at)

    def process(self, hit: Hit):
        key = hit.dedup_key
        d = decide(self.state.get(key), hit, watermark=self.watermark,
                   allowed_lateness_ms=self.lateness)
        at = forget_at(d.state, hit.dedup_window_ms, self.lateness)
        if at is not None:
            if key not in self.forget:
                self._register(key, at)
            self.forget[key] = max(self.forget.get(key, at), at)
        if d.state:
            self.state[key] = d.state
        else:
            self.state.pop(key, None)
        return d

    def _on_timer(self, key, at: int) -> None:
        forget = self.forget.get(key)
        if forget is None or forget <= at:
            self.state.pop(key, None)
            self.forget.pop(key, None)
        else:
            self._register(key, forget)

    def _register(self, key, at: int) -> None:
        assert key not in self.timers, "one event-time timer per key"
        self.timers[key] = at

    def entries(self) -> int:
        return sum(len(s) for s in self.state.values())


# -- the clock ----------------------------------------------------------------------

def test_spec_7_a_hit_is_forgotten_once_its_window_ended_more_than_the_lateness_ago():
    """§7 State: window end T0 + 10 min; its last instant is more than L behind the
    clock from T0 + 10 min + L on, and not before."""
    state = decide(EMPTY_STATE, alert(T0, "a")).state
    end = T0 + 10 * MIN + LATENESS
    assert prune(state, end - 1, 10 * MIN, LATENESS) == state
    assert prune(state, end, 10 * MIN, LATENESS) == EMPTY_STATE
    assert forget_at(state, 10 * MIN, LATENESS) == end


def test_spec_7_a_late_read_is_decided_as_if_nothing_had_been_emitted():
    """§7 State: a read later than allowed_lateness behind the clock, near a forgotten
    hit, gives a new hit; its own hit is not kept when it is itself past forgetting."""
    state = decide(EMPTY_STATE, alert(T0, "a")).state
    clock = T0 + 10 * MIN + LATENESS
    assert decide(state, alert(T0 - MIN, "b")).emit is False  # without a clock: folded
    late = decide(state, alert(T0 - MIN, "b"), watermark=clock)
    assert (late.emit, late.state) == (True, EMPTY_STATE)
    # Late, but its window reaches past the lateness: kept, it can still fold reads.
    kept = decide(state, alert(clock - LATENESS - MIN, "c"), watermark=clock)
    assert kept.emit and [h for _, h, _ in kept.state] == ["h-c"]


def test_spec_7_forgetting_follows_the_watermark_not_the_reads_event_time():
    """§7: a read stamped far ahead of the clock does not make the key forget what the
    next on-time read still folds into."""
    step = KeyedStep()
    step.advance(T0)
    assert step.process(alert(T0, "a")).emit
    assert step.process(alert(T0 + 2 * DAY, "ahead")).emit
    again = step.process(alert(T0 + 5 * MIN, "b"))
    assert (again.emit, again.folded_into, again.sightings) == (False, "h-a", 2)


@pytest.mark.parametrize("watermark", [None, FLINK_START, T0 - 10 * DAY])
def test_spec_7_nothing_is_forgotten_before_the_clock_starts(watermark):
    """§7: with no watermark yet (None, or Flink's Long.MIN_VALUE) state is kept whole."""
    state = EMPTY_STATE
    for i in range(5):
        state = decide(state, alert(T0 + i * 20 * MIN, str(i)), watermark=watermark).state
    assert len(state) == 5
    assert prune(state, watermark, 10 * MIN, LATENESS) == state
    lez_state = decide(EMPTY_STATE, lez(T0), watermark=watermark).state
    assert prune(lez_state, watermark, None, LATENESS) == lez_state


def test_spec_7_lez_key_is_forgotten_after_its_brussels_day_and_the_lateness():
    """§7 State: for LEZ the key's window is the Brussels day."""
    t = parse_instant("2026-03-01T08:00:00Z")
    state = decide(EMPTY_STATE, lez(t)).state
    end = parse_instant("2026-03-01T23:00:00Z") + LATENESS
    assert forget_at(state, None, LATENESS) == end
    assert prune(state, end - 1, None, LATENESS) == state
    assert prune(state, end, None, LATENESS) == EMPTY_STATE
    # A late read of that day, the key forgotten: a new hit, and nothing kept.
    late = decide(state, lez(t + HOUR, "late"), watermark=end)
    assert (late.emit, late.state) == (True, EMPTY_STATE)


# -- Brussels days ------------------------------------------------------------------

@pytest.mark.parametrize("hit_at,day_end,hours", [
    ("2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z", 23),  # summer time begins
    ("2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z", 25),  # summer time ends
    ("2026-03-01T23:00:00Z", "2026-03-02T23:00:00Z", 24),
])
def test_spec_7_lez_day_of_23_or_25_hours(hit_at, day_end, hours):
    """§7: a LEZ key holds its Brussels day, 23 h or 25 h long on the days the clocks
    change; a hit at the very start of the day is forgotten that long plus L later."""
    t = parse_instant(hit_at)
    assert next_local_midnight(t) == parse_instant(day_end) == t + hours * HOUR
    assert next_local_midnight(parse_instant(day_end) - 1) == parse_instant(day_end)
    assert local_date(t) == local_date(parse_instant(day_end) - 1) != local_date(
        parse_instant(day_end))
    state = decide(EMPTY_STATE, lez(t)).state
    assert forget_at(state, None, LATENESS) - t == hours * HOUR + LATENESS
    for at in (t, t + HOUR, parse_instant(day_end) - MIN):  # the last minute too
        state = decide(EMPTY_STATE, lez(at)).state
        forget = parse_instant(day_end) + LATENESS
        assert prune(state, forget - 1, None, LATENESS) == state
        assert prune(state, forget, None, LATENESS) == EMPTY_STATE
    assert hours * HOUR <= LONGEST_LOCAL_DAY_MS


CYCLE = 146_097 * DAY  # 400 Gregorian years


@pytest.mark.parametrize("t", [parse_instant("2026-03-29T00:59:59Z"),
                               parse_instant("2026-10-25T00:30:00Z"),
                               parse_instant("2099-12-31T23:30:00Z")])
def test_brussels_calendar_repeats_every_400_years(t):
    """What the calendar functions rely on beyond datetime's range, checked against
    the time-zone database where both instants are in range."""
    later = t + CYCLE
    assert int(local_date(later)[:4]) == int(local_date(t)[:4]) + 400
    assert local_date(later)[4:] == local_date(t)[4:]
    assert next_local_midnight(later) == next_local_midnight(t) + CYCLE


@pytest.mark.parametrize("t", [253_402_300_800_000,           # 10000-01-01T00:00Z
                               253_402_300_800_000 - 30 * MIN,  # 9999-12-31T23:30Z
                               -(2**63), 2**63 - 1, 10**18, -62_135_596_800_001])
def test_brussels_calendar_never_raises_on_extreme_times(t):
    """Defence: valid reads lie in 2000..2099 (§3), but no event time makes these raise."""
    date = local_date(t)
    midnight = next_local_midnight(t)
    assert t < midnight <= t + LONGEST_LOCAL_DAY_MS
    assert local_date(midnight - 1) == date != local_date(midnight)
    if t == 253_402_300_800_000 - 30 * MIN:
        assert date == "10000-01-01"  # 00:30 in Brussels


# -- pruning changes nothing on time ------------------------------------------------

# Durations on a 5-minute grid, give or take a millisecond, make reads meet the
# edges of windows and of the lateness exactly; free ones, and days, the rest.
def durations(longest: int):
    coarse = st.integers(0, 40).map(lambda k: k * 5 * MIN)
    return st.builds(lambda d, ms: max(0, d + ms),
                     st.one_of(st.just(0), coarse, st.integers(0, longest)),
                     st.sampled_from([0, 0, 1, -1]))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([0, 1, 10 * MIN, 45 * MIN, 3 * HOUR, None]),
       st.sampled_from([0, 5 * MIN, 30 * MIN, LATENESS]),
       st.lists(st.tuples(durations(2 * DAY), durations(3 * DAY)), min_size=1, max_size=60))
def test_pruning_never_changes_a_decision_for_on_time_reads(window, lateness, steps):
    """§7 State: with the clock advancing as a watermark does and every read within
    allowed_lateness of it (some far ahead of it), ``decide`` with its clock, alone
    and in the job's protocol (timers clearing keys), decides every read exactly as
    the reference that forgets nothing; and it keeps no hit it may forget."""
    step, bare, reference = KeyedStep(lateness), {}, {}
    clock = T0
    for i, (advance, ahead) in enumerate(steps):
        clock += advance
        step.advance(clock)
        t = clock - lateness + ahead  # on time: t >= clock - lateness
        hit = lez(t, str(i)) if window is None else alert(t, str(i), window)
        want = decide(reference.get(hit.dedup_key), hit)
        reference[hit.dedup_key] = want.state
        alone = decide(bare.get(hit.dedup_key), hit, watermark=clock,
                       allowed_lateness_ms=lateness)
        bare[hit.dedup_key] = alone.state
        assert step.process(hit)[:3] == alone[:3] == want[:3], i
        for states in (bare, step.state):
            for key, state in states.items():
                assert set(state) <= set(reference[key])  # same hits, same sightings
        for e in bare[hit.dedup_key]:
            assert forget_at((e,), window, lateness) > clock, "kept a hit it may forget"


# -- bounded, however often one plate passes ----------------------------------------

def test_spec_7_state_stays_bounded_for_one_plate_every_11_minutes_for_30_days():
    """§7 State: one plate read every 11 minutes for 30 days (across the spring clock
    change), the watermark trailing the reads by 2 s: the alert key (10 min window)
    emits every read and the LEZ keys one hit a Brussels day, yet what the job holds
    never grows with the days."""
    start = parse_instant("2026-03-15T00:03:00Z")
    reads = range(start, start + 30 * DAY, 11 * MIN)
    step = KeyedStep()
    alert_sizes, lez_sizes, keys_held = Counter(), Counter(), []
    emitted = Counter()
    for i, t in enumerate(reads):
        step.advance(t - 2000 - 1)  # bounded out-of-orderness, as Flink's generator
        day = (t - start) // DAY
        for hit in (alert(t, str(i)), lez(t, str(i))):
            d = step.process(hit)
            emitted[hit.match_kind] += d.emit
        alert_key = alert(t).dedup_key
        alert_sizes[day] = max(alert_sizes[day], len(step.state[alert_key]))
        lez_sizes[day] = max(lez_sizes[day], step.entries() - len(step.state[alert_key]))
        keys_held.append(len(step.state))
    assert len(reads) > 3900
    assert emitted[EXACT] == len(reads)  # 11 min apart: every read is a hit
    assert emitted[LEZ_UNREGISTERED] == len({local_date(t) for t in reads})
    # The alert key holds the hits of the last window + lateness: 6 h 10 min / 11 min.
    bound = (10 * MIN + LATENESS) // (11 * MIN) + 1
    assert max(alert_sizes.values()) <= bound
    assert alert_sizes[1] == alert_sizes[29] == max(alert_sizes.values())
    # LEZ: today's key, and yesterday's until 06:00; one entry each.
    assert max(lez_sizes.values()) == 2 and max(keys_held) == 3
    assert len(step.timers) <= len(step.state)
