"""The simulated run gives every kind of hit through the matching library (no Flink)."""

from __future__ import annotations

from collections import Counter

from udfs.engine import HitEngine
from udfs.model import MATCH_KINDS
from udfs.validation import InvalidRead, validate_read


def test_every_match_kind_and_every_list_hits(small_run):
    engine = HitEngine()
    for record in small_run.records("cameras.jsonl"):
        engine.put_camera(record)
    for record in small_run.records("reference.jsonl"):
        engine.apply_record(record)
    kinds, lists, hit_reads, valid = Counter(), Counter(), 0, 0
    for line in small_run.lines("reads.jsonl"):
        try:
            read = validate_read(line)
        except InvalidRead:
            continue
        valid += 1
        hits = engine.evaluate(read)
        hit_reads += bool(hits)
        for hit in hits:
            kinds[hit.match_kind] += 1
            lists[hit.list_name] += 1
    assert set(kinds) == set(MATCH_KINDS), kinds
    assert set(lists) == {"stolen_vehicles", "judicial_alerts", "insurance_expired",
                          "lez_vehicle_status"}, lists
    # Hits are the exception, not the rule.
    assert 0.005 * valid < hit_reads < 0.2 * valid
