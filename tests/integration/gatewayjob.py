"""Helpers for tests of the Hit Gateway job: one run's topics and destinations, Avro
producers for its inputs, submission, and reading its outputs back."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

from confluent_kafka import Producer

import schemas
from connectors.avro import AvroDecoder
from connectors.contracts import encoder
from connectors.gateway_admin import apply_config
from connectors.kafka_clients import client_config
from connectors.registry import RegistryClient
from feblam.stack.settings import PROJECT_ROOT
from gateway.config import destination_topic

from .conftest import consume_all

JOB = PROJECT_ROOT / "jobs" / "hit_gateway.py"
T0 = 1_780_000_000_000


def hit(hit_id: str, *, list_name="stolen_vehicles", priority="P1", camera_id="C1", match_kind="EXACT",
        zone=None, attributes=None, entry_id="E1") -> dict:
    """A Hit record as the hit-generation job writes it."""
    return {"hit_id": hit_id, "read_id": f"r-{hit_id}", "list_name": list_name, "entry_id": entry_id,
            "match_kind": match_kind, "substitutions": 0, "severity": 70, "zone": zone, "score": 85,
            "priority": priority, "explanation": [{"factor": "severity", "value": 70.0}],
            "event_time": T0, "camera_id": camera_id, "plate": f"PL{hit_id.upper()}", "plate_text": f"PL{hit_id}",
            "country": "B", "ocr_confidence": 0.95, "dedup_key": f"{list_name}|{entry_id}|{hit_id}",
            "sightings": 1, "attributes": attributes or {}}


class GatewayRun:
    """The topics and destinations of one test run (destination names carry the run's id,
    since a destination's topic, gw.<name>, is global), with producers for the inputs."""

    def __init__(self, stack, new_topic, config_template: str):
        self.stack = stack
        self.run = uuid.uuid4().hex[:6]
        self.registry = RegistryClient(stack.schema_registry_url)
        self.hits = new_topic("gw-hits")
        self.sightings = new_topic("gw-sightings")
        self.events = new_topic("gw-events")
        self.cameras = new_topic("gw-cameras", config={"cleanup.policy": "compact"})
        self.config_topic = new_topic("gw-config", config={"cleanup.policy": "compact"})
        self.refused = new_topic("gw-refused")
        self.dead_inputs = new_topic("gw-dead-inputs")
        self.dead_deliveries = new_topic("gw-dead-deliveries")
        self.template = config_template
        self.topic_overrides = {"lifecycle-events": self.events, "refused-events": self.refused,
                                "gateway-config": self.config_topic, "dead-deliveries": self.dead_deliveries,
                                "gateway-dead-inputs": self.dead_inputs}
        self.destination_topics: list[str] = []
        self.hit_encoder = encoder(self.registry, self.hits, "Hit", register=True)
        self.sighting_encoder = encoder(self.registry, self.sightings, "HitSighting", register=True)
        self.camera_encoder = encoder(self.registry, self.cameras, "Camera", register=True)
        self.event_encoder = encoder(self.registry, self.events, "LifecycleEvent", register=True)
        self.producer = Producer(client_config({"bootstrap.servers": stack.bootstrap_servers, "linger.ms": 5}))

    def name(self, destination: str) -> str:
        return f"t{self.run}-{destination}"

    def apply(self, template: str | None = None):
        """Apply the configuration (its {run} replaced by this run's id), as an operator would."""
        text = (template or self.template).replace("{run}", f"t{self.run}")
        applied = apply_config(self.stack.bootstrap_servers, self.registry, text, "test.yaml", "tester",
                               topics=self.topic_overrides)
        for name in applied.config.destinations:
            topic = destination_topic(name)
            if topic not in self.destination_topics:
                self.destination_topics.append(topic)
        return applied

    def camera(self, camera_id: str, province: str | None, police_zone: str = "PZ Test") -> None:
        record = {"camera_id": camera_id, "lat": 50.85, "lon": 4.35, "lez_zones": [], "police_zone": police_zone,
                  "province": province}
        self.producer.produce(self.cameras, key=camera_id.encode(), value=self.camera_encoder.encode(record))

    def hit(self, record: dict) -> None:
        self.producer.produce(self.hits, key=record["dedup_key"].encode(), value=self.hit_encoder.encode(record))

    def sighting(self, hit_id: str, read_id: str, sightings: int, camera_id: str = "C1") -> None:
        record = {"hit_id": hit_id, "read_id": read_id, "camera_id": camera_id, "event_time": T0 + sightings,
                  "sightings": sightings, "dedup_key": f"k-{hit_id}"}
        self.producer.produce(self.sightings, key=record["dedup_key"].encode(),
                              value=self.sighting_encoder.encode(record))

    def event(self, hit_id: str, destination: str, action: str, user: str, **extra) -> None:
        record = {"hit_id": hit_id, "destination": destination, "action": action, "user": user,
                  "reason": None, "outcome": None, "note": None, "at": int(time.time() * 1000), **extra}
        self.producer.produce(self.events, key=hit_id.encode(), value=self.event_encoder.encode(record))

    def raw_event(self, value: bytes) -> None:
        self.producer.produce(self.events, key=b"?", value=value)

    def flush(self) -> None:
        assert self.producer.flush(30) == 0

    def submit(self, *extra: str, submit_options: tuple = ()) -> str:
        argv = [sys.executable, "-m", "feblam.cli", "submit", "--detached", *submit_options, str(JOB), "--",
                "--bootstrap-servers", self.stack.bootstrap_servers, "--registry-url", self.stack.schema_registry_url,
                "--hits-topic", self.hits, "--sightings-topic", self.sightings, "--lifecycle-events-topic", self.events,
                "--cameras-topic", self.cameras, "--config-topic", self.config_topic,
                "--refused-events-topic", self.refused, "--dead-inputs-topic", self.dead_inputs,
                "--group-id", f"g-{self.run}", *extra]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=PROJECT_ROOT)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        return next(line.split()[-1] for line in result.stdout.splitlines() if "submitted with JobID" in line)

    def messages(self, destination: str, expected: int, timeout_s: float = 60, distinct=True) -> list[dict]:
        """The GatewayMessage records on a destination's topic, once `expected` distinct
        (delivery_id, kind, at) arrived or the timeout passed (the caller asserts)."""
        decoder = AvroDecoder(self.registry, schemas.load("GatewayMessage"))
        key = (lambda m: m.value()) if distinct else None
        found = consume_all(self.stack.bootstrap_servers, destination_topic(self.name(destination)), expected,
                            timeout_s, distinct=key)
        unique = {m.value(): m for m in found}
        return [decoder.decode(m.value()) for m in unique.values()]

    def refusals(self, expected: int, timeout_s: float = 60) -> list[dict]:
        decoder = AvroDecoder(self.registry, schemas.load("RefusedEvent"))
        return [decoder.decode(m.value()) for m in consume_all(self.stack.bootstrap_servers, self.refused, expected,
                                                                timeout_s)]

    def dead_letters(self, expected: int, timeout_s: float = 60) -> list[dict]:
        decoder = AvroDecoder(self.registry, schemas.load("DeadLetter"))
        return [decoder.decode(m.value()) for m in consume_all(self.stack.bootstrap_servers, self.dead_inputs,
                                                                expected, timeout_s)]

    def cleanup(self) -> None:
        """Delete the destination topics and subjects the run's configuration made."""
        from confluent_kafka.admin import AdminClient

        admin = AdminClient(client_config({"bootstrap.servers": self.stack.bootstrap_servers}))
        for future in admin.delete_topics(self.destination_topics).values() if self.destination_topics else []:
            try:
                future.result(timeout=30)
            except Exception:
                pass

