"""console.sessions: sessions end when idle, at their maximum age, or at logout."""

from __future__ import annotations

from console.accounts import Account
from console.sessions import Sessions

ACCOUNT = Account("lie.dispatcher", "scrypt$x", frozenset({"cic-lie"}))


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_a_session_lives_while_used_and_ends_when_idle():
    clock = Clock()
    sessions = Sessions(idle_s=60, max_age_s=3600, clock=clock)
    session = sessions.open(ACCOUNT)
    for _ in range(5):
        clock.now += 50
        assert sessions.get(session.token) is session
    clock.now += 61
    assert sessions.get(session.token) is None


def test_a_session_ends_at_its_maximum_age_however_busy_and_at_logout():
    clock = Clock()
    sessions = Sessions(idle_s=60, max_age_s=120, clock=clock)
    session = sessions.open(ACCOUNT)
    clock.now += 50
    assert sessions.get(session.token) is session
    clock.now += 50
    assert sessions.get(session.token) is session
    clock.now += 50
    assert sessions.get(session.token) is None
    other = sessions.open(ACCOUNT)
    sessions.close(other.token)
    assert sessions.get(other.token) is None and sessions.get(None) is None and sessions.get("") is None


def test_tokens_are_unguessable_and_the_csrf_token_is_checked_exactly():
    sessions = Sessions()
    one, two = sessions.open(ACCOUNT), sessions.open(ACCOUNT)
    assert one.token != two.token and one.csrf != two.csrf and len(one.token) >= 40
    assert one.csrf_matches(one.csrf)
    assert not one.csrf_matches(two.csrf) and not one.csrf_matches(None) and not one.csrf_matches("")
