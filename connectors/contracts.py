"""FEBLAM's Avro contracts on Kafka: which feed carries which contract on which
topic, their subjects, and the records as the `udfs` library takes them.

`FEEDS` is the one list of FEBLAM's feeds, their contracts (`schemas/*.avsc`)
and default topics; the reference lists are one topic per list,
`<prefix><list>` (default prefix `ref.`), all with the ReferenceEntry contract.
Subjects follow the topic-name strategy (`<topic>-value`) under BACKWARD
compatibility: a new schema version must read every record written with the
previous one, so producers and FEBLAM can be upgraded in either order.

Who does what with the registry:
* `feblam schemas apply` (the one governance step) registers every contract for
  its topics and sets the compatibility rule of each subject;
* producers (ingest, the simulator, the reference loader) register their
  version idempotently (`register_or_lookup`, `encoder(..., register=True)`),
  and never set a rule;
* the job only looks its subjects up (`lookup`, `Encoders`), and a contract
  that is not there fails with a message that names `feblam schemas apply`.

Times travel as Avro `timestamp-millis` and reach `udfs` as epoch milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import schemas
from connectors.avro import AvroDecoder, AvroEncoder
from connectors.registry import NotFoundError, RegistryClient
from udfs.reference import KEY_MISMATCH, MALFORMED, WRONG_LIST, InvalidEntry

COMPATIBILITY = "BACKWARD"


@dataclass(frozen=True)
class Feed:
    """One Kafka feed of FEBLAM: `name` (its `--<name>-topic` option, as the job names
    it), its contract
    (`schemas/<contract>.avsc`), the topic it has unless told otherwise, and what it carries."""

    name: str
    contract: str
    default_topic: str
    description: str

    @property
    def option(self) -> str:
        return f"--{self.name}-topic"


FEEDS: tuple[Feed, ...] = (
    Feed("reads", "PlateRead", "plate-reads", "plate reads, from ingest or a native producer, into the job"),
    Feed("hits", "Hit", "hits", "hits, out of the job"),
    Feed("dead-letter", "DeadLetter", "plate-reads.dlq", "reads refused by ingest or the job, kept whole"),
    Feed("cameras", "Camera", "cameras", "the camera registry, compacted, into the job"),
    Feed("sightings", "HitSighting", "hit-sightings", "later reads folded into a hit, out of the job"),
    Feed("refusals", "ReferenceRefusal", "reference-refusals",
         "reference-list and camera updates the job refused"),
    Feed("lifecycle-events", "LifecycleEvent", "gw.lifecycle-events",
         "what people did to deliveries (console, `feblam gateway act`), into the gateway"),
    Feed("refused-events", "RefusedEvent", "gw.refused-events", "lifecycle events the gateway refused, with why"),
    Feed("gateway-config", "GatewayConfigVersion", "gw.config",
         "the gateway's routing configuration, compacted (`feblam gateway config apply`)"),
    Feed("dead-deliveries", "DeadDelivery", "gw.dead-deliveries", "deliveries a partner's webhook did not take"),
    Feed("gateway-dead-inputs", "DeadLetter", "gw.dead-inputs",
         "hits, sightings and cameras the gateway could not decode, kept whole"),
)
# Each destination of the gateway's configuration has a topic of its own,
# gw.<destination> (gateway.config.destination_topic), with this contract.
DESTINATION_CONTRACT = "GatewayMessage"
REFERENCE_CONTRACT = "ReferenceEntry"
DEFAULT_REFERENCE_PREFIX = "ref."


def feed(name: str) -> Feed:
    """The feed called `name` (e.g. "hits"); KeyError naming the known ones otherwise."""
    for known in FEEDS:
        if known.name == name:
            return known
    raise KeyError(f"no feed {name!r} (known: {', '.join(f.name for f in FEEDS)})")


def reference_topic(prefix: str, list_name: str) -> str:
    return f"{prefix}{list_name}"


def subject(topic: str) -> str:
    return f"{topic}-value"


class ContractNotRegisteredError(NotFoundError):
    """The subject of a topic has no version matching the contract the caller speaks."""


def lookup(registry: RegistryClient, topic: str, contract: str) -> int:
    """The id of `schemas/<contract>.avsc` as registered for `topic`; registers nothing.
    Raises ContractNotRegisteredError, which says to run `feblam schemas apply`."""
    try:
        return registry.lookup(subject(topic), schemas.load(contract))
    except NotFoundError as error:
        raise ContractNotRegisteredError(
            f"subject {subject(topic)} has no version matching contract {contract}: run `feblam schemas apply` "
            f"(with the topic's option if {topic} is not a default topic)", error.status, error.code) from error


def register_or_lookup(registry: RegistryClient, topic: str, contract: str) -> int:
    """The id of `schemas/<contract>.avsc` for `topic`, registered if the subject does not
    have it yet (idempotent, and safe when several producers start together). Never
    sets a compatibility rule: that is `feblam schemas apply`'s. Raises
    IncompatibleSchemaError when the subject's rule refuses the contract."""
    try:
        return registry.lookup(subject(topic), schemas.load(contract))
    except NotFoundError:
        return registry.register(subject(topic), schemas.load(contract))


