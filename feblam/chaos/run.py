"""One chaos run on the local stack (`feblam chaos`).

1. A run of its own: topics named after it, one stolen-vehicle entry for every
   `hit_every`-th read's plate, the job's output contracts registered, the hit job
   submitted with a Parquet history, and, unless `gateway` is off, the Hit
   Gateway on its hits (`feblam.chaos.gateway`), each waited for until it runs.
2. Reads are sent at `rate` per second, Avro, each with a plate of its own: the
   hits they must make follow from the read set alone (one per listed read, and
   no de-duplication, sighting or clone between reads).
3. Meanwhile the faults of `plan_faults` are injected at their offsets, each
   waited for until the service it hit answers again; a consumer notes when each
   hit arrives, and the job's restarts are sampled every second.
4. Once every read is sent, the run waits (at most `settle_s`) until every
   expected hit has arrived and the history holds every read; then the job is
   cancelled and the run's topics deleted, whatever happened.

Figures: missing and unexpected hits, hit messages delivered more than once
(hits are at least once: allowed), duplicate and missing history rows (the
history is exactly once: targets 0), restarts, the longest gap between two new
hits, each fault with how long its service took to answer again, and the
gateway's missing deliveries and audit rows.
"""

from __future__ import annotations

import shutil
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from connectors.kafka_clients import client_config, flush_all, produce
from feblam.chaos.faults import Injected, inject
from feblam.chaos.cluster import cancel, job_account, wait_running, wait_whole
from feblam.chaos.gateway import GatewayLeg
from feblam.chaos.plan import ChaosSettings, plan_faults, plate, read_id
from feblam.chaos.traffic import HISTORY_NOW, Feeder, Observed, RestartMonitor, hit_watch
from feblam.stack.settings import PROJECT_ROOT, StackSettings

JOB = PROJECT_ROOT / "jobs" / "hit_generation.py"
HISTORY_POLL_S = 5.0


@dataclass(frozen=True)
class _Topics:
    reads: str
    prefix: str
    cameras: str
    hits: str
    sightings: str
    dead_letters: str
    refusals: str

    @property
    def stolen(self) -> str:
        return f"{self.prefix}stolen_vehicles"

    def all(self) -> list[str]:
        return [self.reads, self.stolen, self.cameras, self.hits, self.sightings, self.dead_letters, self.refusals]


