"""Spec §11, clone suspicion: the partner, the thresholds, the hit, and the state."""

from __future__ import annotations

import math

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from udfs.clones import CLONE_LIST, CLONE_SUSPECT, CloneSettings, PlateTrails, disorder_of, distance_km, hour_start, judge, trail_entry
from udfs.dedup import HOUR_MS
from udfs.identity import hit_id
from udfs.model import Camera, PlateRead
from udfs.normalise import compatible

T0 = 1_780_000_000_000           # 2026-05-28T20:26:40Z, 22:26:40 in Brussels
MIN_MS = 60_000
BRUSSELS = Camera("BXL", lat=50.8466, lon=4.3528)
ANTWERP = Camera("ANT", lat=51.2194, lon=4.4025)   # 41.6 km from BRUSSELS
NEAR = Camera("NEAR", lat=50.8466, lon=4.4100)      # 4.0 km east of BRUSSELS
NO_PLACE = Camera("NOPLACE")


def read(n: int, camera: Camera, at: int, plate: str = "1ABC123", country: str | None = "B",
         confidence: float = 0.95) -> PlateRead:
    return PlateRead(f"r{n}", camera.camera_id, at, plate, plate, country, confidence)


def test_distance_is_haversine_on_the_spec_radius():
    assert distance_km(50.8466, 4.3528, 51.2194, 4.4025) == pytest.approx(41.6, abs=0.1)
    # A quarter of the equator on a 6371.0 km sphere.
    assert distance_km(0, 0, 0, 90) == pytest.approx(math.pi / 2 * 6371.0, rel=1e-12)
    assert distance_km(50, 4, 50, 4) == 0


def test_brussels_then_antwerp_five_minutes_later_is_a_clone_suspect():
    trails = PlateTrails()
    assert trails.observe(read(1, BRUSSELS, T0), BRUSSELS) is None   # nothing before it
    hit = trails.observe(read(2, ANTWERP, T0 + 5 * MIN_MS), ANTWERP)
    assert hit is not None
    assert (hit.list_name, hit.match_kind, hit.entry_id, hit.zone) == (CLONE_LIST, CLONE_SUSPECT, None, None)
    assert hit.hit_id == hit_id("r2", CLONE_LIST, None, None)
    assert (hit.read_id, hit.camera_id, hit.plate, hit.severity) == ("r2", "ANT", "1ABC123", 40)
    assert hit.attributes == {"partner_read_id": "r1", "partner_camera_id": "BXL"}
    factors = dict(hit.explanation)
    assert factors["distance_km"] == pytest.approx(41.6, abs=0.1)
    assert factors["seconds_apart"] == 300
    assert factors["speed_kmh"] == pytest.approx(41.6 * 12, abs=2)
    # Scored as in §6, no penalty: floor(40 * (0.5 + 0.5 * 0.95) + 0.5) = 39.
    assert (hit.score, hit.priority) == (39, "P3")
    assert [name for name, _ in hit.explanation] == ["severity", "raw", "ocr_confidence", "distance_km",
                                                     "seconds_apart", "speed_kmh", "score"]
    assert hit.dedup_key == (CLONE_SUSPECT, "1ABC123", "2026-05-28") and hit.dedup_window_ms is None


def test_a_plausible_journey_is_no_suspect():
    trails = PlateTrails()
    trails.observe(read(1, BRUSSELS, T0), BRUSSELS)
    # 41.6 km in 30 min is 83 km/h.
    assert trails.observe(read(2, ANTWERP, T0 + 30 * MIN_MS), ANTWERP) is None


def test_the_speed_threshold_is_strict_and_the_distance_floor_inclusive():
    d = distance_km(BRUSSELS.lat, BRUSSELS.lon, ANTWERP.lat, ANTWERP.lon)
    exactly = CloneSettings(max_speed_kmh=d / (10 / 60))          # 10 min apart is exactly the limit
    trails = PlateTrails(exactly)
    trails.observe(read(1, BRUSSELS, T0), BRUSSELS)
    assert trails.observe(read(2, ANTWERP, T0 + 10 * MIN_MS), ANTWERP) is None
    floor = PlateTrails(CloneSettings(min_distance_km=d))
    floor.observe(read(1, BRUSSELS, T0), BRUSSELS)
    assert floor.observe(read(2, ANTWERP, T0 + MIN_MS), ANTWERP) is not None


