"""`feblam bench gateway`: the Hit Gateway on the stack at a steady rate of hits with sightings.

A run has topics and destinations of its own (a national centre, eleven
provincial centres, three LEZ authorities, names prefixed with the run's id)
and a configuration that routes P1/P2 hits to the camera's province and LEZ
hits to their city. It submits the gateway, then offers `rate` hits a second
for `seconds` seconds, each followed by `sightings` sightings; a share of the
hits (`escalating`) is P1 and nobody acts on it, so it escalates after
`ack_timeout`; of the others, a share (`acted`) is rejected as a duplicate a
second after it was made, so its case closes and may be forgotten after
`closed_retention`, and the rest stays open until `open_retention`.

Every topic stamps its records with the broker's append time (LogAppendTime),
so the figures are broker times on both sides:
- `delivery_p50_ms`, `delivery_p99_ms`: a delivery's append to its destination's
  topic minus its hit's append to the hits topic (first deliveries only);
- `to_routing_*_ms`, `from_routing_*_ms`: the same time split at the instant the
  routing step made the delivery (its `at`, the taskmanager's clock, which is
  the broker's on this one machine);
- `escalation_late_p99_ms`, `escalation_late_max_ms`: an escalated delivery's
  append minus the ack deadline of the delivery it escalates;
- `state_bytes`: the checkpointed state size over the run (Flink REST), to show
  it levels off instead of growing with every hit (`state_growth_last_third`:
  its growth over the last third of the offered period, relative to its size);
- `cpu_cores_by_kind`: the cores each kind of process used over the offered
  period (taskmanager, jobmanager, kafka, registry, zookeeper, benchmark for
  this command, other, and machine for all the busy time; feblam/bench/cpu.py);
- `cpu_cores_by_thread`: the taskmanagers' cores by thread name over the same
  period ("route-and-follo" is the routing step, "Source: gateway" the decoding,
  "C# CompilerThre" the JVM's compilers; feblam/bench/cpu.py).

With `--backlog`, every input (`rate` × `seconds` hits with their sightings and
events) is on Kafka before the gateway starts, and the run reports its
capacity instead: `drain_hits_per_s` and `drain_inputs_per_s`, the hits and the
inputs over the time from its first delivery to its last, and
`cpu_cores_by_kind` and `cpu_cores_by_thread` from its submission until every
hit was delivered.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from dataclasses import dataclass, field

from connectors.kafka_clients import client_config, flush_all, produce
from feblam.bench.cpu import CpuMeter, cpu_figures, still_compiling
from feblam.bench.e2e import APPEND_TIME, Endpoints, Log, cancel
from feblam.bench.stats import percentile
from feblam.stack.submission import submit_detached
from feblam.stack.settings import PROJECT_ROOT

PROVINCES = ("Brussels-Capital Region", "Antwerpen", "Oost-Vlaanderen", "West-Vlaanderen", "Vlaams-Brabant",
             "Limburg", "Brabant wallon", "Hainaut", "Liège", "Luxembourg", "Namur")


@dataclass(frozen=True)
class GatewayBenchSettings:
    rate: float = 1000.0
    seconds: float = 90.0
    sightings: int = 1
    escalating: float = 0.05
    acted: float = 0.3
    ack_timeout_s: int = 5
    closed_retention_s: int = 15
    open_retention_s: int = 30
    parallelism: int = 2
    cameras: int = 200
    partitions: int = 2
    seed: int = 7
    keep_topics: bool = False
    backlog: bool = False

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.seconds <= 0:
            raise ValueError("--rate and --seconds must be positive")
        if not (0 <= self.escalating <= 1 and 0 <= self.acted <= 1):
            raise ValueError("--escalating and --acted are shares, 0..1")


def bench_config(run: str, settings: GatewayBenchSettings) -> str:
    names = [f"{run}-p{i}" for i in range(len(PROVINCES))]
    lines = [f"national: {run}-nat", "destinations:", f"  {run}-nat: {{users: [bench]}}"]
    lines += [f"  {name}: {{users: [bench], escalate_to: {run}-nat}}" for name in names]
    lines += [f"  {run}-lez{z}: {{users: [bench]}}" for z in ("bxl", "ant", "gnt")]
    lines += ["route:", f"  destination: {run}-nat", f"  ack_timeout: {{P1: {settings.ack_timeout_s} s}}",
              "  routes:"]
    lines += [f"    - {{matchers: ['zone = \"{z.upper()}\"'], destination: {run}-lez{z}, ack_timeout: none}}"
              for z in ("bxl", "ant", "gnt")]
    lines += [f"    - {{matchers: ['province = \"{p}\"', 'priority =~ \"P[12]\"'], destination: {name}}}"
              for p, name in zip(PROVINCES, names)]
    lines += [f"retention: {{closed: {settings.closed_retention_s} s, open: {settings.open_retention_s} s}}"]
    return "\n".join(lines) + "\n"


@dataclass
class Observed:
    hit_append: dict = field(default_factory=dict)        # hit_id -> append ms
    first_delivery: dict = field(default_factory=dict)    # hit_id -> append ms of its first delivery
    routed_at: dict = field(default_factory=dict)         # hit_id -> the gateway's clock when it routed it
    deadlines: dict = field(default_factory=dict)         # delivery_id -> ack deadline ms
    escalations: list = field(default_factory=list)       # (append ms, escalated delivery's deadline ms)
    deliveries: int = 0
    messages: int = 0
    state_bytes: list = field(default_factory=list)       # (s since the offer began, bytes)
    cpu: dict = field(default_factory=dict)               # bench.cpu.cpu_figures over the offer


def run_gateway_bench(settings: GatewayBenchSettings, endpoints: Endpoints, log: Log) -> dict:
    from confluent_kafka import Producer

    from connectors.contracts import encoder
    from connectors.gateway_admin import apply_config
    from connectors.registry import RegistryClient
    from connectors.topics import COMPACTED, TopicSpec, delete_topics, ensure_topics
    from feblam.flinkrest import FlinkRest
    from gateway.config import destination_topic, parse_config

    run = f"b{uuid.uuid4().hex[:6]}"
    registry = RegistryClient(endpoints.registry_url)
    text = bench_config(run, settings)
    config = parse_config(text, "bench")
    topics = {name: f"{run}.{name}" for name in ("hits", "sightings", "events", "cameras", "config", "refused",
                                                   "dead-inputs", "dead-deliveries")}
    made: list[str] = []
    job_id = None
    observer = None
    try:
        wanted = {topic: TopicSpec(settings.partitions if name in ("hits", "sightings", "events") else 1,
                                   {**APPEND_TIME, **(COMPACTED if name in ("cameras", "config") else {})})
                  for name, topic in topics.items()}
        wanted.update({destination_topic(d): TopicSpec(1, APPEND_TIME) for d in config.destinations})
        made.extend(wanted)   # before creating: a creation that fails half-way is cleaned up too
        ensure_topics(endpoints.bootstrap_servers, wanted)
        apply_config(endpoints.bootstrap_servers, registry, text, "bench", "bench",
                     topics={"lifecycle-events": topics["events"], "refused-events": topics["refused"],
                             "gateway-config": topics["config"], "dead-deliveries": topics["dead-deliveries"],
                             "gateway-dead-inputs": topics["dead-inputs"]})
        encode = {kind: encoder(registry, topics[topic], contract, register=True).encode for kind, topic, contract in
                  (("hit", "hits", "Hit"), ("sighting", "sightings", "HitSighting"),
                   ("event", "events", "LifecycleEvent"), ("camera", "cameras", "Camera"))}
        producer = Producer(client_config({"bootstrap.servers": endpoints.bootstrap_servers, "linger.ms": 2,
                                           "queue.buffering.max.messages": 1_000_000}))
        rng = random.Random(settings.seed)
        cameras = [(f"{run}-C{i}", PROVINCES[i % len(PROVINCES)]) for i in range(settings.cameras)]
        for camera_id, province in cameras:
            produce(producer, topics["cameras"], encode["camera"](
                {"camera_id": camera_id, "lat": 50.8, "lon": 4.3, "lez_zones": [], "police_zone": "PZ",
                 "province": province}), camera_id.encode())
        flush_all(producer, 30)
        if settings.backlog:
            log(f"backlog: encoding and offering {settings.rate * settings.seconds:,.0f} hits with "
                f"{settings.sightings} sighting(s) each before the gateway starts")
            schedule = _schedule(settings, config, run, 0, cameras, encode, rng, topics)
            for _, topic, key, value in schedule:
                produce(producer, topic, value, key)
            flush_all(producer, 300)
        log(f"{run}: {len(config.destinations)} destinations, {settings.cameras} cameras; submitting the gateway")
        job_id = submit_detached(PROJECT_ROOT / "jobs" / "hit_gateway.py", [
            "--bootstrap-servers", endpoints.bootstrap_servers, "--registry-url", endpoints.registry_url,
            "--hits-topic", topics["hits"], "--sightings-topic", topics["sightings"],
            "--lifecycle-events-topic", topics["events"], "--cameras-topic", topics["cameras"],
            "--config-topic", topics["config"], "--refused-events-topic", topics["refused"],
            "--dead-inputs-topic", topics["dead-inputs"], "--group-id", run], settings.parallelism)

        observed = Observed()
        observer = _Observer(endpoints.bootstrap_servers, f"{run}-observer",
                             [topics["hits"]] + [destination_topic(d) for d in config.destinations])
        observer.start()
        rest = FlinkRest(endpoints.flink_rest_url)

        def sample_state(at: float) -> None:
            """The latest completed checkpoint's state size, if a checkpoint completed."""
            latest = (rest.checkpoints(job_id).get("latest") or {}).get("completed") or {}
            if latest:
                observed.state_bytes.append((round(at, 1), int(latest.get("state_size", 0))))

        meter = CpuMeter(endpoints.run_dir)
        if settings.backlog:
            return _drain(settings, observed, observer, topics["hits"], registry, schedule, meter, log)
        # Warm-up: hits until the first delivery (the job is running and has loaded its context).
        log("warm-up: hits until the first delivery")
        deadline, n = time.monotonic() + 300, 0
        while not any(topic != topics["hits"] for topic, _, _ in observer.raw):
            if time.monotonic() > deadline:
                raise RuntimeError("no delivery within 300 s of submission")
            warm = _hit(run, n, "P2", cameras[0], None)
            produce(producer, topics["hits"], encode["hit"](warm), warm["dedup_key"].encode())
            flush_all(producer, 10)
            n += 1
            time.sleep(0.5)
        warmup = {f"{run}-h{i}" for i in range(n)}
        log(f"encoding {settings.rate * settings.seconds:,.0f} hits with {settings.sightings} sighting(s) each")
        schedule = _schedule(settings, config, run, n, cameras, encode, rng, topics)
        log(f"ready; offering {settings.rate:g} hits/s for {settings.seconds:g} s")
        before = meter.snapshot()
        began = time.monotonic()
        next_state, next_log, i = began, began, 0
        while i < len(schedule):
            now = time.monotonic() - began
            while i < len(schedule) and schedule[i][0] <= now:
                _, topic, key, value = schedule[i]
                produce(producer, topic, value, key)
                i += 1
            producer.poll(0)
            if time.monotonic() >= next_state:
                next_state = time.monotonic() + 5
                sample_state(now)
            if time.monotonic() >= next_log:
                next_log = time.monotonic() + 10
                log(f"{i:,} of {len(schedule):,} records sent")
            time.sleep(0.001)
        observed.cpu = cpu_figures(before, meter.snapshot())
        if (warning := still_compiling(observed.cpu)) is not None:
            log(warning)
        flush_all(producer, 30)
        # The last escalations come ack_timeout after the last hits; the state is sampled on.
        # A loaded machine can complete no checkpoint within a short offer: wait for one
        # (bounded) rather than report a run without its state figure.
        settled = time.monotonic() + settings.ack_timeout_s + 3
        state_deadline = settled + 120
        while time.monotonic() < settled or (not observed.state_bytes and time.monotonic() < state_deadline):
            if time.monotonic() >= next_state:
                next_state = time.monotonic() + 5
                sample_state(time.monotonic() - began)
            time.sleep(0.2)
        if not observed.state_bytes:
            raise RuntimeError("the gateway completed no checkpoint within 120 s of the offer's end: "
                               "no state figure (see var/log/flink-jobmanager.log)")
        _observe(observed, observer.finish(), topics["hits"], registry)
        sent = sum(1 for _, topic, _, _ in schedule if topic == topics["hits"])
        return _figures(settings, observed, warmup, sent, time.monotonic() - began)
    finally:
        try:
            if observer is not None:
                observer.stopping.set()   # idle once the run has failed or its figures are taken
            if job_id is not None:
                cancel(endpoints, job_id)
        finally:
            if not settings.keep_topics:
                delete_topics(endpoints.bootstrap_servers, made)


