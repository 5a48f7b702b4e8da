"""The figures of gateway spec §7 from audit rows as the job writes them."""

from __future__ import annotations

import datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from connectors.audit_report import gateway_figures
from gateway.config import parse_config
from gateway.labels import hit_labels
from gateway.lifecycle import HitCase
from gateway.records import AuditRecord

CONFIG = parse_config("""\
national: nat
destinations: {nat: {users: [n1]}, prov: {users: [p1], escalate_to: nat}, owner: {users: [o1]}}
list_owners: {alerts: owner}
route:
  destination: nat
  ack_timeout: {P1: 60 s}
  routes: [{matchers: ['province = "P"'], destination: prov}]
""")
T0 = 1_780_000_000_000


def write(rows: list[AuditRecord], root) -> None:
    records = [r.as_record() for r in rows]
    folder = root / "audit" / "date=2026-05-28" / "hour=20"
    folder.mkdir(parents=True)
    columns = {name: [r[name] for r in records] for name in records[0] if name not in ("at", "event_at")}
    columns["at"] = [datetime.datetime.fromtimestamp(r["at"] / 1000, datetime.timezone.utc).replace(tzinfo=None)
                     for r in records]
    columns["event_at_ms"] = [r["event_at"] for r in records]
    pq.write_table(pa.table(columns), folder / "part-0")


def scenario() -> list[AuditRecord]:
    out = []
    for n, (action, extra, after_s) in enumerate([
            ("ACKNOWLEDGE", {}, 10), ("REJECT", {"reason": "FALSE_READ"}, 30), (None, {}, None),
            ("ACCEPT", {}, 50)]):
        hit = {"hit_id": f"h{n}", "list_name": "alerts", "entry_id": f"E{n % 2}", "priority": "P1"}
        case = HitCase(hit["hit_id"])
        out += case.on_hit(hit, hit_labels(hit, {"province": "P"}, CONFIG.list_owners), CONFIG, T0)
        if action:
            out += case.on_event({"hit_id": hit["hit_id"], "destination": "prov", "action": action, "user": "p1",
                                  "at": T0, **extra}, CONFIG, T0 + after_s * 1000)
        if action == "ACCEPT":
            out += case.on_event({"hit_id": hit["hit_id"], "destination": "prov", "action": "CLOSE", "user": "p1",
                                  "outcome": "INTERCEPTED", "at": T0}, CONFIG, T0 + 90_000)
        out += case.on_time(CONFIG, T0 + 60_000)
    return [o for o in out if isinstance(o, AuditRecord)]


def test_figures_per_destination_and_feedback_per_entry(tmp_path):
    write(scenario(), tmp_path)
    figures = gateway_figures(tmp_path)
    prov = figures["destinations"]["prov"]
    assert prov["deliveries"] == 4
    assert prov["ack_p50_s"] == pytest.approx(30.0) and prov["ack_p90_s"] == pytest.approx(46.0)
    assert prov["escalated_share"] == 0.25 and prov["never_acted_share"] == 0.25
    assert prov["outcomes"] == {"INTERCEPTED": 1}
    nat = figures["destinations"]["nat"]
    assert (nat["deliveries"], nat["never_acted_share"], nat["ack_p50_s"]) == (1, 1.0, None)
    assert figures["feedback"] == [{"list_name": "alerts", "entry_id": "E1", "reason": "FALSE_READ", "count": 1}]


def test_the_period_is_of_the_deliveries(tmp_path):
    write(scenario(), tmp_path)
    assert gateway_figures(tmp_path, T0 + 1, None)["destinations"].keys() == {"nat"}   # escalated at T0 + 60 s
    assert gateway_figures(tmp_path, None, T0)["destinations"] == {}


def test_no_audit_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no audit under"):
        gateway_figures(tmp_path)
