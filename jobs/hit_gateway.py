"""The Hit Gateway job: hits routed to the destinations that must act on them, and followed.

    hits, hit-sightings, gw.lifecycle-events ─decode─keyBy(hit_id)─ route-and-follow ─▶ gw.<destination>
                                   │                                     ↑             ─▶ gw.refused-events
                                   └─▶ gw.dead-inputs   cameras, gw.config (followed) ─┘  ─▶ audit (Parquet)

Submit it with `feblam submit jobs/hit_gateway.py -- [options]` once the
routing configuration is on its topic (`feblam gateway config apply FILE`,
which also creates the destination topics and registers their contract). It
runs until cancelled; a new configuration applied while it runs takes effect
for the hits that arrive after it, with no restart.

Operator uids (kept across upgrades; docs/gateway.md says how to upgrade with a
savepoint): source-gateway-inputs, decode-inputs, route-and-follow, sink,
dead-inputs-sink, and the audit's table sink.

Wiring only: the semantics live in the `gateway` package (the rules:
docs/gateway.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pyflink.common import Types, WatermarkStrategy
from pyflink.datastream import StreamExecutionEnvironment

from connectors.audit import attach_audit
from connectors.gateway_codec import GatewayCodec, GatewayTopics
from connectors.kafka import OUTGOING_TYPE, RECORD_TYPE, record_sink, record_source
from connectors.kafka_reading import startup_positions
from jobs.environment import execution_environment
from jobs.gateway_operators import AUDIT, DEAD_INPUTS, DecodeInput, RouteAndFollow, case_key


@dataclass(frozen=True)
class GatewayJobSettings:
    """Where the gateway reads and writes; `audit` is the root of the audit history
    (a path or URI the cluster can write), none if unset."""

    bootstrap_servers: str = "127.0.0.1:9092"
    registry_url: str = "http://127.0.0.1:8080/apis/ccompat/v7"
    topics: GatewayTopics = field(default_factory=GatewayTopics)
    group_id: str = "feblam-hit-gateway"
    parallelism: int | None = None
    audit: str | None = None
    buffer_timeout_ms: int = 10
    bundle_time_ms: int = 10

    @property
    def context_pattern(self) -> str:
        return f"({re.escape(self.topics.cameras)}|{re.escape(self.topics.config)})"


class NoConfigurationError(RuntimeError):
    """The configuration topic holds no version: the gateway would not know where to route."""


def build_gateway_job(env: StreamExecutionEnvironment, settings: GatewayJobSettings) -> None:
    """Wire the gateway on Kafka. Fails at once, saying what to run, when the configuration
    topic is empty or an output contract is not in the registry."""
    from connectors.contracts import lookup
    from connectors.registry import RegistryClient

    topics = settings.topics
    registry = RegistryClient(settings.registry_url)
    lookup(registry, topics.refused_events, "RefusedEvent")
    lookup(registry, topics.dead_inputs, "DeadLetter")
    ends = startup_positions(settings.bootstrap_servers, re.escape(topics.config))
    if not any(end > ends.starts.get(tp, 0) for tp, end in ends.ends.items() if tp[0] == topics.config):
        raise NoConfigurationError(f"no routing configuration on {topics.config}: "
                                   "run `feblam gateway config apply FILE` first")
    largest = _room_for_refused_records(settings)
    codec = GatewayCodec(settings.registry_url, topics)
    # A dispatcher waits on every delivery: network buffers between the steps leave after at
    # most this, not Flink's 100 ms (right for reads at tens of thousands a second).
    env.set_buffer_timeout(settings.buffer_timeout_ms)
    inputs = env.from_source(
        record_source(settings.bootstrap_servers, f"{settings.group_id}.inputs",
                      topics=[topics.hits, topics.sightings, topics.lifecycle_events]),
        WatermarkStrategy.no_watermarks(), "gateway-inputs", type_info=RECORD_TYPE,
    ).uid("source-gateway-inputs")
    decoded = inputs.process(DecodeInput(codec), output_type=Types.PICKLED_BYTE_ARRAY()) \
        .name("decode-inputs").uid("decode-inputs")
    followed = (
        decoded.key_by(case_key, key_type=Types.STRING())
        .process(RouteAndFollow(codec, settings.bootstrap_servers, settings.context_pattern,
                                audit=settings.audit is not None), output_type=OUTGOING_TYPE)
        .name("route-and-follow").uid("route-and-follow")
    )
    if settings.audit is not None:
        attach_audit(env, settings.audit, followed.get_side_output(AUDIT))
    # Two sinks, not one over a union: the routing step's own is chained to it, so a
    # delivery leaves with no network hop between them (`feblam bench gateway`'s
    # from_routing_p50_ms went from 14 to 6 ms).
    producer = {"max.request.size": str(largest)}
    followed.sink_to(record_sink(settings.bootstrap_servers, producer)).name("outputs").uid("sink")
    decoded.get_side_output(DEAD_INPUTS) \
        .sink_to(record_sink(settings.bootstrap_servers, producer)).name("dead-inputs").uid("dead-inputs-sink")


def _room_for_refused_records(settings: GatewayJobSettings) -> int:
    """Dead inputs and refused events keep their input whole (docs/hits.md §3): their
    topics are made to take records larger than any of their inputs take, so that one
    large input cannot be unwritable and restart the gateway. Returns the largest
    record the sinks may then write."""
    from connectors.dead_letters import HEADROOM_BYTES
    from connectors.topics import make_room

    topics, servers = settings.topics, settings.bootstrap_servers
    return max(make_room(servers, topics.dead_inputs,
                         [topics.hits, topics.sightings, topics.lifecycle_events, topics.cameras], HEADROOM_BYTES),
               make_room(servers, topics.refused_events, [topics.lifecycle_events], HEADROOM_BYTES))


def main(argv: list[str] | None = None) -> int:
    import argparse

    from jobs.environment import JobHelpFormatter, add_deployment_arguments

    defaults, topics = GatewayJobSettings(), GatewayTopics()
    parser = argparse.ArgumentParser(
        prog="hit_gateway.py",
        description="FEBLAM's Hit Gateway on Kafka. Apply the routing configuration first "
        "(`feblam gateway config apply FILE`), then submit it with "
        "`feblam submit jobs/hit_gateway.py -- [options]`; it runs until cancelled.",
        formatter_class=JobHelpFormatter,
    )
    parser.add_argument("--bootstrap-servers", default=defaults.bootstrap_servers, help="Kafka bootstrap servers")
    parser.add_argument("--registry-url", default=defaults.registry_url, help="schema registry (Confluent-compatible API)")
    for name, help_text in (
            ("hits", "hits of the hit-generation job, Avro Hit"),
            ("sightings", "sightings of those hits, Avro HitSighting"),
            ("lifecycle_events", "what people did to deliveries, Avro LifecycleEvent, key = hit_id"),
            ("cameras", "the camera registry, compacted, Avro Camera"),
            ("config", "the routing configuration, compacted, Avro GatewayConfigVersion"),
            ("refused_events", "where refused lifecycle events go, Avro RefusedEvent"),
            ("dead_inputs", "where inputs that do not decode go, Avro DeadLetter")):
        parser.add_argument(f"--{name.replace('_', '-')}-topic", dest=name, default=getattr(topics, name),
                            help=help_text)
    parser.add_argument("--group-id", default=defaults.group_id, help="consumer group prefix (offsets are kept in Flink checkpoints)")
    parser.add_argument("--audit", help="root of the audit history, Parquet (a path or URI the cluster can write); none if unset")
    parser.add_argument("--buffer-timeout-ms", type=int, default=defaults.buffer_timeout_ms,
                        help="longest a record waits in a network buffer between two steps")
    parser.add_argument("--bundle-time-ms", type=int, default=defaults.bundle_time_ms,
                        help="longest a record waits for its Python step's bundle to close")
    add_deployment_arguments(parser)
    args = parser.parse_args(argv)
    settings = GatewayJobSettings(
        bootstrap_servers=args.bootstrap_servers, registry_url=args.registry_url,
        topics=GatewayTopics(hits=args.hits, sightings=args.sightings, lifecycle_events=args.lifecycle_events,
                             cameras=args.cameras, config=args.config, refused_events=args.refused_events,
                             dead_inputs=args.dead_inputs),
        group_id=args.group_id, parallelism=args.parallelism, audit=args.audit,
        buffer_timeout_ms=args.buffer_timeout_ms, bundle_time_ms=args.bundle_time_ms)
    from connectors.kafka_security import kafka_component

    # A dispatcher waits on every delivery and every action's answer: a Python step's
    # bundle closes after this, not the cluster's 100 ms (right for the hit job's reads).
    env = execution_environment(embedded=args.embedded, parallelism=settings.parallelism, jars=args.jars,
                                job_config={"python.fn-execution.bundle.time": str(settings.bundle_time_ms)})
    with kafka_component("gateway"):   # its own Kafka user, baked into its sources and sinks
        build_gateway_job(env, settings)
        env.execute("feblam-hit-gateway")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
