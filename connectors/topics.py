"""FEBLAM's one door to Kafka's topic administration: creating topics when they
are missing, and deleting throw-away ones.

`ensure_topics(bootstrap_servers, {name: TopicSpec(...)})` creates the topics
that do not exist and leaves the others as they are (their partitions and
configuration are the operator's). A topic another process creates at the
same moment counts as there: the broker's TOPIC_ALREADY_EXISTS error code,
not its message text, says so.

`delete_topics(bootstrap_servers, names)` deletes topics; one that is not there
(UNKNOWN_TOPIC_OR_PART) counts as deleted, by error code again, so a clean-up
may name topics a failed run never got to create.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from connectors.kafka_clients import client_config

COMPACTED = {"cleanup.policy": "compact"}


class TopicError(RuntimeError):
    """Kafka refused to create or delete a topic, or did not answer in time."""


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
    futures = admin.create_topics(missing, request_timeout=timeout_s)
    return _settle(futures, "create", KafkaError.TOPIC_ALREADY_EXISTS, timeout_s)


def delete_topics(bootstrap_servers: str, names: Iterable[str], timeout_s: float = 30.0) -> list[str]:
    """Delete the topics `names`; the names of those deleted. A topic that does not
    exist counts as done (not listed); any other refusal, or no answer within
    `timeout_s`, is a TopicError naming the topic with the broker's text."""
    unique = list(dict.fromkeys(names))  # the admin API refuses a name given twice
    if not unique:
        return []
    admin = AdminClient(client_config({"bootstrap.servers": bootstrap_servers}))
    futures = admin.delete_topics(unique, request_timeout=timeout_s)
    return _settle(futures, "delete", KafkaError.UNKNOWN_TOPIC_OR_PART, timeout_s)


def _settle(futures: dict, verb: str, already_done: int, timeout_s: float) -> list[str]:
    """Wait for each topic's admin future; the names whose operation the broker did.
    The error code `already_done` means the topic was already as wanted: not done
    here, not an error. Any other error, or no answer, is a TopicError."""
    done = []
    for name, future in futures.items():
        try:
            future.result(timeout=timeout_s)
            done.append(name)
        except KafkaException as error:
            if error.args[0].code() != already_done:
                raise TopicError(f"cannot {verb} topic {name}: {error.args[0].str()}") from error
        except TimeoutError:  # concurrent.futures' own, the builtin since Python 3.11
            raise TopicError(f"cannot {verb} topic {name}: no answer from Kafka within {timeout_s:g} s") from None
    return done


def topic_names(bootstrap_servers: str, timeout_s: float = 10.0) -> set[str]:
    """The names of every topic on the cluster; KafkaException when it does not answer."""
    admin = AdminClient(client_config({"bootstrap.servers": bootstrap_servers}))
    return set(admin.list_topics(timeout=timeout_s).topics)
