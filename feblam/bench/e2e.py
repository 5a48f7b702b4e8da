"""`feblam bench e2e`: FEBLAM's hit-generation job and a plain Flink SQL join on the
real stack (Kafka, the registry, the standalone Flink cluster), measured alike.

One run:

1. The simulator's network (`feblam.simulate`) is written once: cameras and the
   reference lists' snapshot (every list, `--entries` in all) to compacted
   topics, Avro, keyed by id. Then, as an operator would, the lists' start-up
   snapshot for FEBLAM's job (`feblam reference snapshot`; `snapshot_s`, not
   with `--no-snapshot`). The reads are generated and Avro-encoded in memory
   before anything is timed (the simulator is not what is measured); invalid
   reads are left out, since the SQL baseline cannot dead-letter them.
2. For each engine in turn (FEBLAM, then the baseline), on the same lists and
   the same reads, each engine on a reads topic of its own:
   - the job is submitted (`flink run -py`, detached) and warm-up reads are sent
     until its first output appears: the job is started and, for FEBLAM, every
     list is loaded (spec §8). None of that is timed;
   - throughput: the backlog (`--reads` reads) is sent as fast as Kafka takes it;
     the broker stamps every output record with its append time, and each output
     names its read, so `stats.steady_rate` reads off the job's progress between
     10 % and 90 % of the backlog;
   - latency: once the backlog is done, reads are sent at `--rate` per second for
     `--latency-seconds`, each with its send time as record timestamp; a read's
     latency is its first output's append time minus that;
   - the Flink processes' peak resident memory is sampled throughout;
   - the job is cancelled (always), and waited for until it has ended: one left
     running would hold its task slots while the next engine is measured;
   - its outputs are read back, every partition to its end.
3. Topics are deleted unless `--keep-topics`; one JSON object is returned, and
   the chart is written as a PNG.

A run that does not complete (an engine that times out, a job that cannot be
cancelled, outputs not read to their end in time, a topic Kafka will not
delete) raises, and there are no figures: none are computed on part of a run.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from connectors.kafka_clients import client_config, flush_all, produce
from feblam.bench import stats
from feblam.bench.cpu import CpuMeter, cpu_figures, still_compiling
from feblam.bench.rss import RssSampler, cluster_rss_mb, this_machine

FEBLAM = "feblam"
BASELINE = "baseline"
ENGINES = (FEBLAM, BASELINE)
JOB_FILES = {FEBLAM: "jobs/hit_generation.py", BASELINE: "jobs/baseline_sql_join.py"}
ENDED = ("FINISHED", "CANCELED", "FAILED")  # a Flink job's terminal states
APPEND_TIME = {"message.timestamp.type": "LogAppendTime"}
READ_OUTPUTS_S = 300.0   # reading an engine's outputs back, after its job has stopped
CANCEL_S = 60.0          # a cancelled job reaching a terminal state


@dataclass(frozen=True)
class E2eSettings:
    entries: int = 1_000_000
    reads: int = 1_000_000
    rate: float = 5_000.0
    latency_seconds: float = 30.0
    warmup_reads: int = 2_000
    parallelism: int = 2
    vehicles: int = 50_000
    cameras: int = 1_000
    seed: int = 7
    engines: tuple[str, ...] = ENGINES
    png: Path | None = Path("var/bench/e2e.png")
    timeout_s: float = 1_200.0
    keep_topics: bool = False
    embedded: bool = False
    job_config: Path | None = None   # FEBLAM's list configuration (YAML); the spec's defaults if None
    job_args: tuple[str, ...] = ()   # more options of FEBLAM's job (jobs/hit_generation.py --help)
    restore_seconds: float = 300.0   # the longest wait for matching again after a taskmanager is killed; 0: no kill
    restore_rate: float = 500.0      # reads per second offered meanwhile
    snapshot: bool = True            # FEBLAM's job starts from a snapshot of the lists taken once they are on Kafka

    def __post_init__(self) -> None:
        if self.job_config is not None:
            from udfs.config import load_settings

            load_settings(self.job_config)   # a ConfigError (a ValueError) names the file and the key
        for name in ("entries", "reads", "warmup_reads", "parallelism", "vehicles", "cameras"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not self.rate > 0 or not self.latency_seconds > 0:
            raise ValueError("rate and latency_seconds must be positive")
        if self.restore_seconds < 0 or not self.restore_rate > 0:
            raise ValueError("restore_seconds must be at least 0 and restore_rate positive")
        unknown = set(self.engines) - set(ENGINES)
        if unknown or not self.engines:
            raise ValueError(f"engines: {', '.join(ENGINES)}; got {', '.join(self.engines)}")

    @property
    def latency_reads(self) -> int:
        return int(self.rate * self.latency_seconds)

    @property
    def restore_reads(self) -> int:
        """Reads for the restore phase: none in embedded mode, which has no taskmanager to kill."""
        return 0 if self.embedded else int(self.restore_rate * self.restore_seconds)


@dataclass(frozen=True)
class Endpoints:
    bootstrap_servers: str
    registry_url: str
    flink_rest_url: str
    run_dir: Path


def lez_entries_for(total: int) -> int:
    """The simulator's --lez-entries whose snapshot holds about `total` entries in all."""
    from feblam.simulate.lists import ListSizes

    def size(lez: int) -> int:
        sizes = ListSizes.for_lez(lez)
        return (sizes.lez_vehicle_status + sizes.lez_permits + sizes.stolen_vehicles + sizes.judicial_alerts
                + sizes.insurance_expired)

    low, high = 1, total
    while low < high:
        mid = (low + high) // 2
        if size(mid) < total:
            low = mid + 1
        else:
            high = mid
    return low


