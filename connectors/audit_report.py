"""The figures the gateway reports (gateway spec §7), from its audit history, with DuckDB.

`gateway_figures(root, start_ms, end_ms)` takes the deliveries made in
[start, end) and returns, per destination:
- `deliveries`;
- `ack_p50_s`, `ack_p90_s`: time from the delivery to the first action a person
  took on it (ACKNOWLEDGE, ACCEPT or REJECT: accepting or rejecting a NEW
  delivery acknowledges it too), over the deliveries acted on; DuckDB's
  `quantile_cont` (linear interpolation);
- `escalated_share`: deliveries that escalated;
- `never_acted_share`: deliveries no person acted on (escalated ones included);
- `outcomes`: closed deliveries by outcome;
and per list and entry the feedback received (`feedback`: list, entry, reason, count).
Rows of the audit after `end` still count for the deliveries made before it
(an acknowledgement at 00:01 of a delivery at 23:59 belongs to that day).
"""

from __future__ import annotations

from pathlib import Path

import duckdb


def _source(root: str | Path) -> str:
    return f"read_parquet('{Path(root).resolve()}/audit/**/part-*', hive_partitioning = true, union_by_name = true)"


def gateway_figures(root: str | Path, start_ms: int | None = None, end_ms: int | None = None) -> dict:
    """The figures of spec §7 for the deliveries made in [start_ms, end_ms) (UTC ms; None = unbounded)."""
    if not list(Path(root).glob("audit/**/part-*")):
        raise FileNotFoundError(f"no audit under {root} (the gateway's --audit root)")
    bounds = {"start": start_ms if start_ms is not None else -2**62,
              "end": end_ms if end_ms is not None else 2**62}
    con = duckdb.connect()
    con.execute(f"""
        CREATE TEMP VIEW audit AS SELECT *, epoch_ms("at") AS at_ms FROM {_source(root)};
        CREATE TEMP VIEW made AS
          SELECT delivery_id, any_value(destination) AS destination, min(at_ms) AS made_ms
          FROM audit WHERE kind = 'DELIVERED' GROUP BY delivery_id
          HAVING min(at_ms) >= $start AND min(at_ms) < $end;
        CREATE TEMP VIEW fate AS
          SELECT m.delivery_id, m.destination, m.made_ms,
                 min(a.at_ms) FILTER (WHERE a.kind = 'TRANSITION') AS first_action_ms,
                 bool_or(a.kind = 'ESCALATED') AS escalated,
                 any_value(a.outcome) FILTER (WHERE a.to_state = 'CLOSED') AS outcome
          FROM made m LEFT JOIN audit a USING (delivery_id) GROUP BY ALL;
    """.replace("$start", str(int(bounds["start"]))).replace("$end", str(int(bounds["end"]))))
    destinations = {}
    for name, count, p50, p90, escalated, never in con.execute("""
            SELECT destination, count(*),
                   quantile_cont((first_action_ms - made_ms) / 1000.0, 0.5),
                   quantile_cont((first_action_ms - made_ms) / 1000.0, 0.9),
                   avg(CASE WHEN escalated THEN 1.0 ELSE 0.0 END),
                   avg(CASE WHEN first_action_ms IS NULL THEN 1.0 ELSE 0.0 END)
            FROM fate GROUP BY destination ORDER BY destination""").fetchall():
        destinations[name] = {"deliveries": count, "ack_p50_s": p50, "ack_p90_s": p90,
                              "escalated_share": escalated, "never_acted_share": never, "outcomes": {}}
    for name, outcome, count in con.execute(
            "SELECT destination, outcome, count(*) FROM fate WHERE outcome IS NOT NULL GROUP BY ALL ORDER BY ALL"
    ).fetchall():
        destinations[name]["outcomes"][outcome] = count
    feedback = [{"list_name": l, "entry_id": e, "reason": r, "count": c} for l, e, r, c in con.execute("""
            SELECT a.list_name, a.entry_id, a.reason, count(*) FROM audit a JOIN made m USING (delivery_id)
            WHERE a.kind = 'FEEDBACK' GROUP BY ALL ORDER BY 4 DESC, 1, 2, 3""").fetchall()]
    return {"start_ms": start_ms, "end_ms": end_ms, "destinations": destinations, "feedback": feedback}