class _Observer(threading.Thread):
    """Collects every record of `topics` from their start, as (topic, append ms,
    value) in `raw`, until `finish`. Only collects: decoding as they come would
    take the CPU the gateway needs."""

    def __init__(self, bootstrap_servers: str, group: str, topics: list[str]):
        super().__init__(daemon=True)
        self.bootstrap_servers = bootstrap_servers
        self.group = group
        self.topics = topics
        self.raw: list[tuple[str, int, bytes]] = []
        self.stopping = threading.Event()
        self.error: Exception | None = None

    def run(self) -> None:
        from confluent_kafka import Consumer

        consumer = Consumer(client_config({"bootstrap.servers": self.bootstrap_servers, "group.id": self.group,
                                           "auto.offset.reset": "earliest", "enable.auto.commit": False}))
        try:
            consumer.subscribe(self.topics)
            while not self.stopping.is_set():
                for message in consumer.consume(5000, 0.2):
                    if not message.error():   # an event of the client (a connection lost, retried), not a record
                        self.raw.append((message.topic(), message.timestamp()[1], message.value()))
        except Exception as error:  # noqa: BLE001 - handed to the main thread by finish()
            self.error = error
        finally:
            consumer.close()

    def finish(self, timeout_s: float = 30.0) -> list[tuple[str, int, bytes]]:
        """Stop collecting; what was collected. RuntimeError if the observer failed or
        does not stop: figures on part of the outputs are not the gateway's."""
        self.stopping.set()
        self.join(timeout_s)
        if self.is_alive():
            raise RuntimeError(f"the observer of the gateway's outputs did not stop within {timeout_s:g} s")
        if self.error is not None:
            raise RuntimeError(f"the observer of the gateway's outputs failed: {self.error}") from self.error
        return self.raw