@dataclass
class EngineRun:
    """What one engine's run observed."""

    engine: str
    reads_topic: str
    output_topic: str
    job_id: str | None = None
    started: float = 0.0
    ready_s: float | None = None
    outputs: list[tuple[int, str]] = field(default_factory=list)  # (append time ms, read_id)
    sent_ms: dict[str, int] = field(default_factory=dict)         # latency reads: read_id -> send time
    rss_peak_mb: float = 0.0
    rss_by_kind: dict[str, float] = field(default_factory=dict)   # peak MiB per kind of process
    cpu: dict[str, dict] = field(default_factory=dict)   # bench.cpu.cpu_figures over the backlog
    killed_ms: int | None = None   # when a taskmanager was killed for restore_s (wall clock)
    errors: list[str] = field(default_factory=list)


class Log:
    def __init__(self, stream=sys.stderr, quiet: bool = False, name: str = "bench e2e"):
        self.stream = None if quiet else stream
        self.name = name
        self.started = time.monotonic()

    def __call__(self, message: str) -> None:
        if self.stream is not None:
            print(f"{self.name} [{time.monotonic() - self.started:6.1f} s] {message}", file=self.stream, flush=True)


# -- Kafka plumbing ---------------------------------------------------------------------


def end_offsets_total(endpoints: Endpoints, topic: str) -> int:
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(client_config({"bootstrap.servers": endpoints.bootstrap_servers,
                                       "group.id": "feblam-bench-offsets", "enable.auto.commit": False}))
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return sum(consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions)
    finally:
        consumer.close()


