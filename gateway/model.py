"""What a gateway configuration is, once read (spec hit-gateway §3): destinations, webhooks,
matchers, routes and the settings of the lifecycle, as frozen values.

`gateway.config.parse_config` makes them from YAML; everything else reads them.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Mapping

PRIORITIES = ("P1", "P2", "P3", "P4")
DEFAULT_ACK_TIMEOUT_MS = {"P1": 60_000, "P2": 300_000}
DEFAULT_REASONS = ("FALSE_READ", "WRONG_ENTRY", "NO_UNIT_AVAILABLE", "OUT_OF_AREA", "DUPLICATE", "OTHER")
DEFAULT_OUTCOMES = ("INTERCEPTED", "NOT_FOUND", "FALSE_READ", "OTHER")
DEFAULT_FEEDBACK_ON = ("FALSE_READ", "WRONG_ENTRY")
DEFAULT_NOTE_REQUIRED_FOR = ("OTHER",)
DEFAULT_CLOSED_RETENTION_MS = 24 * 3_600_000
DEFAULT_OPEN_RETENTION_MS = 30 * 86_400_000
DEFAULT_UNKNOWN_HIT_GRACE_MS = 30_000


@dataclass(frozen=True)
class Problem:
    """One reason a configuration is refused: the line (1-based, 0 if unknown) and what is wrong."""

    line: int
    message: str


class ConfigError(ValueError):
    """A configuration refused at load; ``problems`` lists every fault with its line."""

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = tuple(sorted(problems, key=lambda p: p.line))
        lines = [f"{source}:{p.line}: {p.message}" if p.line else f"{source}: {p.message}"
                 for p in self.problems]
        super().__init__(f"{len(lines)} problem(s) in the gateway configuration\n" + "\n".join(lines))


@dataclass(frozen=True)
class Webhook:
    """Delivery by HTTP POST, retried with exponential backoff (spec §4)."""

    url: str
    tries: int = 5
    backoff_ms: int = 500
    timeout_ms: int = 2000

    def delays_ms(self) -> list[int]:
        """The waits between tries: backoff, doubling, one fewer than the tries."""
        return [self.backoff_ms * 2 ** i for i in range(self.tries - 1)]


@dataclass(frozen=True)
class Destination:
    """Who receives deliveries: a name (its topic is ``gw.<name>``), the users who act for it."""

    name: str
    display_name: str
    users: frozenset[str] = frozenset()
    escalate_to: str | None = None
    webhook: Webhook | None = None

    @property
    def topic(self) -> str:
        return destination_topic(self.name)


def destination_topic(name: str) -> str:
    """The Kafka topic of a destination's deliveries and notices."""
    return f"gw.{name}"


@dataclass(frozen=True)
class Matcher:
    """``label op value``; regexes are anchored at both ends; an absent label reads as ''."""

    label: str
    op: str
    value: str
    pattern: re.Pattern | None = field(default=None, compare=False, repr=False)

    def holds(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.label, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        found = self.pattern.fullmatch(actual) is not None
        return found if self.op == "=~" else not found

    def __str__(self) -> str:
        return f'{self.label} {self.op} "{self.value}"'


@dataclass(frozen=True)
class Route:
    """A node of the routing tree with its inherited settings resolved.

    ``path`` names it in explanations and deliveries (``root``, ``root.0``,
    ``root.0.2``); ``ack_timeout_ms`` maps a priority to its timeout.
    """

    path: str
    line: int
    matchers: tuple[Matcher, ...]
    destination: str
    continue_: bool
    ack_timeout_ms: Mapping[str, int]
    escalate_to: str | None
    routes: tuple["Route", ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(m.holds(labels) for m in self.matchers)

    def ack_timeout_for(self, priority: str) -> int | None:
        return self.ack_timeout_ms.get(priority)


@dataclass(frozen=True)
class GatewayConfig:
    """One version of the routing configuration; ``version`` is a digest of its text."""

    version: str
    national: str
    destinations: Mapping[str, Destination]
    route: Route
    list_owners: Mapping[str, str] = field(default_factory=dict)
    reasons: tuple[str, ...] = DEFAULT_REASONS
    outcomes: tuple[str, ...] = DEFAULT_OUTCOMES
    feedback_on: frozenset[str] = frozenset(DEFAULT_FEEDBACK_ON)
    note_required_for: frozenset[str] = frozenset(DEFAULT_NOTE_REQUIRED_FOR)
    closed_retention_ms: int = DEFAULT_CLOSED_RETENTION_MS
    open_retention_ms: int = DEFAULT_OPEN_RETENTION_MS
    unknown_hit_grace_ms: int = DEFAULT_UNKNOWN_HIT_GRACE_MS

    def acts_for(self, user: str, destination: str) -> bool:
        known = self.destinations.get(destination)
        return known is not None and user in known.users


def config_version(text: str) -> str:
    """The first 12 hex characters of SHA-256 over the configuration's text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
