"""The retro-hit pass on Kafka (history/retro.py): the alert-list updates published since
the last pass in, its hits and sightings out, as the job sends them.

`ReferenceChanges` reads each alert list's topic (`<reference prefix><list>`) from the
offsets its consumer group committed last (from the start for a topic it never
read) up to the ends the topics have when the pass starts, and commits the new
offsets only when `commit` is called: after the hits are acknowledged and written
to the history. A pass that dies before that is redone whole; its hits come
again with the same `hit_id`s (consumers drop repeats, spec §9), and the history
already holds those it wrote, which the next pass does not send again.

Each update's `published` instant is its record's Kafka timestamp: the reads
before it were matched without it. Topics of LEZ lists are not read at all.

`publish` sends each hit to the hits topic (key = its dedup key, `sightings` 1)
and then each sighting event to the sightings topic, as the job's Kafka mode does,
and waits until Kafka has acknowledged all of them.
"""

from __future__ import annotations

from collections.abc import Callable

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from connectors.codecs import avro_hit
from connectors.contracts import ReferenceDecoder, encoder
from connectors.kafka_reading import messages_upto
from connectors.kafka_clients import client_config, flush_all, produce
from connectors.kafka_security import KafkaSecurity
from connectors.registry import RegistryClient
from history.retro import Change, RetroResult
from udfs.reference import InvalidEntry, parse_entry

GROUP_ID = "feblam-retro-hits"


class ReferenceChanges:
    """The updates of the topics `<prefix><list>` for which `searched(list)` is true,
    published since this consumer group's last commit. Not thread-safe; `close()`."""

    def __init__(self, bootstrap_servers: str, registry_url: str, reference_prefix: str,
                 searched: Callable[[str], bool], group_id: str = GROUP_ID,
                 security: KafkaSecurity | None = None):
        self.prefix = reference_prefix
        self.searched = searched
        self._decoder = ReferenceDecoder(RegistryClient(registry_url), reference_prefix)
        self._consumer = Consumer(client_config({
            "bootstrap.servers": bootstrap_servers, "group.id": group_id, "enable.auto.commit": False,
            "enable.partition.eof": True}, security))
        self._next: dict[tuple[str, int], int] = {}
        self.refused = 0

    def read(self, timeout_s: float = 600.0) -> list[Change]:
        """Every update since the last commit, in order within each topic. An update
        the job would refuse (`udfs.reference.InvalidEntry`) is skipped and counted in
        `refused`: the job reports those (its refusals topic)."""
        partitions = self._partitions(timeout_s)
        if not partitions:
            return []
        committed = self._consumer.committed(partitions, timeout=timeout_s)
        starts, ends = [], {}
        for tp in committed:
            low, high = self._consumer.get_watermark_offsets(tp, timeout=timeout_s)
            start = tp.offset if tp.offset >= 0 else OFFSET_BEGINNING
            if high > max(low, tp.offset):
                ends[(tp.topic, tp.partition)] = high - 1
                starts.append(TopicPartition(tp.topic, tp.partition, start))
        if not starts:
            return []
        self._consumer.assign(starts)
        changes: list[Change] = []
        for message in messages_upto(self._consumer, ends, timeout_s, "reading the reference updates"):
            self._next[(message.topic(), message.partition())] = message.offset() + 1
            change = self._change(message)
            if change is not None:
                changes.append(change)
        return changes

    def commit(self) -> None:
        """Record that the updates read so far are done: the next pass starts after them."""
        if self._next:
            self._consumer.commit(offsets=[TopicPartition(t, p, o) for (t, p), o in sorted(self._next.items())],
                                  asynchronous=False)

    def close(self) -> None:
        self._consumer.close()

    def _partitions(self, timeout_s: float) -> list[TopicPartition]:
        metadata = self._consumer.list_topics(timeout=timeout_s)
        return [TopicPartition(name, partition) for name, topic in sorted(metadata.topics.items())
                if name.startswith(self.prefix) and len(name) > len(self.prefix)
                and self.searched(name[len(self.prefix):]) for partition in sorted(topic.partitions)]

    def _change(self, message) -> Change | None:
        try:
            entry = parse_entry(self._decoder.entry(message.topic(), message.key(), message.value()))
        except (InvalidEntry, ValueError):
            self.refused += 1
            return None
        _, stamp = message.timestamp()
        return Change(entry, stamp)


def publish(bootstrap_servers: str, registry_url: str, result: RetroResult, hits_topic: str,
            sightings_topic: str, timeout_s: float = 60.0, security: KafkaSecurity | None = None) -> None:
    """Send the pass's hits, then its sightings, and wait for Kafka's acknowledgement;
    a RuntimeError when a record is refused or not acknowledged in time."""
    if not result.hits:
        return
    registry = RegistryClient(registry_url)
    hits = encoder(registry, hits_topic, "Hit", register=False)
    sightings = encoder(registry, sightings_topic, "HitSighting", register=False) if result.sightings else None
    producer = Producer(client_config({"bootstrap.servers": bootstrap_servers, "enable.idempotence": True,
                                       "acks": "all"}, security))
    failures: list[str] = []

    def report(error, _message) -> None:
        if error is not None:
            failures.append(str(error))

    for hit in result.hits:
        produce(producer, hits_topic, hits.encode({**avro_hit(hit), "sightings": 1}),
                hit["dedup_key"].encode("utf-8"), on_delivery=report)
    for sighting in result.sightings:
        produce(producer, sightings_topic, sightings.encode(sighting), sighting["dedup_key"].encode("utf-8"),
                on_delivery=report)
    flush_all(producer, timeout_s, "retro-hits and sightings")
    if failures:
        raise RuntimeError(f"{len(failures)} records refused by Kafka: {failures[0]}")