def run_chaos(settings: ChaosSettings, stack: StackSettings, work_dir: Path, log: Callable[[str], None],
              keep: bool = False) -> dict:
    """One run; its figures. Raises RuntimeError when the run could not be carried
    out (a fault that could not be injected, a job that could not be submitted):
    figures are only given for a run that happened as planned."""
    from connectors.topics import TopicSpec, delete_topics, ensure_topics

    run = f"chaos{uuid.uuid4().hex[:8]}"
    topics = _Topics(f"{run}.reads", f"{run}.ref.", f"{run}.cameras", f"{run}.hits", f"{run}.sightings",
                     f"{run}.dlq", f"{run}.refusals")
    history = work_dir / run / "history"
    faults = plan_faults(settings, stack.flink_taskmanagers)
    parallelism = stack.flink_taskmanagers - 1 if settings.gateway else stack.flink_taskmanagers
    if parallelism < 1:
        raise RuntimeError("the gateway needs a task slot of its own and the stack has one taskmanager: "
                           "`scripts/stack up --taskmanagers 2`, or run without the gateway")
    gateway = GatewayLeg(stack, run, topics.hits, topics.sightings, work_dir / run / "audit") if settings.gateway \
        else None
    log(f"run {run}: {settings.reads:,} reads at {settings.rate:,.0f}/s, faults "
        + ", ".join(f"{f.kind.value}@{f.at_s:.0f}s" for f in faults))
    compact = {"cleanup.policy": "compact"}
    ensure_topics(stack.bootstrap_servers, {
        topics.reads: TopicSpec(2), topics.stolen: TopicSpec(1, compact), topics.cameras: TopicSpec(1, compact),
        topics.hits: TopicSpec(2), topics.sightings: TopicSpec(1), topics.dead_letters: TopicSpec(1),
        topics.refusals: TopicSpec(1)})
    job_id = None
    observed = Observed()
    threads: list = []
    started = time.monotonic()
    try:
        encode, read_id_of = _contracts(stack, topics)
        _load_list(stack, topics, encode["ReferenceEntry"], settings)
        job_id = _submit(stack, topics, history, run, parallelism)
        wait_running(stack, job_id, 300)
        if gateway is not None:
            wait_running(stack, gateway.start(parallelism=1), 300)
            threads.append(gateway.watch(observed))
        log(f"job {job_id} runs{' with the gateway' if gateway else ''}; feeding reads")
        threads += [hit_watch(stack.bootstrap_servers, topics.hits, read_id_of, observed),
                    RestartMonitor(stack.flink_rest_url, job_id, observed)]
        feeder = Feeder(settings, stack.bootstrap_servers, topics.reads, encode["PlateRead"], run, observed)
        for thread in (*threads, feeder):
            thread.start()
        started = time.monotonic()
        injected: list[Injected] = []
        for fault in faults:
            time.sleep(max(0.0, started + fault.at_s - time.monotonic()))
            log(f"{fault.kind.value} (target {fault.target or '-'}) at {time.monotonic() - started:.0f} s; "
                f"{observed.sent:,} reads sent, {len(observed.hit_arrivals):,} hits seen")
            injected.append(inject(fault, stack, started))
            log(f"  back after {injected[-1].back_after_s:.1f} s")
        feeder.join()
        if observed.errors:
            raise RuntimeError("; ".join(observed.errors))
        log(f"all {settings.reads:,} reads sent; waiting for hits and the history")
        expected = {read_id(run, i) for i in range(0, settings.reads, settings.hit_every)}
        deadline = time.monotonic() + settings.settle_s
        while time.monotonic() < deadline and not expected <= {r for _, r in observed.hit_arrivals}:
            time.sleep(1)
        history_counts = _wait_for_history(history, settings.reads, len(expected), deadline)
        figures = _figures(settings, run, job_id, expected, observed, injected, history_counts, started)
        figures["job_at_end"] = job_account(stack, job_id)
        if gateway is not None:
            gateway.wait_for(observed.hit_ids, deadline)
            figures.update(gateway.figures(observed.hit_ids, gateway.wait_for_audit(len(observed.hit_ids), deadline)))
            figures["duration_s"] = round(time.monotonic() - started, 1)
        return figures
    finally:
        for thread in threads:
            thread.stopping.set()
        for job in (job_id, gateway and gateway.job_id):
            if job is not None:
                cancel(stack, job, log)
        if not keep:
            delete_topics(stack.bootstrap_servers, topics.all() + (gateway.all_topics() if gateway else []))
            shutil.rmtree(work_dir / run, ignore_errors=True)
        wait_whole(stack, log)


def _contracts(stack: StackSettings, topics: _Topics) -> tuple[dict, Callable[[bytes], tuple[str, str]]]:
    """Encoders for what the run writes, the job's outputs registered as an operator
    would (the governance step), and how to read a hit's read_id."""
    import schemas
    from connectors import governance
    from connectors.avro import AvroDecoder
    from connectors.contracts import encoder
    from connectors.registry import RegistryClient

    registry = RegistryClient(stack.registry_url)
    refused = [o for o in governance.apply(registry, [governance.Target(t, c) for t, c in (
        (topics.hits, "Hit"), (topics.sightings, "HitSighting"), (topics.dead_letters, "DeadLetter"),
        (topics.refusals, "ReferenceRefusal"))]) if not o.ok]
    if refused:
        raise RuntimeError(f"the registry refused FEBLAM's contracts: {refused}")
    encoders = {"PlateRead": encoder(registry, topics.reads, "PlateRead", register=True).encode,
                "ReferenceEntry": encoder(registry, topics.stolen, "ReferenceEntry", register=True).encode}
    decoder = AvroDecoder(RegistryClient(stack.registry_url), schemas.load("Hit"))

    def ids(value: bytes) -> tuple[str, str]:
        hit = decoder.decode(value)
        return hit["read_id"], hit["hit_id"]

    return encoders, ids


