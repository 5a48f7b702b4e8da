"""The gateway's audit history as Parquet (gateway spec §6), exactly once, readable by DuckDB.

One table, `<root>/audit/date=YYYY-MM-DD/hour=HH/part-*`, by the UTC date and
hour at which the gateway wrote the row, with the columns of
`gateway.records.AuditRecord` (`at` as TIMESTAMP). It is written like the
read and hit history (`connectors.history`): files committed with Flink's
checkpoints, so a restore neither loses nor repeats a row.

    SELECT kind, destination, count(*) FROM read_parquet('<root>/audit/**/part-*',
        hive_partitioning = true) GROUP BY ALL

The audit names hits by hit_id and list entry, never by plate or camera, and
is kept longer than the reads and hits (10 years by default): see docs/gateway.md.
"""

from __future__ import annotations

from pathlib import Path

from pyflink.common import Row, Types
from pyflink.datastream import DataStream

from connectors.history import ParquetTable, attach_tables, row_type
from gateway.records import AuditRecord

AUDIT_COLUMNS = (
    ("at_ms", Types.LONG(), None),
    ("kind", Types.STRING(), "STRING"),
    ("hit_id", Types.STRING(), "STRING"),
    ("delivery_id", Types.STRING(), "STRING"),
    ("destination", Types.STRING(), "STRING"),
    ("from_state", Types.STRING(), "STRING"),
    ("to_state", Types.STRING(), "STRING"),
    ("action", Types.STRING(), "STRING"),
    ("user", Types.STRING(), "STRING"),
    ("reason", Types.STRING(), "STRING"),
    ("outcome", Types.STRING(), "STRING"),
    ("note", Types.STRING(), "STRING"),
    ("route", Types.STRING(), "STRING"),
    ("escalated_from", Types.STRING(), "STRING"),
    ("list_name", Types.STRING(), "STRING"),
    ("entry_id", Types.STRING(), "STRING"),
    ("priority", Types.STRING(), "STRING"),
    ("covert", Types.BOOLEAN(), "BOOLEAN"),
    ("config_version", Types.STRING(), "STRING"),
    ("event_at_ms", Types.LONG(), "BIGINT"),
    ("detail", Types.STRING(), "STRING"),
)
AUDIT_ROW = row_type(AUDIT_COLUMNS)


def audit_row(audit: AuditRecord) -> Row:
    """An audit record as a row of AUDIT_ROW."""
    return Row(audit.at, audit.kind, audit.hit_id, audit.delivery_id, audit.destination, audit.from_state,
               audit.to_state, audit.action, audit.user, audit.reason, audit.outcome, audit.note, audit.route,
               audit.escalated_from, audit.list_name, audit.entry_id, audit.priority, audit.covert,
               audit.config_version, audit.event_at, audit.detail)


def attach_audit(env, root: str | Path, rows: DataStream) -> None:
    """Add the audit table under `root` (a path or URI the cluster can write) to the job."""
    attach_tables(env, root, [ParquetTable("audit", rows, AUDIT_COLUMNS, ms_column="at_ms", time_column="at")])
