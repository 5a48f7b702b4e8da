"""The delivery state table, escalation, "taken by", feedback and sightings (spec §4, §5)."""

from __future__ import annotations

import itertools
import json

import pytest

from gateway.config import parse_config
from gateway.events import ACTIONS
from gateway.labels import hit_labels
from gateway.lifecycle import ACCEPTED, ACKNOWLEDGED, CLOSED, ESCALATED, NEW, REJECTED, TRANSITIONS, HitCase
from gateway.records import AuditRecord, Message, RefusedEvent, delivery_id

CONFIG = parse_config("""\
national: nat
destinations:
  nat: {users: [n1]}
  prov: {users: [p1], escalate_to: nat}
  owner: {users: [o1]}
  other: {users: [x1]}
list_owners: {alerts: owner}
route:
  destination: nat
  ack_timeout: {P1: 60 s}
  routes:
    - {matchers: ['province = "P"'], destination: prov, continue: true}
    - {matchers: ['list_name = "alerts"'], destination: other, ack_timeout: none}
""")
T0 = 1_780_000_000_000
HIT = {"hit_id": "h1", "list_name": "alerts", "entry_id": "E1", "priority": "P1", "score": 90,
       "camera_id": "C1", "plate": "1ABC123", "attributes": {}}


def case_with(hit=HIT, camera={"province": "P"}, now=T0):
    case = HitCase(hit["hit_id"])
    out = case.on_hit(hit, hit_labels(hit, camera, CONFIG.list_owners), CONFIG, now)
    return case, out


def event(action, destination="prov", user="p1", **extra):
    return {"hit_id": "h1", "destination": destination, "action": action, "user": user, "at": T0 + 5, **extra}


def messages(out, kind=None):
    return [o for o in out if isinstance(o, Message) and (kind is None or o.kind == kind)]


def refusals(out):
    return [o.reason for o in out if isinstance(o, RefusedEvent)]


def test_a_hit_is_delivered_once_to_each_destination_with_its_delivery_id():
    case, out = case_with()
    deliveries = messages(out, "DELIVERY")
    assert [(m.destination, m.delivery_id) for m in deliveries] == [
        ("prov", delivery_id("h1", "prov")), ("other", delivery_id("h1", "other"))]
    assert deliveries[0].body["ack_deadline"] == T0 + 60_000 and deliveries[1].body["ack_deadline"] is None
    assert deliveries[0].body["hit"]["plate"] == "1ABC123" and deliveries[0].body["route"] == "root.0"
    assert [a.kind for a in out if isinstance(a, AuditRecord)] == ["DELIVERED", "DELIVERED"]
    assert case.on_hit(HIT, {}, CONFIG, T0 + 1) == []         # a repeat of the hit (at least once)


def test_delivery_id_is_the_spec_digest():
    import hashlib
    assert delivery_id("h1", "prov") == hashlib.sha256(b"h1|prov").hexdigest()[:32]


def state_reached(state):
    """A case whose delivery to prov is in ``state``, by the shortest legal path."""
    case, _ = case_with()
    path = {NEW: [], ACKNOWLEDGED: [{"action": "ACKNOWLEDGE"}], ACCEPTED: [{"action": "ACCEPT"}],
            REJECTED: [{"action": "REJECT", "reason": "DUPLICATE"}],
            CLOSED: [{"action": "ACCEPT"}, {"action": "CLOSE", "outcome": "INTERCEPTED"}]}
    if state == ESCALATED:
        case.on_time(CONFIG, T0 + 60_000)
    for step in path.get(state, []):
        assert not refusals(case.on_event(event(**step), CONFIG, T0 + 10))
    assert case.deliveries["prov"].state == state
    return case


FIELDS = {"REJECT": {"reason": "DUPLICATE"}, "CLOSE": {"outcome": "NOT_FOUND"}}


@pytest.mark.parametrize("state,action", list(itertools.product(
    [NEW, ACKNOWLEDGED, ACCEPTED, REJECTED, CLOSED, ESCALATED], ACTIONS)))
