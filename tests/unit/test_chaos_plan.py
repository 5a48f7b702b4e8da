"""The chaos run's plan: deterministic, every kind before any twice, faults apart."""

from __future__ import annotations

import pytest

from feblam.chaos.plan import ChaosSettings, FaultKind, plan_faults, plate


def test_the_same_seed_gives_the_same_faults_and_another_seed_others():
    settings = ChaosSettings(reads=2_000_000, faults=10, rate=10_000)
    assert plan_faults(settings, 2) == plan_faults(settings, 2)
    assert plan_faults(settings, 2) != plan_faults(ChaosSettings(reads=2_000_000, faults=10, rate=10_000, seed=12), 2)


def test_every_kind_comes_once_before_any_comes_twice():
    faults = plan_faults(ChaosSettings(reads=2_000_000, faults=10, rate=10_000), 2)
    kinds = [f.kind for f in faults]
    assert set(kinds[:4]) == set(FaultKind)
    assert set(kinds[4:8]) == set(FaultKind)


def test_faults_are_in_time_order_and_at_least_the_gap_apart_even_when_the_feed_is_short():
    settings = ChaosSettings(reads=20_000, faults=4, rate=1_000, min_gap_s=15)   # a 20 s feed
    offsets = [f.at_s for f in plan_faults(settings, 2)]
    assert offsets == sorted(offsets)
    assert all(b - a >= 15 - 1e-6 for a, b in zip(offsets, offsets[1:]))
    assert 0 < offsets[0] < settings.feed_s


def test_only_taskmanager_kills_name_a_taskmanager_and_it_exists():
    for fault in plan_faults(ChaosSettings(reads=2_000_000, faults=40, rate=10_000), 3):
        if fault.kind is FaultKind.TASKMANAGER_KILL:
            assert 1 <= fault.target <= 3
        else:
            assert fault.target == 0


def test_kinds_can_be_narrowed():
    settings = ChaosSettings(reads=100_000, faults=3, kinds=(FaultKind.BROKER_RESTART,))
    assert {f.kind for f in plan_faults(settings, 2)} == {FaultKind.BROKER_RESTART}


def test_plates_are_distinct_and_every_nth_is_listed():
    settings = ChaosSettings(reads=1000, hit_every=20)
    plates = [plate(i, settings) for i in range(1000)]
    assert len(set(plates)) == 1000
    assert [i for i, p in enumerate(plates) if p.startswith("H")] == list(range(0, 1000, 20))


@pytest.mark.parametrize("bad", [{"reads": 5, "hit_every": 20}, {"faults": -1}, {"rate": 0}, {"kinds": ()}])
def test_settings_that_make_no_sense_are_refused(bad):
    with pytest.raises(ValueError):
        ChaosSettings(**bad)
