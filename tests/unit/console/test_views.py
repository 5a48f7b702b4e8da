"""console.views: what a dispatcher reads, in words: the score's explanation, the
instructions and their kind, and where the vehicle was last seen."""

from __future__ import annotations

import pytest

from console import views
from console.board import Board

DEST = "cic-lie"


def hit(**overrides):
    base = {"hit_id": "h1", "read_id": "r1", "list_name": "judicial_alerts", "entry_id": "J-1",
            "match_kind": "EXACT", "substitutions": 0, "severity": 95, "score": 91, "priority": "P1",
            "explanation": [{"factor": "severity", "value": 95.0}, {"factor": "raw", "value": 95.0},
                            {"factor": "ocr_confidence", "value": 0.92}, {"factor": "score", "value": 91.0}],
            "event_time": 1_000, "camera_id": "CAM-1", "plate": "1ABC123", "plate_text": "1-ABC-123",
            "country": "B", "ocr_confidence": 0.92, "attributes": {"instructions": "Intercept with backup"},
            "retro": False}
    return {**base, **overrides}


def card_of(hit_record, labels=None):
    board = Board(DEST)
    board.apply({"kind": "DELIVERY", "delivery_id": "d1", "hit_id": "h1", "destination": DEST, "at": 2_000,
                 "delivery": {"route": "root", "labels": labels or {"police_zone": "ZP Liège", "province": "Liège"},
                              "hit": hit_record, "escalated_from": None, "ack_deadline": 62_000}})
    return board, board.card("d1")


def test_the_explanation_names_each_factor_of_the_score():
    assert views.explanation(hit()) == \
        "Severity 95 (judicial_alerts); weighted by OCR confidence 0.92: score 91, P1"
    penalised = hit(substitutions=2, score=52, priority="P3", explanation=[
        {"factor": "severity", "value": 95.0}, {"factor": "ocr_substitutions", "value": -20.0},
        {"factor": "wildcard", "value": -15.0}, {"factor": "country_unknown", "value": -10.0},
        {"factor": "raw", "value": 50.0}, {"factor": "ocr_confidence", "value": 0.8}, {"factor": "score", "value": 45}])
    assert views.explanation(penalised) == (
        "Severity 95 (judicial_alerts), less 20 for 2 OCR substitutions, less 15 for a wildcard match, "
        "less 10 for an unknown country; weighted by OCR confidence 0.80: score 52, P3")


@pytest.mark.parametrize("attributes, kind", [
    ({"instructions": "Intercept with backup; driver subject to an arrest warrant"}, "INTERCEPT"),
    ({"instructions": "Do not intercept; report position and direction discreetly"}, "DO_NOT_STOP"),
    ({"instructions": "Armed and dangerous: do not stop alone"}, "DO_NOT_STOP"),
    ({"instructions": "Vehicle of interest to the investigation"}, "INFORMATION_ONLY"),
    ({}, "INFORMATION_ONLY"),
    ({"instructions": "Intercept", "action": "information only"}, "INFORMATION_ONLY"),   # the attribute wins
    ({"action": "do-not-stop"}, "DO_NOT_STOP"),
])
def test_the_instructions_kind_comes_from_the_entry(attributes, kind):
    assert views.instruction(attributes)["kind"] == kind


def test_last_seen_is_the_latest_sighting_else_the_hit_with_the_camera_position():
    board, card = card_of(hit())
    seen = views.last_seen(card, {"CAM-1": {"camera_id": "CAM-1", "lat": 50.6, "lon": 5.57}})
    assert seen == {"camera_id": "CAM-1", "at": 1_000, "place": "ZP Liège, Liège", "lat": 50.6, "lon": 5.57,
                    "sighting": False}
    board.apply({"kind": "SIGHTING", "delivery_id": "d1", "hit_id": "h1", "destination": DEST, "at": 9_000,
                 "sighting": {"read_id": "r2", "camera_id": "CAM-9", "event_time": 8_000, "sightings": 2,
                              "police_zone": None, "province": None, "lat": None, "lon": None}})
    seen = views.last_seen(card, {})
    assert (seen["camera_id"], seen["at"], seen["sighting"]) == ("CAM-9", 8_000, True)
    assert seen["place"] == "unknown place (camera not in the registry)"


def test_a_summary_shows_the_countdown_only_while_new_and_the_detail_adds_the_lists():
    board, card = card_of(hit())
    summary = views.summary(card, {})
    assert (summary["plate"], summary["priority"], summary["ack_deadline"], summary["open"]) == \
        ("1-ABC-123", "P1", 62_000, True)
    board.apply({"kind": "STATE", "delivery_id": "d1", "hit_id": "h1", "destination": DEST, "at": 3_000,
                 "state": {"from_state": "NEW", "to_state": "ACKNOWLEDGED", "action": "ACKNOWLEDGE", "user": "u"}})
    assert views.summary(card, {})["ack_deadline"] is None
    detail = views.detail(card, {})
    assert detail["history"][0]["to"] == "ACKNOWLEDGED" and detail["sightings_list"] == []
