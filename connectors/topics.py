"""Creating FEBLAM's Kafka topics when they are missing, and only then.

`ensure_topics(bootstrap_servers, {name: TopicSpec(...)})` creates the topics
that do not exist and leaves the others as they are (their partitions and
configuration are the operator's). A topic another process creates at the
same moment counts as there: the broker's TOPIC_ALREADY_EXISTS error code,
not its message text, says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from connectors.kafka_clients import client_config

COMPACTED = {"cleanup.policy": "compact"}


class TopicError(RuntimeError):
    """Kafka refused to create a topic, or did not answer in time."""


@dataclass(frozen=True)
class TopicSpec:
    partitions: int = 1
    config: dict = field(default_factory=dict)
    replication: int = 1


def ensure_topics(bootstrap_servers: str, wanted: dict[str, TopicSpec], timeout_s: float = 30.0) -> list[str]:
    """Create the topics of `wanted` that do not exist; the names of those created."""
    admin = AdminClient(client_config({"bootstrap.servers": bootstrap_servers}))
    existing = admin.list_topics(timeout=timeout_s).topics
    missing = [NewTopic(name, spec.partitions, spec.replication, config=dict(spec.config))
               for name, spec in wanted.items() if name not in existing]
    if not missing:
        return []
    created = []
    for name, future in admin.create_topics(missing, request_timeout=timeout_s).items():
        try:
            future.result(timeout=timeout_s)
            created.append(name)
        except KafkaException as error:
            if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise TopicError(f"cannot create topic {name}: {error.args[0].str()}") from error
    return created


def topic_names(bootstrap_servers: str, timeout_s: float = 10.0) -> set[str]:
    """The names of every topic on the cluster; KafkaException when it does not answer."""
    admin = AdminClient(client_config({"bootstrap.servers": bootstrap_servers}))
    return set(admin.list_topics(timeout=timeout_s).topics)
