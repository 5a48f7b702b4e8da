"""`feblam live`: the whole system at work on the local stack, with a running summary.

It brings the stack up (unless it runs), applies the contracts and the gateway's
routing configuration, submits the hit-generation job and the Hit Gateway,
starts the simulator writing yesterday's reads to Kafka at a steady rate,
simulated dispatchers who act on some deliveries (so that some are acknowledged
and some escalate), and the dispatch console (its address and a demo login for
every person of the routing configuration are printed: log in as a dispatch
centre and handle hits), then prints a summary line every few seconds:

    [  65 s] reads 3,200  hits 74  deliveries 88 (cic-ant 11, lez-bxl 30, ...)  acknowledged 21
             accepted 9  rejected 3  escalated 4  sightings forwarded 41  refused 0
             history: 2 upkeep passes, 0 days compacted, retro-hits 3

The hit job writes the Parquet history (var/live/history, replaced at each
start), which the history's upkeep (feblam.live_history: compaction and a
retro-hit pass, every minute) keeps as a deployment's timers would; ask it with
`feblam history ... --history var/live/history`.

Ctrl-C (or --for S) stops everything it started: the simulator, the console,
both jobs, and the stack if it was not running before.
"""

from __future__ import annotations

import random
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka import Consumer, Producer

from connectors.kafka_clients import client_config
from feblam.live_console import SIMULATED_SUFFIX, LiveConsole
from feblam.live_history import HistoryUpkeep
from feblam.stack.submission import submit_detached
from feblam.flinkrest import FlinkRest, FlinkRestError
from feblam.stack.settings import PROJECT_ROOT, StackSettings

SAMPLE_CONFIG = PROJECT_ROOT / "flink-conf" / "gateway.yaml"


@dataclass(frozen=True)
class LiveSettings:
    rate: float = 50.0               # reads per second from the simulator
    reads: int = 1_000_000           # the simulator stops after these (hours at the default rate)
    cameras: int = 240
    vehicles: int = 3000
    lez_entries: int = 20_000
    seed: int = 7
    config: Path = SAMPLE_CONFIG
    audit: Path = PROJECT_ROOT / "var" / "live" / "audit"
    history: Path = PROJECT_ROOT / "var" / "live" / "history"
    access_log: Path = PROJECT_ROOT / "var" / "live" / "access.log"
    upkeep_every_s: float = 60.0     # compaction and a retro-hit pass
    dispatchers: bool = True
    console: bool = True             # the dispatch console, with a demo login per person of the configuration
    console_port: int = 8400
    console_accounts: Path = PROJECT_ROOT / "var" / "live" / "console-accounts.yaml"
    ack_share: float = 0.6           # of the deliveries to a dispatch centre, acted on by a dispatcher
    report_every_s: float = 5.0
    duration_s: float | None = None  # None: until Ctrl-C


@dataclass
class Tally:
    """What the summary counts, from the destination topics and the hits topic."""

    hits: int = 0
    deliveries: Counter = field(default_factory=Counter)
    states: Counter = field(default_factory=Counter)
    sightings: int = 0
    refused: int = 0

    def line(self, elapsed_s: float) -> str:
        top = ", ".join(f"{d} {n}" for d, n in self.deliveries.most_common(6))
        more = "" if len(self.deliveries) <= 6 else ", ..."
        return (f"[{elapsed_s:5.0f} s] hits {self.hits:,}  deliveries {sum(self.deliveries.values()):,}"
                f" ({top}{more})  acknowledged {self.states['ACKNOWLEDGED']:,}  accepted {self.states['ACCEPTED']:,}"
                f"  rejected {self.states['REJECTED']:,}  escalated {self.states['ESCALATED']:,}"
                f"  sightings forwarded {self.sightings:,}  refused {self.refused:,}")


def _cli(*args: str, check: bool = True, capture: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "feblam.cli", *args], cwd=PROJECT_ROOT, text=True,
                            capture_output=capture)
    if check and result.returncode != 0:
        raise RuntimeError(f"feblam {' '.join(args)} failed:\n{(result.stdout or '')[-2000:]}{(result.stderr or '')[-2000:]}")
    return result