def test_the_state_table_exhaustively(state, action):
    case = state_reached(state)
    out = case.on_event(event(action, **FIELDS.get(action, {})), CONFIG, T0 + 20)
    expected = TRANSITIONS.get((action, state))
    if expected is None:
        assert refusals(out) == [f"{action} is not allowed in state {state}"]
        assert case.deliveries["prov"].state == state
    else:
        assert refusals(out) == [] and case.deliveries["prov"].state == expected
        [notice] = messages(out, "STATE")
        assert notice.body == {"from_state": state, "to_state": expected, "action": action, "user": "p1"}


def test_the_table_is_the_specs():
    assert TRANSITIONS == {("ACKNOWLEDGE", NEW): ACKNOWLEDGED, ("ACCEPT", NEW): ACCEPTED,
                           ("ACCEPT", ACKNOWLEDGED): ACCEPTED, ("REJECT", NEW): REJECTED,
                           ("REJECT", ACKNOWLEDGED): REJECTED, ("CLOSE", ACCEPTED): CLOSED}


@pytest.mark.parametrize("record,reason", [
    (event("ACKNOWLEDGE", user="x1"), "user x1 does not act for prov"),
    (event("ACKNOWLEDGE", destination="nowhere"), "unknown destination nowhere"),
    (event("ACKNOWLEDGE", destination="nat", user="n1"), "nat holds no delivery of this hit"),
    (event("REJECT"), "REJECT needs a reason"),
    (event("REJECT", reason="BORED"), "unknown reason BORED; reasons: FALSE_READ, WRONG_ENTRY, "
                                      "NO_UNIT_AVAILABLE, OUT_OF_AREA, DUPLICATE, OTHER"),
    (event("REJECT", reason="OTHER"), "reason OTHER needs a note"),
    (event("REJECT", reason="DUPLICATE", outcome="INTERCEPTED"), "a rejection takes a reason, not an outcome"),
    (event("ACKNOWLEDGE", reason="DUPLICATE"), "ACKNOWLEDGE takes no reason or outcome"),
    (event("FLY"), "malformed: unknown action 'FLY'; actions: ACKNOWLEDGE, ACCEPT, REJECT, CLOSE"),
    ({**event("ACKNOWLEDGE"), "user": None}, "malformed: user is missing"),
    ({**event("ACKNOWLEDGE"), "at": 12}, "malformed: at must be UTC milliseconds between 2000 and 2100"),
    ({**event("ACKNOWLEDGE"), "hit_id": "h2"}, "the event is for another hit"),
    ("not a record", "malformed: an event is a record of hit_id, destination, action, user, at"),
])
def test_every_invalid_event_is_refused_with_its_reason_and_changes_nothing(record, reason):
    case, _ = case_with()
    before = json.dumps(case.to_state(), sort_keys=True)
    out = case.on_event(record, CONFIG, T0 + 20)
    assert refusals(out) == [reason]
    assert [a.kind for a in out if isinstance(a, AuditRecord)] == ["REFUSED"]
    assert messages(out) == []
    assert json.dumps(case.to_state(), sort_keys=True) == before


def test_an_event_for_an_unknown_hit_waits_for_it_then_is_refused():
    case = HitCase("h1")
    assert case.on_event(event("ACKNOWLEDGE"), CONFIG, T0) == [] and not case.empty
    assert case.next_deadline(CONFIG) == T0 + CONFIG.unknown_hit_grace_ms
    assert case.on_time(CONFIG, T0 + CONFIG.unknown_hit_grace_ms - 1) == []
    out = case.on_time(CONFIG, T0 + CONFIG.unknown_hit_grace_ms)
    assert refusals(out) == ["unknown hit"] and case.empty
    assert [a.kind for a in out if isinstance(a, AuditRecord)] == ["REFUSED"]


