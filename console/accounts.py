"""Who may use the dispatch console, and what each may see.

Accounts come from a YAML file the operators keep (never from the page):

    users:
      l.dubois:
        password: "scrypt$16384$8$1$<salt>$<hash>"     # feblam console hash-password
        destinations: [cic-lie]                         # the centres they act for
        role: dispatcher                               # dispatcher (default), or observer: sees, does not act

A password is stored as an scrypt hash (`hashlib.scrypt`, the standard library's:
memory-hard, salted, no dependency), checked in constant time. A user sees the cards
of their destinations only; a covert card (label `covert` = "true") only when its
`owner` is one of their destinations too (`may_see`).

Wrong passwords are throttled (`LoginThrottle`): after `max_failures` failures for
one user name within `window_s`, or `client_max_failures` from one client address
(higher: a dispatch room shares one address behind its proxy, and one person's
typos must not lock out the room), every login for that name or from that address
is refused for `lockout_s`, whatever the password, and the refusal says when to
try again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import yaml

from console.board import Card

ROLES = ("dispatcher", "observer")
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1     # 16 MiB and some 50 ms a check on this machine


class AccountsError(ValueError):
    """An accounts file refused at load: the message names the user and the problem."""


class LoginRefused(Exception):
    """A login refused: `reason` is shown to the person (never which part was wrong);
    `retry_after_s` is set when the login is throttled."""

    def __init__(self, reason: str, retry_after_s: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class Account:
    name: str
    password_hash: str = field(repr=False)
    destinations: frozenset[str]
    role: str = "dispatcher"


def hash_password(password: str, salt: bytes | None = None) -> str:
    """The stored form of `password`: scrypt with a random 16-byte salt."""
    salt = salt if salt is not None else os.urandom(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return "$".join(["scrypt", str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P),
                     base64.b64encode(salt).decode(), base64.b64encode(digest).decode()])


def check_password(stored: str, password: str) -> bool:
    """Whether `password` matches the stored hash; False for a malformed one."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r),
                                p=int(p), dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def may_see(account: Account, card: Card) -> bool:
    """A user sees their destinations' cards; a covert one only if its owner is theirs too."""
    if card.destination not in account.destinations:
        return False
    return not card.covert or (card.owner is not None and card.owner in account.destinations)


class Accounts:
    """The accounts of one file, checked against the destinations that exist."""

    def __init__(self, accounts: Iterable[Account]):
        self.by_name = {account.name: account for account in accounts}

    @classmethod
    def from_yaml(cls, text: str, source: str, destinations: Iterable[str]) -> "Accounts":
        """Raises AccountsError naming the user and the problem: an unknown destination,
        no destination, an unknown role, a password that is not an scrypt hash."""
        known = set(destinations)
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as error:
            raise AccountsError(f"{source}: not YAML: {error}") from None
        users = data.get("users") if isinstance(data, Mapping) else None
        if not isinstance(users, Mapping) or not users:
            raise AccountsError(f"{source}: no users (a mapping `users:` of name to account)")
        accounts = []
        for name, entry in users.items():
            where = f"{source}: user {name!r}"
            if not isinstance(entry, Mapping):
                raise AccountsError(f"{where}: an account is a mapping (password, destinations, role)")
            password, wanted, role = entry.get("password"), entry.get("destinations"), entry.get("role", "dispatcher")
            if not isinstance(password, str) or not password.startswith("scrypt$") or password.count("$") != 5:
                raise AccountsError(f"{where}: password must be an scrypt hash (feblam console hash-password)")
            if not isinstance(wanted, list) or not wanted or not all(isinstance(d, str) for d in wanted):
                raise AccountsError(f"{where}: destinations must be a list of destination names")
            unknown = sorted(set(wanted) - known)
            if unknown:
                raise AccountsError(f"{where}: unknown destination(s) {', '.join(unknown)}")
            if role not in ROLES:
                raise AccountsError(f"{where}: role must be one of {', '.join(ROLES)}, not {role!r}")
            accounts.append(Account(str(name), password, frozenset(wanted), role))
        return cls(accounts)

    def authenticate(self, name: str, password: str, client: str, throttle: "LoginThrottle") -> Account:
        """The account, or LoginRefused. A throttled name or client is refused before
        the password is looked at; a wrong name costs as long as a wrong password."""
        throttle.check(name, client)
        account = self.by_name.get(name)
        stored = account.password_hash if account is not None else _DUMMY_HASH
        if not check_password(stored, password) or account is None:
            throttle.failed(name, client)
            raise LoginRefused("wrong user name or password")
        throttle.succeeded(name)
        return account


_DUMMY_HASH = hash_password("not a password anyone has", salt=b"\0" * 16)


class LoginThrottle:
    """Failed logins per user name and per client address, in a sliding window."""

    def __init__(self, max_failures: int = 5, window_s: float = 900.0, lockout_s: float = 900.0,
                 clock: Callable[[], float] = time.monotonic, client_max_failures: int = 50):
        self.window_s, self.lockout_s, self.clock = window_s, lockout_s, clock
        self._limits = {"user": max_failures, "client": client_max_failures}
        self._failures: dict[str, deque[float]] = {}
        self._locked_until: dict[str, float] = {}

    def check(self, name: str, client: str) -> None:
        now = self.clock()
        for key in (f"user:{name}", f"client:{client}"):
            until = self._locked_until.get(key)
            if until is not None and until > now:
                raise LoginRefused("too many failed logins: try again later", int(until - now) + 1)

    def failed(self, name: str, client: str) -> None:
        now = self.clock()
        for kind, key in (("user", f"user:{name}"), ("client", f"client:{client}")):
            recent = self._failures.setdefault(key, deque())
            recent.append(now)
            while recent and recent[0] <= now - self.window_s:
                recent.popleft()
            if len(recent) >= self._limits[kind]:
                self._locked_until[key] = now + self.lockout_s
                recent.clear()

    def succeeded(self, name: str) -> None:
        self._failures.pop(f"user:{name}", None)
