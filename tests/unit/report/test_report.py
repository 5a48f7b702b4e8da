"""The run summary reads the job's output files with DuckDB and says what they hold."""

from __future__ import annotations

import json

from feblam.report import run_report


def _hit(hit_id, list_name, entry_id, kind, priority, score, sightings=1):
    return {"hit_id": hit_id, "list_name": list_name, "entry_id": entry_id, "match_kind": kind, "priority": priority,
            "score": score, "sightings": sightings, "zone": None, "plate": "1ABC123", "camera_id": "CAM-1",
            "explanation": [["severity", 70], ["raw", 70], ["ocr_confidence", 0.9], ["score", score]]}


def test_report_counts_hits_and_dead_letters(tmp_path):
    hits = tmp_path / "hits.jsonl"
    hits.write_text("\n".join(json.dumps(h) for h in [
        _hit("a", "stolen_vehicles", "S1", "EXACT", "P2", 67, sightings=3),
        _hit("b", "stolen_vehicles", "S2", "OCR", "P3", 50),
        _hit("c", "judicial_alerts", "J1", "EXACT", "P1", 88),
    ]) + "\n")
    dead = tmp_path / "dead.jsonl"
    dead.write_text(json.dumps({"reason": "MALFORMED", "original": "x"}) + "\n"
                    + json.dumps({"reason": "MALFORMED", "original": "y"}) + "\n")
    text = run_report(hits, dead)
    assert text.startswith("3 hits from 5 matching reads")
    assert "  stolen_vehicles  2" in text and "  judicial_alerts  1" in text
    assert "  MALFORMED  2" in text
    first_top = text.split("how each score came about:")[1].splitlines()[1]
    assert first_top.startswith("  P1  88  judicial_alerts/J1 EXACT")
    assert "severity=70, raw=70, ocr_confidence=0.9, score=88" in text


def test_report_on_empty_outputs(tmp_path):
    hits, dead = tmp_path / "hits.jsonl", tmp_path / "dead.jsonl"
    hits.write_text("")
    dead.write_text("")
    text = run_report(hits, dead)
    assert "no hits" in text and "no dead letters" in text


def test_report_queries_the_parquet_history(tmp_path):
    import duckdb

    history = tmp_path / "history"
    db = duckdb.connect()
    for table, rows in (("reads", "VALUES ('r1', DATE '2026-03-01', 8), ('r2', DATE '2026-03-01', 8), "
                                  "('r3', DATE '2026-03-01', 9)"),
                        ("hits", "VALUES ('r2', 'h2', DATE '2026-03-01', 8)")):
        columns = "read_id, date, hour" if table == "reads" else "read_id, hit_id, date, hour"
        (history / table).mkdir(parents=True)
        db.execute(f"COPY (SELECT * FROM ({rows}) AS t({columns})) TO '{history / table}' "
                   "(FORMAT parquet, PARTITION_BY (date, hour), FILENAME_PATTERN 'part-{i}')")
    hits, dead = tmp_path / "hits.jsonl", tmp_path / "dead.jsonl"
    hits.write_text("")
    dead.write_text("")
    text = run_report(hits, dead, history)
    assert "the busiest hours, with DuckDB:" in text
    assert "  2026-03-01  8     2      1" in text
    assert "  2026-03-01  9     1      0" in text