def test_under_five_km_is_never_a_suspect_even_at_the_same_instant():
    trails = PlateTrails()
    trails.observe(read(1, BRUSSELS, T0), BRUSSELS)
    assert trails.observe(read(2, NEAR, T0), NEAR) is None


def test_equal_times_count_as_infinitely_fast():
    trails = PlateTrails()
    trails.observe(read(1, BRUSSELS, T0), BRUSSELS)
    hit = trails.observe(read(2, ANTWERP, T0), ANTWERP)
    assert hit is not None
    factors = dict(hit.explanation)
    assert factors["seconds_apart"] == 0 and "speed_kmh" not in factors   # no finite speed to give


def test_the_partner_is_the_nearest_in_event_time_not_the_latest_processed():
    trails = PlateTrails()
    trails.observe(read(1, ANTWERP, T0 - 2 * HOUR_MS), ANTWERP)
    trails.observe(read(2, BRUSSELS, T0 - 2 * MIN_MS), BRUSSELS)   # nearest to T0
    trails.observe(read(3, ANTWERP, T0 - 3 * HOUR_MS), ANTWERP)    # processed last, further away
    hit = trails.observe(read(4, ANTWERP, T0), ANTWERP)
    assert hit is not None and hit.attributes["partner_read_id"] == "r2"


def test_a_late_read_takes_its_partner_from_either_side_in_event_time():
    trails = PlateTrails()
    trails.observe(read(1, BRUSSELS, T0 + 3 * MIN_MS), BRUSSELS)   # after it in event time
    hit = trails.observe(read(2, ANTWERP, T0), ANTWERP)
    assert hit is not None and hit.attributes["partner_read_id"] == "r1"


def test_a_tie_goes_to_the_read_processed_first():
    trails = PlateTrails()
    trails.observe(read(1, BRUSSELS, T0 - MIN_MS), BRUSSELS)
    trails.observe(read(2, ANTWERP, T0 + MIN_MS), ANTWERP)         # as near, processed later
    hit = trails.observe(read(3, NEAR, T0), NEAR)
    # The partner is r1 at BRUSSELS, 4 km away: under the floor, so no hit, although r2
    # at ANTWERP would have made one. The partner is chosen first, then judged.
    assert hit is None
    swapped = PlateTrails()
    swapped.observe(read(2, ANTWERP, T0 + MIN_MS), ANTWERP)
    swapped.observe(read(1, BRUSSELS, T0 - MIN_MS), BRUSSELS)
    hit = swapped.observe(read(3, NEAR, T0), NEAR)
    assert hit is not None and hit.attributes["partner_read_id"] == "r2"


def test_the_window_is_six_hours_inclusive():
    trails = PlateTrails()
    trails.observe(read(1, BRUSSELS, T0), BRUSSELS)
    assert trails.observe(read(2, ANTWERP, T0 + 6 * HOUR_MS + 1), ANTWERP) is None   # too late: no partner
    # 6 h exactly is within the window; 41.6 km in 6 h is slow, so make it far: a camera 2,000 km away.
    far = Camera("FAR", lat=32.9, lon=4.35)
    assert distance_km(BRUSSELS.lat, BRUSSELS.lon, far.lat, far.lon) > 1500
    again = PlateTrails()
    again.observe(read(1, BRUSSELS, T0), BRUSSELS)
    assert again.observe(read(2, far, T0 + 6 * HOUR_MS), far) is not None


@pytest.mark.parametrize("first, second, suspect", [
    ("B", "B", True), ("B", None, True), (None, "NL", True), ("B", "NL", False),
])
def test_countries_must_be_compatible(first, second, suspect):
    trails = PlateTrails()
    trails.observe(read(1, BRUSSELS, T0, country=first), BRUSSELS)
    hit = trails.observe(read(2, ANTWERP, T0 + MIN_MS, country=second), ANTWERP)
    assert (hit is not None) is suspect
    if hit is not None and second is None:
        assert dict(hit.explanation)["country_unknown"] == -10   # §6: the read's own country