def read_outputs(endpoints: Endpoints, topic: str, read_id_of: Callable[[bytes], str],
                 deadline_s: float = READ_OUTPUTS_S) -> list[tuple[int, str]]:
    """Every record of `topic` up to its current end: (broker append time ms, read_id).
    RuntimeError when a partition is not read to its end within `deadline_s`: figures
    on part of the outputs would understate the engine, so there are none."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(client_config({"bootstrap.servers": endpoints.bootstrap_servers,
                                       "group.id": f"feblam-bench-{uuid.uuid4().hex}",
                                       "enable.auto.commit": False, "fetch.max.bytes": 52428800}))
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions}
        left = {p for p, end in ends.items() if end > 0}
        consumer.assign([TopicPartition(topic, p, 0) for p in left])
        outputs = []
        last_error = None
        deadline = time.monotonic() + deadline_s
        while left and time.monotonic() < deadline:
            for message in consumer.consume(10_000, 1.0):
                if message.error():  # mostly passing (a broker restarting); said below if the deadline passes
                    last_error = message.error()
                    continue
                outputs.append((message.timestamp()[1], read_id_of(message.value())))
                if message.offset() >= ends[message.partition()] - 1:
                    left.discard(message.partition())
        if left:
            why = f"; last consumer error: {last_error.str()}" if last_error is not None else ""
            raise RuntimeError(f"{topic}: {len(left)} of {len(ends)} partitions not read to their end "
                               f"within {deadline_s:g} s ({len(outputs):,} outputs read){why}")
        return outputs
    finally:
        consumer.close()


# -- Flink plumbing ---------------------------------------------------------------------


def submit(engine: str, endpoints: Endpoints, job_args: list[str], parallelism: int) -> str:
    from feblam.stack.submission import submit_detached
    from feblam.stack.settings import PROJECT_ROOT

    return submit_detached(PROJECT_ROOT / JOB_FILES[engine], job_args, parallelism)


def free_slots(endpoints: Endpoints) -> int:
    import requests

    return int(requests.get(f"{endpoints.flink_rest_url}/overview", timeout=10).json().get("slots-available", 0))


class EmbeddedJob:
    """A job on the embedded mini-cluster: `python JOB --embedded` in a process group of
    its own (the JVM is its child), for when no cluster is at hand. There is no REST
    API, so progress is read from the output topic."""

    def __init__(self, engine: str, job_args: list[str], parallelism: int, log_path: Path):
        import os

        from feblam.flinkconf import python_path_env
        from feblam.stack.settings import PROJECT_ROOT

        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_path = log_path
        env = {**os.environ, "PATH": python_path_env(sys.executable), "PYTHONPATH": str(PROJECT_ROOT)}
        with log_path.open("w") as out:
            self.process = subprocess.Popen(
                [sys.executable, str(PROJECT_ROOT / JOB_FILES[engine]), *job_args, "--embedded",
                 "--parallelism", str(parallelism)],
                cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.job_id = f"embedded-{self.process.pid}"

    def check(self) -> None:
        if self.process.poll() is not None:
            tail = self.log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"embedded job exited with {self.process.returncode}:\n{tail}")

    def stop(self) -> None:
        """Stop the process group: SIGTERM, then SIGKILL; RuntimeError if it outlives both."""
        import os
        import signal

        for sig, wait_s in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
            if self.process.poll() is not None:
                return
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.process.wait(wait_s)
            except subprocess.TimeoutExpired:
                continue
        if self.process.poll() is None:
            raise RuntimeError(f"embedded job {self.job_id} (process group {self.process.pid}) did not stop "
                               "on SIGTERM nor on SIGKILL")


def quiet_for(endpoints: Endpoints, topic: str, seconds: float) -> Callable[[], bool]:
    """A condition: true once the topic's end offsets have not moved for `seconds`."""
    seen = {"total": -1, "since": time.monotonic()}

    def condition() -> bool:
        total = end_offsets_total(endpoints, topic)
        if total != seen["total"]:
            seen["total"], seen["since"] = total, time.monotonic()
            return False
        return total > 0 and time.monotonic() - seen["since"] >= seconds

    return condition


def job_state(endpoints: Endpoints, job_id: str) -> str:
    from feblam.flinkrest import FlinkRest

    return FlinkRest(endpoints.flink_rest_url).job(job_id)["state"]


def reads_consumed(endpoints: Endpoints, job_id: str) -> int:
    """Records the job's reads source vertex has consumed (Flink REST; refreshed every few
    seconds). Its `read-records` are the records its source read; `write-records` can
    be fewer, when the vertex batches them (FEBLAM's job), so take the larger."""
    from feblam.flinkrest import FlinkRest

    job = FlinkRest(endpoints.flink_rest_url).job(job_id)
    for vertex in job["vertices"]:
        if re.search(r"plate[-_]reads", vertex["name"]):
            metrics = vertex["metrics"]
            return max(int(metrics.get("read-records", 0)), int(metrics.get("write-records", 0)))
    return 0


