"""console.board: a destination's cards are a pure fold of its topic's records, the same
built live or rebuilt, with the gateway's states only."""

from __future__ import annotations

from console.board import Board

DEST = "cic-lie"


def delivery(delivery_id, priority="P2", at=1_000, covert=False, owner=None, hit_id=None, destination=DEST):
    labels = {"priority": priority, "covert": "true" if covert else "false", **({"owner": owner} if owner else {})}
    return {"kind": "DELIVERY", "delivery_id": delivery_id, "hit_id": hit_id or f"h-{delivery_id}",
            "destination": destination, "at": at,
            "delivery": {"route": "root.0", "labels": labels, "hit": {"priority": priority, "plate": "1ABC123"},
                         "escalated_from": None, "ack_deadline": at + 60_000}}


def state(delivery_id, to_state, at, user="l.dubois", from_state="NEW", action="ACKNOWLEDGE"):
    return {"kind": "STATE", "delivery_id": delivery_id, "hit_id": f"h-{delivery_id}", "destination": DEST,
            "at": at, "state": {"from_state": from_state, "to_state": to_state, "action": action, "user": user}}


def sighting(delivery_id, at, camera="ANPR-LIE-0003"):
    return {"kind": "SIGHTING", "delivery_id": delivery_id, "hit_id": f"h-{delivery_id}", "destination": DEST,
            "at": at, "sighting": {"read_id": f"r{at}", "camera_id": camera, "event_time": at, "sightings": 2,
                                   "police_zone": "ZP Liège", "province": "Liège", "lat": 50.6, "lon": 5.5}}


def test_open_cards_most_urgent_then_newest_and_closed_ones_leave():
    board = Board(DEST)
    for record in (delivery("a", "P2", 1), delivery("b", "P1", 2), delivery("c", "P2", 3), delivery("d", "P1", 4)):
        assert board.apply(record).kind == "DELIVERY"
    assert [c.delivery_id for c in board.open_cards()] == ["d", "b", "c", "a"]
    board.apply(state("b", "REJECTED", 10, action="REJECT"))
    assert [c.delivery_id for c in board.open_cards()] == ["d", "c", "a"]
    assert board.card("b").history == [{"at": 10, "from": "NEW", "to": "REJECTED", "action": "REJECT",
                                        "user": "l.dubois"}]


def test_a_repeated_delivery_changes_nothing_and_other_destinations_are_ignored():
    board = Board(DEST)
    board.apply(delivery("a"))
    board.apply(state("a", "ACKNOWLEDGED", 5))
    assert board.apply(delivery("a", at=9)) is None and board.card("a").state == "ACKNOWLEDGED"
    assert board.apply(delivery("x", destination="cic-ant")) is None and board.card("x") is None


def test_sightings_last_first_taken_by_and_escalation_on_the_card():
    board = Board(DEST)
    board.apply(delivery("a"))
    board.apply(sighting("a", 2_000))
    board.apply(sighting("a", 3_000, camera="ANPR-LIE-0009"))
    card = board.card("a")
    assert [s["camera_id"] for s in card.sightings] == ["ANPR-LIE-0009", "ANPR-LIE-0003"]
    board.apply({"kind": "TAKEN_BY", "delivery_id": "a", "hit_id": "h-a", "destination": DEST, "at": 4_000,
                 "taken_by": {"taken_by": "cic-national", "user": "n.peeters"}})
    board.apply({"kind": "ESCALATION", "delivery_id": "a", "hit_id": "h-a", "destination": DEST, "at": 5_000,
                 "escalation": {"escalated_from": "cic-nam"}})
    assert card.taken_by["taken_by"] == "cic-national" and card.escalated_from == "cic-nam"


def test_records_before_their_delivery_wait_for_it():
    board = Board(DEST)
    assert board.apply(state("a", "ACKNOWLEDGED", 5)) is None
    change = board.apply(delivery("a"))
    assert change.card.state == "ACKNOWLEDGED" and len(change.card.history) == 1


def test_rebuilt_from_the_same_records_the_board_is_the_same():
    records = [delivery("a", "P1"), sighting("a", 2), delivery("b"), state("a", "ACCEPTED", 3, action="ACCEPT"),
               {"kind": "FEEDBACK", "delivery_id": "z", "hit_id": "h-z", "destination": DEST, "at": 7,
                "feedback": {"list_name": "stolen_vehicles", "entry_id": "S1", "reason": "FALSE_READ", "note": None,
                             "user": "x", "from_destination": "cic-ant"}}]
    live, rebuilt = Board(DEST), Board(DEST)
    for record in records:
        live.apply(record)
    for record in records:
        rebuilt.apply(record)
    assert live.cards == rebuilt.cards and live.feedback == rebuilt.feedback
    assert live.feedback[0]["reason"] == "FALSE_READ"
