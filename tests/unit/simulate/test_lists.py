"""Reference lists: sizes, wildcard limits, LEZ entries, and the updates of the run."""

from __future__ import annotations

from collections import Counter, defaultdict

from feblam.simulate import fleet as roles
from feblam.simulate.background import BackgroundPlates
from feblam.simulate.lists import ListSizes, wildcard_pattern
from feblam.simulate.simulation import Simulation
from udfs.instant import parse_instant
from udfs.reference import check_pattern, parse_entry
from udfs.normalise import canon_pattern


def test_the_lez_status_list_is_by_far_the_largest(small_run):
    sizes = Counter(r["list_name"] for r in small_run.records("reference.jsonl"))
    assert set(sizes) == {"stolen_vehicles", "judicial_alerts", "insurance_expired",
                          "lez_permits", "lez_vehicle_status"}
    assert sizes["lez_vehicle_status"] >= small_run.settings.lez_entries
    assert sizes["lez_vehicle_status"] > 3 * max(n for k, n in sizes.items()
                                                 if k != "lez_vehicle_status")
    assert ListSizes.for_lez(5_000_000).stolen_vehicles == 200_000


def test_lez_entries_are_well_formed(small_run):
    zones = Counter()
    for r in small_run.records("reference.jsonl"):
        if r["list_name"] == "lez_vehicle_status" and r["op"] == "UPSERT":
            assert r["attributes"]["admitted"] in ("true", "false")
            assert r["zone"] in (None, "BXL", "ANT", "GNT")
            zones[r["zone"]] += 1
        if r["list_name"] == "lez_permits" and r["op"] == "UPSERT":
            entry = parse_entry(r)
            assert r["zone"] in ("BXL", "ANT", "GNT")
            assert entry.valid_from < entry.valid_until
    assert zones[None] > 10 * sum(n for z, n in zones.items() if z)


def test_wildcard_entries_keep_the_spec_limits(small_run):
    wildcards = [r for r in small_run.records("reference.jsonl")
                 if r["plate"] and ("?" in r["plate"] or "*" in r["plate"])]
    assert {r["list_name"] for r in wildcards} == {"judicial_alerts"}
    assert any("?" in r["plate"] for r in wildcards) and any("*" in r["plate"] for r in wildcards)
    for r in wildcards:
        assert check_pattern(canon_pattern(r["plate"])) is None, r["plate"]
    for mode in range(4):
        for printed in ("1-ABC-123", "AB 1234", "12345", "K-AB 12"):
            pattern = canon_pattern(wildcard_pattern(printed, mode, 12345))
            assert check_pattern(pattern) is None and pattern != canon_pattern(printed)


def test_snapshot_first_then_updates_in_arrival_order(small_run):
    updates = list(Simulation(small_run.settings).reference())
    arrivals = [u.arrival_ms for u in updates]
    first_update = next(i for i, a in enumerate(arrivals) if a is not None)
    assert all(a is None for a in arrivals[:first_update])
    during = arrivals[first_update:]
    assert all(a is not None for a in during) and during == sorted(during)
    start, end = small_run.settings.start_ms, small_run.settings.end_ms
    assert all(start <= a < end + 3_600_000 for a in during)
    snapshot_ops = {u.record["op"] for u in updates[:first_update]}
    assert snapshot_ops == {"UPSERT"}


def test_the_stories_of_the_run_are_in_the_file(small_run):
    records = small_run.records("reference.jsonl")
    start, end = small_run.settings.start_ms, small_run.settings.end_ms
    history = defaultdict(list)
    for r in records:
        history[(r["list_name"], r["entry_id"])].append(r)
    # An entry filed in error: upserted, then deleted.
    assert any([h["op"] for h in hs] == ["UPSERT", "DELETE"] for hs in history.values())
    # Background deletions of snapshot entries.
    assert any([h["op"] for h in hs] == ["UPSERT", "DELETE"] and hs[0]["entry_id"][2:].isdigit()
               for hs in history.values())
    # A validity window that ends mid-run, and one that starts mid-run.
    ends = [parse_instant(r["valid_until"]) for r in records if r["valid_until"]]
    starts = [parse_instant(r["valid_from"]) for r in records if r["valid_from"]]
    assert any(start < t < end for t in ends) and any(start < t < end for t in starts)
    # An escalated alert: the same entry upserted twice, with a higher severity.
    escalated = [hs for hs in history.values() if len(hs) == 2 and hs[0]["op"] == hs[1]["op"]
                 == "UPSERT" and (hs[1]["severity"] or 0) > (hs[0]["severity"] or 0)]
    assert escalated


def test_every_fleet_role_is_listed(small_run):
    simulation = Simulation(small_run.settings)
    plates = defaultdict(set)
    for r in small_run.records("reference.jsonl"):
        if r["op"] == "UPSERT":
            plates[r["list_name"]].add(canon_pattern(r["plate"]))
    for vehicle in simulation.fleet.role(roles.STOLEN):
        assert vehicle.plate.canon in plates["stolen_vehicles"]
    for vehicle in simulation.fleet.role(roles.JUDICIAL):
        assert vehicle.plate.canon in plates["judicial_alerts"]
    for vehicle in simulation.fleet.role(roles.INSURANCE):
        assert vehicle.plate.canon in plates["insurance_expired"]
    unregistered = [v for v in simulation.fleet.vehicles if v.lez == roles.LEZ_UNREGISTERED]
    assert unregistered
    assert not {v.plate.canon for v in unregistered} & plates["lez_vehicle_status"]


def test_background_entries_are_addressed_by_index_and_avoid_the_fleet():
    avoid = frozenset(BackgroundPlates(1, "lez_vehicle_status", frozenset()).plate(j).canon
                      for j in range(50))
    plates = BackgroundPlates(1, "lez_vehicle_status", avoid)
    again = BackgroundPlates(1, "lez_vehicle_status", avoid)
    seen = [plates.plate(j).canon for j in range(3000)]
    assert seen == [again.plate(j).canon for j in range(3000)]
    assert not set(seen) & avoid
    assert len(set(seen)) > 0.999 * len(seen)


def _peak_while_streaming(lez_entries: int) -> tuple[int, int]:
    import tracemalloc

    from feblam.simulate.fleet import build_fleet
    from feblam.simulate.lists import ReferenceLists

    fleet = build_fleet(2, 200)
    start = parse_instant("2026-03-02T00:00:00Z")
    lists = ReferenceLists(2, fleet, ListSizes(lez_entries, 200, 200, 100, 100), start,
                           start + 6 * 3_600_000)
    tracemalloc.start()
    try:
        count = sum(1 for _ in lists.updates())
        return count, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_the_large_list_streams_in_bounded_memory():
    small_count, small_peak = _peak_while_streaming(4_000)
    large_count, large_peak = _peak_while_streaming(40_000)
    assert large_count - small_count >= 36_000
    # Held entries would cost hundreds of bytes each: 36,000 more would show as megabytes.
    assert large_peak < small_peak + 2_000_000, (small_peak, large_peak)