def test_a_waiting_event_is_refused_with_its_original_bytes_even_after_a_restore():
    case = HitCase("h1")
    case.on_event(event("ACKNOWLEDGE"), CONFIG, T0, original=b"\x00\x00\x00\x00\x07as sent")
    restored = HitCase.from_state(json.loads(json.dumps(case.to_state())))
    [refusal] = [r for r in restored.on_time(CONFIG, T0 + CONFIG.unknown_hit_grace_ms) if isinstance(r, RefusedEvent)]
    assert refusal.original == b"\x00\x00\x00\x00\x07as sent"
    # Refused at once, too, and after the hit came (an event its hit makes invalid).
    assert [r.original for r in case.on_event({"hit_id": "h1"}, CONFIG, T0, original=b"bad")
            if isinstance(r, RefusedEvent)] == [b"bad"]
    early = HitCase("h1")
    early.on_event(event("CLOSE"), CONFIG, T0, original=b"close as sent")   # CLOSE with no outcome
    out = early.on_hit(HIT, hit_labels(HIT, {"province": "P"}, CONFIG.list_owners), CONFIG, T0 + 5)
    assert [r.original for r in out if isinstance(r, RefusedEvent)] == [b"close as sent"]


def test_a_state_saved_before_events_kept_their_bytes_still_loads():
    case = HitCase("h1")
    case.on_event(event("ACKNOWLEDGE"), CONFIG, T0)
    state = json.loads(json.dumps(case.to_state()))
    state["waiting"] = [entry[:2] for entry in state["waiting"]]   # (event, at), as saved before
    [refusal] = [r for r in HitCase.from_state(state).on_time(CONFIG, T0 + CONFIG.unknown_hit_grace_ms)
                 if isinstance(r, RefusedEvent)]
    assert refusal.original is None and refusal.event["action"] == "ACKNOWLEDGE"


def test_an_event_that_came_before_its_hit_is_applied_when_the_hit_comes():
    case = HitCase("h1")
    case.on_event(event("ACKNOWLEDGE"), CONFIG, T0)                       # e.g. read again after a restore
    restored = HitCase.from_state(json.loads(json.dumps(case.to_state())))
    out = restored.on_hit(HIT, hit_labels(HIT, {"province": "P"}, CONFIG.list_owners), CONFIG, T0 + 5)
    assert [m.kind for m in messages(out) if m.destination == "prov"] == ["DELIVERY", "STATE"]
    assert restored.deliveries["prov"].state == ACKNOWLEDGED and restored.waiting == []


def test_close_needs_an_outcome_and_other_needs_a_note():
    case = state_reached(ACCEPTED)
    assert refusals(case.on_event(event("CLOSE"), CONFIG, T0)) == ["CLOSE needs an outcome"]
    assert refusals(case.on_event(event("CLOSE", outcome="OTHER"), CONFIG, T0)) == ["outcome OTHER needs a note"]
    assert refusals(case.on_event(event("CLOSE", outcome="OTHER", note="towed"), CONFIG, T0)) == []


def test_an_unacknowledged_p1_escalates_to_escalate_to_and_can_escalate_again():
    case, _ = case_with()
    assert case.next_deadline() == T0 + 60_000
    assert case.on_time(CONFIG, T0 + 59_999) == []
    out = case.on_time(CONFIG, T0 + 60_000)
    assert case.deliveries["prov"].state == ESCALATED
    [delivery] = messages(out, "DELIVERY")
    assert (delivery.destination, delivery.body["escalated_from"]) == ("nat", "prov")
    assert [a.kind for a in out if isinstance(a, AuditRecord)] == ["ESCALATED", "DELIVERED"]
    # nat has no escalate_to of its own: the chain ends there.
    assert delivery.body["ack_deadline"] is None
    assert case.next_deadline() is None and case.on_time(CONFIG, T0 + 10**7) == []


