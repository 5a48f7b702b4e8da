"""Spec §6 Score and priority, and §9 hit identity."""

import hashlib
import math

import pytest
from hypothesis import given, settings, strategies as st

from udfs.engine import HitEngine
from udfs.identity import hit_id
from udfs.model import Camera
from udfs.scoring import priority, score

from .helpers import entry, read


def test_spec_6_score_formula_example():
    """§6: raw = clamp(s - penalty); score = floor(raw*(0.5+0.5c)+0.5)."""
    value, prio, _ = score(70, "EXACT", 0, True, 0.9)
    assert value == math.floor(70 * 0.95 + 0.5) == 67 and prio == "P2"


def test_spec_6_penalty_per_ocr_substitution_is_10():
    """§6 penalty: 10 per OCR substitution."""
    assert score(90, "OCR", 2, True, 1.0)[0] == 70
    assert score(90, "OCR", 1, True, 1.0)[0] == 80


def test_spec_6_penalty_for_wildcard_is_15():
    """§6 penalty: 15 for a WILDCARD match."""
    assert score(90, "WILDCARD", 0, True, 1.0)[0] == 75


def test_spec_6_penalty_for_unknown_country_is_10():
    """§6 penalty: 10 when the read's country is unknown."""
    assert score(90, "EXACT", 0, False, 1.0)[0] == 80
    assert score(90, "WILDCARD", 0, False, 1.0)[0] == 65


def test_spec_6_raw_is_clamped_to_0_100():
    """§6: raw = clamp(s - penalty, 0, 100)."""
    value, _, explanation = score(10, "WILDCARD", 0, False, 1.0)
    assert value == 0 and dict(explanation)["raw"] == 0


def test_spec_6_confidence_weights_half_to_full():
    """§6: confidence 0 halves the score; 1 keeps it."""
    assert score(80, "EXACT", 0, True, 0.0)[0] == 40
    assert score(80, "EXACT", 0, True, 1.0)[0] == 80
    assert score(75, "EXACT", 0, True, 0.0)[0] == 38  # 37.5 rounds half up


@pytest.mark.parametrize("value,expected", [(100, "P1"), (80, "P1"), (79, "P2"), (60, "P2"),
                                            (59, "P3"), (30, "P3"), (29, "P4"), (0, "P4")])
def test_spec_6_priority_thresholds(value, expected):
    """§6 priority: P1 >= 80, P2 >= 60, P3 >= 30, else P4."""
    assert priority(value) == expected


def test_spec_6_explanation_lists_factors_in_spec_order():
    """§6: every hit carries the (factor, value) list that gave the score, in order."""
    _, _, explanation = score(90, "OCR", 2, False, 0.5)
    assert [f for f, _ in explanation] == ["severity", "ocr_substitutions", "country_unknown",
                                           "raw", "ocr_confidence", "score"]
    assert explanation == (("severity", 90), ("ocr_substitutions", -20),
                           ("country_unknown", -10), ("raw", 60), ("ocr_confidence", 0.5),
                           ("score", 45))


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 100), st.sampled_from(["EXACT", "OCR", "WILDCARD"]), st.integers(0, 2),
       st.booleans(), st.floats(0, 1))
def test_spec_6_score_properties(sev, kind, k, known, c):
    """§6 property: score within 0..100, never above raw, at least half of raw."""
    k = k if kind == "OCR" else 0
    value, prio, explanation = score(sev, kind, k, known, c)
    raw = dict(explanation)["raw"]
    assert 0 <= value <= raw <= 100 and value >= math.floor(raw / 2)
    assert prio == priority(value) and dict(explanation)["score"] == value


def test_spec_6_entry_severity_overrides_list_default():
    """§6: the entry's severity if set, else the list default."""
    eng = HitEngine()
    eng.apply(entry(entry_id="E1", severity=100))
    eng.apply(entry(entry_id="E2"))
    hits = {h.entry_id: h for h in eng.evaluate(read(confidence=1.0))}
    assert (hits["E1"].severity, hits["E1"].score, hits["E1"].priority) == (100, 100, "P1")
    assert (hits["E2"].severity, hits["E2"].score, hits["E2"].priority) == (70, 70, "P2")


def test_spec_9_hit_id_is_sha256_prefix_of_the_pipe_joined_parts():
    """§9: first 32 hex chars of SHA-256 over read_id|list_name|entry_id|zone."""
    expected = hashlib.sha256(b"r1|stolen_vehicles|E1|").hexdigest()[:32]
    assert hit_id("r1", "stolen_vehicles", "E1", None) == expected
    assert len(expected) == 32


def test_spec_9_absent_parts_are_empty_strings():
    """§9: entry_id absent for LEZ_UNREGISTERED, zone absent for alert hits."""
    assert hit_id("r1", "lez_vehicle_status", None, "GENT") == \
        hashlib.sha256(b"r1|lez_vehicle_status||GENT").hexdigest()[:32]


def test_spec_9_engine_hit_ids_follow_the_rule_and_are_stable():
    """§9: the same read, entry and zone always give the same hit_id."""
    def run():
        eng = HitEngine()
        eng.put_camera(Camera("C1", lez_zones=("GENT",)))
        eng.apply(entry())
        return {(h.list_name, h.entry_id, h.zone): h.hit_id for h in eng.evaluate(read())}
    first = run()
    assert first == run()
    assert first[("stolen_vehicles", "E1", None)] == hit_id("r1", "stolen_vehicles", "E1", "")
    assert first[("lez_vehicle_status", None, "GENT")] == hashlib.sha256(
        b"r1|lez_vehicle_status||GENT").hexdigest()[:32]


def test_spec_10_hit_record_has_the_required_fields():
    """§10: hits carry at least the listed fields; plate is the canonical read plate."""
    eng = HitEngine()
    eng.apply(entry())
    (hit,) = eng.evaluate(read("1-abc-123"))
    record = hit.to_record()
    for name in ("hit_id", "read_id", "list_name", "entry_id", "match_kind", "substitutions",
                 "zone", "score", "priority", "explanation", "event_time", "camera_id",
                 "plate"):
        assert name in record


def test_the_output_record_adds_what_the_read_and_de_duplication_give():
    """§10 on every output: the read's raw text, country and confidence, the dedup key
    as text, and the hit as its own first sighting, over the engine's record."""
    eng = HitEngine()
    eng.apply(entry())
    r = read("1-abc-123")
    (hit,) = eng.evaluate(r)
    record = hit.output_record(r, "|".join(hit.dedup_key))
    assert record == {**hit.to_record(), "dedup_key": "|".join(hit.dedup_key), "sightings": 1,
                      "plate_text": "1-abc-123", "country": r.country, "ocr_confidence": r.ocr_confidence}
    assert record["plate"] == "1ABC123"