def _drain(settings: GatewayBenchSettings, observed: Observed, observer: _Observer, hits_topic: str, registry,
           schedule: list, meter: CpuMeter, log: Log) -> dict:
    """The figures of a backlog run: how fast the gateway works off the inputs that
    were all there before it started (its capacity), from its first delivery to its last;
    the CPU from its submission until every hit was out."""
    hits = sum(1 for _, topic, _, _ in schedule if topic == hits_topic)
    before = meter.snapshot()
    deadline, seen, out = time.monotonic() + 600, -1, 0
    while out < hits or out != seen:   # until every hit is delivered and nothing new came for 5 s
        if time.monotonic() > deadline:
            raise RuntimeError(f"backlog not worked off within 600 s: {out:,} messages out for {hits:,} hits")
        seen = out
        time.sleep(5)
        out = sum(1 for topic, _, _ in observer.raw if topic != hits_topic)
        if out >= hits and not observed.cpu:
            observed.cpu = cpu_figures(before, meter.snapshot())
        log(f"{out:,} messages out so far")
    _observe(observed, observer.finish(), hits_topic, registry)
    missing = hits - len(observed.first_delivery)
    if missing:
        raise RuntimeError(f"backlog worked off with {missing:,} hits never delivered")
    firsts = sorted(observed.first_delivery.values())
    span_s = (firsts[-1] - firsts[0]) / 1000 if len(firsts) > 1 else None
    return {"backlog_hits": hits, "backlog_inputs": len(schedule), "hits_delivered": len(firsts),
            "messages": observed.messages, "drain_seconds": span_s,
            "drain_hits_per_s": round(len(firsts) / span_s, 1) if span_s else None,
            "drain_inputs_per_s": round(len(schedule) / span_s, 1) if span_s else None,
            **observed.cpu,
            "parallelism": settings.parallelism, "seed": settings.seed}


