"""The access gate (history.gate): one test per rule of who may see what."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from history.gate import (ADMINISTRATIVE, GRANTED, JUDICIAL, NARROWED, REFUSED, AccessPolicy, AccessRequest, TimeRange,
                          decide, months_before)

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=timezone.utc)
ADMIN = AccessRequest("a.peeters", "ZP-BRUXELLES", ADMINISTRATIVE, "LEZ appeal 2026/1187, checking passages")
JUDGE = AccessRequest("j.claes", "PJF-ANTWERPEN", JUDICIAL, "investigation AN.12.L3.004512/26, stolen Audi")
AUTHORISED = AccessRequest("j.claes", "PJF-ANTWERPEN", JUDICIAL, "investigation AN.12.L3.004512/26, stolen Audi",
                           authorisation="AN.12.L3.004512/26-PK-17")


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def test_recent_data_is_granted_as_asked():
    decision = decide(ADMIN, TimeRange(days_ago(3), days_ago(1)), NOW)
    assert (decision.outcome, decision.granted) == (GRANTED, TimeRange(days_ago(3), days_ago(1)))


def test_administrative_access_older_than_30_days_is_narrowed_and_says_so():
    decision = decide(ADMIN, TimeRange(days_ago(90), days_ago(1)), NOW)
    assert decision.outcome == NARROWED
    assert decision.granted == TimeRange(days_ago(30), days_ago(1))
    assert "ADMINISTRATIVE access sees the last 30 days only" in decision.statement


def test_administrative_access_even_with_an_authorisation_sees_30_days():
    request = AccessRequest(ADMIN.user, ADMIN.unit, ADMINISTRATIVE, ADMIN.justification, authorisation="X-1")
    assert decide(request, TimeRange(days_ago(90)), NOW).granted.start == days_ago(30)


def test_judicial_access_without_an_authorisation_is_narrowed_to_30_days():
    decision = decide(JUDGE, TimeRange(days_ago(200), days_ago(2)), NOW)
    assert (decision.outcome, decision.granted.start) == (NARROWED, days_ago(30))
    assert "needs the prosecutor's authorisation" in decision.statement


def test_judicial_access_without_an_authorisation_to_old_data_only_is_refused():
    decision = decide(JUDGE, TimeRange(days_ago(200), days_ago(100)), NOW)
    assert decision.outcome == REFUSED and decision.granted is None
    assert "needs the prosecutor's authorisation" in decision.statement


def test_judicial_access_with_an_authorisation_sees_up_to_12_months():
    decision = decide(AUTHORISED, TimeRange(days_ago(200), days_ago(100)), NOW)
    assert (decision.outcome, decision.granted) == (GRANTED, TimeRange(days_ago(200), days_ago(100)))
    older = decide(AUTHORISED, TimeRange(days_ago(500), days_ago(100)), NOW)
    assert older.outcome == NARROWED and older.granted.start == datetime(2025, 12, 6, 9, 0, tzinfo=timezone.utc)
    assert "nothing older than 12 months" in older.statement


def test_nothing_past_the_retention_limit_even_with_an_authorisation():
    decision = decide(AUTHORISED, TimeRange(days_ago(900), days_ago(400)), NOW)
    assert decision.outcome == REFUSED and "12 months" in decision.statement


@pytest.mark.parametrize(("request_", "rule"), [
    (AccessRequest("a.peeters", "ZP", ADMINISTRATIVE, "too short"), "at least 10 characters"),
    (AccessRequest("a.peeters", "ZP", ADMINISTRATIVE, "          x"), "at least 10 characters"),
    (AccessRequest("", "ZP", ADMINISTRATIVE, "a long enough reason"), "names its user"),
    (AccessRequest("a.peeters", " ", ADMINISTRATIVE, "a long enough reason"), "unit"),
    (AccessRequest("a.peeters", "ZP", "CURIOSITY", "a long enough reason"), "purpose 'CURIOSITY'"),
])
def test_an_access_without_what_the_law_asks_is_refused(request_, rule):
    decision = decide(request_, TimeRange(days_ago(2)), NOW)
    assert decision.outcome == REFUSED and decision.granted is None
    assert rule in decision.statement


def test_an_open_range_is_all_the_access_may_see_and_says_how_far_that_goes():
    decision = decide(ADMIN, TimeRange(), NOW)
    assert decision.granted == TimeRange(days_ago(30), NOW)
    assert decision.outcome == NARROWED and "last 30 days" in decision.statement


def test_the_future_is_cut_at_the_moment_of_the_query():
    decision = decide(ADMIN, TimeRange(days_ago(1), NOW + timedelta(days=1)), NOW)
    assert decision.granted == TimeRange(days_ago(1), NOW) and decision.outcome == NARROWED


def test_a_policy_cannot_keep_more_than_the_law_allows():
    with pytest.raises(ValueError, match="1 to 12"):
        AccessPolicy(retention_months=13)
    with pytest.raises(ValueError, match="at least 10 years"):
        AccessPolicy(log_retention_years=5)


def test_twelve_calendar_months_end_on_the_months_last_day():
    assert months_before(datetime(2027, 2, 28, tzinfo=timezone.utc), 12) == datetime(2026, 2, 28, tzinfo=timezone.utc)
    assert months_before(datetime(2026, 3, 31, tzinfo=timezone.utc), 1) == datetime(2026, 2, 28, tzinfo=timezone.utc)
    assert months_before(datetime(2026, 1, 15, tzinfo=timezone.utc), 12) == datetime(2025, 1, 15, tzinfo=timezone.utc)


def test_a_range_without_a_time_zone_is_refused():
    with pytest.raises(ValueError, match="time zone"):
        TimeRange(datetime(2026, 1, 1))
