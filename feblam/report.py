"""A person's summary of one run over files: what hit, how often, why, and what was refused.

Reads the JSON Lines the job wrote with DuckDB, so the figures printed are the
ones an analyst would get from the same files. The Parquet history is not read
here: it is asked through `feblam history` and its access gate.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

TOP_HITS = 5


def _table(rows: list[tuple], headers: tuple[str, ...]) -> str:
    cells = [tuple(str(c) for c in row) for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip()
    body = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    return "\n".join(["  " + line, *("  " + b for b in body)])


def run_report(hits: Path, dead_letters: Path, history: Path | None = None) -> str:
    """The summary as text; every section is a DuckDB query over the output files."""
    db = duckdb.connect()
    out = []
    has_hits = hits.is_file() and hits.stat().st_size > 0
    has_dead = dead_letters.is_file() and dead_letters.stat().st_size > 0
    if has_hits:
        db.execute(f"CREATE VIEW hits AS SELECT * FROM read_json_auto('{hits}', format='newline_delimited')")
        total = db.execute("SELECT count(*), sum(sightings) FROM hits").fetchone()
        out.append(f"{total[0]} hits from {total[1]} matching reads (later sightings of a vehicle are folded "
                   "into its hit: docs/hits.md §7)")
        for column, title in (("list_name", "list"), ("match_kind", "kind"), ("priority", "priority")):
            rows = db.execute(f"SELECT {column}, count(*) AS n FROM hits GROUP BY 1 ORDER BY n DESC, 1").fetchall()
            out += ["", f"hits by {title}:", _table(rows, (title, "hits"))]
        top = db.execute(
            f"SELECT priority, score, list_name, coalesce(entry_id, '-'), match_kind, plate, camera_id, "
            f"explanation FROM hits QUALIFY row_number() OVER (PARTITION BY list_name, entry_id, zone, plate "
            f"ORDER BY score DESC, hit_id) = 1 ORDER BY score DESC, hit_id LIMIT {TOP_HITS}"
        ).fetchall()
        out += ["", f"top {len(top)} hits (best of each entry and plate), with how each score came about:"]
        for priority, score, list_name, entry_id, kind, plate, camera, explanation in top:
            # DuckDB reads the mixed [factor, value] pairs as JSON text: unquote the names.
            factors = ", ".join(f"{str(f).strip(chr(34))}={v}" for f, v in explanation)
            out.append(f"  {priority} {score:3d}  {list_name}/{entry_id} {kind} plate {plate} at {camera}")
            out.append(f"           {factors}")
    else:
        out.append("no hits")
    if has_dead:
        rows = db.execute(
            f"SELECT reason, count(*) AS n FROM read_json_auto('{dead_letters}', format='newline_delimited') "
            "GROUP BY 1 ORDER BY n DESC, 1"
        ).fetchall()
        out += ["", "dead letters by reason (each kept with its original line):", _table(rows, ("reason", "reads"))]
    else:
        out += ["", "no dead letters"]
    out += ["", f"hits: {hits}", f"dead letters: {dead_letters}"]
    if history is not None:
        # The history holds personal data: the report points at the gated questions rather
        # than reading it (docs/history.md: no ungated path to it).
        out += ["", f"history (Parquet): {history}/{{reads,hits,sightings}}; ask it with `feblam history` "
                "(journey, camera, convoy, ...): every question passes the access gate and is logged "
                "(docs/history.md)"]
    return "\n".join(out)