def _hit(run: str, n: int, priority: str, camera: tuple[str, str], zone: str | None) -> dict:
    return {"hit_id": f"{run}-h{n}", "read_id": f"{run}-r{n}", "list_name": "stolen_vehicles",
            "entry_id": f"E{n}", "match_kind": "LEZ_NOT_ADMITTED" if zone else "EXACT", "substitutions": 0,
            "severity": 70, "zone": zone, "score": 85 if priority == "P1" else 65, "priority": priority,
            "explanation": [{"factor": "severity", "value": 70.0}], "event_time": int(time.time() * 1000),
            "camera_id": camera[0], "plate": f"B{n:07d}", "plate_text": f"B{n:07d}", "country": "B",
            "ocr_confidence": 0.95, "dedup_key": f"stolen_vehicles|E{n}", "sightings": 1, "attributes": {}}


def _schedule(settings: GatewayBenchSettings, config, run: str, first: int, cameras, encode, rng,
              topics: dict) -> list[tuple[float, str, bytes, bytes]]:
    """Every record of the offered period, encoded beforehand, as (seconds from the start,
    topic, key, value) in time order: a hit every 1/rate s, its sightings 0.2 s apart after
    it, and (unless it is one that escalates) a REJECT of its delivery 1 s after it."""
    records = []
    start_ms = int(time.time() * 1000)
    for k in range(int(settings.rate * settings.seconds)):
        t = k / settings.rate
        camera = cameras[rng.randrange(len(cameras))]
        escalating = rng.random() < settings.escalating
        zone = None if escalating or rng.random() > 0.2 else rng.choice(("BXL", "ANT", "GNT"))
        hit = _hit(run, first + k, "P1" if escalating else rng.choice(("P2", "P3")), camera, zone)
        key = hit["dedup_key"].encode()   # as the hit-generation job keys hits and sightings
        records.append((t, topics["hits"], key, encode["hit"](hit)))
        for s in range(settings.sightings):
            records.append((t + 0.2 * (s + 1), topics["sightings"], key, encode["sighting"]({
                "hit_id": hit["hit_id"], "read_id": f"{hit['read_id']}-{s}", "camera_id": camera[0],
                "event_time": hit["event_time"] + s + 1, "sightings": s + 2, "dedup_key": hit["dedup_key"]})))
        if not escalating and rng.random() < settings.acted:
            records.append((t + 1.0, topics["events"], hit["hit_id"].encode(), encode["event"]({
                "hit_id": hit["hit_id"], "destination": _destination_of(config, hit, camera[1]), "action": "REJECT",
                "reason": "DUPLICATE", "outcome": None, "note": None, "user": "bench",
                "at": start_ms + int((t + 1.0) * 1000)})))
    records.sort(key=lambda r: r[0])
    return records


