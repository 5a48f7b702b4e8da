"""The dead-letter share guard (udfs.deadletter_guard) and its settings in the job's configuration."""

import pytest

from udfs.config import ConfigError, MatchingSettings, settings_from_mapping
from udfs.deadletter_guard import DeadLetterGuard, DeadLetterGuardSettings, Incident

SETTINGS = DeadLetterGuardSettings(max_share=0.5, min_reads=1000)


def test_defaults_are_more_than_half_of_at_least_1000_reads_and_fail_the_job():
    s = MatchingSettings().dead_letter_guard
    assert (s.max_share, s.min_reads, s.fail_job) == (0.5, 1000, True)


def test_a_window_under_min_reads_is_never_judged_whatever_its_share():
    guard = DeadLetterGuard(SETTINGS)
    for _ in range(9):
        assert guard.count(100, {"MALFORMED": 100}) is None


def test_more_than_the_share_of_a_full_window_trips_and_says_counts_and_reasons():
    guard = DeadLetterGuard(SETTINGS)
    assert guard.count(600, {"MALFORMED": 400}) is None
    incident = guard.count(500, {"MALFORMED": 100, "BAD_TIMESTAMP": 60})
    assert incident == Incident(1100, 560, {"MALFORMED": 500, "BAD_TIMESTAMP": 60}, 0.5)
    assert incident.message() == ("dead-letter share 51% over the last 1100 reads exceeds 50%: "
                                  "560 dead letters (BAD_TIMESTAMP 60, MALFORMED 500)")


def test_exactly_the_share_is_data_not_an_incident():
    assert DeadLetterGuard(SETTINGS).count(1000, {"EMPTY_PLATE": 500}) is None


def test_each_window_starts_afresh_after_it_is_judged():
    guard = DeadLetterGuard(SETTINGS)
    assert guard.count(1000, {"MALFORMED": 900}) is not None
    assert guard.count(1000, {"MALFORMED": 10}) is None            # a new window, healthy
    assert guard.count(999, {"MALFORMED": 999}) is None             # not full yet
    assert guard.count(1, {}) == Incident(1000, 999, {"MALFORMED": 999}, 0.5)


def test_a_first_attempt_never_holds():
    guard = DeadLetterGuard(SETTINGS)
    guard.count(500, {"MALFORMED": 500})
    assert not guard.holding


def test_a_restarted_attempt_holds_while_its_open_window_is_over_the_share():
    guard = DeadLetterGuard(SETTINGS, restarted=True)
    assert not guard.holding                      # nothing counted yet
    guard.count(400, {"MALFORMED": 300})
    assert guard.holding
    guard.count(400, {})                          # 300 of 800: under the share
    assert not guard.holding
    guard.count(100, {"MALFORMED": 100})          # 400 of 900
    assert not guard.holding
    guard.count(50, {"MALFORMED": 50})            # 450 of 950
    assert not guard.holding
    guard.count(40, {"MALFORMED": 40})            # 490 of 990
    assert not guard.holding
    guard.count(5, {"MALFORMED": 5})              # 495 of 995
    assert not guard.holding


def test_a_restarted_attempt_stops_holding_when_its_window_closes():
    guard = DeadLetterGuard(SETTINGS, restarted=True)
    guard.count(500, {"MALFORMED": 500})
    assert guard.holding
    assert guard.count(500, {}) is None           # 500 of 1000: healthy, closed
    assert not guard.holding


def test_with_fail_job_off_nothing_is_ever_held():
    guard = DeadLetterGuard(DeadLetterGuardSettings(fail_job=False), restarted=True)
    guard.count(999, {"MALFORMED": 999})
    assert not guard.holding
    assert guard.count(1, {"MALFORMED": 1}) is not None   # still reported


def test_configuration_reads_the_section(tmp_path):
    s = settings_from_mapping({"dead_letter_guard": {"max_share": 0.9, "min_reads": 50, "fail_job": False}})
    assert s.dead_letter_guard == DeadLetterGuardSettings(max_share=0.9, min_reads=50, fail_job=False)
    assert settings_from_mapping({"dead_letter_guard": None}).dead_letter_guard == DeadLetterGuardSettings()


@pytest.mark.parametrize("section, needle", [
    ({"max_share": 1.0}, "dead_letter_guard.max_share"),
    ({"max_share": -0.1}, "dead_letter_guard.max_share"),
    ({"max_share": "half"}, "dead_letter_guard.max_share"),
    ({"min_reads": 0}, "dead_letter_guard.min_reads"),
    ({"min_reads": 10.5}, "dead_letter_guard.min_reads"),
    ({"fail_job": "yes"}, "dead_letter_guard.fail_job"),
    ({"window": "1 min"}, "unknown key"),
])
def test_bad_guard_settings_are_refused_at_load(section, needle):
    with pytest.raises(ConfigError, match=needle):
        settings_from_mapping({"dead_letter_guard": section})
