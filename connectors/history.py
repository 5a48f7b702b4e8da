"""The read and hit history as Parquet, for analysts (DuckDB), exactly once.

Three tables under one root, each in a Hive-style layout by the UTC date and
hour of the read's event time:

    <root>/reads/date=2026-03-01/hour=08/part-...       every valid read
    <root>/hits/date=.../hour=.../part-...              every hit sent
    <root>/sightings/date=.../hour=.../part-...         every read folded into an earlier hit

They are written by Flink's filesystem table sink inside the same job: a file
is written hidden (`.part-...inprogress`) and renamed into place when the
checkpoint that covers it completes, so a reader only ever sees committed
rows, and a job restored from a checkpoint or savepoint neither loses nor
repeats any. Files have no suffix; read them as `part-*`:

    SELECT * FROM read_parquet('<root>/hits/**/part-*', hive_partitioning = true,
                               hive_types = {'date': 'DATE', 'hour': 'INTEGER'})

Columns of the Parquet files, in this order (`READ_COLUMNS`, `HIT_COLUMNS`,
`SIGHTING_COLUMNS` without `event_ms`, then `event_time`):

    reads      read_id, camera_id, plate_text, plate, country, ocr_confidence, make,
               colour, vehicle_type, image_ref, source, event_time
    hits       hit_id, read_id, list_name, entry_id, match_kind, substitutions, severity,
               zone, score, priority, explanation_factors, explanation_values, camera_id,
               plate, plate_text, country, ocr_confidence, dedup_key, attributes, event_time
    sightings  hit_id, read_id, camera_id, event_time

plus `date` and `hour`, which are folder names (`hive_partitioning = true` reads
them; `hour` is text such as `'08'` unless `hive_types` says otherwise).
`event_time` is a TIMESTAMP (UTC wall clock, millisecond precision, no time
zone). `event_ms` is not a column: it is the epoch milliseconds the job hands
over in its rows, from which the sink makes `event_time`, `date` and `hour`.

`plate` is the canonical plate (`udfs.normalise.canon`: `1-abc-123` is
`1ABC123`), which every match and de-duplication uses; `plate_text` is the
camera's raw text. Look a vehicle up by `plate`, normalised the same way:

    WHERE plate = '1ABC123'        -- python -c 'from udfs.normalise import canon; print(canon("1-abc-123"))'

(docs/operations.md, "The history").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pyflink.common import Row, Types
from pyflink.datastream import DataStream
from pyflink.table import StreamTableEnvironment

STRINGS = Types.BASIC_ARRAY(Types.STRING())
DOUBLES = Types.BASIC_ARRAY(Types.DOUBLE())

# Columns as (name, Flink type of the Python Row, SQL type in the table). A SQL type of
# None marks `event_ms`, epoch milliseconds in the rows only: the table holds it as
# `event_time` (TIMESTAMP(3), UTC), its `date` and its `hour` (`_insert`).
READ_COLUMNS = (
    ("read_id", Types.STRING(), "STRING"),
    ("camera_id", Types.STRING(), "STRING"),
    ("event_ms", Types.LONG(), None),
    ("plate_text", Types.STRING(), "STRING"),
    ("plate", Types.STRING(), "STRING"),
    ("country", Types.STRING(), "STRING"),
    ("ocr_confidence", Types.DOUBLE(), "DOUBLE"),
    ("make", Types.STRING(), "STRING"),
    ("colour", Types.STRING(), "STRING"),
    ("vehicle_type", Types.STRING(), "STRING"),
    ("image_ref", Types.STRING(), "STRING"),
    ("source", Types.STRING(), "STRING"),
)
# The explanation is two parallel arrays: PyFlink's thread mode hands a list of
# Rows to Java as copies of its last element.
HIT_COLUMNS = (
    ("hit_id", Types.STRING(), "STRING"),
    ("read_id", Types.STRING(), "STRING"),
    ("list_name", Types.STRING(), "STRING"),
    ("entry_id", Types.STRING(), "STRING"),
    ("match_kind", Types.STRING(), "STRING"),
    ("substitutions", Types.INT(), "INT"),
    ("severity", Types.INT(), "INT"),
    ("zone", Types.STRING(), "STRING"),
    ("score", Types.INT(), "INT"),
    ("priority", Types.STRING(), "STRING"),
    ("explanation_factors", STRINGS, "ARRAY<STRING>"),
    ("explanation_values", DOUBLES, "ARRAY<DOUBLE>"),
    ("event_ms", Types.LONG(), None),
    ("camera_id", Types.STRING(), "STRING"),
    ("plate", Types.STRING(), "STRING"),
    ("plate_text", Types.STRING(), "STRING"),
    ("country", Types.STRING(), "STRING"),
    ("ocr_confidence", Types.DOUBLE(), "DOUBLE"),
    ("dedup_key", Types.STRING(), "STRING"),
    ("attributes", Types.MAP(Types.STRING(), Types.STRING()), "MAP<STRING, STRING>"),
)
SIGHTING_COLUMNS = (
    ("hit_id", Types.STRING(), "STRING"),
    ("read_id", Types.STRING(), "STRING"),
    ("event_ms", Types.LONG(), None),
    ("camera_id", Types.STRING(), "STRING"),
)


def row_type(columns) -> Types:
    return Types.ROW_NAMED([c[0] for c in columns], [c[1] for c in columns])


READ_ROW = row_type(READ_COLUMNS)
HIT_ROW = row_type(HIT_COLUMNS)
SIGHTING_ROW = row_type(SIGHTING_COLUMNS)


def read_row(read) -> Row:
    """A `udfs.model.PlateRead` as a history row."""
    return Row(read.read_id, read.camera_id, read.event_time, read.plate_text, read.plate, read.country,
               read.ocr_confidence, read.make, read.colour, read.vehicle_type, read.image_ref, read.source)


def hit_row(record: dict) -> Row:
    """A hit record (`udfs.model.Hit.output_record`) as a history row."""
    factors = [str(f) for f, _ in record["explanation"]]
    values = [float(v) for _, v in record["explanation"]]
    return Row(record["hit_id"], record["read_id"], record["list_name"], record["entry_id"], record["match_kind"],
               record["substitutions"], record["severity"], record["zone"], record["score"], record["priority"],
               factors, values, record["event_time"], record["camera_id"], record["plate"], record["plate_text"],
               record["country"], record["ocr_confidence"], record["dedup_key"], dict(record["attributes"]))


def sighting_row(hit_id: str, read) -> Row:
    return Row(hit_id, read.read_id, read.event_time, read.camera_id)


def _ddl(table: str, columns, path: str, time_name: str) -> str:
    fields = ",\n  ".join(
        f"`{name}` {sql}" for name, _, sql in columns if sql is not None
    )
    return f"""CREATE TABLE {table} (
  {fields},
  `{time_name}` TIMESTAMP(3),
  `date` STRING,
  `hour` STRING
) PARTITIONED BY (`date`, `hour`) WITH (
  'connector' = 'filesystem',
  'path' = '{path}',
  'format' = 'parquet',
  'parquet.utc-timezone' = 'true',
  'parquet.write.int64.timestamp' = 'true',
  'parquet.timestamp.time.unit' = 'millis',
  'parquet.compression' = 'SNAPPY',
  'sink.partition-commit.trigger' = 'process-time',
  'sink.partition-commit.delay' = '0 s',
  'sink.partition-commit.policy.kind' = 'success-file'
)"""


def _insert(table: str, view: str, columns, ms_name: str, time_name: str) -> str:
    names = ", ".join(f"`{name}`" for name, _, sql in columns if sql is not None)
    ts = f"TO_TIMESTAMP_LTZ(`{ms_name}`, 3)"
    return (f"INSERT INTO {table} SELECT {names}, CAST({ts} AS TIMESTAMP(3)), "
            f"DATE_FORMAT({ts}, 'yyyy-MM-dd'), DATE_FORMAT({ts}, 'HH') FROM {view}")


@dataclass(frozen=True)
class ParquetTable:
    """One table of a Parquet history: its folder under the root, the stream of its rows,
    their columns, and the column of epoch milliseconds that gives its time column
    (TIMESTAMP, UTC) and its date and hour partitions."""

    name: str
    stream: DataStream
    columns: tuple
    ms_column: str = "event_ms"
    time_column: str = "event_time"


def attach_tables(env, root: str | Path, tables: list[ParquetTable]) -> None:
    """Add `tables` under `root` (a path or a file:// URI) to the job of `env`, written
    exactly once (files committed with the checkpoints)."""
    uri = str(root) if "://" in str(root) else Path(root).resolve().as_uri()
    t_env = StreamTableEnvironment.create(env)
    # Dates and hours are UTC, whatever the machine's zone.
    t_env.get_config().set("table.local-time-zone", "UTC")
    statements = t_env.create_statement_set()
    for table in tables:
        view, sql_table = f"{table.name}_stream", f"history_{table.name}"
        t_env.create_temporary_view(view, t_env.from_data_stream(table.stream))
        t_env.execute_sql(_ddl(sql_table, table.columns, f"{uri.rstrip('/')}/{table.name}", table.time_column))
        statements.add_insert_sql(_insert(sql_table, view, table.columns, table.ms_column, table.time_column))
    statements.attach_as_datastream()


def attach_history(env, root: str | Path, reads: DataStream, hits: DataStream, sightings: DataStream) -> None:
    """Add the three Parquet tables under `root` (a path or a file:// URI) to the job of
    `env`; the streams carry READ_ROW, HIT_ROW and SIGHTING_ROW rows."""
    attach_tables(env, root, [ParquetTable("reads", reads, READ_COLUMNS), ParquetTable("hits", hits, HIT_COLUMNS),
                              ParquetTable("sightings", sightings, SIGHTING_COLUMNS)])
