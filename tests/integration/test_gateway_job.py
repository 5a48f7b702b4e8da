"""The Hit Gateway job on the real stack: hits routed to exactly the destinations of the
tree, a covert hit to its owner alone, an unacknowledged P1 escalated, an accepted hit
told to the others, feedback on a false read, every invalid event refused with its
reason, a new configuration applied while the job runs, and the audit in Parquet."""

from __future__ import annotations

import time

import duckdb
import pytest

from connectors.audit_report import gateway_figures
from connectors.dead_letters import HEADROOM_BYTES
from connectors.topics import KAFKA_DEFAULT_MAX_MESSAGE_BYTES, max_message_bytes

from feblam.stack.settings import StackSettings

from .gatewayjob import GatewayRun, hit
from .hitjob import cancel, wait_running

CONFIG = """\
national: {run}-nat
destinations:
  {run}-nat: {users: [n1]}
  {run}-prov: {users: [p1], escalate_to: {run}-nat}
  {run}-owner: {users: [o1]}
  {run}-lez: {users: [l1]}
list_owners: {stolen_vehicles: {run}-owner}
unknown_hit_grace: 3 s
route:
  destination: {run}-nat
  ack_timeout: {P1: 4 s, P2: 10 min}
  routes:
    - {matchers: ['match_kind =~ "LEZ_.*"'], destination: {run}-lez, ack_timeout: none}
    - {matchers: ['list_name = "judicial_alerts"'], destination: {run}-owner, continue: true, ack_timeout: none}
    - {matchers: ['province = "Antwerpen"', 'priority =~ "P[12]"'], destination: {run}-prov}
"""
ALL = 10**6  # read a topic to its end (until the timeout)
NEW_ROUTE = "    - {matchers: ['list_name = \"new_list\"'], destination: {run}-lez, ack_timeout: none}\n"


def kinds(messages) -> list[tuple[str, str]]:
    return sorted((m["hit_id"], m["kind"]) for m in messages)


def test_gateway_routes_follows_and_audits(stack, new_topic, tmp_path):
    run = GatewayRun(stack, new_topic, CONFIG)
    audit = tmp_path / "audit"
    try:
        run.apply()
        run.camera("C1", "Antwerpen")
        run.camera("C2", "Namur")
        run.flush()
        job_id = run.submit("--audit", str(audit), "--parallelism", "2")
        try:
            # What the gateway refuses it keeps whole: its two topics take more than their inputs.
            sizes = max_message_bytes(stack.bootstrap_servers, [run.dead_inputs, run.refused])
            assert sizes == {run.dead_inputs: KAFKA_DEFAULT_MAX_MESSAGE_BYTES + HEADROOM_BYTES,
                             run.refused: KAFKA_DEFAULT_MAX_MESSAGE_BYTES + HEADROOM_BYTES}
            wait_running(stack, job_id)
            _scenario(run, audit)
        finally:
            cancel(stack, job_id)
    finally:
        run.cleanup()