def _load_list(stack: StackSettings, topics: _Topics, encode, settings: ChaosSettings) -> None:
    from confluent_kafka import Producer

    producer = Producer(client_config({"bootstrap.servers": stack.bootstrap_servers, "linger.ms": 5}))
    for i in range(0, settings.reads, settings.hit_every):
        entry_id = f"E{i}"
        produce(producer, topics.stolen, encode({
            "list_name": "stolen_vehicles", "entry_id": entry_id, "op": "UPSERT", "plate": plate(i, settings),
            "country": None, "valid_from": None, "valid_until": None, "severity": None, "zone": None,
            "attributes": {}}), key=entry_id.encode())
        producer.poll(0)
    flush_all(producer, 120, f"entries sent to {topics.stolen}")


def _submit(stack: StackSettings, topics: _Topics, history: Path, run: str, parallelism: int) -> str:
    from feblam.stack.submission import submit_detached

    return submit_detached(JOB, [
        "--bootstrap-servers", stack.bootstrap_servers, "--registry-url", stack.registry_url,
        "--reads-topic", topics.reads, "--reference-prefix", topics.prefix, "--cameras-topic", topics.cameras,
        "--hits-topic", topics.hits, "--sightings-topic", topics.sightings,
        "--dead-letter-topic", topics.dead_letters, "--refusals-topic", topics.refusals,
        "--group-id", f"{run}-job", "--history", str(history),
        "--history-now", HISTORY_NOW], parallelism=parallelism)


def _history_counts(history: Path) -> dict[str, tuple[int, int]]:
    """(rows, distinct ids) of the reads and hits tables, from the committed files only."""
    import duckdb

    counts = {}
    for table, column in (("reads", "read_id"), ("hits", "hit_id")):
        if not list(history.glob(f"{table}/**/part-*")):
            counts[table] = (0, 0)
            continue
        counts[table] = duckdb.connect().execute(
            f"SELECT count(*), count(DISTINCT {column}) FROM "
            f"read_parquet('{history}/{table}/**/part-*', hive_partitioning = true)").fetchone()
    return counts


def _wait_for_history(history: Path, reads: int, hits: int, deadline: float) -> dict[str, tuple[int, int]]:
    """The history's counts once it holds every read and hit (files are committed at
    checkpoints), or at the deadline, whichever comes first."""
    while True:
        counts = _history_counts(history)
        if (counts["reads"][1] >= reads and counts["hits"][1] >= hits) or time.monotonic() > deadline:
            return counts
        time.sleep(HISTORY_POLL_S)


def _figures(settings: ChaosSettings, run: str, job_id: str, expected: set[str], observed: Observed, injected: list[Injected],
             history: dict[str, tuple[int, int]], started: float) -> dict:
    from feblam.bench.rss import this_machine

    seen = [r for _, r in observed.hit_arrivals]
    distinct = set(seen)
    return {
        "run": run,
        "job_id": job_id,
        "reads": settings.reads,
        "rate": settings.rate,
        "seed": settings.seed,
        "hits_expected": len(expected),
        "missing_hits": len(expected - distinct),
        "unexpected_hits": len(distinct - expected),
        "repeated_hit_messages": len(seen) - len(distinct),
        "history_reads": {"rows": history["reads"][0], "distinct": history["reads"][1]},
        "history_hits": {"rows": history["hits"][0], "distinct": history["hits"][1]},
        "duplicate_history_rows": (history["reads"][0] - history["reads"][1]) + (history["hits"][0] - history["hits"][1]),
        "missing_history_rows": (settings.reads - history["reads"][1]) + (len(expected) - history["hits"][1]),
        "restarts": observed.restarts,
        "watch_errors": {"count": observed.watch_errors, "last": observed.last_watch_error},
        "longest_hit_gap_s": _longest_gap(observed, started),
        "faults": [asdict(f) for f in injected],
        "duration_s": round(time.monotonic() - started, 1),
        "machine": this_machine(),
    }


def _longest_gap(observed: Observed, started: float) -> float:
    """The longest time between two new hits (a hit's first arrival) from the start
    of the feed to the last new hit: time with reads going in and nothing new coming
    out. Repeats after a restart are not progress, so they do not close a gap."""
    first: dict[str, float] = {}
    for t, r in observed.hit_arrivals:
        first.setdefault(r, t)
    edges = [started, *sorted(t for t in first.values() if t >= started)]
    return round(max((b - a for a, b in zip(edges, edges[1:])), default=0.0), 1)
