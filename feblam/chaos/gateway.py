"""The Hit Gateway's part of a chaos run: the gateway job reads the run's hits and
delivers each to one destination, while the same faults fall on it.

Its configuration routes every hit to the run's own destination with no ack
timeout, so each hit must make exactly one delivery: no escalation, no second
destination. Figures: hits with no `DELIVERY` message (target 0), `DELIVERY`
messages sent again (deliveries are at least once: allowed), and the audit
history's `DELIVERED` rows, which are exactly once (targets 0 duplicate, 0
missing).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from feblam.chaos.traffic import Observed, TopicWatch
from feblam.stack.settings import PROJECT_ROOT, StackSettings

JOB = PROJECT_ROOT / "jobs" / "hit_gateway.py"


def _config(destination: str) -> str:
    return (f"national: {destination}\n"
            f"destinations:\n  {destination}: {{display_name: \"Chaos run\", users: [chaos.dispatcher]}}\n"
            f"route:\n  destination: {destination}\n  ack_timeout: none\n")


@dataclass
class GatewayLeg:
    """The gateway's topics, job and observer for run `run`."""

    stack: StackSettings
    run: str
    hits_topic: str
    sightings_topic: str
    audit: Path
    deliveries: list[str] = field(default_factory=list)   # hit_id of every DELIVERY message seen
    job_id: str | None = None

    def __post_init__(self) -> None:
        self.destination = f"{self.run}-dest"
        self.topics = {name: f"{self.run}.gw.{name}" for name in (
            "lifecycle-events", "refused-events", "gateway-config", "dead-deliveries", "gateway-dead-inputs")}
        self.cameras_topic = f"{self.run}.gw.cameras"

    @property
    def destination_topic(self) -> str:
        from gateway.config import destination_topic

        return destination_topic(self.destination)

    def all_topics(self) -> list[str]:
        return [*self.topics.values(), self.cameras_topic, self.destination_topic]

    def start(self, parallelism: int) -> str:
        """Apply the configuration (its topics and contracts too), submit the job; its id."""
        from connectors.gateway_admin import apply_config
        from connectors.registry import RegistryClient
        from connectors.topics import TopicSpec, ensure_topics
        from feblam.stack.submission import submit_detached

        ensure_topics(self.stack.bootstrap_servers, {self.cameras_topic: TopicSpec(1, {"cleanup.policy": "compact"})})
        apply_config(self.stack.bootstrap_servers, RegistryClient(self.stack.registry_url), _config(self.destination),
                     "chaos.yaml", "feblam chaos", topics=self.topics)
        self.job_id = submit_detached(JOB, [
            "--bootstrap-servers", self.stack.bootstrap_servers, "--registry-url", self.stack.registry_url,
            "--hits-topic", self.hits_topic, "--sightings-topic", self.sightings_topic,
            "--lifecycle-events-topic", self.topics["lifecycle-events"], "--cameras-topic", self.cameras_topic,
            "--config-topic", self.topics["gateway-config"], "--refused-events-topic", self.topics["refused-events"],
            "--dead-inputs-topic", self.topics["gateway-dead-inputs"], "--group-id", f"{self.run}-gateway",
            "--audit", str(self.audit)], parallelism=parallelism)
        return self.job_id

    def watch(self, observed: Observed) -> TopicWatch:
        """The destination's topic watched: the hit of every DELIVERY message, into
        `deliveries`. The caller starts and stops it with the run's other threads."""
        import schemas
        from connectors.avro import AvroDecoder
        from connectors.registry import RegistryClient

        decoder = AvroDecoder(RegistryClient(self.stack.registry_url), schemas.load("GatewayMessage"))

        def note(value: bytes) -> None:
            record = decoder.decode(value)
            if record["kind"] == "DELIVERY":
                self.deliveries.append(record["hit_id"])

        return TopicWatch("chaos-deliveries", self.stack.bootstrap_servers, self.destination_topic, note, observed)

    def wait_for(self, hit_ids: set[str], deadline: float) -> None:
        while time.monotonic() < deadline and not hit_ids <= set(self.deliveries):
            time.sleep(1)

    def audit_counts(self) -> tuple[int, int]:
        """(rows, distinct delivery ids) of the audit's DELIVERED rows, committed files only."""
        import duckdb

        if not list(self.audit.glob("audit/**/part-*")):
            return 0, 0
        return duckdb.connect().execute(
            "SELECT count(*), count(DISTINCT delivery_id) FROM "
            f"read_parquet('{self.audit}/audit/**/part-*', hive_partitioning = true) WHERE kind = 'DELIVERED'"
        ).fetchone()

    def wait_for_audit(self, deliveries: int, deadline: float, poll_s: float = 5.0) -> tuple[int, int]:
        while True:
            counts = self.audit_counts()
            if counts[1] >= deliveries or time.monotonic() > deadline:
                return counts
            time.sleep(poll_s)

    def figures(self, hit_ids: set[str], audit: tuple[int, int]) -> dict:
        delivered = set(self.deliveries)
        return {
            "gateway_job_id": self.job_id,
            "missing_deliveries": len(hit_ids - delivered),
            "repeated_delivery_messages": len(self.deliveries) - len(delivered),
            "audit_delivered": {"rows": audit[0], "distinct": audit[1]},
            "duplicate_audit_rows": audit[0] - audit[1],
            "missing_audit_rows": len(hit_ids) - audit[1],
        }
