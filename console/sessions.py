"""Console sessions (pure, with an injectable clock).

A login opens a `Session`: a random token (the cookie's value, 256 bits from
`secrets`), the account, and a CSRF token of its own that every action must send
back in the `X-CSRF-Token` header. A session ends after `idle_s` without a request
or `max_age_s` after the login, whichever comes first, or at logout. Sessions live
in the console's memory: a restarted console asks everyone to log in again, which
is what a police intranet expects of a restart anyway.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from console.accounts import Account


@dataclass
class Session:
    token: str
    csrf: str
    account: Account
    opened: float
    seen: float

    def csrf_matches(self, sent: str | None) -> bool:
        return sent is not None and hmac.compare_digest(sent.encode(), self.csrf.encode())


class Sessions:
    """The open sessions."""

    def __init__(self, idle_s: float = 900.0, max_age_s: float = 12 * 3600.0,
                 clock: Callable[[], float] = time.monotonic):
        self.idle_s, self.max_age_s, self.clock = idle_s, max_age_s, clock
        self._open: dict[str, Session] = {}

    def open(self, account: Account) -> Session:
        now = self.clock()
        self._expire(now)
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), account, now, now)
        self._open[session.token] = session
        return session

    def get(self, token: str | None) -> Session | None:
        """The live session of `token` (and it counts as used now), or None."""
        if not token:
            return None
        session = self._open.get(token)
        now = self.clock()
        if session is None or now - session.seen > self.idle_s or now - session.opened > self.max_age_s:
            self._open.pop(token, None)
            return None
        session.seen = now
        return session

    def close(self, token: str | None) -> None:
        self._open.pop(token or "", None)

    def __len__(self) -> int:
        return len(self._open)

    def _expire(self, now: float) -> None:
        for token in [t for t, s in self._open.items()
                      if now - s.seen > self.idle_s or now - s.opened > self.max_age_s]:
            del self._open[token]
