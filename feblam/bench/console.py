"""`feblam bench console`: the dispatch console under a centre's load, measured in the browser.

A run has topics and destinations of its own (a centre and the national centre,
names prefixed with the run's id). It submits the Hit Gateway, starts `feblam
console serve`, and offers `open_deliveries` P2 hits for the centre (nobody
acknowledges them; P2 does not escalate here), waiting until the console holds
them all. Then a headless Chromium logs in as the centre's dispatcher and, while
`rate` new hits a second are offered for `seconds` seconds, acknowledges one of
the waiting deliveries every `action_every_s` seconds until the offer ends, the way
a person does: select the card, press Acknowledge.

Figures, from the page itself (`window.feblam`, console/static/console.js):
- `new_hit_p50_ms`, `new_hit_p99_ms`, `new_hit_max_ms`: the browser's clock when a
  new card was on screen, minus the delivery's time (`at` of its DELIVERY record,
  the gateway's clock when it made the delivery; one machine, one clock), for
  every hit offered during the load (`new_hits_shown` of `new_hits_offered`);
- `action_p50_ms`, `action_p99_ms`, `action_max_ms`: from the press of the button
  to the gateway's confirmation shown on the page (the console answers once the
  gateway's STATE record came back), for `actions` actions, all made under the load;
- `open_deliveries`, `rate`, `seconds`, and the machine.

Targets (the console issue): a new hit within 500 ms (p99), an action confirmed
within 300 ms. Needs the stack, selenium and Debian's chromium (scripts/setup).
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from connectors.kafka_clients import client_config, flush_all, produce
from feblam.bench.e2e import Endpoints, Log, cancel
from feblam.bench.stats import percentile
from feblam.live_console import ConsoleProcess, free_port
from feblam.stack.settings import PROJECT_ROOT
from feblam.stack.submission import submit_detached

USER, PASSWORD = "bench.dispatcher", "bench console password"


@dataclass(frozen=True)
class ConsoleBenchSettings:
    open_deliveries: int = 1000
    rate: float = 50.0
    seconds: float = 30.0
    action_every_s: float = 1.0
    port: int = 0                # 0: a free one
    seed: int = 7

    def __post_init__(self) -> None:
        if self.open_deliveries < 1 or self.rate <= 0 or self.seconds <= 0 or self.action_every_s <= 0:
            raise ValueError("--open-deliveries, --rate, --seconds and --action-every must be positive")


def _config(run: str) -> str:
    return (f"national: {run}-nat\ndestinations:\n  {run}-nat: {{users: [{USER}]}}\n"
            f"  {run}-lie: {{display_name: \"CIC Liège (bench)\", users: [{USER}], escalate_to: {run}-nat}}\n"
            f"route:\n  destination: {run}-lie\n  ack_timeout: {{P1: 60 s}}\n")


def run_console_bench(settings: ConsoleBenchSettings, endpoints: Endpoints, work: Path, log: Log) -> dict:
    from connectors.contracts import encoder
    from connectors.gateway_admin import apply_config
    from connectors.registry import RegistryClient
    from connectors.topics import COMPACTED, TopicSpec, delete_topics, ensure_topics
    from console.accounts import hash_password
    from feblam.bench.browser import chromium
    from feblam.bench.rss import this_machine
    from gateway.config import destination_topic

    run = f"c{uuid.uuid4().hex[:6]}"
    registry = RegistryClient(endpoints.registry_url)
    topics = {name: f"{run}.{name}" for name in ("hits", "sightings", "events", "cameras", "config", "refused",
                                                   "dead-inputs", "dead-deliveries")}
    made = [*topics.values(), destination_topic(f"{run}-nat"), destination_topic(f"{run}-lie")]
    job_id = console = browser = None
    try:
        ensure_topics(endpoints.bootstrap_servers, {
            topic: TopicSpec(1, COMPACTED if name in ("cameras", "config") else {}) for name, topic in topics.items()})
        apply_config(endpoints.bootstrap_servers, registry, _config(run), "bench", "bench", topics={
            "lifecycle-events": topics["events"], "refused-events": topics["refused"],
            "gateway-config": topics["config"], "dead-deliveries": topics["dead-deliveries"],
            "gateway-dead-inputs": topics["dead-inputs"]})
        job_id = submit_detached(PROJECT_ROOT / "jobs" / "hit_gateway.py", [
            "--bootstrap-servers", endpoints.bootstrap_servers, "--registry-url", endpoints.registry_url,
            "--hits-topic", topics["hits"], "--sightings-topic", topics["sightings"],
            "--lifecycle-events-topic", topics["events"], "--cameras-topic", topics["cameras"],
            "--config-topic", topics["config"], "--refused-events-topic", topics["refused"],
            "--dead-inputs-topic", topics["dead-inputs"], "--group-id", f"{run}-gateway"], parallelism=1)
        log(f"gateway {job_id} submitted; starting the console")
        accounts = work / f"{run}-accounts.yaml"
        accounts.write_text(f"users:\n  {USER}: {{password: \"{hash_password(PASSWORD)}\", "
                            f"destinations: [{run}-lie, {run}-nat]}}\n", encoding="utf-8")
        console = ConsoleProcess([
            "--bootstrap-servers", endpoints.bootstrap_servers, "--registry-url", endpoints.registry_url,
            "--accounts", str(accounts), "--config-topic", topics["config"], "--lifecycle-events-topic",
            topics["events"], "--refused-events-topic", topics["refused"], "--cameras-topic", topics["cameras"]],
            settings.port or free_port(), work / f"{run}-console.log")
        console.start()
        hits = _Hits(endpoints.bootstrap_servers, topics["hits"],
                     encoder(registry, topics["hits"], "Hit", register=True).encode, run)
        log(f"offering {settings.open_deliveries:,} deliveries to wait on the board")
        hits.offer(settings.open_deliveries, rate=None)
        _wait_for_open(console, settings.open_deliveries, 300)
        browser = chromium()
        browser.set_script_timeout(30)
        _log_in(browser, console.url)
        _wait(browser, f"return window.feblam.cards.size >= {settings.open_deliveries}", 120)
        log(f"page shows {settings.open_deliveries:,} open deliveries; {settings.rate:g} hits/s for "
            f"{settings.seconds:g} s, an action every {settings.action_every_s:g} s")
        offer = threading.Thread(target=hits.offer, args=(int(settings.rate * settings.seconds), settings.rate),
                                 daemon=True)
        offer.start()
        while offer.is_alive():   # the actions are all under the load
            next_at = time.monotonic() + settings.action_every_s
            _acknowledge(browser)
            time.sleep(max(0.0, next_at - time.monotonic()))
        offer.join()
        offered = hits.offered_during_load
        _wait(browser, f"return window.feblam.shown.length >= {offered}", 60, fail=False)
        shown = browser.execute_script("return window.feblam.shown")
        actions = browser.execute_script("return window.feblam.actions")
        new_hit_ms = [s["shown_at"] - s["delivered_at"] for s in shown]
        action_ms = [a["ms"] for a in actions if a["status"] == 200]
        return {
            "open_deliveries": settings.open_deliveries, "rate": settings.rate, "seconds": settings.seconds,
            "new_hits_offered": offered, "new_hits_shown": len(shown),
            "new_hit_p50_ms": _rounded(percentile(new_hit_ms, 50)), "new_hit_p99_ms": _rounded(percentile(new_hit_ms, 99)),
            "new_hit_max_ms": _rounded(max(new_hit_ms, default=None)),
            "actions": len(actions), "actions_confirmed": len(action_ms),
            "action_p50_ms": _rounded(percentile(action_ms, 50)), "action_p99_ms": _rounded(percentile(action_ms, 99)),
            "action_max_ms": _rounded(max(action_ms, default=None)),
            "targets": {"new_hit_p99_ms": 500, "action_p99_ms": 300}, "machine": this_machine(),
        }
    finally:
        if browser is not None:
            browser.quit()
        if console is not None:
            console.stop()
        if job_id is not None:
            cancel(endpoints, job_id)
        delete_topics(endpoints.bootstrap_servers, made)


def _rounded(value):
    return None if value is None else round(value, 1)


class _Hits:
    """Hits for the bench's centre, each with a plate of its own."""

    def __init__(self, bootstrap: str, topic: str, encode, run: str):
        from confluent_kafka import Producer

        self.topic, self.encode, self.run = topic, encode, run
        self.producer = Producer(client_config({"bootstrap.servers": bootstrap, "linger.ms": 0}))
        self.count = 0
        self.offered_during_load = 0

    def offer(self, n: int, rate: float | None) -> None:
        """`n` hits, at `rate` a second (None: as fast as they go)."""
        started = time.monotonic()
        for i in range(n):
            if rate is not None:
                time.sleep(max(0.0, started + i / rate - time.monotonic()))
            self.count += 1
            hit_id = f"{self.run}-h{self.count:06d}"
            produce(self.producer, self.topic, self.encode(_hit(hit_id, self.count)), key=hit_id.encode())
            self.producer.poll(0)
            if rate is not None:
                self.offered_during_load += 1
                self.producer.flush(1)   # each hit leaves now, as the hit job's do
        flush_all(self.producer, 60, f"hits sent to {self.topic}")