def cancel(endpoints: Endpoints, job_id: str, timeout_s: float = CANCEL_S) -> str:
    """Cancel the job and wait until it is in a terminal state; that state. A job
    that has already ended is left as it is. RuntimeError, naming the job, when the
    cluster refuses or does not answer, or the job is not ended within `timeout_s`:
    a job left running holds its task slots, and the next engine measured would
    share the machine with it."""
    import requests

    from feblam.flinkrest import FlinkRest, FlinkRestError

    rest = FlinkRest(endpoints.flink_rest_url)
    try:
        try:
            rest.cancel(job_id)
        except FlinkRestError:
            if rest.job(job_id)["state"] not in ENDED:  # refused only because it had ended: done
                raise
        return rest.wait_until_terminal(job_id, timeout_s)
    except (FlinkRestError, requests.RequestException) as error:
        raise RuntimeError(f"job {job_id} could not be cancelled, it may still hold task slots "
                           f"(`feblam jobs cancel {job_id}`): {error}") from error


# -- the run ----------------------------------------------------------------------------


class Reads:
    """The run's reads, Avro-encoded once: warm-up, backlog, latency phase, restore phase."""

    def __init__(self, ids: list[str], values: list[bytes], settings: E2eSettings):
        self.ids = ids
        self.values = values
        w, b = settings.warmup_reads, settings.reads
        self.warmup = range(0, w)
        self.backlog = range(w, w + b)
        self.latency = range(w + b, w + b + settings.latency_reads)
        self.restore = range(self.latency.stop, self.latency.stop + settings.restore_reads)
        self.number = {read_id: i for i, read_id in enumerate(ids)}


def _producer(endpoints: Endpoints):
    from confluent_kafka import Producer

    return Producer(client_config({"bootstrap.servers": endpoints.bootstrap_servers, "linger.ms": 5,
                                   "batch.num.messages": 10000, "queue.buffering.max.messages": 1000000,
                                   "compression.type": "lz4"}))


def _send(producer, topic: str, reads: Reads, indices: range, pacer=None, sent: dict | None = None) -> None:
    for i in indices:
        if pacer is not None:
            pacer.wait()
        timestamp = int(time.time() * 1000)
        produce(producer, topic, reads.values[i], timestamp=timestamp)
        producer.poll(0)
        if sent is not None:
            sent[reads.ids[i]] = timestamp
    flush_all(producer, 120, f"reads sent to {topic}")


def load_network(settings: E2eSettings, endpoints: Endpoints, run: str, log: Log) -> tuple[dict, Reads]:
    """Write cameras and the lists' snapshot to Kafka; generate and encode the reads."""
    from connectors.contracts import encoder as contract_encoder
    from feblam.simulate.kafka_writer import KafkaSink, read_record
    from feblam.simulate.simulation import Simulation, SimulationSettings

    total_reads = settings.warmup_reads + settings.reads + settings.latency_reads + settings.restore_reads
    simulation = Simulation(SimulationSettings(
        reads=total_reads, cameras=settings.cameras, vehicles=settings.vehicles,
        lez_entries=lez_entries_for(settings.entries), seed=settings.seed, invalid_rate=0.0))
    topics = {"reference_prefix": f"bench-{run}-ref.", "cameras": f"bench-{run}-cameras",
              "template_reads": f"bench-{run}-reads-template"}
    sink = KafkaSink(endpoints.bootstrap_servers, endpoints.registry_url, reads_topic=topics["template_reads"],
                     reference_prefix=topics["reference_prefix"], cameras_topic=topics["cameras"])
    for camera in simulation.cameras():
        sink.add("cameras", camera)
    entries = 0
    for update in simulation.reference():
        if update.arrival_ms is not None:
            break  # the snapshot only: updates during the run are not what is measured
        sink.add("reference", update.record)
        entries += 1
        if entries % 200_000 == 0:
            log(f"reference entries sent: {entries:,}")
    sink.flush(600)
    topics["lists"] = sorted(sink.topics()["reference"].values())
    log(f"{entries:,} reference entries and {sink.counts['cameras']} cameras on Kafka")
    if settings.snapshot and FEBLAM in settings.engines:
        topics["snapshots"], topics["snapshot_s"] = _take_snapshot(endpoints, topics, run, log)
    log(f"generating {total_reads:,} reads")
    encoder = contract_encoder(sink.registry, topics["template_reads"], "PlateRead", register=True)
    ids, values = [], []
    for read in simulation.reads():
        ids.append(read.record["read_id"])
        values.append(encoder.encode(read_record(read.record)))
    topics["entries"] = entries
    return topics, Reads(ids, values, settings)


