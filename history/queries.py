"""The analysts' questions over the Parquet history, with DuckDB, behind the gate.

`GatedHistory` is the only entrance: each question passes the access gate
(`history.gate.decide`), is written to the access log before anything is read
(an `ACCESS` record, refused or not), runs on views that hold only what the
decision granted, and is followed in the log by a `RESULT` record (the rows
returned, or the error). A refused access raises `AccessError` after it is
logged. Nothing in FEBLAM reads the history another way.

What the views hold, for one access:
- `reads`, `hits`, `sightings`: the rows whose `event_time` lies in the granted
  range, read from the files of the granted days only (`history.layout.files`:
  each day's compacted file, sorted by 4-hour block and plate, and its hourly
  files not yet compacted);
- hits of covert entries (`attributes['covert'] = 'true'`) only when the access's
  unit is the entry's `attributes['owner']`, and sightings of those hits likewise;
  `hits.retro` is true for the retro-hit pass's hits, false for the job's.

The history's layout is connectors/history.py's (docs/operations.md, "The history").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb

from history import layout
from history.accesslog import ACCESS, RESULT, AccessLog
from history.gate import AccessError, AccessPolicy, AccessRequest, Decision, TimeRange, decide, iso
from udfs.normalise import canon

HIT_GROUPS = ("list", "day", "priority", "match_kind", "zone")
# A read's hits, in one cell of a journey or a camera window: "stolen_vehicles P2 retro, ...".
_HITS_OF_READ = ("string_agg(h.list_name || ' ' || h.priority || CASE WHEN h.retro THEN ' retro' ELSE '' END, "
                 "', ' ORDER BY h.list_name) AS hits ")

# Columns of each table, for the empty views of a history that has none of its files yet.
_EMPTY = {
    "reads": "read_id VARCHAR, camera_id VARCHAR, plate_text VARCHAR, plate VARCHAR, country VARCHAR, "
             "ocr_confidence DOUBLE, event_time TIMESTAMP",
    "hits": "hit_id VARCHAR, read_id VARCHAR, list_name VARCHAR, entry_id VARCHAR, match_kind VARCHAR, "
            "zone VARCHAR, score INTEGER, priority VARCHAR, camera_id VARCHAR, plate VARCHAR, "
            "attributes MAP(VARCHAR, VARCHAR), event_time TIMESTAMP, retro BOOLEAN",
    "sightings": "hit_id VARCHAR, read_id VARCHAR, camera_id VARCHAR, event_time TIMESTAMP",
}


@dataclass(frozen=True)
class Answer:
    """What an access returns (spec §4): the rows asked for, the gate's statement of what
    was granted or narrowed, and the `seq` of its record in the access log."""

    columns: tuple[str, ...]
    rows: list[tuple]
    decision: Decision
    access_id: int


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class GatedHistory:
    """The history under `root`, read through the gate, every access written to `log`."""

    def __init__(self, root: Path, log: AccessLog, policy: AccessPolicy = AccessPolicy(),
                 clock: Callable[[], datetime] = utc_now, cameras: Path | None = None):
        """`cameras`: the camera registry as JSON Lines of Camera records (what `feblam
        simulate` writes and `feblam run --cameras` reads), to name each read's police
        zone and province; without it those columns are empty."""
        self.root = Path(root)
        self.log = log
        self.policy = policy
        self.clock = clock
        self.cameras = Path(cameras) if cameras is not None else None

    # -- the questions ----------------------------------------------------------------------

    def journey(self, request: AccessRequest, plate: str, asked: TimeRange = TimeRange()) -> Answer:
        """Every read of `plate` (canonicalised), in time order, with any hits on it."""
        return self._access(request, {"question": "journey", "plate": canon(plate)}, asked, lambda db: db.execute(
            "SELECT r.event_time, r.camera_id, c.police_zone, c.province, r.plate_text, r.country, "
            "r.ocr_confidence, r.read_id, " + _HITS_OF_READ +
            "FROM reads r LEFT JOIN cameras c USING (camera_id) LEFT JOIN hits h USING (read_id) WHERE r.plate = ? "
            "GROUP BY ALL ORDER BY r.event_time, r.read_id", [canon(plate)]))

    def camera(self, request: AccessRequest, camera_id: str, asked: TimeRange) -> Answer:
        """Every read at `camera_id` in the range, in time order, with any hits on it."""
        return self._access(request, {"question": "camera", "camera_id": camera_id}, asked, lambda db: db.execute(
            "SELECT r.event_time, r.plate, r.country, r.ocr_confidence, r.read_id, " + _HITS_OF_READ +
            "FROM reads r LEFT JOIN hits h USING (read_id) WHERE r.camera_id = ? "
            "GROUP BY ALL ORDER BY r.event_time, r.read_id", [camera_id]))

    def candidates(self, request: AccessRequest, plates: Sequence[str], ocr_classes: Sequence[str],
                   asked: TimeRange = TimeRange()) -> Answer:
        """The reads in the range that may match one of the entry `plates` (canonical; `?`
        and `*` are wildcards): those whose plate equals a plain one up to `ocr_classes`
        (the configuration's OCR classes: spec §4 EXACT and OCR matches are between plates
        of one class key), and those a wildcard one matches. A superset of the matches
        (no country, validity or substitution count is looked at): `udfs` decides. The
        retro-hit pass's look-up (history/retro.py), one scan of the range's plates."""
        plain = sorted({plate for plate in plates if "?" not in plate and "*" not in plate} - {""})
        wild = sorted({plate for plate in plates if "?" in plate or "*" in plate})
        if not plain and not wild:
            raise ValueError("no plate to look for")
        confusable = "".join(cls[1:] for cls in ocr_classes)
        representative = "".join(cls[0] * (len(cls) - 1) for cls in ocr_classes)
        keys = sorted({plate.translate(str.maketrans(confusable, representative)) for plate in plain})
        query = {"question": "retro-candidates", "plates": len(plain), "patterns": len(wild)}
        # One regular expression for all the patterns: RE2 runs it as one automaton, where
        # one LIKE per pattern would scan each plate once per pattern.
        pattern = "|".join("".join("." if c == "?" else ".*" if c == "*" else c for c in p) for p in wild)

        def run(db):
            db.execute("CREATE TEMP TABLE wanted AS SELECT unnest(CAST(? AS VARCHAR[])) AS k", [keys])
            by_key = "translate(plate, $from, $to) IN (SELECT k FROM wanted)"
            where = f"{by_key} OR regexp_full_match(plate, $pattern)" if wild else by_key
            # The tests run on each distinct plate, not on each read: a vehicle is read some
            # 12 times, and translate() is the scan's cost (10,000,000 reads: 3.3 s, 1.7 s so).
            return db.execute(
                f"WITH chosen AS (SELECT plate FROM (SELECT DISTINCT plate FROM reads) WHERE {where}) "
                "SELECT r.read_id, r.camera_id, r.event_time, r.plate_text, r.plate, r.country, "
                "CAST(r.ocr_confidence AS DOUBLE) AS ocr_confidence "
                "FROM reads r SEMI JOIN chosen c ON r.plate = c.plate ORDER BY r.event_time, r.read_id",
                {"from": confusable, "to": representative, **({"pattern": pattern} if wild else {})})
        return self._access(request, query, asked, run)

    def entry_hits(self, request: AccessRequest, entries: Sequence[tuple[str, str]],
                   asked: TimeRange = TimeRange()) -> Answer:
        """The hits in the range of the (list_name, entry_id) `entries`, in time order: what a
        retro-hit pass de-duplicates against (history/retro.py)."""
        wanted = sorted(set(entries))
        if not wanted:
            raise ValueError("no entry to look for")
        query = {"question": "entry-hits", "entries": len(wanted)}

        def run(db):
            db.execute("CREATE TEMP TABLE wanted AS SELECT unnest(CAST(? AS VARCHAR[])) AS l, "
                       "unnest(CAST(? AS VARCHAR[])) AS e", [[l for l, _ in wanted], [e for _, e in wanted]])
            return db.execute("SELECT h.list_name, h.entry_id, h.hit_id, h.event_time FROM hits h "
                              "SEMI JOIN wanted w ON h.list_name = w.l AND h.entry_id = w.e "
                              "ORDER BY h.event_time, h.hit_id")
        return self._access(request, query, asked, run)

    def first_seen(self, request: AccessRequest, plate: str, asked: TimeRange = TimeRange()) -> Answer:
        """The first read of `plate` within what the access may see (none: no row)."""
        return self._access(request, {"question": "first-seen", "plate": canon(plate)}, asked, lambda db: db.execute(
            "SELECT r.event_time, r.camera_id, c.police_zone, c.province, r.plate_text "
            "FROM reads r LEFT JOIN cameras c USING (camera_id) WHERE r.plate = ? "
            "ORDER BY r.event_time, r.read_id LIMIT 1", [canon(plate)]))

    def convoy(self, request: AccessRequest, plate: str, asked: TimeRange = TimeRange(), min_cameras: int = 3,
               window: timedelta = timedelta(minutes=5), limit: int = 20) -> Answer:
        """Vehicles seen within ±`window` of `plate` at `min_cameras` or more of the cameras
        it passed, ranked by how far their passages together exceed chance.

        The guard against busy cameras: a vehicle that passes a motorway gantry a hundred
        times a day meets every other vehicle there by chance. For each candidate, the
        passages together expected by chance are the sum, over the candidate's reads at
        the plate's cameras, of the plate's passages there times 2×window over the
        granted range's length; `beyond_chance` is the passages together minus that, and
        ranks the answer."""
        if min_cameras < 1 or window <= timedelta(0) or limit < 1:
            raise ValueError("min_cameras and limit must be at least 1, and window positive")
        target = canon(plate)
        query = {"question": "convoy", "plate": target, "min_cameras": min_cameras,
                 "window_s": int(window.total_seconds()), "limit": limit}

        def run(db, decision: Decision):
            span = (decision.granted.end - decision.granted.start).total_seconds()
            seconds = window.total_seconds()
            return db.execute(
                "WITH t AS (SELECT camera_id, event_time FROM reads WHERE plate = $plate), "
                "tc AS (SELECT camera_id, count(*) AS passes FROM t GROUP BY camera_id), "
                "co AS (SELECT r.plate, t.camera_id, t.event_time FROM t JOIN reads r "
                "  ON r.camera_id = t.camera_id "
                "  AND r.event_time BETWEEN t.event_time - to_microseconds(CAST($us AS BIGINT)) "
                "                       AND t.event_time + to_microseconds(CAST($us AS BIGINT)) "
                "  WHERE r.plate <> $plate), "
                "seen AS (SELECT plate, count(DISTINCT camera_id) AS cameras, "
                "  count(DISTINCT (camera_id, event_time)) AS together FROM co GROUP BY plate "
                "  HAVING count(DISTINCT camera_id) >= $k), "
                "chance AS (SELECT r.plate, sum(tc.passes) * 2 * $seconds / $span AS by_chance "
                "  FROM reads r JOIN tc USING (camera_id) WHERE r.plate IN (SELECT plate FROM seen) GROUP BY r.plate) "
                "SELECT s.plate, s.cameras, s.together, round(c.by_chance, 2) AS by_chance, "
                "  round(s.together - c.by_chance, 2) AS beyond_chance "
                "FROM seen s JOIN chance c USING (plate) "
                "ORDER BY beyond_chance DESC, s.cameras DESC, s.plate LIMIT $limit",
                {"plate": target, "us": int(seconds * 1_000_000), "k": min_cameras, "seconds": seconds,
                 "span": max(span, 1.0), "limit": limit})
        return self._access(request, query, asked, run, needs_decision=True)

    def silent_cameras(self, request: AccessRequest, silent_for: timedelta, asked: TimeRange = TimeRange()) -> Answer:
        """Cameras with reads in the range whose last read is older than `silent_for` before
        the range's end, the longest silent first."""
        if silent_for <= timedelta(0):
            raise ValueError("silent_for must be positive")
        query = {"question": "cameras", "silent_for_s": int(silent_for.total_seconds())}

        def run(db, decision: Decision):
            cutoff = _naive(decision.granted.end - silent_for)
            return db.execute(
                "SELECT camera_id, max(event_time) AS last_read, count(*) AS reads FROM reads "
                "GROUP BY camera_id HAVING max(event_time) < ? ORDER BY last_read, camera_id", [cutoff])
        return self._access(request, query, asked, run, needs_decision=True)

    def hits_by(self, request: AccessRequest, by: Sequence[str], asked: TimeRange = TimeRange()) -> Answer:
        """Hit counts grouped by `by` (some of HIT_GROUPS), largest first."""
        unknown = [name for name in by if name not in HIT_GROUPS]
        if not by or unknown:
            raise ValueError(f"group hits by some of {', '.join(HIT_GROUPS)}" +
                             (f", not {', '.join(unknown)}" if unknown else ""))
        expressions = {"list": "list_name", "day": "CAST(event_time AS DATE)", "priority": "priority",
                       "match_kind": "match_kind", "zone": "zone"}
        select = ", ".join(f"{expressions[name]} AS \"{name}\"" for name in by)
        return self._access(request, {"question": "hits", "by": list(by)}, asked, lambda db: db.execute(
            f"SELECT {select}, count(*) AS hits FROM hits GROUP BY ALL "
            f"ORDER BY hits DESC, {', '.join(str(n) for n in range(1, len(by) + 1))}"))

    # -- the gate, the log, the views -------------------------------------------------------

    def _access(self, request: AccessRequest, query: dict[str, Any], asked: TimeRange,
                run: Callable, needs_decision: bool = False) -> Answer:
        now = self.clock()
        decision = decide(request, asked, now, self.policy)
        access = self.log.append(ACCESS, {
            "at": iso(now), "user": request.user, "unit": request.unit, "purpose": request.purpose,
            "justification": request.justification, "authorisation": request.authorisation,
            "query": query, "asked": _range(decision.asked), "granted": _range(decision.granted),
            "outcome": decision.outcome, "statement": decision.statement})
        if decision.refused:
            raise AccessError(decision)
        try:
            db = self._views(decision)
            try:
                cursor = run(db, decision) if needs_decision else run(db)
                columns = tuple(column[0] for column in cursor.description)
                rows = cursor.fetchall()
            finally:
                db.close()
        except Exception as error:
            self.log.append(RESULT, {"access": access["seq"], "at": iso(self.clock()), "rows": None,
                                     "error": f"{type(error).__name__}: {str(error)[:300]}"})
            raise
        self.log.append(RESULT, {"access": access["seq"], "at": iso(self.clock()), "rows": len(rows)})
        return Answer(columns, rows, decision, access["seq"])

    def _views(self, decision: Decision) -> duckdb.DuckDBPyConnection:
        """A connection whose `reads`, `hits` and `sightings` hold only what `decision`
        granted (see the module's docstring): only the files of the granted days are
        opened (history.layout), and only their rows in the granted range are seen."""
        db = duckdb.connect()
        db.execute("SET TimeZone = 'UTC'")
        start, end = _naive(decision.granted.start), _naive(decision.granted.end)

        def source(table: str, everything: bool = False) -> str | None:
            chosen = layout.files(self.root, table, None if everything else start.date(),
                                  None if everything else end.date())
            if not chosen:
                return None
            listed = ", ".join("'" + str(path).replace("'", "''") + "'" for path in chosen)
            return f"read_parquet([{listed}], hive_partitioning = false, union_by_name = true)"

        def window(alias: str) -> str:
            return (f"{alias}.event_time >= TIMESTAMP '{start.isoformat()}' "
                    f"AND {alias}.event_time < TIMESTAMP '{end.isoformat()}'")

        unit = decision.unit.replace("'", "''")
        visible = f"(coalesce(h.attributes['covert'], 'false') <> 'true' OR h.attributes['owner'] = '{unit}')"
        if self.cameras is not None:
            if not self.cameras.is_file():
                raise FileNotFoundError(f"no camera registry {self.cameras}")
            db.execute("CREATE TEMP TABLE cameras AS SELECT camera_id, police_zone, province FROM read_json(?, "
                       "format = 'newline_delimited', columns = {camera_id: 'VARCHAR', police_zone: 'VARCHAR', "
                       "province: 'VARCHAR'})", [str(self.cameras)])
        else:
            db.execute("CREATE TEMP TABLE cameras (camera_id VARCHAR, police_zone VARCHAR, province VARCHAR)")
        reads, hits, sightings = source("reads"), source("hits"), source("sightings")
        for table, found in (("reads", reads), ("hits", hits), ("sightings", sightings)):
            if found is None:
                db.execute(f"CREATE TEMP TABLE {table} ({_EMPTY[table]})")
        if reads:
            db.execute(f"CREATE TEMP VIEW reads AS SELECT * FROM {reads} r WHERE {window('r')}")
        if hits:
            # Only the retro-hit pass writes `retro` (history/retro.py); the job's hits are live.
            has_retro = any(row[0] == "retro" for row in db.execute(f"DESCRIBE SELECT * FROM {hits}").fetchall())
            retro = "* REPLACE (coalesce(retro, false) AS retro)" if has_retro else "*, false AS retro"
            db.execute(f"CREATE TEMP VIEW hits AS SELECT {retro} FROM {hits} h WHERE {window('h')} AND {visible}")
        if sightings:
            # A sighting of a covert hit is as covert as the hit, whenever the hit was.
            every_hit = source("hits", everything=True)
            hidden = f"AND s.hit_id NOT IN (SELECT h.hit_id FROM {every_hit} h WHERE NOT {visible})" if every_hit else ""
            db.execute(f"CREATE TEMP VIEW sightings AS SELECT * FROM {sightings} s WHERE {window('s')} {hidden}")
        return db


def _naive(moment: datetime) -> datetime:
    """UTC wall clock without a zone: how the history stores `event_time`."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def _range(span: TimeRange | None) -> dict[str, str | None] | None:
    if span is None:
        return None
    return {"from": iso(span.start) if span.start else None, "to": iso(span.end) if span.end else None}
