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
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

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


def client_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `config` (a confluent-kafka client configuration) whose librdkafka
    logs go to the `feblam.kafka` logger at WARNING and above rather than straight
    to stderr. A `logger` or `log_level` already in `config` is kept: the stack's
    readiness probe, for one, sets `log_level` 0 since refusals are expected there.

    With a logger, confluent-kafka queues librdkafka's lines and hands them over
    from the calling thread in poll(), flush() and close(), never from librdkafka's
    own threads. A Consumer that is never polled gives them at close(); a Producer or
    AdminClient that is never polled drops them."""
    routed = dict(config)
    routed.setdefault("logger", LOGGER)
    routed.setdefault("log_level", SYSLOG_WARNING)
    return routed