def _take_snapshot(endpoints: Endpoints, topics: dict, run: str, log: Log) -> tuple[str, float]:
    """What an operator does once a big list is on Kafka (`feblam reference snapshot`):
    the lists' start-up snapshot, in a folder of the run's own; the folder and the
    seconds it took."""
    from connectors.reference.snapshot import take_kafka_snapshot

    root = Path("var/bench/snapshots").resolve() / run
    started = time.monotonic()
    snapshot = take_kafka_snapshot(endpoints.bootstrap_servers, endpoints.registry_url, topics["reference_prefix"],
                                   topics["cameras"], root,
                                   progress=lambda seen: log(f"snapshot: {seen.records:,} records read"))
    seconds = round(time.monotonic() - started, 1)
    log(f"snapshot of {snapshot.entries:,} entries taken in {seconds} s")
    return str(root), seconds


def _apply_contracts(endpoints: Endpoints, engine_run: EngineRun) -> None:
    """What an operator does before submitting FEBLAM's job: the governance step for its
    topics. The reads' contract too: the job decodes reads of its version in Java
    (connectors.read_fields), and the reads on the run's topic are the template's bytes,
    written with the same id (the registry gives one schema one id in every subject)."""
    from connectors import governance
    from connectors.registry import RegistryClient

    wanted = [governance.Target(engine_run.reads_topic, "PlateRead"), governance.Target(engine_run.output_topic, "Hit"),
              *(governance.Target(f"{engine_run.reads_topic}.{name}", contract)
                for name, contract in (("dlq", "DeadLetter"), ("sightings", "HitSighting"),
                                       ("refusals", "ReferenceRefusal")))]
    refused = [o for o in governance.apply(RegistryClient(endpoints.registry_url), wanted) if not o.ok]
    if refused:
        raise RuntimeError(f"the registry refused FEBLAM's contracts: {refused}")


def _job_args(engine: str, endpoints: Endpoints, topics: dict, engine_run: EngineRun, group: str,
              settings: E2eSettings) -> list[str]:
    common = ["--bootstrap-servers", endpoints.bootstrap_servers, "--registry-url", endpoints.registry_url,
              "--reads-topic", engine_run.reads_topic, "--group-id", group]
    if engine == FEBLAM:
        config = ["--config", str(Path(settings.job_config).resolve())] if settings.job_config else []
        if "snapshots" in topics:
            config += ["--reference-snapshots", topics["snapshots"]]
        return [*common, *config, "--reference-prefix", topics["reference_prefix"], "--cameras-topic", topics["cameras"],
                "--hits-topic", engine_run.output_topic, "--dead-letter-topic", f"{engine_run.reads_topic}.dlq",
                "--sightings-topic", f"{engine_run.reads_topic}.sightings",
                "--refusals-topic", f"{engine_run.reads_topic}.refusals", *settings.job_args]
    return [*common, "--reference-pattern", re.escape(topics["reference_prefix"]) + ".*",
            "--output-topic", engine_run.output_topic]


def _read_id_of(engine: str, registry_url: str) -> Callable[[bytes], str]:
    if engine == BASELINE:
        return lambda value: json.loads(value)["read_id"]
    import schemas
    from connectors.avro import AvroDecoder
    from connectors.registry import RegistryClient

    decoder = AvroDecoder(RegistryClient(registry_url), schemas.load("Hit"))
    return lambda value: decoder.decode(value)["read_id"]


def _wait(what: str, condition: Callable[[], bool], deadline: float, check: Callable[[], None],
          poll_s: float = 1.0) -> None:
    while not condition():
        check()
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(poll_s)


