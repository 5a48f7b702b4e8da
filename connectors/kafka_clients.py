"""The configuration every confluent-kafka client FEBLAM builds starts from.

librdkafka prints its own log lines to stderr by default
(`%4|1780...|GETPID|rdkafka#consumer-1| [thrd:main]: Coordinator load in progress`),
in the middle of whatever the command is printing. `client_config` hands them to
Python logging instead, under the `feblam.kafka` logger, warnings and errors only.
Every Producer, Consumer and AdminClient (and the Serializing/Deserializing
wrappers) is built as `Producer(client_config({...}))`; a unit test
(tests/unit/connectors/test_kafka_logging.py) fails on one that is not.

FEBLAM configures no logging handler of its own: with none, Python's last-resort
handler prints WARNING and above to stderr as the bare message, so a refused
connection still shows (as `FAIL [rdkafka#consumer-1] ... Connection refused`),
without librdkafka's `%3|<time>|` prefix and never librdkafka's notices or debug.

What these lines can hold: librdkafka logs about brokers (addresses, connection
state), topics, partitions, offsets, consumer groups and its own errors. It never
logs a message's key or value, so no plate, read or hit reaches them. The only
lines that come close (librdkafka's `debug` contexts, such as `msg`) are logged at
syslog level 7, which is below `log_level` 4 and the logger's WARNING, so they are
dropped twice over even if a caller turns `debug` on.

`client_config` also applies the Kafka security settings (TLS, SASL) of
connectors.kafka_security: those of the secured local stack, or of the
FEBLAM_KAFKA_* variables, so every client of a secured cluster authenticates
without knowing it.

`produce` is how FEBLAM hands a record to a Producer: it waits while the
producer's local queue is full instead of failing with BufferError.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Callable

from connectors.kafka_security import KafkaSecurity

LOGGER_NAME = "feblam.kafka"

# librdkafka's levels are syslog's; confluent-kafka maps them to Python's
# (0-2 CRITICAL, 3 ERROR, 4 WARNING, 5-6 INFO, 7 DEBUG). 4 keeps librdkafka from
# even queueing the notices the logger would drop.
SYSLOG_WARNING = 4

LOGGER = logging.getLogger(LOGGER_NAME)
if LOGGER.level == logging.NOTSET:
    # Only if nobody has chosen a level for it: someone chasing a broker problem may
    # lower it (and `log_level`) on purpose.
    LOGGER.setLevel(logging.WARNING)


def client_config(config: Mapping[str, Any], security: KafkaSecurity | None = None) -> dict[str, Any]:
    """A copy of `config` (a confluent-kafka client configuration) whose librdkafka
    logs go to the `feblam.kafka` logger at WARNING and above rather than straight
    to stderr. A `logger` or `log_level` already in `config` is kept: the stack's
    readiness probe, for one, sets `log_level` 0 since refusals are expected there.

    With a logger, confluent-kafka queues librdkafka's lines and hands them over
    from the calling thread in poll(), flush() and close(), never from librdkafka's
    own threads. A Consumer that is never polled gives them at close(); a Producer or
    AdminClient that is never polled drops them.

    Security: `security`, else `KafkaSecurity.resolve` for the config's
    `bootstrap.servers` (the secured local stack's settings, the FEBLAM_KAFKA_*
    variables), unless `config` sets `security.protocol` itself (a test of a
    refused plaintext client does). A KafkaSecurityError says which setting or
    password file is missing."""
    routed = dict(config)
    routed.setdefault("logger", LOGGER)
    routed.setdefault("log_level", SYSLOG_WARNING)
    if "security.protocol" not in routed:
        security = security or KafkaSecurity.resolve(routed.get("bootstrap.servers"))
        if security.protocol != "PLAINTEXT":
            routed.update(security.librdkafka_config())
    return routed


# How long one wait for room in a full local queue serves delivery reports: short,
# so a producer that is merely ahead of the broker resumes within a few milliseconds.
QUEUE_FULL_WAIT_S = 0.05


def produce(producer, topic: str, value: bytes | None, key: bytes | None = None, *, timestamp: int = 0,
            headers: list | None = None, on_delivery: Callable | None = None) -> None:
    """Hand one record to `producer` (a confluent-kafka Producer), waiting while its
    local queue is full.

    `Producer.produce` raises BufferError when the queue already holds
    `queue.buffering.max.messages` records (or `queue.buffering.max.kbytes`): the
    broker has not taken them yet, nothing is lost. Here each BufferError is met
    with `producer.poll(QUEUE_FULL_WAIT_S)`, which serves delivery reports and so
    frees room, and the record is offered again, for as long as it takes: a broker
    that takes nothing still ends the wait, since librdkafka fails a queued record
    after `message.timeout.ms` (5 minutes by default), which frees its room too.

    `value` None is a tombstone; `timestamp` 0 lets Kafka stamp the record;
    `headers` and `on_delivery` are as `Producer.produce` takes them. Delivery
    reports of records produced without a wait are served only by the caller's own
    `poll` or `flush`."""
    options: dict[str, Any] = {"value": value, "key": key, "timestamp": timestamp}
    if headers:
        options["headers"] = headers
    if on_delivery is not None:
        options["on_delivery"] = on_delivery
    while True:
        try:
            producer.produce(topic, **options)
            return
        except BufferError:
            producer.poll(QUEUE_FULL_WAIT_S)


def flush_all(producer, timeout_s: float, what: str = "records") -> None:
    """Wait until Kafka has acknowledged every record handed to `producer`; a
    RuntimeError saying how many of `what` it has not within `timeout_s`."""
    left = producer.flush(timeout_s)
    if left:
        raise RuntimeError(f"{left:,} {what} not acknowledged by Kafka within {timeout_s:g} s")
