"""What the gateway emits: messages to destinations, audit rows, refused events (spec §4-§6).

Every output of ``gateway.lifecycle.HitCase`` is one of three frozen records:
- ``Message``: goes to the destination's topic (``gw.<destination>``), keyed
  by ``delivery_id``; ``kind`` says what it carries;
- ``AuditRecord``: one row of the audit history;
- ``RefusedEvent``: a lifecycle event the state table does not allow, with why.

The records hold plain values (text, numbers, dicts of them), so that the job
serialises them with the Avro contracts in ``schemas/`` and a test compares
them directly.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any

# Message kinds on a destination's topic.
DELIVERY = "DELIVERY"        # a hit for this destination to act on
SIGHTING = "SIGHTING"        # the vehicle of an open delivery was seen again
TAKEN_BY = "TAKEN_BY"        # another destination accepted the hit
STATE = "STATE"              # this delivery's state changed (acknowledged, escalated, ...)
ESCALATION = "ESCALATION"    # a hit this destination already holds was escalated to it
FEEDBACK = "FEEDBACK"        # a list owner learns that its entry gave a false or wrong hit
MESSAGE_KINDS = (DELIVERY, SIGHTING, TAKEN_BY, STATE, ESCALATION, FEEDBACK)

# Audit kinds.
AUDIT_DELIVERED = "DELIVERED"
AUDIT_SIGHTING = "SIGHTING_FORWARDED"
AUDIT_TRANSITION = "TRANSITION"
AUDIT_ESCALATED = "ESCALATED"
AUDIT_REFUSED = "REFUSED"
AUDIT_NOTICE = "TAKEN_BY_NOTICE"
AUDIT_FEEDBACK = "FEEDBACK"
AUDIT_UNROUTED = "UNROUTED"
AUDIT_EXPIRED = "EXPIRED"


def delivery_id(hit_id: str, destination: str) -> str:
    """First 32 hex characters of SHA-256 over ``hit_id|destination`` (spec §4)."""
    return hashlib.sha256(f"{hit_id}|{destination}".encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class Message:
    """One record on a destination's topic. ``body`` depends on ``kind``:

    - DELIVERY: ``route``, ``labels``, ``hit`` (the hit record), ``escalated_from``
      (null unless an escalation), ``ack_deadline`` (UTC ms, null = never);
    - SIGHTING: the sighting's ``read_id``, ``camera_id``, ``event_time``,
      ``sightings`` and, for a camera of the registry, ``police_zone``,
      ``province``, ``lat``, ``lon``;
    - TAKEN_BY: ``taken_by`` (the destination that accepted), ``user``;
    - STATE: ``from_state``, ``to_state``, ``action`` (null for a timeout), ``user``;
    - ESCALATION: ``escalated_from``;
    - FEEDBACK: ``list_name``, ``entry_id``, ``reason``, ``note``, ``user``, ``from``.
    """

    destination: str
    kind: str
    delivery_id: str
    hit_id: str
    at: int
    body: dict = field(default_factory=dict)


@dataclass(frozen=True)
class AuditRecord:
    """One audit row (spec §6): what, when, who, from which state to which, and why.

    It names the hit by ``hit_id`` and its list entry, never by plate or camera:
    the audit outlives the reads and hits it refers to.
    """

    at: int
    kind: str
    hit_id: str
    delivery_id: str | None = None
    destination: str | None = None
    from_state: str | None = None
    to_state: str | None = None
    action: str | None = None
    user: str | None = None
    reason: str | None = None
    outcome: str | None = None
    note: str | None = None
    route: str | None = None
    escalated_from: str | None = None
    list_name: str | None = None
    entry_id: str | None = None
    priority: str | None = None
    covert: bool = False
    config_version: str | None = None
    event_at: int | None = None
    detail: str | None = None

    def as_record(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RefusedEvent:
    """A lifecycle event refused with its reason; ``event`` is the event as received, and
    ``original`` its bytes as they came (the Kafka record's value), when the caller
    gave them: a refusal keeps the event whole (docs/hits.md §3)."""

    at: int
    reason: str
    event: dict
    original: bytes | None = None