def test_the_confidence_floor_keeps_both_sides_out():
    trails = PlateTrails()
    trails.observe(read(1, BRUSSELS, T0, confidence=0.89), BRUSSELS)   # not kept as a partner
    assert trails.observe(read(2, ANTWERP, T0 + MIN_MS), ANTWERP) is None
    assert trails.observe(read(3, BRUSSELS, T0 + 2 * MIN_MS, confidence=0.5), BRUSSELS) is None   # not judged
    # 0.90 is at the floor: it takes part, and its partner is r2, the nearest read kept
    # (r1 and r3 never were): 41.6 km in 2 min.
    hit = trails.observe(read(4, BRUSSELS, T0 + 3 * MIN_MS, confidence=0.90), BRUSSELS)
    assert hit is not None and hit.attributes["partner_read_id"] == "r2"


def test_the_lower_confidence_scores_the_hit():
    trails = PlateTrails()
    trails.observe(read(1, BRUSSELS, T0, confidence=0.90), BRUSSELS)
    hit = trails.observe(read(2, ANTWERP, T0 + MIN_MS, confidence=1.0), ANTWERP)
    assert dict(hit.explanation)["ocr_confidence"] == 0.90
    assert hit.score == math.floor(40 * (0.5 + 0.5 * 0.90) + 0.5)


def test_cameras_unknown_or_without_a_position_take_no_part():
    trails = PlateTrails()
    assert trails.observe(read(1, BRUSSELS, T0), None) is None
    assert trails.observe(read(2, NO_PLACE, T0), NO_PLACE) is None
    assert len(trails) == 0 and trails.plates == 0
    assert trails.observe(read(3, ANTWERP, T0 + MIN_MS), ANTWERP) is None   # no partner was kept


def test_different_plates_never_meet():
    trails = PlateTrails()
    trails.observe(read(1, BRUSSELS, T0, plate="1ABC123"), BRUSSELS)
    assert trails.observe(read(2, ANTWERP, T0, plate="1ABC128"), ANTWERP) is None


def test_the_dedup_key_follows_the_brussels_date_across_midnight():
    # 21:59:00Z and 22:01:00Z on 2026-05-28 are 23:59 and 00:01 in Brussels (summer time).
    before = 1_780_005_540_000
    trails = PlateTrails()
    trails.observe(read(1, BRUSSELS, before - MIN_MS), BRUSSELS)
    first = trails.observe(read(2, ANTWERP, before), ANTWERP)
    trails.observe(read(3, BRUSSELS, before + MIN_MS), BRUSSELS)
    second = trails.observe(read(4, ANTWERP, before + 2 * MIN_MS), ANTWERP)
    assert first.dedup_key[2] == "2026-05-28" and second.dedup_key[2] == "2026-05-29"


def test_pruning_keeps_state_to_the_window_over_a_long_run():
    trails = PlateTrails()
    plates = [f"P{i:05d}" for i in range(500)]
    held = []
    for step in range(48):                       # two days, a read of each plate every hour
        at = T0 + step * HOUR_MS
        for n, plate in enumerate(plates):
            trails.observe(read(step * 1000 + n, BRUSSELS, at, plate=plate), BRUSSELS)
        trails.prune(at - trails.settings.window_ms)
        held.append(len(trails))
    assert max(held) == 7 * len(plates)          # this hour and the six before it
    assert held[-1] == held[10]                  # level: it does not grow with the run
    assert trails.prune(T0 + 100 * HOUR_MS) == held[-1] and len(trails) == 0 and trails.plates == 0


CAMERAS = [BRUSSELS, ANTWERP, NEAR, Camera("LIEGE", lat=50.6326, lon=5.5797), NO_PLACE]


@given(st.lists(st.tuples(st.sampled_from(["1ABC123", "1ABC124", "2XYZ999"]), st.sampled_from(CAMERAS),
                          st.integers(0, 8 * 60), st.sampled_from([0.5, 0.95])), max_size=40),
       st.integers(0, 40), st.integers(0, 10 * 60))
