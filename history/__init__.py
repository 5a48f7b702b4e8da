"""The history for analysts, within the law (docs/history.md): pure, no Flink, no Kafka.

- `gate`: who may see which time range of the history, and why not (the access
  rules: retention, purpose, justification, the prosecutor's authorisation);
- `accesslog`: the append-only, hash-chained record of every access, written
  before any result is shown;
- `queries`: the analysts' questions (a plate's journey, a camera's window, ...)
  over the Parquet history with DuckDB. Its only entrance is `GatedHistory`,
  which passes the gate and writes the log first: there is no ungated path.
"""