def _scenario(run: GatewayRun, audit) -> None:
    owner_attrs = {"owner": run.name("owner"), "covert": "true"}
    run.sighting("h5", "r-h5-2", 2)                                            # before its hit: kept
    run.hit(hit("h1"))                                                        # P1 Antwerpen -> prov, escalates
    run.hit(hit("h2", list_name="lez_vehicle_status", match_kind="LEZ_NOT_ADMITTED", zone="ANT", priority="P4"))
    run.hit(hit("h3", list_name="judicial_alerts", attributes=owner_attrs))    # covert: owner alone
    run.hit(hit("h4", list_name="judicial_alerts", priority="P2"))             # owner + prov
    run.hit(hit("h5", priority="P2"))                                         # prov, then a false read
    run.hit(hit("h6", camera_id="C2"))                                        # Namur: the national centre
    run.hit(hit("h8", camera_id="MOBILE-1"))                                  # no camera of the registry: national
    run.hit(hit("h1"))                                                        # a repeat: nothing new
    run.flush()
    prov = run.messages("prov", 4)
    assert kinds(prov) == [("h1", "DELIVERY"), ("h4", "DELIVERY"), ("h5", "DELIVERY"), ("h5", "SIGHTING")]
    assert kinds(run.messages("lez", 1)) == [("h2", "DELIVERY")]
    assert kinds(run.messages("owner", 2)) == [("h3", "DELIVERY"), ("h4", "DELIVERY")]
    delivered_at = {m["hit_id"]: m["at"] for m in prov if m["kind"] == "DELIVERY"}

    run.event("h4", run.name("prov"), "ACCEPT", "p1")
    run.event("h5", run.name("prov"), "REJECT", "p1", reason="FALSE_READ", note="8 read as B")
    run.event("h5", run.name("prov"), "ACKNOWLEDGE", "p1")                     # REJECTED: wrong state
    run.event("h4", run.name("prov"), "ACKNOWLEDGE", "o1")                     # o1 does not act for prov
    run.event("nope", run.name("prov"), "ACKNOWLEDGE", "p1")                   # unknown hit
    run.event("h3", run.name("prov"), "ACKNOWLEDGE", "p1")                     # covert: unknown to prov
    run.event("h6", run.name("nat"), "REJECT", "n1")                           # no reason
    run.raw_event(b"not avro")
    run.flush()
    refused = sorted((r["hit_id"] or "", r["reason"]) for r in run.refusals(6))
    assert refused == [
        ("", "malformed: unknown magic byte 110 (expected 0)"),
        ("h3", "unknown hit"),
        ("h4", f"user o1 does not act for {run.name('prov')}"),
        ("h5", "ACKNOWLEDGE is not allowed in state REJECTED"),
        ("h6", "REJECT needs a reason"),
        ("nope", "unknown hit"),
    ]
    # An input that is not a record of its contract is a dead input, whole, with the reason.
    run.producer.produce(run.sightings, key=b"h9", value=b"not avro either")
    run.flush()
    dead = [(d["source_topic"], d["detail"], d["original"]) for d in run.dead_letters(1)]
    assert dead == [(run.sightings, "unknown magic byte 110 (expected 0)", b"not avro either")], dead
    owner = run.messages("owner", 4)
    assert ("h4", "TAKEN_BY") in kinds(owner) and ("h5", "FEEDBACK") in kinds(owner)
    feedback = next(m["feedback"] for m in owner if m["kind"] == "FEEDBACK")
    assert (feedback["reason"], feedback["entry_id"], feedback["note"]) == ("FALSE_READ", "E1", "8 read as B")

    # h1 (P1, 4 s) was never acknowledged: escalated to the national centre within a second.
    nat = run.messages("nat", 3)
    escalation = next(m for m in nat if m["hit_id"] == "h1")
    assert escalation["delivery"]["escalated_from"] == run.name("prov")
    late = (escalation["at"] - delivered_at["h1"]).total_seconds() * 1000 - 4000
    assert 0 <= late <= 1000, late
    assert kinds(nat) == [("h1", "DELIVERY"), ("h6", "DELIVERY"), ("h8", "DELIVERY")]
    # The covert hit reached its owner and no other destination, and no log line names it.
    for destination in ("prov", "lez", "nat"):
        assert all(m["hit_id"] != "h3" for m in run.messages(destination, ALL, timeout_s=3))
    logs = " ".join(path.read_text(errors="replace") for path in StackSettings.current().log_dir.glob("*.log"))
    assert hit("h3")["plate"] not in logs and "PLh3" not in logs

    # A new configuration applies to the hits after it, with no restart: hits of the new
    # list go to the national centre (the root) until the job has it, then to lez.
    run.apply(CONFIG + NEW_ROUTE)
    for n in range(30):
        run.hit(hit(f"n{n}", list_name="new_list", priority="P3"))
        run.flush()
        if any(m["hit_id"].startswith("n") for m in run.messages("lez", 2, timeout_s=1)):
            break
    routed = {m["hit_id"]: "lez" for m in run.messages("lez", ALL, timeout_s=3) if m["hit_id"].startswith("n")}
    routed.update({m["hit_id"]: "nat" for m in run.messages("nat", ALL, timeout_s=3) if m["hit_id"].startswith("n")})
    order = [routed.get(f"n{i}") for i in range(n + 1)]
    assert None not in order and order[-1] == "lez", order
    assert order == sorted(order, key=lambda d: d == "lez"), order

    rows = _audit(audit, 20)
    by_kind = {}
    for kind, hit_id, destination, covert in rows:
        by_kind.setdefault(kind, set()).add((hit_id, destination))
    assert ("h1", run.name("prov")) in by_kind["ESCALATED"]
    assert ("h3", run.name("owner")) in by_kind["DELIVERED"]
    assert {d for h, d in by_kind["DELIVERED"] if h == "h3"} == {run.name("owner")}
    assert ("h5", run.name("prov")) in by_kind["FEEDBACK"]
    assert len(by_kind["REFUSED"]) == 6
    whole = duckdb.connect().execute(f"SELECT * FROM read_parquet('{audit}/audit/**/part-*')").fetchall()
    assert len(whole) == len(set(whole)), "an audit row written twice"

    # The figures of spec §7 from that audit (`feblam gateway report`).
    figures = gateway_figures(audit)
    prov = figures["destinations"][run.name("prov")]
    assert prov["deliveries"] == 3                                 # h1, h4, h5
    assert prov["escalated_share"] == pytest.approx(1 / 3) and prov["never_acted_share"] == pytest.approx(1 / 3)
    assert {"list_name": "stolen_vehicles", "entry_id": "E1", "reason": "FALSE_READ", "count": 1} \
        in figures["feedback"]


def _audit(root, expected: int, timeout_s: float = 60) -> list[tuple]:
    """(kind, hit_id, destination, covert) of the committed audit rows, once the
    escalation and at least `expected` rows are there (files commit with checkpoints)."""
    deadline = time.monotonic() + timeout_s
    rows: list[tuple] = []
    while time.monotonic() < deadline:
        if list(root.glob("audit/**/part-*")):
            rows = duckdb.connect().execute(
                f"SELECT kind, hit_id, destination, covert FROM read_parquet('{root}/audit/**/part-*', "
                "hive_partitioning = true)").fetchall()
            if len(rows) >= expected and any(r[0] == "ESCALATED" for r in rows) \
                    and any(r[1].startswith("n") for r in rows):
                return rows
        time.sleep(2)
    return rows