def run_engine(engine: str, settings: E2eSettings, endpoints: Endpoints, topics: dict, reads: Reads,
               run: str, log: Log) -> EngineRun:
    from connectors.topics import TopicSpec, ensure_topics
    from feblam.simulate.kafka_writer import RatePacer

    p = settings.parallelism
    engine_run = EngineRun(engine, f"bench-{run}-{engine}-reads", f"bench-{run}-{engine}-out")
    side_topics = [f"{engine_run.reads_topic}.{name}" for name in ("dlq", "sightings", "refusals")]
    topics.setdefault("created", []).extend([engine_run.reads_topic, engine_run.output_topic, *side_topics])
    # The broker stamps each output with its append time: when the job wrote it.
    ensure_topics(endpoints.bootstrap_servers, {engine_run.reads_topic: TopicSpec(p),
                                                engine_run.output_topic: TopicSpec(p, APPEND_TIME),
                                                **{topic: TopicSpec() for topic in side_topics}})
    if engine == FEBLAM:
        _apply_contracts(endpoints, engine_run)
    producer = _producer(endpoints)
    deadline = time.monotonic() + settings.timeout_s
    embedded: EmbeddedJob | None = None
    if not settings.embedded:
        # Other jobs may share the cluster: wait for the slots, or the job restarts until it gets them.
        _wait(f"{p} free task slots", lambda: free_slots(endpoints) >= p, min(deadline, time.monotonic() + 300),
              lambda: None, poll_s=2.0)
    engine_run.started = time.monotonic()
    job_args = _job_args(engine, endpoints, topics, engine_run, f"bench-{run}-{engine}", settings)
    if settings.embedded:
        embedded = EmbeddedJob(engine, job_args, p, Path("var/bench") / f"{run}-{engine}.log")
        engine_run.job_id = embedded.job_id
        sampler = RssSampler(endpoints.run_dir, groups=[embedded.process.pid], kind="embedded").start()
        meter = CpuMeter(endpoints.run_dir, extra=[("embedded", embedded.process.pid)])
    else:
        sampler = RssSampler(endpoints.run_dir).start()
        meter = CpuMeter(endpoints.run_dir)
    try:
        if embedded is None:
            engine_run.job_id = submit(engine, endpoints, job_args, p)
        log(f"{engine}: job {engine_run.job_id} submitted; warm-up reads until its first output")

        def alive() -> None:
            if embedded is not None:
                embedded.check()
                return
            state = job_state(endpoints, engine_run.job_id)
            if state in ENDED:
                raise RuntimeError(f"{engine}: job {engine_run.job_id} is {state} (see var/log/flink-*.log)")

        def consumed(count: int) -> Callable[[], bool]:
            if embedded is not None:  # no REST API: the outputs have stopped coming
                return quiet_for(endpoints, engine_run.output_topic, 5.0)
            return lambda: reads_consumed(endpoints, engine_run.job_id) >= count

        _send(producer, engine_run.reads_topic, reads, reads.warmup)
        _wait("the first output", lambda: end_offsets_total(endpoints, engine_run.output_topic) > 0, deadline, alive)
        engine_run.ready_s = round(time.monotonic() - engine_run.started, 1)
        _wait("the warm-up reads", consumed(len(reads.warmup)), deadline, alive)
        log(f"{engine}: ready after {engine_run.ready_s} s; sending the backlog of {len(reads.backlog):,} reads")
        before = meter.snapshot()
        _send(producer, engine_run.reads_topic, reads, reads.backlog)
        _wait("the backlog", consumed(reads.backlog.stop), deadline, alive)
        engine_run.cpu = cpu_figures(before, meter.snapshot())
        if (warning := still_compiling(engine_run.cpu)) is not None:
            log(f"{engine}: {warning}")
        log(f"{engine}: backlog consumed; {settings.latency_reads:,} reads at {settings.rate:g}/s")
        _send(producer, engine_run.reads_topic, reads, reads.latency, RatePacer(settings.rate), engine_run.sent_ms)
        _wait("the latency reads", consumed(reads.latency.stop), deadline, alive)
        time.sleep(3)  # outputs of the last reads leave the sink (linger, network buffers)
        if len(reads.restore):
            _restore(producer, engine_run, reads, settings, endpoints, log)
    finally:
        try:
            if embedded is not None:
                embedded.stop()
            elif engine_run.job_id:
                cancel(endpoints, engine_run.job_id)
        finally:
            engine_run.rss_peak_mb = sampler.stop()
            engine_run.rss_by_kind = {kind: round(mb, 1) for kind, mb in sampler.peak_mb_by_kind.items()}
            if engine_run.killed_ms is not None:
                from feblam.chaos.cluster import wait_whole
                from feblam.stack.settings import StackSettings

                wait_whole(StackSettings.current(), log)   # the next engine gets live slots only
    engine_run.outputs = read_outputs(endpoints, engine_run.output_topic, _read_id_of(engine, endpoints.registry_url))
    log(f"{engine}: {len(engine_run.outputs):,} outputs, peak RSS {engine_run.rss_peak_mb:,.0f} MB")
    return engine_run


