"""Webhook delivery on the real stack with a real HTTP server: a partner that fails three
times then accepts gets every record, a partner that never answers ends in the
dead-delivery topic with its last error, and a third partner is on time meanwhile."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from confluent_kafka import Producer

import schemas
from connectors.avro import AvroDecoder
from connectors.contracts import encoder
from connectors.gateway_codec import message_record
from connectors.kafka_clients import client_config
from connectors.webhooks import WebhookBridge
from gateway.records import DELIVERY, Message, delivery_id

from .conftest import consume_all
from .gatewayjob import GatewayRun, hit

CONFIG = """\
national: {run}-nat
destinations:
  {run}-nat: {}
  {run}-flaky: {webhook: {url: "http://127.0.0.1:PORT/flaky", tries: 5, backoff: 100 ms, timeout: 500 ms}}
  {run}-dead: {webhook: {url: "http://127.0.0.1:PORT/dead", tries: 5, backoff: 100 ms, timeout: 500 ms}}
  {run}-fast: {webhook: {url: "http://127.0.0.1:PORT/fast", tries: 5, backoff: 100 ms, timeout: 500 ms}}
route: {destination: {run}-nat}
"""


class Partners:
    """A small HTTP server with three partners: /flaky answers 503 three times, then 200;
    /dead never answers in time; /fast answers 200 at once. Records what it got."""

    def __init__(self):
        self.received: dict[str, list[tuple[float, dict]]] = {"flaky": [], "dead": [], "fast": []}
        self.flaky_failures = 0
        self.release = threading.Event()
        partners = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                name = self.path.strip("/")
                partners.received[name].append((time.monotonic(), body))
                if name == "dead":
                    partners.release.wait(2)  # longer than the webhook's timeout
                    return
                if name == "flaky" and partners.flaky_failures < 3:
                    partners.flaky_failures += 1
                    self.send_response(503)
                else:
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def test_webhooks_retry_dead_letter_and_do_not_hold_each_other_up(stack, new_topic):
    partners = Partners()
    run = GatewayRun(stack, new_topic, CONFIG.replace("PORT", str(partners.port)))
    bridge = None
    try:
        config = run.apply().config
        producer = Producer(client_config({"bootstrap.servers": stack.bootstrap_servers}))
        sent = {}
        for name in ("flaky", "dead", "fast"):
            destination = run.name(name)
            topic = config.destinations[destination].topic
            encode = encoder(run.registry, topic, "GatewayMessage", register=False).encode
            for n in range(3):
                record = hit(f"{name}{n}")
                message = Message(destination, DELIVERY, delivery_id(record["hit_id"], destination),
                                  record["hit_id"], 1_780_000_000_000,
                                  {"route": "root", "labels": {}, "hit": record, "escalated_from": None,
                                   "ack_deadline": None})
                producer.produce(topic, key=message.delivery_id.encode(), value=encode(message_record(message)))
                sent.setdefault(name, []).append(message.delivery_id)
        assert producer.flush(30) == 0
        started = time.monotonic()
        bridge = WebhookBridge(config, stack.bootstrap_servers, run.registry, run.dead_deliveries,
                               f"test-hooks-{run.run}").start()

        dead = consume_all(stack.bootstrap_servers, run.dead_deliveries, 3, timeout_s=90)
        bridge.check()
        decoder = AvroDecoder(run.registry, schemas.load("DeadDelivery"))
        dead = [decoder.decode(m.value()) for m in dead]
        assert sorted(d["delivery_id"] for d in dead) == sorted(sent["dead"])
        assert all(d["tries"] == 5 and d["last_error"] == "timed out after 0.5 s" for d in dead), dead
        assert len(partners.received["dead"]) == 15

        fast = partners.received["fast"]
        assert [body["delivery_id"] for _, body in fast] == sent["fast"]
        # On time while the dead partner was still being tried (4 s a record, 12 s in all).
        assert fast[-1][0] - started < 10, fast[-1][0] - started
        flaky = partners.received["flaky"]
        assert [body["delivery_id"] for _, body in flaky] == [sent["flaky"][0]] * 4 + sent["flaky"][1:]
        assert flaky[0][1]["delivery"]["hit"]["hit_id"] == "flaky0"
        gaps = [round(b[0] - a[0], 1) for a, b in zip(flaky, flaky[1:4])]
        assert gaps[0] >= 0.1 and gaps[1] >= 0.2 and gaps[2] >= 0.4, gaps  # 100 ms doubling
    finally:
        if bridge is not None:
            bridge.stop()
        partners.close()
        run.cleanup()