def test_an_escalated_delivery_escalates_again_to_its_destinations_escalate_to():
    config = parse_config("""\
national: nat
destinations: {nat: {users: [n1], escalate_to: top}, prov: {users: [p1]}, top: {}}
route:
  destination: nat
  ack_timeout: {P1: 60 s}
  routes: [{matchers: ['province = "P"'], destination: prov}]
""")
    case = HitCase("h1")
    case.on_hit(HIT, hit_labels(HIT, {"province": "P"}, {}), config, T0)
    [first] = messages(case.on_time(config, T0 + 60_000), "DELIVERY")
    assert first.destination == "nat" and first.body["ack_deadline"] == T0 + 120_000
    [second] = messages(case.on_time(config, T0 + 120_000), "DELIVERY")
    assert (second.destination, second.body["escalated_from"]) == ("top", "nat")
    assert {d: s.state for d, s in ((d, case.deliveries[d]) for d in case.deliveries)} == {
        "prov": ESCALATED, "nat": ESCALATED, "top": NEW}


def test_an_acknowledged_delivery_does_not_escalate():
    case = state_reached(ACKNOWLEDGED)
    assert case.next_deadline() is None and case.on_time(CONFIG, T0 + 10**7) == []


def test_escalation_to_a_destination_that_holds_the_hit_sends_a_notice():
    config = parse_config(CONFIG_TEXT_WITH_NATIONAL_COPY)
    case = HitCase("h1")
    case.on_hit(HIT, hit_labels(HIT, {"province": "P"}, {}), config, T0)
    out = case.on_time(config, T0 + 60_000)
    assert [(m.kind, m.destination) for m in messages(out)] == [("STATE", "prov"), ("ESCALATION", "nat")]


CONFIG_TEXT_WITH_NATIONAL_COPY = """\
national: nat
destinations: {nat: {users: [n1]}, prov: {users: [p1]}}
route:
  destination: nat
  ack_timeout: {P1: 60 s}
  routes:
    - {matchers: ['province = "P"'], destination: prov, continue: true}
    - {destination: nat, ack_timeout: none}
"""


def test_an_accepted_hit_tells_the_other_open_deliveries():
    case, _ = case_with()
    out = case.on_event(event("ACCEPT"), CONFIG, T0 + 30)
    [notice] = messages(out, "TAKEN_BY")
    assert (notice.destination, notice.body) == ("other", {"taken_by": "prov", "user": "p1"})
    assert notice.delivery_id == delivery_id("h1", "other")


def test_a_false_read_rejection_gives_feedback_to_the_owner():
    case, _ = case_with()
    out = case.on_event(event("REJECT", reason="FALSE_READ", note="a 8 read as B"), CONFIG, T0 + 30)
    [feedback] = messages(out, "FEEDBACK")
    assert feedback.destination == "owner"
    assert feedback.body == {"list_name": "alerts", "entry_id": "E1", "reason": "FALSE_READ",
                             "note": "a 8 read as B", "user": "p1", "from": "prov"}
    assert [a.kind for a in out if isinstance(a, AuditRecord)] == ["TRANSITION", "FEEDBACK"]
    assert not messages(case.on_event(event("REJECT", destination="other", user="x1", reason="DUPLICATE"),
                                      CONFIG, T0 + 40), "FEEDBACK")


def test_a_false_read_closure_gives_feedback_too():
    case = state_reached(ACCEPTED)
    out = case.on_event(event("CLOSE", outcome="FALSE_READ"), CONFIG, T0 + 30)
    assert [m.destination for m in messages(out, "FEEDBACK")] == ["owner"]


