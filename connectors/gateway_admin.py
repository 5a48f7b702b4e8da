"""Operating the Hit Gateway from outside the job: its configuration and lifecycle events.

- `apply_config` checks a routing configuration (`gateway.config.parse_config`:
  refused whole, with every problem's line), creates the gateway's topics
  (one per destination, `gw.<destination>`, and its own feeds), registers the
  destination contract for each new destination, and publishes the
  configuration to its compacted topic, where the running job picks it up.
  Publishing a configuration identical to the one in force does nothing.
- `current_config` reads the version in force back from that topic.
- `send_event` checks the shape of a lifecycle event and writes it, key =
  hit_id; the gateway decides whether the state table allows it. `EventSender`
  does the same for a process that sends many (the console).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from confluent_kafka import Producer

from connectors.avro import AvroDecodeError
from connectors.contracts import DESTINATION_CONTRACT, encoder, feed
from connectors.governance import Target, apply
from connectors.kafka_reading import replay, startup_positions
from connectors.kafka_clients import client_config
from connectors.registry import RegistryClient
from connectors.topics import COMPACTED, TopicSpec, ensure_topics
from gateway.config import GatewayConfig, config_version, destination_topic, parse_config
from gateway.events import LifecycleEvent, parse_event

CONFIG_KEY = b"routing"
GATEWAY_FEEDS = ("lifecycle-events", "refused-events", "gateway-config", "dead-deliveries", "gateway-dead-inputs")


class PublishError(RuntimeError):
    """Kafka did not acknowledge a record, or the registry refused a contract."""


@dataclass(frozen=True)
class Applied:
    """What `apply_config` did: the configuration, whether it was new, the topics it created."""

    config: GatewayConfig
    published: bool
    created_topics: tuple[str, ...]


def _producer(bootstrap_servers: str) -> Producer:
    return Producer(client_config({"bootstrap.servers": bootstrap_servers, "enable.idempotence": True,
                                   "acks": "all", "linger.ms": 0}))


def _deliver(producer: Producer, topic: str, key: bytes, value: bytes, timeout_s: float) -> None:
    """Write one record and wait for its acknowledgement, or raise PublishError."""
    failures: list[str] = []
    producer.produce(topic, key=key, value=value,
                     on_delivery=lambda error, _: failures.append(str(error)) if error else None)
    if producer.flush(timeout_s) or failures:
        raise PublishError(f"{topic}: not acknowledged: {'; '.join(failures) or 'timed out'}")


def gateway_topics(overrides: dict[str, str] | None = None) -> dict[str, str]:
    """Feed name -> topic of the gateway's own feeds (defaults of connectors.contracts.FEEDS)."""
    return {name: (overrides or {}).get(name, feed(name).default_topic) for name in GATEWAY_FEEDS}


def current_config(bootstrap_servers: str, registry: RegistryClient, config_topic: str = "gw.config",
                   timeout_s: float = 30.0) -> dict | None:
    """The configuration version in force (a GatewayConfigVersion record), None if none was applied."""
    import schemas
    from connectors.avro import AvroDecoder

    ends = startup_positions(bootstrap_servers, re.escape(config_topic), timeout_s).last_positions()
    latest = None
    for _, _, _, _, value in replay(bootstrap_servers, ends, timeout_s):
        if value is not None:
            latest = value
    if latest is None:
        return None
    return AvroDecoder(registry, schemas.load("GatewayConfigVersion"), millis=True).decode(latest)


def apply_config(bootstrap_servers: str, registry: RegistryClient, text: str, source: str, applied_by: str,
                 topics: dict[str, str] | None = None, partitions: int = 1, timeout_s: float = 30.0) -> Applied:
    """Check, prepare for and publish the configuration in `text`; raises
    gateway.config.ConfigError (nothing changed) when it is refused."""
    config = parse_config(text, source)
    names = gateway_topics(topics)
    wanted = {destination_topic(d): TopicSpec(partitions) for d in config.destinations}
    wanted.update({topic: TopicSpec(config=COMPACTED if name == "gateway-config" else {})
                   for name, topic in names.items()})
    created = ensure_topics(bootstrap_servers, wanted, timeout_s)
    targets = [Target(destination_topic(d), DESTINATION_CONTRACT) for d in config.destinations]
    targets += [Target(topic, feed(name).contract) for name, topic in names.items()]
    refused = [o for o in apply(registry, targets) if not o.ok]
    if refused:
        raise PublishError("the registry refused: " + "; ".join(f"{o.subject}: {o.detail}" for o in refused))
    try:
        in_force = current_config(bootstrap_servers, registry, names["gateway-config"], timeout_s)
    except AvroDecodeError:
        # The version on the topic no longer reads (a registry that lost its schemas):
        # publishing this one is what puts a readable configuration in force again.
        in_force = None
    if in_force is not None and in_force["version"] == config_version(text):
        return Applied(config, False, tuple(created))
    record = {"version": config.version, "text": text, "source": source, "applied_by": applied_by,
              "applied_at": int(time.time() * 1000)}
    value = encoder(registry, names["gateway-config"], "GatewayConfigVersion", register=True).encode(record)
    _deliver(_producer(bootstrap_servers), names["gateway-config"], CONFIG_KEY, value, timeout_s)
    return Applied(config, True, tuple(created))


class EventSender:
    """Writes lifecycle events to `topic` for a process that sends many (the console):
    one producer and one encoder for its lifetime, so an action costs a produce and
    its acknowledgement, not a connection and a registry look-up. Thread-safe (the
    producer is). `close()` flushes what is still queued."""

    def __init__(self, bootstrap_servers: str, registry: RegistryClient, topic: str = "gw.lifecycle-events"):
        self.topic = topic
        self._encoder = encoder(registry, topic, "LifecycleEvent", register=True)
        self._producer = _producer(bootstrap_servers)

    def send(self, record: dict, timeout_s: float = 30.0) -> LifecycleEvent:
        """Write one event (checked for shape by gateway.events.parse_event, which raises
        EventError); returns it once Kafka acknowledged it, or raises PublishError."""
        event = parse_event(record)
        _deliver(self._producer, self.topic, event.hit_id.encode("utf-8"), self._encoder.encode(event.as_record()),
                 timeout_s)
        return event

    def close(self, timeout_s: float = 10.0) -> None:
        self._producer.flush(timeout_s)


def send_event(bootstrap_servers: str, registry: RegistryClient, record: dict,
               topic: str = "gw.lifecycle-events", timeout_s: float = 30.0) -> LifecycleEvent:
    """Write one lifecycle event (checked for shape by gateway.events.parse_event, which
    raises EventError); returns it as written."""
    return EventSender(bootstrap_servers, registry, topic).send(record, timeout_s)