@settings(max_examples=200, deadline=None)
def test_trails_rebuilt_from_their_entries_judge_as_the_ones_kept(reads, restart_at, forget_after):
    """What the job does after a restart: a bucket's trails, rebuilt with `keep` from
    `entries` (its log), give later reads the same suspicions as trails that were kept
    all along, pruned or not."""
    def run(restart: bool) -> list:
        trails, hits = PlateTrails(), []
        for n, (plate, camera, minute, confidence) in enumerate(reads):
            if restart and n == restart_at:
                rebuilt = PlateTrails()
                for held_plate, entry in trails.entries():
                    rebuilt.keep(held_plate, entry)
                assert (len(rebuilt), rebuilt.plates, rebuilt.latest) == (len(trails), trails.plates, trails.latest)
                trails = rebuilt
            hit = trails.observe(read(n, camera, T0 + minute * MIN_MS, plate=plate, confidence=confidence), camera)
            hits.append(None if hit is None else (hit.read_id, hit.attributes["partner_read_id"]))
            if n == forget_after // 20:
                trails.prune(T0 + forget_after * MIN_MS - trails.settings.window_ms)
        return hits

    assert run(restart=True) == run(restart=False)


def nearest_by_full_visit(trail, entry, settings):
    """Spec §11's partner by its letter, as the tests' oracle: of the reads processed
    before (in that order), the nearest in event time within the window with a
    compatible country, the first processed on a tie."""
    near = [(abs(entry[0] - e[0]), n) for n, e in enumerate(trail)
            if abs(entry[0] - e[0]) <= settings.window_ms and compatible(entry[3], e[3])]
    return trail[min(near)[1]] if near else None


ENTRY_CAMERAS = [BRUSSELS, ANTWERP, NEAR, Camera("LIEGE", lat=50.6326, lon=5.5797)]
EVERY_PARTNER = CloneSettings(max_speed_kmh=-1.0, min_distance_km=0.0)   # a partner is always a suspicion


@given(st.lists(st.tuples(st.integers(0, 7 * 60), st.sampled_from(["B", "NL", None]), st.sampled_from(ENTRY_CAMERAS)),
                min_size=1, max_size=30),
       st.booleans(), st.integers(0, 8 * 60), st.sampled_from(["B", "NL", None]), st.integers(0, 60))
@settings(max_examples=500, deadline=None)
def test_a_walk_back_bounded_by_the_disorder_finds_the_partner_a_full_visit_finds(trail, in_order, minute, country,
                                                                                   slack):
    """`judge`'s walk back from the trail's end, bounded by how far its reads fall
    behind the ones processed before them (or by more), finds the same partner
    (nearest, ties to the first processed, countries compatible, within the window)
    as visiting every read: in event-time order or not, the read after the trail's
    last or before it."""
    if in_order:
        trail = sorted(trail, key=lambda item: item[0])    # stable: ties stay in processing order
    entries = [trail_entry(read(n, camera, T0 + at * MIN_MS, country=c), camera.lat, camera.lon)
               for n, (at, c, camera) in enumerate(trail)]
    entry = trail_entry(read(99, BRUSSELS, T0 + minute * MIN_MS, country=country), BRUSSELS.lat, BRUSSELS.lon)
    disorder, latest = disorder_of(entries)
    times = [e[0] for e in entries]
    assert latest == max(times)
    assert disorder == max(max(times[:n + 1]) - at for n, at in enumerate(times))
    visited = nearest_by_full_visit(entries, entry, EVERY_PARTNER)
    for bound in (None, disorder, disorder + slack * MIN_MS):
        suspicion = judge(entries, entry, EVERY_PARTNER, bound)
        assert (suspicion and suspicion.partner) == visited


def test_a_prune_keeps_the_disorder_of_the_reads_it_leaves():
    """After a prune the walk back is still bounded by the disorder of the reads left:
    the nearest read, processed before a much older one, is still found."""
    trails = PlateTrails(EVERY_PARTNER)
    for n, minute in enumerate([-30, 204, 0, 200]):     # T0 - 30 min is in the hour before T0's
        trails.observe(read(n, ANTWERP, T0 + minute * MIN_MS), ANTWERP)
    assert trails.prune(T0) == 1
    hit = trails.observe(read(9, BRUSSELS, T0 + 206 * MIN_MS), BRUSSELS)
    assert hit is not None and hit.attributes["partner_read_id"] == "r1"