def test_sightings_go_to_open_deliveries_once_in_order_and_early_ones_wait_for_the_hit():
    case = HitCase("h1")
    early = {"hit_id": "h1", "read_id": "r2", "camera_id": "C2", "event_time": T0 + 1, "sightings": 2}
    assert case.on_sighting(early, T0) == []
    assert case.expires_at(CONFIG) == T0 + CONFIG.open_retention_ms   # kept a while for its hit
    out = case.on_hit(HIT, hit_labels(HIT, {"province": "P"}, CONFIG.list_owners), CONFIG, T0,
                      camera_of=lambda c: {"province": "Q", "police_zone": "Z", "lat": 50.0, "lon": 4.0})
    forwarded = messages(out, "SIGHTING")
    assert [(m.destination, m.body["read_id"], m.body["province"]) for m in forwarded] == [
        ("prov", "r2", "Q"), ("other", "r2", "Q")]
    assert case.on_sighting(early, T0 + 1) == []              # a repeat
    case.on_event(event("REJECT", reason="DUPLICATE"), CONFIG, T0 + 2)
    later = case.on_sighting({**early, "read_id": "r3", "sightings": 3}, T0 + 3)
    assert [m.destination for m in messages(later, "SIGHTING")] == ["other"]
    assert [a.kind for a in later if isinstance(a, AuditRecord)] == ["SIGHTING_FORWARDED"]


def test_covert_hit_reaches_its_owner_alone_and_refusals_do_not_betray_it():
    covert = {**HIT, "attributes": {"covert": "true", "owner": "owner"}}
    case, out = case_with(covert)
    assert {m.destination for m in messages(out)} == {"owner"}
    assert case.next_deadline() is None                       # a covert hit never escalates
    assert refusals(case.on_event(event("ACKNOWLEDGE"), CONFIG, T0)) == ["unknown hit"]
    [audit] = [a for a in case.on_event(event("ACKNOWLEDGE"), CONFIG, T0) if isinstance(a, AuditRecord)]
    assert (audit.list_name, audit.entry_id, audit.covert) == (None, None, False)
    assert refusals(case.on_event(event("ACKNOWLEDGE", destination="owner", user="o1"), CONFIG, T0)) == []
    sighting = case.on_sighting({"read_id": "r9", "camera_id": "C9", "event_time": T0, "sightings": 2}, T0)
    assert {m.destination for m in messages(sighting)} == {"owner"}


def test_covert_without_owner_goes_nowhere_but_the_audit():
    case = HitCase("h1")
    covert = {**HIT, "list_name": "unowned", "attributes": {"covert": "true"}}
    out = case.on_hit(covert, hit_labels(covert, None, CONFIG.list_owners), CONFIG, T0)
    assert messages(out) == []
    [audit] = out
    assert (audit.kind, audit.detail, audit.covert) == ("UNROUTED", "covert entry with no known owner", True)


def test_retention_and_state_round_trip():
    case, _ = case_with()
    assert case.expires_at(CONFIG) == T0 + CONFIG.open_retention_ms
    case.on_event(event("REJECT", reason="DUPLICATE"), CONFIG, T0 + 10)
    case.on_event(event("REJECT", destination="other", user="x1", reason="DUPLICATE"), CONFIG, T0 + 20)
    assert case.expires_at(CONFIG) == T0 + 20 + CONFIG.closed_retention_ms
    again = HitCase.from_state(json.loads(json.dumps(case.to_state())))
    assert again.to_state() == case.to_state()
    assert refusals(again.on_event(event("ACKNOWLEDGE"), CONFIG, T0 + 30)) == [
        "ACKNOWLEDGE is not allowed in state REJECTED"]


def test_the_audit_names_no_plate_or_camera():
    case, out = case_with()
    out += case.on_sighting({"read_id": "r2", "camera_id": "C2", "event_time": T0, "sightings": 2}, T0)
    out += case.on_event(event("ACCEPT"), CONFIG, T0)
    for audit in (o for o in out if isinstance(o, AuditRecord)):
        values = json.dumps(audit.as_record())
        assert "1ABC123" not in values and "C1" not in values and "C2" not in values


def test_once_nothing_can_escalate_only_a_summary_of_the_hit_is_kept():
    case, _ = case_with()
    assert case.hit["plate"] == "1ABC123"                     # prov may still escalate: the whole hit
    case.on_event(event("ACKNOWLEDGE"), CONFIG, T0 + 10)
    assert set(case.hit) == {"hit_id", "list_name", "entry_id", "priority", "match_kind", "zone"}
