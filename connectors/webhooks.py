"""Webhook delivery (gateway spec §4): each record of a destination's topic POSTed to its partner.

`WebhookBridge` runs one `WebhookWorker` thread per destination that has a
webhook. A worker reads its destination's topic (`gw.<destination>`, its own
consumer group) and POSTs each record as JSON, in order. A try that times out,
cannot connect, or is answered 5xx or 429 is tried again after the webhook's
backoff, doubling (spec §4, *config*: 5 tries, 0.5 s); after the last try, or
at once for any other 4xx (the partner refused the record itself, and
trying again would not change its mind), the record goes to the dead-delivery
topic (DeadDelivery, with the last error) and the worker goes on. Offsets are
committed after a record is delivered or dead, so a restart posts again from
the first record not yet settled: partners drop repeats by `delivery_id`.

One thread per destination is what keeps a slow or dead partner from holding
up any other: its worker waits on its own socket and its own backoff, and the
others do not share its queue.

Why a loop of our own rather than urllib3's `Retry` under requests: checked
here with urllib3 2.8.0, `Retry(total=4, backoff_factor=0.5)` waits 0, 1, 2
and 4 s (no wait before the first retry), not the 0.5, 1, 2, 4 s of spec §4;
it does not retry a POST unless told to; its waits cannot be cut short when
the bridge stops; and the dead-delivery record needs the last answer, which
`MaxRetryError` hides behind its cause. The loop is `WebhookWorker._deliver`.

Why not the job itself: the Flink job writes every delivery to Kafka, at least
once, at the rate hits come; a partner that takes seconds to answer would
back-pressure the whole gateway through its sink. Outside it, a partner is as
slow as it likes without delaying the destinations' topics.
"""

from __future__ import annotations

import datetime
import json
import logging
import threading
import time
from dataclasses import dataclass

import requests
from confluent_kafka import Consumer, KafkaError, Producer

import schemas
from connectors.avro import AvroDecoder
from connectors.contracts import encoder
from connectors.kafka_clients import client_config
from connectors.registry import RegistryClient
from gateway.config import Destination, GatewayConfig

LOG = logging.getLogger("feblam.webhooks")


@dataclass(frozen=True)
class Attempt:
    """The outcome of one POST: `ok`, whether to try again, and what went wrong."""

    ok: bool
    retry: bool
    error: str | None = None


def post(session: requests.Session, url: str, body: bytes, timeout_s: float) -> Attempt:
    """One POST of `body` (JSON); classifies the answer as spec §4 does."""
    try:
        answer = session.post(url, data=body, timeout=timeout_s, headers={"Content-Type": "application/json"})
    except requests.Timeout:
        return Attempt(False, True, f"timed out after {timeout_s:g} s")
    except requests.ConnectionError as error:
        return Attempt(False, True, f"connection error: {type(error).__name__}")
    if 200 <= answer.status_code < 300:
        return Attempt(True, False)
    retry = answer.status_code >= 500 or answer.status_code == 429
    return Attempt(False, retry, f"HTTP {answer.status_code} {answer.reason}")


def json_body(record: dict) -> bytes:
    """A GatewayMessage record as the JSON a partner receives (times in epoch milliseconds)."""
    def default(value):
        if isinstance(value, datetime.datetime):
            return int(value.timestamp() * 1000)
        raise TypeError(type(value).__name__)
    return json.dumps(record, default=default, separators=(",", ":")).encode("utf-8")


class WebhookWorker(threading.Thread):
    """Posts the records of one destination's topic to its webhook; see the module doc."""

    def __init__(self, destination: Destination, bootstrap_servers: str, registry: RegistryClient,
                 dead_topic: str, group_id: str, stop: threading.Event):
        super().__init__(name=f"webhook-{destination.name}", daemon=True)
        self.destination = destination
        self.bootstrap_servers = bootstrap_servers
        self.registry = registry
        self.dead_topic = dead_topic
        self.group_id = group_id
        self.stop = stop
        self.delivered = self.dead = 0
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            self._run()
        except BaseException as error:  # reported by the bridge, which stops everything
            self.failure = error
            LOG.exception("webhook worker for %s stopped", self.destination.name)

    def _run(self) -> None:
        decoder = AvroDecoder(self.registry, schemas.load("GatewayMessage"))
        dead = encoder(self.registry, self.dead_topic, "DeadDelivery", register=False)
        consumer = Consumer(client_config({"bootstrap.servers": self.bootstrap_servers, "group.id": self.group_id,
                                           "enable.auto.commit": False, "auto.offset.reset": "earliest"}))
        producer = Producer(client_config({"bootstrap.servers": self.bootstrap_servers, "enable.idempotence": True}))
        session = requests.Session()
        try:
            consumer.subscribe([self.destination.topic])
            while not self.stop.is_set():
                message = consumer.poll(0.5)
                if message is None:
                    continue
                if message.error():
                    if message.error().code() != KafkaError._PARTITION_EOF:
                        LOG.warning("%s: %s", self.destination.topic, message.error())
                    continue
                record = decoder.decode(message.value())
                settled = self._deliver(session, record, message.value(), dead, producer)
                if not settled:
                    return  # stopped mid-retry: the record is posted again on restart
                consumer.commit(message=message, asynchronous=False)
        finally:
            producer.flush(10)
            consumer.close()
            session.close()

    def _deliver(self, session, record: dict, raw: bytes, dead, producer) -> bool:
        """POST with retries; True once delivered or dead-lettered, False if stopped first."""
        hook = self.destination.webhook
        body = json_body(record)
        delays = hook.delays_ms()
        tries = 0
        while True:
            tries += 1
            attempt = post(session, hook.url, body, hook.timeout_ms / 1000)
            if attempt.ok:
                self.delivered += 1
                return True
            if not attempt.retry or tries >= hook.tries:
                break
            if self.stop.wait(delays[tries - 1] / 1000):  # True when stopped: the backoff ends early
                return False
        # The log names the destination and the delivery, never the hit's plate.
        LOG.warning("delivery %s to %s dead after %d tries: %s", record["delivery_id"], self.destination.name,
                    tries, attempt.error)
        value = dead.encode({"delivery_id": record["delivery_id"], "destination": self.destination.name,
                             "kind": record["kind"], "url": hook.url, "tries": tries,
                             "last_error": attempt.error or "", "original": raw,
                             "failed_at": int(time.time() * 1000)})
        producer.produce(self.dead_topic, key=record["delivery_id"].encode("utf-8"), value=value)
        if producer.flush(30):
            raise RuntimeError(f"{self.dead_topic}: a dead delivery was not acknowledged")
        self.dead += 1
        return True


class WebhookBridge:
    """One worker per destination of `config` that has a webhook; `start`, `stop`, and
    `check` (raises the first worker failure)."""

    def __init__(self, config: GatewayConfig, bootstrap_servers: str, registry: RegistryClient,
                 dead_topic: str = "gw.dead-deliveries", group_prefix: str = "feblam-webhooks"):
        self.stop_event = threading.Event()
        self.workers = [WebhookWorker(d, bootstrap_servers, registry, dead_topic, f"{group_prefix}.{d.name}",
                                      self.stop_event)
                        for d in config.destinations.values() if d.webhook is not None]

    def start(self) -> "WebhookBridge":
        for worker in self.workers:
            worker.start()
        return self

    def check(self) -> None:
        for worker in self.workers:
            if worker.failure is not None:
                raise RuntimeError(f"webhook worker for {worker.destination.name} failed: {worker.failure}")

    def stop(self, timeout_s: float = 30.0) -> None:
        self.stop_event.set()
        for worker in self.workers:
            worker.join(timeout_s)