class Dispatchers:
    """Simulated people at the dispatch centres (the users `<centre>.sim` of the
    configuration): for a share of the deliveries they acknowledge after 5 to 40 s,
    then accept or reject some; the rest is left to escalate, or to the people
    logged in to the console."""

    def __init__(self, settings: LiveSettings, users: dict[str, list[str]], bootstrap: str, registry_url: str):
        from connectors.contracts import encoder
        from connectors.registry import RegistryClient

        self.rng = random.Random(settings.seed)
        self.share = settings.ack_share
        self.users = {d: [u for u in names if u.endswith(SIMULATED_SUFFIX)] for d, names in users.items()}
        self.encode = encoder(RegistryClient(registry_url), "gw.lifecycle-events", "LifecycleEvent",
                              register=True).encode
        self.producer = Producer(client_config({"bootstrap.servers": bootstrap, "linger.ms": 20}))
        self.due: list[tuple[float, dict]] = []

    def delivered(self, message: dict) -> None:
        destination = message["destination"]
        if not destination.startswith("cic-") or not self.users.get(destination) or self.rng.random() > self.share:
            return
        user = self.users[destination][0]
        at = time.monotonic() + self.rng.uniform(5, 40)
        base = {"hit_id": message["hit_id"], "destination": destination, "user": user, "reason": None,
                "outcome": None, "note": None}
        self.due.append((at, {**base, "action": "ACKNOWLEDGE"}))
        roll = self.rng.random()
        if roll < 0.5:
            self.due.append((at + self.rng.uniform(5, 20), {**base, "action": "ACCEPT"}))
        elif roll < 0.6:
            self.due.append((at + self.rng.uniform(5, 20), {**base, "action": "REJECT", "reason": "FALSE_READ",
                                                            "note": "simulated dispatcher: not the plate"}))

    def act(self) -> None:
        now = time.monotonic()
        ready = [event for at, event in self.due if at <= now]
        self.due = [(at, event) for at, event in self.due if at > now]
        for event in ready:
            record = {**event, "at": int(time.time() * 1000)}
            self.producer.produce("gw.lifecycle-events", key=record["hit_id"].encode(), value=self.encode(record))
        self.producer.poll(0)

    def close(self) -> None:
        self.producer.flush(10)


