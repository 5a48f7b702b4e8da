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

`make_room(bootstrap_servers, output, inputs, headroom)` sees to it that a topic
that keeps other topics' records whole (a dead-letter or refusals topic) accepts
a record larger than the largest its inputs accept: it creates it so, or raises
its `max.message.bytes`, and returns the size for the producer's
`max.request.size`. A dead letter must always be writable (docs/hits.md §3).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, NewTopic, ResourceType

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


MAX_MESSAGE_BYTES = "max.message.bytes"
# Kafka's own default for a topic that sets no max.message.bytes (the broker's
# message.max.bytes): what an input that does not exist yet will accept.
KAFKA_DEFAULT_MAX_MESSAGE_BYTES = 1_048_588


def max_message_bytes(bootstrap_servers: str, topics: Iterable[str], timeout_s: float = 30.0) -> dict[str, int]:
    """The `max.message.bytes` in force for each of `topics` that exists (the topic's
    own, or the broker's default); a topic that does not exist is left out."""
    admin = AdminClient(client_config({"bootstrap.servers": bootstrap_servers}))
    wanted = list(dict.fromkeys(topics))
    if not wanted:
        return {}
    futures = admin.describe_configs([ConfigResource(ResourceType.TOPIC, name) for name in wanted],
                                     request_timeout=timeout_s)
    sizes = {}
    for resource, future in futures.items():
        try:
            sizes[resource.name] = int(future.result(timeout=timeout_s)[MAX_MESSAGE_BYTES].value)
        except KafkaException as error:
            if error.args[0].code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                raise TopicError(f"cannot read the configuration of topic {resource.name}: "
                                 f"{error.args[0].str()}") from error
        except TimeoutError:
            raise TopicError(f"cannot read the configuration of topic {resource.name}: no answer from Kafka "
                             f"within {timeout_s:g} s") from None
    return sizes


def make_room(bootstrap_servers: str, output: str, inputs: Iterable[str], headroom: int,
              timeout_s: float = 30.0, also: Iterable[str] = ()) -> int:
    """Make `output` accept records of the largest input's size plus `headroom` bytes,
    plus the largest record of the topics `also` when an output record carries one of
    those besides its input (a hit: its read and its list entry): create it with that
    `max.message.bytes` when it is missing, raise its own when it is lower, leave it
    when it is enough. Returns the size a record may reach. A broker that refuses (no
    right to alter the topic, say) is a TopicError saying what is needed."""
    inputs, also = list(inputs), list(also)
    sizes = max_message_bytes(bootstrap_servers, [output, *inputs, *also], timeout_s)

    def largest(topics: list[str]) -> int:
        return max([sizes[name] for name in topics if name in sizes] or [KAFKA_DEFAULT_MAX_MESSAGE_BYTES])

    needed = largest(inputs) + (largest(also) if also else 0) + headroom
    if output not in sizes:
        ensure_topics(bootstrap_servers, {output: TopicSpec(config={MAX_MESSAGE_BYTES: str(needed)})}, timeout_s)
        # Another process may have made it first, with its own size: check it as any existing topic.
        sizes = max_message_bytes(bootstrap_servers, [output], timeout_s)
    if sizes.get(output, 0) >= needed:
        return max(needed, sizes[output])
    admin = AdminClient(client_config({"bootstrap.servers": bootstrap_servers}))
    entry = ConfigEntry(MAX_MESSAGE_BYTES, str(needed), incremental_operation=AlterConfigOpType.SET)
    futures = admin.incremental_alter_configs([ConfigResource(ResourceType.TOPIC, output, incremental_configs=[entry])],
                                              request_timeout=timeout_s)
    for future in futures.values():
        try:
            future.result(timeout=timeout_s)
        except (KafkaException, TimeoutError) as error:
            why = error.args[0].str() if isinstance(error, KafkaException) else f"no answer within {timeout_s:g} s"
            raise TopicError(f"topic {output} accepts records up to {sizes.get(output)} bytes, its inputs up to "
                             f"{needed - headroom}: set its {MAX_MESSAGE_BYTES} to at least {needed} ({why})") from None
    return needed
