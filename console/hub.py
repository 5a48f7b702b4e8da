"""The console's state between its feed and its pages.

`Hub` holds a `Board` per destination, the cameras, the actions waiting for the
gateway's answer, and the pages following the boards. The feed thread
(`connectors.console_feed.GatewayFeed`) writes to it through the `FeedListener`
calls (`message`, `refused`, `camera`, `loaded`); the web application reads it.
One lock orders the two, so a page that subscribes gets a snapshot and then every
change after it, none twice and none lost.

What a page may see is decided here, once per change: a card goes to a
subscriber only if `accounts.may_see` allows it (its destinations; a covert card
only to its owner's users), so a covert hit never reaches another page's queue.

An action is confirmed by the gateway, never assumed: `expect` returns a future
that the gateway's `STATE` record for that (destination, hit, action, user)
resolves with the new state, or its refused event with the gateway's reason.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from console import views
from console.accounts import Account, may_see
from console.board import Board, Card, Change

MAX_QUEUED = 5000       # events a slow page may be behind before it is dropped (it reconnects for a snapshot)


@dataclass(frozen=True)
class Outcome:
    """The gateway's answer to an action: CONFIRMED with the new state, or REFUSED with its reason."""

    verdict: str
    state: str | None = None
    reason: str | None = None


@dataclass(eq=False)
class Subscriber:
    """One page's stream: events as JSON text, queued on the page's event loop."""

    account: Account
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(MAX_QUEUED))
    dropped: bool = False

    def offer(self, event: str) -> None:
        """From any thread: queue `event`, or mark the page dropped when it is too far behind."""
        self.loop.call_soon_threadsafe(self._put, event)

    def _put(self, event: str) -> None:
        if self.dropped:
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped = True
            self.queue = asyncio.Queue(1)
            self.queue.put_nowait(json.dumps({"type": "dropped"}))


def _action_key(destination: str | None, hit_id: str | None, action: str | None, user: str | None) -> tuple:
    return destination, hit_id, action, user


class Hub:
    def __init__(self, destinations: Iterable[str]):
        self.boards = {d: Board(d) for d in destinations}
        self.cameras: dict[str, dict[str, Any]] = {}
        self.ready = threading.Event()
        self._lock = threading.Lock()
        self._subscribers: set[Subscriber] = set()
        self._pending: dict[tuple, list[Future]] = {}

    # -- the feed's side ---------------------------------------------------------------

    def message(self, record: dict) -> None:
        board = self.boards.get(record.get("destination"))
        if board is None:
            return
        with self._lock:
            change = board.apply(record)
            if record["kind"] == "STATE":
                state = record["state"]
                self._resolve(_action_key(record["destination"], record["hit_id"], state.get("action"),
                                          state.get("user")), Outcome("CONFIRMED", state=state["to_state"]))
            if change is not None:
                self._publish(change, board.destination)

    def refused(self, record: dict) -> None:
        with self._lock:
            self._resolve(_action_key(record.get("destination"), record.get("hit_id"), record.get("action"),
                                      record.get("user")), Outcome("REFUSED", reason=record["reason"]))

    def camera(self, record: dict) -> None:
        with self._lock:
            self.cameras[record["camera_id"]] = record

    def loaded(self) -> None:
        self.ready.set()

    # -- the pages' side ---------------------------------------------------------------

    def subscribe(self, account: Account, loop: asyncio.AbstractEventLoop) -> tuple[Subscriber, list[dict]]:
        """A new page's stream and, taken at the same instant, the open cards it may see."""
        with self._lock:
            subscriber = Subscriber(account, loop)
            self._subscribers.add(subscriber)
            return subscriber, self._open_summaries(account)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        with self._lock:
            self._subscribers.discard(subscriber)

    def open_cards(self, account: Account, destination: str | None = None) -> list[dict]:
        with self._lock:
            return self._open_summaries(account, destination)

    def card(self, account: Account, delivery_id: str) -> Card | None:
        """The card, if this account may see it; None otherwise, as if it did not exist."""
        with self._lock:
            return self._visible(account, delivery_id)

    def detail(self, account: Account, delivery_id: str) -> dict | None:
        with self._lock:
            card = self._visible(account, delivery_id)
            return views.detail(card, self.cameras) if card is not None else None

    def expect(self, destination: str, hit_id: str, action: str, user: str) -> Future:
        """A future the gateway's answer to this action resolves (an `Outcome`). Ask
        before sending, so an answer quicker than the send's return is not missed."""
        future: Future = Future()
        with self._lock:
            self._pending.setdefault(_action_key(destination, hit_id, action, user), []).append(future)
        return future

    def forget(self, destination: str, hit_id: str, action: str, user: str, future: Future) -> None:
        """Stop waiting for this answer; nothing to do once it came."""
        key = _action_key(destination, hit_id, action, user)
        with self._lock:
            waiting = self._pending.get(key, [])
            if future in waiting:
                waiting.remove(future)
            if not waiting:
                self._pending.pop(key, None)

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {"cards": sum(len(b.cards) for b in self.boards.values()),
                    "open": sum(1 for b in self.boards.values() for c in b.cards.values() if c.open),
                    "pages": len(self._subscribers), "waiting_actions": len(self._pending)}

    # -- under the lock ----------------------------------------------------------------

    def _visible(self, account: Account, delivery_id: str) -> Card | None:
        for destination in account.destinations:
            board = self.boards.get(destination)
            card = board.card(delivery_id) if board is not None else None
            if card is not None and may_see(account, card):
                return card
        return None

    def _open_summaries(self, account: Account, destination: str | None = None) -> list[dict]:
        cards = [card for d in sorted(account.destinations) if d in self.boards and destination in (None, d)
                 for card in self.boards[d].open_cards() if may_see(account, card)]
        cards.sort(key=Card.sort_key)
        return [views.summary(card, self.cameras) for card in cards]

    def _publish(self, change: Change, destination: str) -> None:
        if change.card is not None:
            event = json.dumps({"type": "card", "change": change.kind, "card": views.summary(change.card, self.cameras)})
            audience = [s for s in self._subscribers if may_see(s.account, change.card)]
        else:   # FEEDBACK: for the list owner's destination, with no card
            event = json.dumps({"type": "feedback", "destination": destination, "feedback": change.feedback})
            audience = [s for s in self._subscribers if destination in s.account.destinations]
        for subscriber in audience:
            subscriber.offer(event)

    def _resolve(self, key: tuple, outcome: Outcome) -> None:
        for future in self._pending.pop(key, []):
            if not future.done():
                future.set_result(outcome)