def _restore(producer, engine_run: EngineRun, reads: Reads, settings: E2eSettings, endpoints: Endpoints,
             log: Log) -> None:
    """Kill a taskmanager the job runs in (kill -9; the stack's supervisor starts a new one), then offer
    the restore reads at `restore_rate` until outputs come again or they run out.
    Every read before is consumed and its outputs written, so an output after the
    kill is the restored job's: `figures` takes restore_s from the first."""
    from feblam.chaos.faults import inject
    from feblam.chaos.plan import Fault, FaultKind
    from feblam.simulate.kafka_writer import RatePacer
    from feblam.stack.settings import StackSettings

    stack = StackSettings.current()
    target = _taskmanager_running(stack, endpoints, engine_run.job_id)
    before = end_offsets_total(endpoints, engine_run.output_topic)
    engine_run.killed_ms = int(time.time() * 1000)
    injected = inject(Fault(0.0, FaultKind.TASKMANAGER_KILL, target=target), stack, time.monotonic())
    log(f"{engine_run.engine}: {injected.target} killed, replaced after {injected.back_after_s} s; reads at "
        f"{settings.restore_rate:g}/s until outputs come again (at most {settings.restore_seconds:g} s)")
    pacer = RatePacer(settings.restore_rate)
    second = max(1, int(settings.restore_rate))   # look for outputs about once a second
    for start in range(reads.restore.start, reads.restore.stop, second):
        _send(producer, engine_run.reads_topic, reads, range(start, min(start + second, reads.restore.stop)), pacer)
        if end_offsets_total(endpoints, engine_run.output_topic) > before:
            break
    time.sleep(3)   # the outputs of the last reads leave the sink


def _taskmanager_running(stack, endpoints: Endpoints, job_id: str) -> int:
    """The stack's taskmanager (1-based, as its daemons) that runs the job's first subtask:
    Flink names a taskmanager by its RPC address, which one of the daemon's processes listens on."""
    import psutil
    import requests

    from feblam.stack.services import Flink

    rest = endpoints.flink_rest_url
    vertex = requests.get(f"{rest}/jobs/{job_id}", timeout=10).json()["vertices"][0]["id"]
    subtask = requests.get(f"{rest}/jobs/{job_id}/vertices/{vertex}", timeout=10).json()["subtasks"][0]
    port = int(subtask["taskmanager-id"].split(":")[1].split("-")[0])
    daemons = Flink(stack).daemons
    for index in range(1, len(daemons)):
        for pid in daemons[index].descendant_pids():
            try:
                if any(c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN
                       for c in psutil.Process(pid).net_connections(kind="tcp")):
                    return index
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
    raise RuntimeError(f"no taskmanager of the stack listens on {port}, where job {job_id} runs")


def restore_s(engine_run: EngineRun) -> float | None:
    """Seconds from the taskmanager's kill to the first output appended after it."""
    if engine_run.killed_ms is None:
        return None
    after = [t for t, _ in engine_run.outputs if t > engine_run.killed_ms]
    return round((min(after) - engine_run.killed_ms) / 1000, 1) if after else None


