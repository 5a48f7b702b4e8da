"""console.hub: pages get a snapshot then every change they may see, covert cards reach
their owner's users only, and an action waits for the gateway's own answer."""

from __future__ import annotations

import asyncio
import json

from console.accounts import Account
from console.hub import Hub, Outcome

LIE = Account("lie.dispatcher", "scrypt$x", frozenset({"cic-lie"}))
FJP = Account("fjp-lie.investigator", "scrypt$x", frozenset({"cic-lie", "fjp-liege"}))
NAT = Account("national.dispatcher", "scrypt$x", frozenset({"cic-national"}))


def delivery(delivery_id, destination="cic-lie", covert=False, owner=None, priority="P1", at=1_000):
    labels = {"covert": "true" if covert else "false", **({"owner": owner} if owner else {})}
    return {"kind": "DELIVERY", "delivery_id": delivery_id, "hit_id": f"h-{delivery_id}", "destination": destination,
            "at": at, "delivery": {"route": "root", "labels": labels, "escalated_from": None, "ack_deadline": None,
                                   "hit": {"priority": priority, "plate_text": "1ABC123", "camera_id": "C",
                                           "event_time": at, "list_name": "judicial_alerts", "score": 90,
                                           "explanation": [], "attributes": {}}}}


def state_record(delivery_id, to_state, action, user, destination="cic-lie"):
    return {"kind": "STATE", "delivery_id": delivery_id, "hit_id": f"h-{delivery_id}", "destination": destination,
            "at": 5_000, "state": {"from_state": "NEW", "to_state": to_state, "action": action, "user": user}}


def drain(subscriber) -> list[dict]:
    events = []
    while not subscriber.queue.empty():
        events.append(json.loads(subscriber.queue.get_nowait()))
    return events


def test_a_page_gets_a_snapshot_then_the_changes_it_may_see():
    async def scenario():
        hub = Hub(["cic-lie", "cic-national", "fjp-liege"])
        hub.message(delivery("a"))
        page, snapshot = hub.subscribe(LIE, asyncio.get_running_loop())
        national, _ = hub.subscribe(NAT, asyncio.get_running_loop())
        assert [c["delivery_id"] for c in snapshot] == ["a"]
        hub.message(delivery("b", at=2_000))
        hub.message(delivery("n", destination="cic-national"))
        hub.message(state_record("a", "ACKNOWLEDGED", "ACKNOWLEDGE", "lie.dispatcher"))
        await asyncio.sleep(0)
        assert [(e["change"], e["card"]["delivery_id"]) for e in drain(page)] == \
            [("DELIVERY", "b"), ("STATE", "a")]
        assert [e["card"]["delivery_id"] for e in drain(national)] == ["n"]
        hub.unsubscribe(page)
        hub.message(delivery("c"))
        await asyncio.sleep(0)
        assert drain(page) == []

    asyncio.run(scenario())


def test_a_covert_card_reaches_the_owners_users_only():
    async def scenario():
        hub = Hub(["cic-lie", "fjp-liege"])
        # A covert delivery only ever goes to its owner (the gateway's rule); were one to sit
        # on another destination's topic, the console still shows it to the owner's users alone.
        hub.message(delivery("s", destination="cic-lie", covert=True, owner="fjp-liege"))
        page, snapshot = hub.subscribe(LIE, asyncio.get_running_loop())
        owner, owner_snapshot = hub.subscribe(FJP, asyncio.get_running_loop())
        assert snapshot == [] and [c["delivery_id"] for c in owner_snapshot] == ["s"]
        assert hub.detail(LIE, "s") is None and hub.card(LIE, "s") is None
        assert hub.detail(FJP, "s")["covert"] is True
        hub.message(delivery("s2", destination="cic-lie", covert=True, owner="fjp-liege"))
        await asyncio.sleep(0)
        assert drain(page) == [] and [e["card"]["delivery_id"] for e in drain(owner)] == ["s2"]
        assert hub.open_cards(LIE) == []

    asyncio.run(scenario())


def test_an_action_is_answered_by_the_gateways_state_or_its_refusal():
    hub = Hub(["cic-lie"])
    hub.message(delivery("a"))
    accepted = hub.expect("cic-lie", "h-a", "ACCEPT", "lie.dispatcher")
    rejected = hub.expect("cic-lie", "h-a", "REJECT", "lie.dispatcher")
    hub.message(state_record("a", "ACKNOWLEDGED", "ACKNOWLEDGE", "lie.dispatcher"))   # not the one awaited
    assert not accepted.done() and not rejected.done()
    hub.message(state_record("a", "ACCEPTED", "ACCEPT", "lie.dispatcher"))
    assert accepted.result(0) == Outcome("CONFIRMED", state="ACCEPTED")
    hub.refused({"reason": "REJECT is not allowed in state ACCEPTED", "hit_id": "h-a", "destination": "cic-lie",
                 "action": "REJECT", "user": "lie.dispatcher"})
    assert rejected.result(0) == Outcome("REFUSED", reason="REJECT is not allowed in state ACCEPTED")
    waiting = hub.expect("cic-lie", "h-a", "CLOSE", "lie.dispatcher")
    hub.forget("cic-lie", "h-a", "CLOSE", "lie.dispatcher", waiting)
    assert hub.counts()["waiting_actions"] == 0


def test_a_page_too_far_behind_is_dropped_and_told_to_reconnect(monkeypatch):
    import console.hub as hub_module

    monkeypatch.setattr(hub_module, "MAX_QUEUED", 3)

    async def scenario():
        hub = Hub(["cic-lie"])
        page, _ = hub.subscribe(LIE, asyncio.get_running_loop())
        for n in range(5):
            hub.message(delivery(f"d{n}", at=n))
        await asyncio.sleep(0)
        assert page.dropped and drain(page) == [{"type": "dropped"}]

    asyncio.run(scenario())
