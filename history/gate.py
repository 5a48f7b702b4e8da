"""The access gate: what time range of the history one access may see, or why none.

Every access states who asks (`user`, `unit`), why (`purpose`, `justification`)
and, for judicial access to older data, the prosecutor's written decision
(`authorisation`). `decide` then grants the asked time range, narrows it to
what the rules let this access see and says so, or refuses it with the rule
that refused it (docs/history.md, "Who may see what"):

- nothing older than the retention limit (12 calendar months) is seen by anyone;
- ADMINISTRATIVE access sees the last 30 days only;
- JUDICIAL access sees the last 30 days, and older data (up to the retention
  limit) only with an authorisation;
- a justification has at least 10 characters; a user and a unit are named.

Hits and sightings of covert entries are seen only by users of the entry's
owner unit: `Decision.unit` is what the queries filter them on.

Times are aware datetimes in UTC; a range is half-open, [start, end).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

ADMINISTRATIVE = "ADMINISTRATIVE"
JUDICIAL = "JUDICIAL"
PURPOSES = (ADMINISTRATIVE, JUDICIAL)

GRANTED, NARROWED, REFUSED = "GRANTED", "NARROWED", "REFUSED"


class AccessError(ValueError):
    """An access the gate refused; `decision` says which rule refused it (and it is logged)."""

    def __init__(self, decision: "Decision"):
        super().__init__(decision.statement)
        self.decision = decision


@dataclass(frozen=True)
class AccessPolicy:
    """The rules' figures. `retention_months` is the law's maximum: a policy may keep
    less, never more."""

    retention_months: int = 12
    recent_days: int = 30
    min_justification: int = 10
    log_retention_years: int = 10

    def __post_init__(self) -> None:
        if not 1 <= self.retention_months <= 12:
            raise ValueError(f"retention_months {self.retention_months}: the law allows 1 to 12")
        if not 1 <= self.recent_days <= 31:
            raise ValueError(f"recent_days {self.recent_days}: 1 to 31 (one month)")
        if self.log_retention_years < 10:
            raise ValueError(f"log_retention_years {self.log_retention_years}: the access log is kept at least 10 years")

    def retention_limit(self, now: datetime) -> datetime:
        """The oldest event time anyone may still see at `now`."""
        return months_before(now, self.retention_months)

    def recent_limit(self, now: datetime) -> datetime:
        """The oldest event time an access without an authorisation may see at `now`."""
        return now - timedelta(days=self.recent_days)


@dataclass(frozen=True)
class AccessRequest:
    """Who asks, why, and under whose authority. `authorisation` is the reference of the
    prosecutor's decision, or None."""

    user: str
    unit: str
    purpose: str
    justification: str
    authorisation: str | None = None


@dataclass(frozen=True)
class TimeRange:
    """[start, end), aware datetimes in UTC; None: unbounded on that side."""

    start: datetime | None = None
    end: datetime | None = None

    def __post_init__(self) -> None:
        for value in (self.start, self.end):
            if value is not None and value.tzinfo is None:
                raise ValueError("a time range's bounds must carry a time zone (UTC)")
        if self.start is not None and self.end is not None and self.start > self.end:
            raise ValueError(f"time range starts ({iso(self.start)}) after it ends ({iso(self.end)})")

    def describe(self) -> str:
        return f"[{iso(self.start) if self.start else '-inf'}, {iso(self.end) if self.end else 'now'})"


@dataclass(frozen=True)
class Decision:
    """The gate's answer. `granted` is None when refused; `statement` says in words what
    was granted, narrowed or refused, and by which rule."""

    outcome: str
    asked: TimeRange
    granted: TimeRange | None
    statement: str
    unit: str
    rules: tuple[str, ...] = field(default=())

    @property
    def refused(self) -> bool:
        return self.outcome == REFUSED


def decide(request: AccessRequest, asked: TimeRange, now: datetime,
           policy: AccessPolicy = AccessPolicy()) -> Decision:
    """The gate (see the module's docstring): grant, narrow or refuse `asked` at `now`."""
    problem = _request_problem(request, policy)
    if problem:
        return Decision(REFUSED, asked, None, f"refused: {problem}", request.unit, (problem,))
    floor, rules = policy.retention_limit(now), []
    if request.purpose == ADMINISTRATIVE:
        floor = max(floor, policy.recent_limit(now))
        rule = f"ADMINISTRATIVE access sees the last {policy.recent_days} days only"
    elif request.authorisation:
        rule = f"nothing older than {policy.retention_months} months is kept or shown"
    else:
        floor = max(floor, policy.recent_limit(now))
        rule = (f"JUDICIAL access to data older than {policy.recent_days} days needs the prosecutor's "
                "authorisation (--authorisation)")
    start = asked.start if asked.start is not None and asked.start >= floor else floor
    end = asked.end if asked.end is not None and asked.end <= now else now
    if asked.start is None or asked.start < floor:
        rules.append(rule)
    if asked.end is not None and asked.end > now:
        rules.append("nothing later than the moment of the query exists")
    if start >= end:
        why = rules[0] if rules else "the range asked is empty"
        return Decision(REFUSED, asked, None, f"refused: nothing of {asked.describe()} may be seen: {why}",
                        request.unit, tuple(rules) or (why,))
    granted = TimeRange(start, end)
    if rules:
        return Decision(NARROWED, asked, granted,
                        f"narrowed from {asked.describe()} to {granted.describe()}: " + "; ".join(rules),
                        request.unit, tuple(rules))
    return Decision(GRANTED, asked, granted, f"granted {granted.describe()}", request.unit, ())


def identity_problem(user: str, unit: str, justification: str, policy: AccessPolicy = AccessPolicy()) -> str | None:
    """What is missing of who asks and why (any access, a reading of the access log too), or None."""
    if not (user or "").strip():
        return "every access names its user"
    if not (unit or "").strip():
        return "every access names the user's unit"
    if len((justification or "").strip()) < policy.min_justification:
        return f"a justification of at least {policy.min_justification} characters is required"
    return None


def _request_problem(request: AccessRequest, policy: AccessPolicy) -> str | None:
    if request.purpose not in PURPOSES:
        return f"purpose {request.purpose!r} is not one of {', '.join(PURPOSES)}"
    return identity_problem(request.user, request.unit, request.justification, policy)


def months_before(moment: datetime, months: int) -> datetime:
    """The same wall-clock instant `months` calendar months earlier (the 31st becomes the
    month's last day)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def from_ms(ms: int) -> datetime:
    """Epoch milliseconds as an aware UTC datetime."""
    return datetime.fromtimestamp(ms / 1000, timezone.utc)


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
