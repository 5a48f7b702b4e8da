"""What the dispatch console reads from Kafka: the destinations' topics, the refused
events and the cameras, decoded, in one thread of its own.

`GatewayFeed` reads every record of the topics `gw.<destination>` of the
destinations it is given from their start (the console keeps no state of its own:
it rebuilds its boards from the topics at every start), the cameras topic from its
start, and the refused-events topic from its end at start (only refusals of the
actions this console sends matter to it). Then it follows all three.

It hands each decoded record to a `FeedListener`: `message(record)` for a
GatewayMessage (times as epoch ms), `refused(record)` for a RefusedEvent,
`camera(record)` for a Camera, and `loaded()` once, when every destination topic
has been read up to the end it had at start: from then on the boards are whole. A
record that does not decode is counted and skipped (never logged: it may hold a
plate); the feed goes on.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from typing import Protocol

from connectors.avro import AvroDecodeError, AvroDecoder
from connectors.kafka_reading import TopicFollower
from connectors.registry import RegistryClient

LOG = logging.getLogger("feblam.console.feed")


class FeedListener(Protocol):
    def message(self, record: dict) -> None: ...

    def refused(self, record: dict) -> None: ...

    def camera(self, record: dict) -> None: ...

    def loaded(self) -> None: ...


@dataclass(frozen=True)
class FeedTopics:
    """The topics a console reads: one per destination, and the gateway's own."""

    destinations: tuple[str, ...]          # gw.<destination> topics
    refused_events: str = "gw.refused-events"
    cameras: str = "cameras"

    def pattern(self) -> str:
        return "|".join(re.escape(t) for t in (*self.destinations, self.refused_events, self.cameras))


class GatewayFeed(threading.Thread):
    """Reads the console's topics into `listener` until `stop()`; see the module."""

    def __init__(self, bootstrap_servers: str, registry: RegistryClient, topics: FeedTopics, listener: FeedListener):
        super().__init__(name="console-feed", daemon=True)
        import schemas

        self.topics, self.listener = topics, listener
        self._follower = TopicFollower(bootstrap_servers, topics.pattern())
        self._decoders = {
            "message": AvroDecoder(registry, schemas.load("GatewayMessage"), millis=True),
            "refused": AvroDecoder(registry, schemas.load("RefusedEvent"), millis=True),
            "camera": AvroDecoder(registry, schemas.load("Camera"), millis=True)}
        self._stopping = threading.Event()
        self.undecodable = 0
        self.error: BaseException | None = None

    def stop(self) -> None:
        self._stopping.set()

    def run(self) -> None:
        try:
            # Refusals from before this start are of actions sent before it: not waited for.
            for topic, _, _, _, value in self._follower.load(skip=lambda t: t == self.topics.refused_events):
                self._hand(topic, value)
            self.listener.loaded()
            while not self._stopping.is_set():
                for topic, _, _, _, value in self._follower.poll(wait_s=0.2):
                    self._hand(topic, value)
        except BaseException as error:   # the console reports a dead feed (GET /health) rather than hang
            self.error = error
            LOG.error("the console's feed stopped: %s", type(error).__name__)
            raise
        finally:
            self._follower.close()

    def _hand(self, topic: str, value: bytes | None) -> None:
        if value is None:   # a tombstone: nothing the console shows
            return
        kind = "refused" if topic == self.topics.refused_events else "camera" if topic == self.topics.cameras \
            else "message"
        try:
            record = self._decoders[kind].decode(value)
        except AvroDecodeError:
            self.undecodable += 1
            LOG.warning("a record of %s does not decode; skipped (%d so far)", topic, self.undecodable)
            return
        getattr(self.listener, kind)(record)
