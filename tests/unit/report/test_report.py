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


def test_report_points_at_the_gated_history_and_does_not_read_it(tmp_path):
    history = tmp_path / "history"
    (history / "reads" / "date=2026-03-01" / "hour=08").mkdir(parents=True)
    (history / "reads" / "date=2026-03-01" / "hour=08" / "part-0").write_bytes(b"not even parquet")
    hits, dead = tmp_path / "hits.jsonl", tmp_path / "dead.jsonl"
    hits.write_text("")
    dead.write_text("")
    text = run_report(hits, dead, history)
    assert "ask it with `feblam history`" in text and "access gate" in text