def run_live(settings: LiveSettings, say=print) -> int:
    import schemas
    from connectors.avro import AvroDecoder
    from connectors.registry import RegistryClient
    from gateway.config import parse_config

    stack = StackSettings.current()
    started_stack = _cli("stack", "status", check=False).returncode != 0
    started = time.monotonic()
    jobs: list[str] = []
    simulator = upkeep = console = None
    try:
        if started_stack:
            say("== starting the stack (Kafka, the registry, Flink)")
            _cli("stack", "up", capture=False)
            stack = StackSettings.current()
        say("== contracts and the gateway's routing configuration")
        _cli("schemas", "apply", "--lists", "stolen_vehicles,judicial_alerts,insurance_expired,lez_permits,"
             "lez_vehicle_status")
        _cli("gateway", "config", "apply", str(settings.config))
        config = parse_config(settings.config.read_text(encoding="utf-8"), str(settings.config))
        say("== submitting the hit-generation job and the Hit Gateway")
        # The stack's endpoints, not the jobs' defaults (9092, 8080): a stack on other
        # ports, or a secured one (https), is the one the jobs must read.
        endpoints = ["--bootstrap-servers", stack.bootstrap_servers, "--registry-url", stack.registry_url]
        # This run's history: the simulator's read ids repeat from run to run.
        shutil.rmtree(settings.history, ignore_errors=True)
        settings.history.mkdir(parents=True)
        jobs.append(submit_detached(PROJECT_ROOT / "jobs" / "hit_generation.py",
                                    [*endpoints, "--history", str(settings.history)], parallelism=1))
        jobs.append(submit_detached(PROJECT_ROOT / "jobs" / "hit_gateway.py",
                                    [*endpoints, "--audit", str(settings.audit)], parallelism=1))
        upkeep = HistoryUpkeep(settings.history, settings.access_log, endpoints, f"feblam-live-{time.time_ns()}",
                               settings.upkeep_every_s)
        upkeep.run_pass()   # before the simulator publishes: what earlier runs left is taken in
        upkeep.start()
        # Yesterday's network, so that the history's questions and retro-hits see it.
        yesterday = time.strftime("%Y-%m-%dT%H:00:00Z", time.gmtime(time.time() - 86_400))
        say(f"== simulating {settings.cameras} cameras and {settings.vehicles} vehicles from {yesterday}, "
            f"{settings.rate:g} reads/s (Ctrl-C stops everything)")
        simulator = subprocess.Popen(
            [sys.executable, "-m", "feblam.cli", "simulate", "--kafka", "--rate", str(settings.rate),
             "--reads", str(settings.reads), "--cameras", str(settings.cameras), "--vehicles", str(settings.vehicles),
             "--lez-entries", str(settings.lez_entries), "--seed", str(settings.seed), "--start", yesterday,
             "--quiet"],
            cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL)
        if settings.console:
            console = LiveConsole(settings.console_accounts, settings.console_port, endpoints)
            logins = console.start_with_accounts(config)
            say(f"== the dispatch console: {console.url}  (password for every demo login: {console.password})")
            for user, names in logins.items():
                say(f"     {user:<24} {', '.join(names)}")
        registry = RegistryClient(stack.registry_url)
        messages = AvroDecoder(registry, schemas.load("GatewayMessage"))
        dispatchers = Dispatchers(settings, {d.name: sorted(d.users) for d in config.destinations.values()},
                                  stack.bootstrap_servers, stack.registry_url) if settings.dispatchers else None
        consumer = Consumer(client_config({"bootstrap.servers": stack.bootstrap_servers,
                                           "group.id": f"feblam-live-{time.time_ns()}", "auto.offset.reset": "latest",
                                           "topic.metadata.refresh.interval.ms": 5000}))
        destinations = "|".join(re.escape(d) for d in config.destinations)
        consumer.subscribe([f"^gw\\.({destinations})$", "hits", "gw.refused-events"])
        tally, last = Tally(), time.monotonic()
        try:
            while settings.duration_s is None or time.monotonic() - started < settings.duration_s:
                for message in consumer.consume(500, timeout=0.5):
                    if message.error():
                        continue
                    if message.topic() == "hits":
                        tally.hits += 1
                    elif message.topic() == "gw.refused-events":
                        tally.refused += 1
                    else:
                        _count(tally, messages.decode(message.value()), dispatchers)
                if dispatchers:
                    dispatchers.act()
                if simulator.poll() not in (None, 0):
                    raise RuntimeError(f"the simulator stopped with status {simulator.returncode}")
                if time.monotonic() - last >= settings.report_every_s:
                    last = time.monotonic()
                    say(f"{tally.line(last - started)}  {upkeep.figures.line()}")
        except KeyboardInterrupt:
            say("== stopping")
        finally:
            consumer.close()
            if dispatchers:
                dispatchers.close()
        return 0
    finally:
        if console is not None:
            console.stop()
        if upkeep is not None:
            upkeep.stop()
        if simulator is not None and simulator.poll() is None:
            simulator.terminate()
            simulator.wait(30)
        for job_id in jobs:
            try:
                FlinkRest(stack.flink_rest_url).cancel(job_id)
            except FlinkRestError as error:  # it ended by itself: say so, and stop the rest
                say(f"== job {job_id} was not cancelled: {error}")
        if started_stack:
            _cli("stack", "down", check=False)


def _count(tally: Tally, message: dict, dispatchers: Dispatchers | None) -> None:
    kind = message["kind"]
    if kind == "DELIVERY":
        tally.deliveries[message["destination"]] += 1
        if dispatchers:
            dispatchers.delivered(message)
    elif kind == "STATE":
        tally.states[message["state"]["to_state"]] += 1
    elif kind == "SIGHTING":
        tally.sightings += 1