def encoder(registry: RegistryClient, topic: str, contract: str, *, register: bool) -> AvroEncoder:
    """An encoder of `contract` records for `topic`: a producer's (`register=True`:
    `register_or_lookup`) or the job's (`register=False`: `lookup`)."""
    schema_id = register_or_lookup(registry, topic, contract) if register else lookup(registry, topic, contract)
    return AvroEncoder(schema_id, schemas.load(contract))


class ReadDecoder:
    """PlateRead messages to the dicts `udfs.validation.validate_read` takes.
    Raises `AvroDecodeError` (with the raw bytes) for a message that does not decode."""

    def __init__(self, registry: RegistryClient):
        self._avro = AvroDecoder(registry, schemas.load("PlateRead"), millis=True)

    def decode(self, raw: bytes) -> dict:
        return self._avro.decode(raw)  # event_time stays milliseconds (millis=True)


class ReferenceDecoder:
    """Reference-topic and camera-topic messages to the dicts `udfs.reference` takes.

    A tombstone (no value) on a reference topic is the DELETE of the entry whose
    id is the message key; the list is named by the topic (`<prefix><list>`).
    """

    def __init__(self, registry: RegistryClient, reference_prefix: str):
        self.prefix = reference_prefix
        self._entry = AvroDecoder(registry, schemas.load("ReferenceEntry"), millis=True)
        self._camera = AvroDecoder(registry, schemas.load("Camera"))

    def list_name(self, topic: str) -> str:
        return topic[len(self.prefix):]

    def entry(self, topic: str, key: bytes | None, value: bytes | None) -> dict:
        """The update of `topic`'s list. The topic decides the list and the key names
        the entry (a tombstone deletes by key alone), so a record naming another list,
        or whose entry_id is not its key, is refused (`InvalidEntry` WRONG_LIST or
        KEY_MISMATCH): applied, it would write into another list, or be an entry no
        tombstone can ever delete."""
        if value is None:
            return {"list_name": self.list_name(topic), "entry_id": tombstone_key(key), "op": "DELETE"}
        record = self._entry.decode(value)  # valid_from/valid_until stay milliseconds (millis=True)
        list_name, entry_id = record.get("list_name"), record.get("entry_id")
        if isinstance(list_name, str) and list_name != self.list_name(topic):
            raise InvalidEntry(WRONG_LIST, value, f"list_name {list_name!r} on the topic of list "
                                                  f"{self.list_name(topic)!r}")
        if isinstance(entry_id, str) and key != entry_id.encode("utf-8"):
            shown = "no key" if key is None else f"key {key[:80]!r}"
            raise InvalidEntry(KEY_MISMATCH, value, f"{shown} for entry_id {entry_id[:80]!r}")
        return record

    def camera(self, value: bytes) -> dict:
        return self._camera.decode(value)


def tombstone_key(key: bytes | None) -> str:
    """The id a tombstone (a message with no value) deletes: its key, as UTF-8 text.
    Raises `InvalidEntry` MALFORMED for a key that is no text: it names no entry or
    camera, and the record is refused rather than let fail the job that reads it."""
    try:
        return (key or b"").decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidEntry(MALFORMED, None, f"a tombstone whose key is not UTF-8 text ({error.reason} "
                                            f"at byte {error.start})") from None


class Encoders:
    """Encoders for what the job writes: hits, sightings, dead letters and refusals, each
    to its topic (the argument of the same name). Their subjects are looked up, never
    registered (`lookup`): ContractNotRegisteredError when they are not there."""

    def __init__(self, registry: RegistryClient, hits: str, sightings: str, dead_letters: str, refusals: str):
        self.hit = encoder(registry, hits, "Hit", register=False)
        self.sighting = encoder(registry, sightings, "HitSighting", register=False)
        self.dead_letter = encoder(registry, dead_letters, "DeadLetter", register=False)
        self.refusal = encoder(registry, refusals, "ReferenceRefusal", register=False)
