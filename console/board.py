"""A destination's board: what the dispatch console shows of one destination, folded from
the records of its topic `gw.<destination>` (GatewayMessage, hit-gateway spec §4-§6).

The console decides nothing: each state on the board is one the gateway wrote (a
`STATE` record), never one the console inferred from an action it sent. So the
board is a pure fold: `apply` each record in topic order, and the board is the
same whether it was built live or rebuilt from the topic's start after a restart.

What a record does:
- `DELIVERY`: a new card (state `NEW`), with the hit, its labels and route, and its
  acknowledgement deadline; one the board holds already is left as it is (the
  gateway delivers at least once: the same `delivery_id` again is a repeat);
- `STATE`: the card's state and a line of its history (who did what, when);
- `SIGHTING`: the vehicle seen again, the last sighting first;
- `TAKEN_BY`: another destination accepted the hit: said on the card;
- `ESCALATION`: a hit this destination holds was escalated to it from another;
- `FEEDBACK`: a list owner's notice that an entry gave a false or wrong hit,
  kept apart from the cards.

A record for a card the board has not seen (its delivery came before the
console's retention, or another topic's) is kept for that card, should its
delivery come, and otherwise ignored. Every `apply` returns the `Change` to push to
the pages showing this destination, or None when nothing visible changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

NEW = "NEW"
OPEN_STATES = ("NEW", "ACKNOWLEDGED", "ACCEPTED")
PRIORITY_RANK = {"P1": 0, "P2": 1, "P3": 2, "P4": 3}
MAX_SIGHTINGS = 50          # kept per card, the latest: a vehicle passing all day is one card
MAX_WAITING = 20            # records kept for a card whose delivery has not come


@dataclass
class Card:
    """One delivery as the console shows it."""

    delivery_id: str
    hit_id: str
    destination: str
    hit: Mapping[str, Any]
    labels: Mapping[str, str]
    route: str
    delivered_at: int
    ack_deadline: int | None
    escalated_from: str | None
    state: str = NEW
    history: list[dict] = field(default_factory=list)
    sightings: list[dict] = field(default_factory=list)
    taken_by: dict | None = None

    @property
    def open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def covert(self) -> bool:
        return self.labels.get("covert") == "true"

    @property
    def owner(self) -> str | None:
        return self.labels.get("owner")

    def sort_key(self) -> tuple:
        """Most urgent first, then newest."""
        return (PRIORITY_RANK.get(self.hit.get("priority"), len(PRIORITY_RANK)), -self.delivered_at,
                self.delivery_id)


@dataclass(frozen=True)
class Change:
    """What one record changed, for the pages: its kind, and the card (or feedback) it concerns."""

    kind: str
    delivery_id: str | None
    card: Card | None = None
    feedback: dict | None = None


class Board:
    """The cards of one destination. Not thread-safe: one writer (the topic's reader)."""

    def __init__(self, destination: str):
        self.destination = destination
        self.cards: dict[str, Card] = {}
        self.feedback: list[dict] = []
        self._waiting: dict[str, list[dict]] = {}

    def apply(self, record: Mapping[str, Any]) -> Change | None:
        """Fold one GatewayMessage record (times as epoch ms) into the board."""
        if record.get("destination") != self.destination:
            return None
        kind, delivery_id = record["kind"], record["delivery_id"]
        if kind == "FEEDBACK":
            notice = {"at": record["at"], "hit_id": record["hit_id"], **record["feedback"]}
            self.feedback.append(notice)
            return Change(kind, None, feedback=notice)
        if kind == "DELIVERY":
            if delivery_id in self.cards:
                return None
            delivery = record["delivery"]
            card = Card(delivery_id, record["hit_id"], self.destination, delivery["hit"], delivery["labels"],
                        delivery["route"], record["at"], delivery.get("ack_deadline"), delivery.get("escalated_from"))
            self.cards[delivery_id] = card
            for waiting in self._waiting.pop(delivery_id, []):
                self._update(card, waiting)
            return Change(kind, delivery_id, card)
        card = self.cards.get(delivery_id)
        if card is None:
            waiting = self._waiting.setdefault(delivery_id, [])
            if len(waiting) < MAX_WAITING:
                waiting.append(dict(record))
            return None
        self._update(card, record)
        return Change(kind, delivery_id, card)

    def _update(self, card: Card, record: Mapping[str, Any]) -> None:
        kind = record["kind"]
        if kind == "STATE":
            state = record["state"]
            card.state = state["to_state"]
            card.history.append({"at": record["at"], "from": state["from_state"], "to": state["to_state"],
                                 "action": state.get("action"), "user": state.get("user")})
        elif kind == "SIGHTING":
            card.sightings.insert(0, {"at": record["at"], **record["sighting"]})
            del card.sightings[MAX_SIGHTINGS:]
        elif kind == "TAKEN_BY":
            card.taken_by = {"at": record["at"], **record["taken_by"]}
        elif kind == "ESCALATION":
            card.escalated_from = record["escalation"]["escalated_from"]

    def open_cards(self) -> list[Card]:
        """The open deliveries, most urgent first, then newest."""
        return sorted((card for card in self.cards.values() if card.open), key=Card.sort_key)

    def card(self, delivery_id: str) -> Card | None:
        return self.cards.get(delivery_id)