def _observe(observed: Observed, raw: list, hits_topic: str, registry) -> None:
    """Decode what the observer collected into the figures' inputs."""
    import schemas
    from connectors.avro import AvroDecoder
    from gateway.records import delivery_id

    messages = AvroDecoder(registry, schemas.load("GatewayMessage"))
    hits = AvroDecoder(registry, schemas.load("Hit"))
    for topic, append, value in raw:
        if topic == hits_topic:
            observed.hit_append[hits.decode(value)["hit_id"]] = append
            continue
        record = messages.decode(value)
        observed.messages += 1
        if record["kind"] != "DELIVERY":
            continue
        observed.deliveries += 1
        delivery = record["delivery"]
        if delivery["ack_deadline"] is not None:
            observed.deadlines[record["delivery_id"]] = int(delivery["ack_deadline"].timestamp() * 1000)
        if delivery["escalated_from"]:
            observed.escalations.append((append, delivery_id(record["hit_id"], delivery["escalated_from"])))
        else:
            if observed.first_delivery.setdefault(record["hit_id"], append) == append:
                observed.routed_at.setdefault(record["hit_id"], int(record["at"].timestamp() * 1000))


def _destination_of(config, hit: dict, province: str) -> str:
    from gateway.labels import hit_labels
    from gateway.routing import choose

    labels = hit_labels(hit, {"province": province}, config.list_owners)
    return choose(config, labels)[0].destination