def _hit(hit_id: str, n: int) -> dict:
    return {"hit_id": hit_id, "read_id": f"r-{hit_id}", "list_name": "stolen_vehicles", "entry_id": f"E{n}",
            "match_kind": "EXACT", "substitutions": 0, "severity": 70, "zone": None, "score": 67, "priority": "P2",
            "explanation": [{"factor": "severity", "value": 70.0}, {"factor": "raw", "value": 70.0},
                            {"factor": "ocr_confidence", "value": 0.9}, {"factor": "score", "value": 67.0}],
            "event_time": int(time.time() * 1000), "camera_id": "CAM-BENCH", "plate": f"B{n:06d}",
            "plate_text": f"B{n:06d}", "country": "B", "ocr_confidence": 0.9, "dedup_key": hit_id, "sightings": 1,
            "attributes": {"instructions": "Intercept and check the vehicle; reported stolen"}, "retro": False}


def _wait_for_open(console: ConsoleProcess, n: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while (open_now := console.health()["open"]) < n:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the console held {open_now} of {n} open deliveries after {timeout_s:.0f} s")
        time.sleep(1)


def _log_in(browser, url: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(url)
    _wait(browser, "return !document.getElementById('login-view').hidden", 30)
    browser.find_element(By.ID, "login-user").send_keys(USER)
    browser.find_element(By.ID, "login-password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "#login button[type=submit]").click()
    _wait(browser, "return document.getElementById('link').textContent === 'live'", 60)


def _acknowledge(browser) -> None:
    """Select a waiting card on screen and press Acknowledge, as a person does; wait for
    the answer shown. The card is a NEW one from the middle of the list, since new hits
    push the rows down. The row under the pointer can move between aiming and clicking,
    as it can for a person, so the delivery acted on is whichever NEW one got selected:
    the action goes to the hit the detail shows."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    before = browser.execute_script("return window.feblam.actions.length")
    for _ in range(10):
        delivery_id = browser.execute_script(
            "const rows = [...document.querySelectorAll('#cards .card')].slice(50);"
            "const row = rows.find(r => window.feblam.cards.get(r.dataset.id)?.state === 'NEW');"
            "return row ? row.dataset.id : null;")
        if delivery_id is None:
            raise RuntimeError("no NEW delivery left on the page to acknowledge")
        try:
            browser.find_element(By.CSS_SELECTOR, f'#cards .card[data-id="{delivery_id}"]').click()
        except StaleElementReferenceException:
            continue
        _wait(browser, "return window.feblam.detail && window.feblam.detail.delivery_id === window.feblam.selected", 30)
        if browser.execute_script("return window.feblam.detail.state === 'NEW'"):
            break
    else:
        raise RuntimeError("ten clicks in a row selected no NEW delivery")
    browser.find_element(By.CSS_SELECTOR, "#actions button[data-action=ACKNOWLEDGE]").click()
    _wait(browser, f"return window.feblam.actions.length > {before}", 30)


def _wait(browser, script: str, timeout_s: float, fail: bool = True) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if browser.execute_script(script):
            return True
        time.sleep(0.05)
    if fail:
        raise RuntimeError(f"the page did not get there within {timeout_s:.0f} s: {script}")
    return False
