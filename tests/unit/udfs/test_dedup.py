"""Spec §7 De-duplication."""

import json
import pickle

from udfs.dedup import EMPTY_STATE, decide, forget_at, local_date, next_local_midnight, prune
from udfs.engine import HitEngine
from udfs.instant import parse_instant
from udfs.model import Camera

from .helpers import MIN, T0, entry, read


def alert_hit(t, read_id="r", list_name="stolen_vehicles", entry_id="E1"):
    eng = HitEngine()
    eng.apply(entry(list_name=list_name, entry_id=entry_id))
    (hit,) = eng.evaluate(read(read_id=read_id, t=t))
    return hit


def lez_hit(t, read_id="r", plate="1ABC123", zone="GENT"):
    eng = HitEngine()
    eng.put_camera(Camera("C1", lez_zones=(zone,)))
    (hit,) = eng.evaluate(read(plate, read_id=read_id, t=t))
    return hit


def run(hits):
    state, emitted = EMPTY_STATE, []
    for h in hits:
        d = decide(state, h)
        state = d.state
        emitted.append(d.emit)
    return emitted, state


def test_spec_7_alert_dedup_key_is_list_and_entry():
    """§7: the dedup key of an alert hit is (list_name, entry_id)."""
    assert alert_hit(T0).dedup_key == ("ALERT", "stolen_vehicles", "E1")
    assert alert_hit(T0, entry_id="E2").dedup_key != alert_hit(T0).dedup_key


def test_spec_7_alert_suppressed_within_window_either_side():
    """§7: no new hit for a read less than dedup_window away (either side) of an
    emitted hit's read."""
    emitted, _ = run([alert_hit(T0, "a"), alert_hit(T0 + 10 * MIN - 1, "b"),
                      alert_hit(T0 - 10 * MIN + 1, "c")])
    assert emitted == [True, False, False]


def test_spec_7_alert_window_boundary_is_exclusive():
    """§7: exactly dedup_window away is not "less than" the window: a new hit."""
    emitted, _ = run([alert_hit(T0, "a"), alert_hit(T0 + 10 * MIN, "b"),
                      alert_hit(T0 - 10 * MIN, "c")])
    assert emitted == [True, True, True]


def test_spec_7_window_is_measured_from_emitted_hits_not_suppressed_reads():
    """§7: a suppressed read is folded, it does not extend the window."""
    emitted, state = run([alert_hit(T0, "a"), alert_hit(T0 + 9 * MIN, "b"),
                          alert_hit(T0 + 18 * MIN, "c")])
    assert emitted == [True, False, True]


def test_spec_7_suppressed_read_counts_as_a_sighting_of_the_hit():
    """§7: a suppressed read is not lost: it counts as a further sighting."""
    first = alert_hit(T0, "a")
    d1 = decide(EMPTY_STATE, first)
    d2 = decide(d1.state, alert_hit(T0 + MIN, "b"))
    d3 = decide(d2.state, alert_hit(T0 + 2 * MIN, "c"))
    assert (d2.emit, d2.folded_into, d2.sightings) == (False, first.hit_id, 2)
    assert (d3.folded_into, d3.sightings) == (first.hit_id, 3)


def test_spec_7_out_of_order_reads_in_arrival_order():
    """§7: reads with one key are considered in arrival order, whatever their times."""
    emitted, _ = run([alert_hit(T0 + 30 * MIN, "a"), alert_hit(T0, "b"),
                      alert_hit(T0 + 15 * MIN, "c"), alert_hit(T0 + 8 * MIN, "d")])
    assert emitted == [True, True, True, False]


def test_spec_7_fold_into_nearest_emitted_hit():
    """§7 (reading): a read near two emitted hits folds into the nearer one."""
    a, b = alert_hit(T0, "a"), alert_hit(T0 + 12 * MIN, "b")
    state = decide(decide(EMPTY_STATE, a).state, b).state
    assert decide(state, alert_hit(T0 + 7 * MIN, "c")).folded_into == b.hit_id
    assert decide(state, alert_hit(T0 + 5 * MIN, "c")).folded_into == a.hit_id