def _figures(settings: GatewayBenchSettings, observed: Observed, warmup: set, sent: int, seconds: float) -> dict:
    latencies = [observed.first_delivery[h] - observed.hit_append[h] for h in observed.first_delivery
                 if h in observed.hit_append and h not in warmup]
    # Where a delivery's time goes: to the routing step (Kafka, the source, decoding, the
    # shuffle and the wait in front of it), then from it to the destination's topic.
    timed = [h for h in observed.first_delivery if h in observed.hit_append and h in observed.routed_at
             and h not in warmup]
    inward = [observed.routed_at[h] - observed.hit_append[h] for h in timed]
    outward = [observed.first_delivery[h] - observed.routed_at[h] for h in timed]
    late = [append - observed.deadlines[origin] for append, origin in observed.escalations
            if origin in observed.deadlines]
    sizes = observed.state_bytes
    offered = [(t, b) for t, b in sizes if t <= settings.seconds]
    growth = None
    if len(offered) >= 3 and offered[-1][1]:
        third = [b for t, b in offered if t >= settings.seconds * 2 / 3]
        growth = round((third[-1] - third[0]) / offered[-1][1], 3) if len(third) >= 2 else None
    return {
        "hits_offered": sent, "hits_per_s": round(sent / settings.seconds, 1),
        "sightings_per_hit": settings.sightings, "acted_share": settings.acted, "deliveries": observed.deliveries,
        "messages": observed.messages,
        "delivery_p50_ms": percentile(latencies, 50), "delivery_p99_ms": percentile(latencies, 99),
        "delivery_max_ms": max(latencies, default=None), "delivery_samples": len(latencies),
        "to_routing_p50_ms": percentile(inward, 50), "to_routing_p99_ms": percentile(inward, 99),
        "from_routing_p50_ms": percentile(outward, 50), "from_routing_p99_ms": percentile(outward, 99),
        "escalations": len(late), "escalation_late_p50_ms": percentile(late, 50),
        "escalation_late_p99_ms": percentile(late, 99), "escalation_late_max_ms": max(late, default=None),
        "state_bytes": sizes, "state_growth_last_third": growth, **observed.cpu,
        "closed_retention_s": settings.closed_retention_s, "open_retention_s": settings.open_retention_s,
        "parallelism": settings.parallelism, "seconds": round(seconds, 1), "seed": settings.seed,
        "targets": {"delivery_p99_ms": 100, "escalation_late_max_ms": 1000},
    }