@given(st.lists(st.tuples(st.sampled_from(["1ABC123", "2XYZ999"]), st.sampled_from(ENTRY_CAMERAS),
                          st.integers(-20, 60), st.sampled_from(["B", "NL", None])), max_size=60),
       st.dictionaries(st.integers(0, 40), st.integers(0, 8 * 60), max_size=4))
# A late read, then a prune that leaves it after a later one: the trail is still out of order.
@example(reads=[("1ABC123", BRUSSELS, 0, "B"), ("1ABC123", ANTWERP, 110, "B"), ("1ABC123", ENTRY_CAMERAS[3], -20, "B"),
                ("1ABC123", NEAR, 5, "B")], prunes={2: 30})
@settings(max_examples=500, deadline=None)
def test_trails_judge_as_a_full_visit_of_each_plates_reads_whatever_their_order(reads, prunes):
    """`PlateTrails` takes the walk only for trails in event-time order: reads mostly in
    order with some late ones (a step back of up to 20 minutes), pruned now and then,
    get the partners a full visit of the plate's reads held gives, and each trail's
    disorder is the one `disorder_of` gives for the reads it holds."""
    trails, held, clock = PlateTrails(EVERY_PARTNER), {}, 0
    for n, (plate, camera, step, country) in enumerate(reads):
        clock += step
        entry = trail_entry(read(n, camera, T0 + clock * MIN_MS, plate=plate, country=country), camera.lat, camera.lon)
        expected = nearest_by_full_visit(held.get(plate, []), entry, EVERY_PARTNER)
        suspicion = trails.take(plate, entry)
        assert (suspicion and suspicion.partner) == expected
        held.setdefault(plate, []).append(entry)
        if n in prunes:
            before = T0 + (clock - prunes[n]) * MIN_MS
            trails.prune(before)
            held = {p: kept for p, trail in held.items()
                    if (kept := [e for e in trail if e[0] >= hour_start(before)])}
        assert {p: trails.disorder(p) for p in ("1ABC123", "2XYZ999")} == \
            {p: disorder_of(held[p])[0] if p in held else 0 for p in ("1ABC123", "2XYZ999")}


@given(st.lists(st.tuples(st.sampled_from(["1ABC123", "1ABC124", "2XYZ999", "3QRS000"]),
                          st.integers(0, 30 * 60)), max_size=60),
       st.lists(st.integers(0, 36 * 60), max_size=6))
@settings(max_examples=300, deadline=None)
def test_prune_forgets_exactly_the_hours_wholly_before_its_instant(reads, prunes):
    """Whatever order reads come in (late ones too) and however often it is pruned,
    trails hold exactly the reads not before the last prune's instant rounded down
    to its hour, each plate's in processing order."""
    trails, kept = PlateTrails(), []
    prune_at = {n * len(reads) // max(1, len(prunes)): minute for n, minute in enumerate(prunes)}
    for n, (plate, minute) in enumerate(reads):
        trails.keep(plate, (T0 + minute * MIN_MS, f"r{n}", "BXL", "B", 0.95, 50.8, 4.3))
        kept.append((plate, T0 + minute * MIN_MS, f"r{n}"))
        if n in prune_at:
            before = T0 + prune_at[n] * MIN_MS
            cutoff = before // HOUR_MS * HOUR_MS
            assert trails.prune(before) == len([k for k in kept if k[1] < cutoff])
            kept = [k for k in kept if k[1] >= cutoff]
    by_plate, held = {}, {}
    for plate, at, read_id in kept:
        by_plate.setdefault(plate, []).append((at, read_id))
    for plate, entry in trails.entries():
        held.setdefault(plate, []).append(entry[:2])
    assert held == by_plate
    assert (len(trails), trails.plates) == (len(kept), len(by_plate))