def figures(engine_run: EngineRun, reads: Reads) -> dict:
    """The JSON figures of one engine: throughput, outputs, latency, memory."""
    backlog = reads.backlog
    observed = [(t, reads.number[r] - backlog.start) for t, r in engine_run.outputs
                if r in reads.number and backlog.start <= reads.number[r] < backlog.stop]
    curve = stats.progress(observed)
    rate = stats.steady_rate(curve, len(backlog))
    t10, t90 = stats.crossing(curve, 0.1 * len(backlog)), stats.crossing(curve, 0.9 * len(backlog))
    if t10 is not None and t90 is not None and t90 > t10:
        in_window = sum(1 for t, _ in observed if t10 * 1000 <= t <= t90 * 1000)
        hits_rate = in_window / (t90 - t10)
    else:
        hits_rate = None
    # Only outputs from before the kill of the restore phase: after it the job replays
    # from its last checkpoint, and a read whose candidate was folded into another hit
    # the first time may make the hit the second time (the order in which the replayed
    # reads of two subtasks meet can differ), which would count the outage as latency.
    before_kill = engine_run.killed_ms if engine_run.killed_ms is not None else float("inf")
    first: dict[str, int] = {}
    for t, read_id in engine_run.outputs:
        if read_id in engine_run.sent_ms and t < before_kill and (read_id not in first or t < first[read_id]):
            first[read_id] = t
    latencies = [t - engine_run.sent_ms[r] for r, t in first.items()]
    return {
        "reads_per_s": None if rate is None else round(rate, 1),
        "hits_per_s": None if hits_rate is None else round(hits_rate, 1),
        **stats.latency_summary(latencies),
        "rss_mb": round(engine_run.rss_peak_mb, 1),
        "rss_mb_by_kind": engine_run.rss_by_kind,
        "cpu_cores_by_kind": engine_run.cpu.get("cpu_cores_by_kind", {}),
        "cpu_cores_by_thread": engine_run.cpu.get("cpu_cores_by_thread", {}),
        "outputs": len(engine_run.outputs),
        "ready_s": engine_run.ready_s,
        "restore_s": restore_s(engine_run),
        "job_id": engine_run.job_id,
        "_series": {"throughput": stats.rate_series(stats.progress(observed, 1000)), "latencies_ms": latencies},
    }


def run_e2e(settings: E2eSettings, endpoints: Endpoints, log: Log) -> dict:
    """Run the benchmark; the result dict (see `feblam bench e2e --help`). Any failure
    (an engine that times out, a job that cannot be cancelled, outputs not read to
    their end) raises: there are no figures of a run that did not complete."""
    from connectors.topics import delete_topics

    run = uuid.uuid4().hex[:8]
    started = time.monotonic()
    idle_rss = cluster_rss_mb(endpoints.run_dir)
    topics: dict = {"created": []}
    results: dict[str, dict] = {}
    try:
        network, reads = load_network(settings, endpoints, run, log)
        topics.update(network)
        for engine in settings.engines:
            engine_run = run_engine(engine, settings, endpoints, topics, reads, run, log)
            results[engine] = figures(engine_run, reads)
    finally:
        if "snapshots" in topics:
            shutil.rmtree(topics["snapshots"], ignore_errors=True)
        if not settings.keep_topics:
            delete_topics(endpoints.bootstrap_servers,
                          [*topics.get("created", []), *topics.get("lists", []),
                           *[t for k, t in topics.items() if k in ("cameras", "template_reads")]])
    result: dict = {}
    main = results.get(FEBLAM) or {}
    base = results.get(BASELINE) or {}
    for key in ("reads_per_s", "hits_per_s", "p50_ms", "p99_ms", "max_ms", "latency_samples", "rss_mb",
                "rss_mb_by_kind", "cpu_cores_by_kind", "cpu_cores_by_thread", "outputs", "ready_s", "restore_s"):
        result[key] = main.get(key)
    result.update({
        "reference_entries": topics.get("entries"),
        "snapshot_s": topics.get("snapshot_s"),
        "parallelism": settings.parallelism,
        "offered_reads_per_s": settings.rate,
        "backlog_reads": settings.reads,
        "latency_reads": settings.latency_reads,
    })
    for key in ("reads_per_s", "hits_per_s", "p50_ms", "p99_ms", "max_ms", "rss_mb", "rss_mb_by_kind",
                "cpu_cores_by_kind", "cpu_cores_by_thread", "outputs", "ready_s", "restore_s"):
        result[f"baseline_{key}"] = base.get(key)
    if result["reads_per_s"] and result["baseline_reads_per_s"]:
        result["ratio"] = round(result["reads_per_s"] / result["baseline_reads_per_s"], 3)
    else:
        result["ratio"] = None
    result.update({"rss_mb_before": round(idle_rss, 1), **this_machine(), "seed": settings.seed,
                   "job_config": str(settings.job_config) if settings.job_config else None,
                   "job_args": list(settings.job_args),
                   "flink": "embedded mini-cluster" if settings.embedded else "standalone cluster",
                   "seconds": round(time.monotonic() - started, 1)})
    if settings.png is not None:
        from feblam.bench.chart import write_chart

        write_chart(settings.png, {engine: r["_series"] for engine, r in results.items()})
        result["png"] = str(settings.png)
    return result