def test_spec_7_window_is_the_lists_setting():
    """§7/§4 (config): the window comes from the list's dedup_window."""
    from udfs.config import ListSettings, MatchingSettings
    eng = HitEngine(MatchingSettings(lists={"x": ListSettings(dedup_window_ms=MIN)}))
    eng.apply(entry(list_name="x"))
    h1, = eng.evaluate(read(read_id="a"))
    h2, = eng.evaluate(read(read_id="b", t=T0 + MIN))
    assert h1.dedup_window_ms == MIN
    assert run([h1, h2])[0] == [True, True]


def test_spec_7_lez_key_is_kind_plate_zone_local_date():
    """§7: (match kind, r, Z, local calendar date in Europe/Brussels) for LEZ hits."""
    assert lez_hit(T0).dedup_key == ("LEZ", "LEZ_UNREGISTERED", "1ABC123", "GENT", "2026-03-01")


def test_spec_7_lez_local_date_is_brussels_not_utc():
    """§7: the date is local in Europe/Brussels (UTC+1 in winter, +2 in summer)."""
    assert local_date(parse_instant("2026-03-01T23:30:00Z")) == "2026-03-02"
    assert local_date(parse_instant("2026-07-01T21:59:59.999Z")) == "2026-07-01"
    assert local_date(parse_instant("2026-07-01T22:00:00Z")) == "2026-07-02"


def test_spec_7_lez_at_most_one_hit_per_key():
    """§7 LEZ: at most one hit per dedup key, hours apart or not."""
    emitted, state = run([lez_hit(T0, "a"), lez_hit(T0 + 600 * MIN, "b"),
                          lez_hit(T0 - 400 * MIN, "c")])
    assert emitted == [True, False, False]
    assert state[0][2] == 3


def test_spec_7_lez_new_local_day_is_a_new_key():
    """§7 LEZ: the next local day is another key, so another hit."""
    a, b = lez_hit(parse_instant("2026-03-01T22:59:00Z")), lez_hit(
        parse_instant("2026-03-01T23:01:00Z"))
    assert a.dedup_key != b.dedup_key


def test_state_is_small_and_serialisable():
    """§7 state for Flink keyed state: plain tuples of ints and text."""
    _, state = run([alert_hit(T0, "a"), alert_hit(T0 + MIN, "b"), alert_hit(T0 + 20 * MIN, "c")])
    assert len(state) == 2
    assert pickle.loads(pickle.dumps(state)) == state
    assert tuple(tuple(x) for x in json.loads(json.dumps(state))) == state


def test_state_tells_when_it_may_be_forgotten():
    """§7 State: the last emitted time plus the window, plus allowed_lateness; for LEZ
    the next Brussels midnight plus allowed_lateness."""
    _, state = run([alert_hit(T0, "a"), alert_hit(T0 + 20 * MIN, "b")])
    assert forget_at(state, 10 * MIN, 60 * MIN) == T0 + 90 * MIN
    assert prune(state, T0 + 15 * MIN + 60 * MIN, 10 * MIN, 60 * MIN) == state[1:]
    _, lez_state = run([lez_hit(T0)])
    assert forget_at(lez_state, None, 0) == parse_instant("2026-03-01T23:00:00Z")
    assert forget_at(lez_state, None, 6 * 60 * MIN) == parse_instant("2026-03-02T05:00:00Z")
    assert next_local_midnight(parse_instant("2026-07-01T12:00:00Z")) == parse_instant(
        "2026-07-01T22:00:00Z")
    assert forget_at(EMPTY_STATE, 10, 0) is None


def test_spec_7_zero_window_suppresses_nothing():
    """§7 (reading): 'less than 0 away' never holds."""
    from udfs.config import ListSettings, MatchingSettings
    eng = HitEngine(MatchingSettings(lists={"x": ListSettings(dedup_window_ms=0)}))
    eng.apply(entry(list_name="x"))
    h1, = eng.evaluate(read(read_id="a"))
    h2, = eng.evaluate(read(read_id="b"))
    assert run([h1, h2])[0] == [True, True]


def test_spec_7_tie_folds_into_the_earliest_emitted_hit():
    """§7 (reading): equidistant from two emitted hits, a read folds into the earlier."""
    a, b = alert_hit(T0, "a"), alert_hit(T0 + 12 * MIN, "b")
    state = decide(decide(EMPTY_STATE, b).state, a).state
    assert decide(state, alert_hit(T0 + 6 * MIN, "c")).folded_into == a.hit_id
