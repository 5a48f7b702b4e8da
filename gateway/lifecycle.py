"""Everything the gateway knows of one hit, and the state table of its deliveries (spec §4, §5).

A ``HitCase`` is the state of one ``hit_id``: the hit, its labels, one
``DeliveryState`` per destination, and the sightings already forwarded. Its
methods take one input each (a hit, a sighting, a lifecycle event, the clock)
with the processing time ``now``, change the state, and return the outputs
(``gateway.records``) in the order they must be written. They never raise on
bad input: a bad event becomes a ``RefusedEvent``.

``to_state()`` / ``from_state()`` turn a case into plain JSON-able values and
back, for the job's keyed state (plain values survive a savepoint upgrade that
renames a class).

Readings of the spec, written down in docs/gateway.md:
- open deliveries are those a person can still act on (``NEW``,
  ``ACKNOWLEDGED``, ``ACCEPTED``); sightings and "taken by" notices go to them;
- an escalated delivery goes to the route's ``escalate_to``, with the route's
  ack timeout; when it escalates again it goes to that destination's own
  ``escalate_to``. A destination that already holds a delivery of the hit gets
  an ``ESCALATION`` notice instead of a second delivery (the ``delivery_id`` of
  spec §4 allows one per hit and destination);
- a sighting that arrives before its hit is kept (at most ``EARLY_SIGHTINGS``)
  and forwarded with the hit;
- a lifecycle event for a covert hit, sent for another destination than its
  owner, is refused as for an unknown hit, so that a refusal never tells
  anyone else that a covert hit exists;
- an event for a hit the gateway does not know yet waits for it for
  ``unknown_hit_grace`` (30 s) before it is refused as ``unknown hit``: hits
  and events travel on different topics, and after a restore the events read
  again can come before the hits they act on (at most ``EARLY_EVENTS`` wait).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, fields, replace
from typing import Any, Mapping

from gateway.config import GatewayConfig
from gateway.events import ACCEPT, ACKNOWLEDGE, CLOSE, REJECT, EventError, LifecycleEvent, parse_event
from gateway.records import (
    AUDIT_DELIVERED, AUDIT_ESCALATED, AUDIT_EXPIRED, AUDIT_FEEDBACK, AUDIT_NOTICE, AUDIT_REFUSED,
    AUDIT_SIGHTING, AUDIT_TRANSITION, AUDIT_UNROUTED, DELIVERY, ESCALATION, FEEDBACK, SIGHTING, STATE,
    TAKEN_BY, AuditRecord, Message, RefusedEvent, delivery_id,
)
from gateway.routing import RouteChoice, choose, is_covert

NEW, ACKNOWLEDGED, ACCEPTED = "NEW", "ACKNOWLEDGED", "ACCEPTED"
REJECTED, CLOSED, ESCALATED = "REJECTED", "CLOSED", "ESCALATED"
OPEN = (NEW, ACKNOWLEDGED, ACCEPTED)

# The state table of spec §5: (action, from state) -> to state.
TRANSITIONS = {
    (ACKNOWLEDGE, NEW): ACKNOWLEDGED,
    (ACCEPT, NEW): ACCEPTED, (ACCEPT, ACKNOWLEDGED): ACCEPTED,
    (REJECT, NEW): REJECTED, (REJECT, ACKNOWLEDGED): REJECTED,
    (CLOSE, ACCEPTED): CLOSED,
}
EARLY_SIGHTINGS = 100
EARLY_EVENTS = 20
# What the case keeps of its hit once no delivery can escalate any more (so none can be
# made): the rest went out with the deliveries, and a case may stay open for days.
HIT_SUMMARY = ("hit_id", "list_name", "entry_id", "priority", "match_kind", "zone")
_CAMERA_PLACE = ("police_zone", "province", "lat", "lon")

Output = Message | AuditRecord | RefusedEvent


@dataclass(frozen=True)
class DeliveryState:
    """One delivery of the hit: where, by which route, its state and its escalation timer."""

    delivery_id: str
    destination: str
    route: str
    state: str
    made_at: int
    ack_timeout_ms: int | None
    escalate_to: str | None
    escalated_from: str | None = None
    changed_at: int = 0

    @property
    def ack_deadline(self) -> int | None:
        if self.state != NEW or self.ack_timeout_ms is None or self.escalate_to is None:
            return None
        return self.made_at + self.ack_timeout_ms


# Every field of a DeliveryState is a plain value: a shallow dict of them is its state.
# `dataclasses.asdict` copies deeply and took 16-27 µs a case of two deliveries, this 1.4-2.5 µs,
# on every record the gateway keeps state for.
_DELIVERY_FIELDS = tuple(f.name for f in fields(DeliveryState))


def _waiting_from_state(entry) -> tuple[Any, int, bytes | None]:
    # A state saved before events kept their bytes holds (event, at) pairs.
    event, at, *rest = entry
    original = rest[0] if rest else None
    return event, at, None if original is None else base64.b64decode(original)


class HitCase:
    """The gateway's state for one hit_id; see the module docstring for the contract."""

    def __init__(self, hit_id: str):
        self.hit_id = hit_id
        self.hit: dict | None = None
        self.labels: dict[str, str] = {}
        self.config_version: str | None = None
        self.deliveries: dict[str, DeliveryState] = {}
        self.forwarded: list[str] = []       # read_ids of the sightings forwarded, in order
        self.early: list[dict] = []          # sightings that came before the hit
        # (event, received at, its original bytes) that came before the hit
        self.waiting: list[tuple[Any, int, bytes | None]] = []
        self.changed_at = 0

    # -- inputs -----------------------------------------------------------------------------

    def on_hit(self, hit: Mapping[str, Any], labels: Mapping[str, str], config: GatewayConfig,
               now: int, camera_of=lambda camera_id: None) -> list[Output]:
        """Route a hit and deliver it; a repeat of a hit already routed gives nothing."""
        if self.hit is not None:
            return []
        self.hit, self.labels, self.config_version = dict(hit), dict(labels), config.version
        self.changed_at = now
        choices = choose(config, labels)
        out: list[Output] = []
        if not choices:
            why = ("covert entry with no known owner" if self.covert
                   else "no route reaches a destination")
            out.append(self._audit(now, AUDIT_UNROUTED, detail=why))
        for choice in choices:
            out += self._deliver(choice, now)
        early, self.early = sorted(self.early, key=lambda s: s.get("sightings") or 0), []
        for sighting, camera in ((s, camera_of(s.get("camera_id"))) for s in early):
            out += self.on_sighting(sighting, now, camera)
        waiting, self.waiting = self.waiting, []
        for event, _, original in waiting:
            out += self.on_event(event, config, now, original)
        self._trim()
        return out

    def on_sighting(self, sighting: Mapping[str, Any], now: int,
                    camera: Mapping[str, Any] | None = None) -> list[Output]:
        """Forward a sighting to every open delivery, once per read."""
        read_id = sighting.get("read_id")
        if self.hit is None:
            if len(self.early) < EARLY_SIGHTINGS and all(s.get("read_id") != read_id for s in self.early):
                self.early.append(dict(sighting))
                self.changed_at = now
            return []
        if read_id in self.forwarded:
            return []
        targets = [d for d in self.deliveries.values() if d.state in OPEN]
        if not targets:
            return []
        self.forwarded.append(read_id)
        self.changed_at = now
        body = {"read_id": read_id, "camera_id": sighting.get("camera_id"),
                "event_time": sighting.get("event_time"), "sightings": sighting.get("sightings")}
        body.update({k: (camera or {}).get(k) for k in _CAMERA_PLACE})
        out: list[Output] = []
        for delivery in targets:
            out.append(Message(delivery.destination, SIGHTING, delivery.delivery_id, self.hit_id, now, body))
            out.append(self._audit(now, AUDIT_SIGHTING, delivery, detail=f"read {read_id}"))
        return out

    def on_event(self, record: Any, config: GatewayConfig, now: int, original: bytes | None = None) -> list[Output]:
        """Apply one lifecycle event, or refuse it with its reason (and change nothing).
        `original`, the event's bytes as received, goes with its refusal, now or after it
        waited for its hit."""
        try:
            event = parse_event(record)
        except EventError as error:
            return self._refuse(record, error.reason, now, original=original)
        if self.hit is None and event.hit_id == self.hit_id and len(self.waiting) < EARLY_EVENTS:
            self.waiting.append((record, now, original))
            self.changed_at = now
            return []
        reason = self._refusal_reason(event, config)
        if reason:
            return self._refuse(record, reason, now, event, original)
        delivery = self.deliveries[event.destination]
        to_state = TRANSITIONS[(event.action, delivery.state)]
        out = self._move(delivery, to_state, now, event)
        if event.action == ACCEPT:
            out += self._tell_taken(delivery, event, now)
        code = event.reason if event.action == REJECT else event.outcome if event.action == CLOSE else None
        if code is not None and code in config.feedback_on:
            out += self._feedback(delivery, event, code, config, now)
        self._trim()
        return out

    def refuse(self, record: Any, reason: str, now: int, original: bytes | None = None) -> list[Output]:
        """Refuse an event that could not even be read (``reason`` says why), as any other."""
        return self._refuse(record, reason, now, original=original)

    def on_time(self, config: GatewayConfig, now: int) -> list[Output]:
        """Escalate every delivery whose ack deadline has passed (spec §5, processing time), and
        refuse the events that waited for an unknown hit for ``unknown_hit_grace``."""
        out: list[Output] = []
        due = [waiting for waiting in self.waiting if waiting[1] + config.unknown_hit_grace_ms <= now]
        self.waiting = [waiting for waiting in self.waiting if waiting[1] + config.unknown_hit_grace_ms > now]
        for event, _, original in due:
            out += self._refuse(event, "unknown hit", now, parse_event(event), original)
        for delivery in list(self.deliveries.values()):
            deadline = delivery.ack_deadline
            if deadline is not None and deadline <= now:
                out += self._escalate(delivery, config, now)
        self._trim()
        return out

    # -- timers -----------------------------------------------------------------------------

    def next_deadline(self, config: GatewayConfig | None = None) -> int | None:
        """The next instant `on_time` has work: an ack deadline, or (with `config`) the end of
        an event's wait for its hit."""
        deadlines = [d.ack_deadline for d in self.deliveries.values() if d.ack_deadline is not None]
        if config is not None:
            deadlines += [at + config.unknown_hit_grace_ms for _, at, _ in self.waiting]
        return min(deadlines, default=None)

    @property
    def empty(self) -> bool:
        """Nothing to keep: no hit, and nothing waiting for one."""
        return self.hit is None and not self.early and not self.waiting

    def expires_at(self, config: GatewayConfig) -> int:
        """When the case may be forgotten: ``retention.closed`` after its last change once no
        delivery is open (or none was made), else ``retention.open`` after it."""
        still_open = any(d.state in OPEN for d in self.deliveries.values())
        keep = config.open_retention_ms if still_open or self.hit is None else config.closed_retention_ms
        return self.changed_at + keep

    def expire(self, now: int) -> list[Output]:
        """The audit rows of forgetting the case: one per delivery still open."""
        return [self._audit(now, AUDIT_EXPIRED, d, detail="retention.open passed with the delivery open")
                for d in self.deliveries.values() if d.state in OPEN]

    # -- state ------------------------------------------------------------------------------

    @property
    def covert(self) -> bool:
        return is_covert(self.labels)

    def to_state(self) -> dict:
        return {"hit_id": self.hit_id, "hit": self.hit, "labels": self.labels,
                "config_version": self.config_version, "changed_at": self.changed_at,
                "deliveries": [{name: getattr(d, name) for name in _DELIVERY_FIELDS}
                               for d in self.deliveries.values()],
                "forwarded": self.forwarded, "early": self.early,
                "waiting": [[event, at, None if original is None else base64.b64encode(original).decode("ascii")]
                            for event, at, original in self.waiting]}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> "HitCase":
        case = cls(state["hit_id"])
        case.hit, case.labels = state["hit"], dict(state["labels"])
        case.config_version, case.changed_at = state["config_version"], state["changed_at"]
        case.deliveries = {d["destination"]: DeliveryState(**d) for d in state["deliveries"]}
        case.forwarded, case.early = list(state["forwarded"]), list(state["early"])
        case.waiting = [_waiting_from_state(entry) for entry in state.get("waiting", ())]
        return case

    # -- the steps --------------------------------------------------------------------------

    def _trim(self) -> None:
        if self.hit is not None and self.next_deadline() is None:
            self.hit = {name: self.hit.get(name) for name in HIT_SUMMARY}

    def _deliver(self, choice: RouteChoice, now: int, escalated_from: str | None = None) -> list[Output]:
        delivery = DeliveryState(delivery_id(self.hit_id, choice.destination), choice.destination,
                                 choice.route, NEW, now, choice.ack_timeout_ms, choice.escalate_to,
                                 escalated_from, now)
        self.deliveries[choice.destination] = delivery
        body = {"route": choice.route, "labels": dict(self.labels), "hit": self.hit,
                "escalated_from": escalated_from, "ack_deadline": delivery.ack_deadline}
        return [Message(choice.destination, DELIVERY, delivery.delivery_id, self.hit_id, now, body),
                self._audit(now, AUDIT_DELIVERED, delivery, to_state=NEW)]

    def _move(self, delivery: DeliveryState, to_state: str, now: int,
              event: LifecycleEvent | None) -> list[Output]:
        moved = replace(delivery, state=to_state, changed_at=now)
        self.deliveries[delivery.destination] = moved
        self.changed_at = now
        action = event.action if event else None
        user = event.user if event else None
        body = {"from_state": delivery.state, "to_state": to_state, "action": action, "user": user}
        return [Message(delivery.destination, STATE, delivery.delivery_id, self.hit_id, now, body),
                self._audit(now, AUDIT_ESCALATED if event is None else AUDIT_TRANSITION, moved,
                            from_state=delivery.state, to_state=to_state, event=event)]

    def _escalate(self, delivery: DeliveryState, config: GatewayConfig, now: int) -> list[Output]:
        out = self._move(delivery, ESCALATED, now, None)
        target = delivery.escalate_to
        held = self.deliveries.get(target)
        if held is not None:
            out.append(Message(target, ESCALATION, held.delivery_id, self.hit_id, now,
                               {"escalated_from": delivery.destination}))
            out.append(self._audit(now, AUDIT_NOTICE, held, escalated_from=delivery.destination,
                                   detail="escalated to a destination that already holds the hit"))
            return out
        if target not in config.destinations:
            out.append(self._audit(now, AUDIT_UNROUTED, delivery,
                                   detail=f"escalate_to {target} is no longer a destination"))
            return out
        onward = config.destinations[target].escalate_to
        choice = RouteChoice(target, delivery.route, delivery.ack_timeout_ms, onward)
        return out + self._deliver(choice, now, escalated_from=delivery.destination)

    def _tell_taken(self, taken: DeliveryState, event: LifecycleEvent, now: int) -> list[Output]:
        out: list[Output] = []
        for other in self.deliveries.values():
            if other.destination != taken.destination and other.state in OPEN:
                out.append(Message(other.destination, TAKEN_BY, other.delivery_id, self.hit_id, now,
                                   {"taken_by": taken.destination, "user": event.user}))
                out.append(self._audit(now, AUDIT_NOTICE, other, detail=f"taken by {taken.destination}"))
        return out

    def _feedback(self, delivery: DeliveryState, event: LifecycleEvent, code: str,
                  config: GatewayConfig, now: int) -> list[Output]:
        owner = self.labels.get("owner")
        hit = self.hit or {}
        if owner not in config.destinations:
            return [self._audit(now, AUDIT_FEEDBACK, delivery, reason=code, event=event,
                                detail=f"no owner to tell (owner {owner or 'unknown'})")]
        body = {"list_name": hit.get("list_name"), "entry_id": hit.get("entry_id"), "reason": code,
                "note": event.note, "user": event.user, "from": delivery.destination}
        owner_delivery = self.deliveries.get(owner)
        return [Message(owner, FEEDBACK, owner_delivery.delivery_id if owner_delivery
                        else delivery_id(self.hit_id, owner), self.hit_id, now, body),
                self._audit(now, AUDIT_FEEDBACK, delivery, reason=code, event=event, detail=f"to {owner}")]

    def _refusal_reason(self, event: LifecycleEvent, config: GatewayConfig) -> str | None:
        if event.hit_id != self.hit_id:
            return "the event is for another hit"
        if self.hit is None or (self.covert and event.destination != self.labels.get("owner")):
            return "unknown hit"
        if event.destination not in config.destinations:
            return f"unknown destination {event.destination}"
        delivery = self.deliveries.get(event.destination)
        if delivery is None:
            return f"{event.destination} holds no delivery of this hit"
        if not config.acts_for(event.user, event.destination):
            return f"user {event.user} does not act for {event.destination}"
        if (event.action, delivery.state) not in TRANSITIONS:
            return f"{event.action} is not allowed in state {delivery.state}"
        if event.action == REJECT:
            return _code_problem("reason", event.reason, config.reasons, event, config) \
                or ("a rejection takes a reason, not an outcome" if event.outcome else None)
        if event.action == CLOSE:
            return _code_problem("outcome", event.outcome, config.outcomes, event, config) \
                or ("a closure takes an outcome, not a reason" if event.reason else None)
        if event.reason or event.outcome:
            return f"{event.action} takes no reason or outcome"
        return None

    def _refuse(self, record: Any, reason: str, now: int, event: LifecycleEvent | None = None,
                original: bytes | None = None) -> list[Output]:
        raw = record if isinstance(record, dict) else {"record": repr(record)[:2000]}
        return [RefusedEvent(now, reason, raw, original),
                self._audit(now, AUDIT_REFUSED, self.deliveries.get(event.destination) if event else None,
                            event=event, detail=reason, refused=True)]

    def _audit(self, now: int, kind: str, delivery: DeliveryState | None = None, *,
               from_state: str | None = None, to_state: str | None = None,
               event: LifecycleEvent | None = None, reason: str | None = None,
               escalated_from: str | None = None, detail: str | None = None,
               refused: bool = False) -> AuditRecord:
        hit = self.hit or {}
        # A refused event's hit is named only if the sender may know of it (covert rule).
        known = not refused or delivery is not None
        return AuditRecord(
            at=now, kind=kind, hit_id=self.hit_id,
            delivery_id=delivery.delivery_id if delivery else None,
            destination=delivery.destination if delivery else (event.destination if event else None),
            from_state=from_state, to_state=to_state,
            action=event.action if event else None, user=event.user if event else None,
            reason=reason or (event.reason if event else None),
            outcome=event.outcome if event else None, note=event.note if event else None,
            route=delivery.route if delivery else None,
            escalated_from=escalated_from or (delivery.escalated_from if delivery else None),
            list_name=hit.get("list_name") if known else None,
            entry_id=hit.get("entry_id") if known else None,
            priority=hit.get("priority") if known else None,
            covert=self.covert and known, config_version=self.config_version,
            event_at=event.at if event else None, detail=detail)


def _code_problem(name: str, code: str | None, allowed: tuple[str, ...], event: LifecycleEvent,
                  config: GatewayConfig) -> str | None:
    if code is None:
        return f"{event.action} needs {'an' if name[0] in 'aeiou' else 'a'} {name}"
    if code not in allowed:
        return f"unknown {name} {code}; {name}s: {', '.join(allowed)}"
    if code in config.note_required_for and not event.note:
        return f"{name} {code} needs a note"
    return None
