"""Lifecycle events (spec §1, §5): what a dispatcher or list owner did to a delivery.

``parse_event(record)`` checks the shape of one event and returns a
``LifecycleEvent``; a malformed one raises ``EventError`` carrying the record,
so that the job refuses it with its reason instead of failing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

ACKNOWLEDGE = "ACKNOWLEDGE"
ACCEPT = "ACCEPT"
REJECT = "REJECT"
CLOSE = "CLOSE"
ACTIONS = (ACKNOWLEDGE, ACCEPT, REJECT, CLOSE)

# Event times a person could have typed: 2000-01-01 to 2100-01-01 UTC, as spec
# hit-semantics §3 bounds the reads'.
_EARLIEST_MS, _LATEST_MS = 946_684_800_000, 4_102_444_800_000
_MAX_TEXT = 2000


class EventError(ValueError):
    """A lifecycle event that cannot be read; ``record`` is the event as received."""

    def __init__(self, reason: str, record: Any):
        super().__init__(reason)
        self.reason = reason
        self.record = record


@dataclass(frozen=True)
class LifecycleEvent:
    hit_id: str
    destination: str
    action: str
    user: str
    at: int
    reason: str | None = None
    outcome: str | None = None
    note: str | None = None

    def as_record(self) -> dict[str, Any]:
        return {"hit_id": self.hit_id, "destination": self.destination, "action": self.action,
                "reason": self.reason, "outcome": self.outcome, "note": self.note,
                "user": self.user, "at": self.at}


def _text(record: Mapping[str, Any], name: str, required: bool) -> str | None:
    value = record.get(name)
    if value is None or value == "":
        if required:
            raise EventError(f"malformed: {name} is missing", record)
        return None
    if not isinstance(value, str):
        raise EventError(f"malformed: {name} must be text", record)
    if len(value) > _MAX_TEXT:
        raise EventError(f"malformed: {name} is longer than {_MAX_TEXT} characters", record)
    return value


def parse_event(record: Any) -> LifecycleEvent:
    """The event in ``record`` (a decoded mapping), or ``EventError`` saying what is wrong."""
    if not isinstance(record, Mapping):
        raise EventError("malformed: an event is a record of hit_id, destination, action, user, at", record)
    action = _text(record, "action", True)
    if action not in ACTIONS:
        raise EventError(f"malformed: unknown action {action!r}; actions: {', '.join(ACTIONS)}", record)
    at = record.get("at")
    if not isinstance(at, int) or isinstance(at, bool) or not _EARLIEST_MS <= at < _LATEST_MS:
        raise EventError("malformed: at must be UTC milliseconds between 2000 and 2100", record)
    return LifecycleEvent(
        hit_id=_text(record, "hit_id", True), destination=_text(record, "destination", True),
        action=action, user=_text(record, "user", True), at=at,
        reason=_text(record, "reason", False), outcome=_text(record, "outcome", False),
        note=_text(record, "note", False))
