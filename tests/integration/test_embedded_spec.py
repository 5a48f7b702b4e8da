"""The hit-generation job over files on the embedded mini-cluster, against a data
set with a case for every rule of the hit spec, asserted hit by hit and dead
letter by dead letter. Expected scores are worked out by hand from spec §6:
raw = clamp(s - penalty, 0, 100); score = floor(raw * (0.5 + 0.5 * c) + 0.5).

The same data set runs at parallelism 1 and 2 and must give the same output.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timezone

import duckdb
import pytest

from feblam.cli import main

T0 = "2026-03-01T08:00:00.000Z"


def at(text: str) -> str:
    return f"2026-03-{text}Z"


def epoch_ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc).timestamp() * 1000)


CAMERAS = [
    {"camera_id": "CAM-A", "lat": 50.9, "lon": 4.4, "lez_zones": [], "police_zone": "5339", "province": "Brussels"},
    {"camera_id": "CAM-L", "lat": 50.85, "lon": 4.35, "lez_zones": ["BXL"], "police_zone": "5339", "province": "Brussels"},
    {"camera_id": "CAM-LL", "lat": 50.8, "lon": 4.3, "lez_zones": ["BXL", "ANT"], "police_zone": "5344", "province": "Brussels"},
    # §11: CAM-G is 50.4 km from CAM-A, CAM-N 2.6 km.
    {"camera_id": "CAM-G", "lat": 51.05, "lon": 3.72, "lez_zones": [], "police_zone": "5415", "province": "East Flanders"},
    {"camera_id": "CAM-N", "lat": 50.92, "lon": 4.42, "lez_zones": [], "police_zone": "5339", "province": "Brussels"},
]


def entry(list_name, entry_id, plate, op="UPSERT", **fields):
    return {"list_name": list_name, "entry_id": entry_id, "op": op, "plate": plate, **fields}


REFERENCE = [
    entry("stolen_vehicles", "S1", "1-ABC-123", country="B"),
    entry("stolen_vehicles", "S2", "2DEF456", valid_from=at("01T09:00:00.000"), valid_until=at("01T10:00:00.000")),
    entry("judicial_alerts", "J1", "1XYZ999"),
    entry("judicial_alerts", "J2", "AB12*", severity=85),
    entry("judicial_alerts", "J3", "?QRS77"),
    entry("stolen_vehicles", "S3", "9ZZZ111"),
    {"list_name": "stolen_vehicles", "entry_id": "S3", "op": "DELETE"},
    entry("stolen_vehicles", "S4", "3KLM333", country="NL"),
    entry("insurance_expired", "I1", "4NOP444"),
    entry("stolen_vehicles", "S5", "5TUV555"),
    entry("stolen_vehicles", "S5", "5TUV556"),
    entry("judicial_alerts", "BAD", "*A*B*"),  # three wildcards: refused, the rest stays in force
    entry("stolen_vehicles", "S6", "6MUL666"),
    entry("judicial_alerts", "J4", "6-MUL-666"),
    entry("lez_vehicle_status", "L1", "1LEZ001", attributes={"admitted": "false"}),
    entry("lez_vehicle_status", "L2", "1LEZ002", zone="BXL", attributes={"admitted": "true"}),
    entry("lez_vehicle_status", "L3", "1LEZ002", attributes={"admitted": "false"}),
    entry("lez_permits", "P1", "1LEZ003", zone="BXL", valid_from=at("01T00:00:00.000"), valid_until=at("03T00:00:00.000")),
    entry("lez_vehicle_status", "L4", "1LEZ003", attributes={"admitted": "false"}),
    entry("lez_vehicle_status", "L5", "1LEZ004", attributes={"admitted": "true"}),
    entry("lez_vehicle_status", "L6b", "1LEZ005", attributes={"admitted": "false"}),
    entry("lez_vehicle_status", "L6a", "1LEZ005", attributes={"admitted": "true"}),
    entry("lez_vehicle_status", "L7", "1LEZ006", zone="BXL", attributes={"admitted": "true"}),
]


def read(read_id, plate_text, time, camera="CAM-A", country="B", confidence=1.0, **extra):
    return {"read_id": read_id, "camera_id": camera, "event_time": time, "plate_text": plate_text,
            "plate_country": country, "ocr_confidence": confidence, **extra}


# Each expected hit: (read_id, list_name, entry_id, kind, substitutions, zone, score, priority, sightings).
CASES = [
    # §4 EXACT, §6 score: s=70, no penalty, c=1 -> 70, P2. R02 (5 min later) is folded into it (§7).
    (read("R01", "1-ABC-123", at("01T08:00:00.000")), [("stolen_vehicles", "S1", "EXACT", 0, None, 70, "P2", 2)]),
    (read("R02", "1ABC123", at("01T08:05:00.000")), []),
    # §7: 16 min after the emitted hit (11 after the folded read, which does not extend the window) -> a new hit.
    (read("R03", "1ABC123", at("01T08:16:00.000")), [("stolen_vehicles", "S1", "EXACT", 0, None, 70, "P2", 1)]),
    # §4 OCR, 1 substitution (B->8): s=70 - 10 = 60; c=0.9 -> floor(60*0.95+0.5) = 57, P3.
    (read("R04", "1-A8C-123", at("01T08:40:00.000"), confidence=0.9), [("stolen_vehicles", "S1", "OCR", 1, None, 57, "P3", 1)]),
    # §4 max_ocr_substitutions: 2 substitutions exceed stolen_vehicles' 1 -> no hit.
    (read("R05", "1-A8C-1Z3", at("01T09:00:00.000")), []),
    # OCR 1 substitution, country unknown: 90 - 10 - 10 = 70; c=0.8 -> floor(70*0.9+0.5) = 63, P2.
    (read("R06", "IXYZ999", at("01T08:00:00.000"), country=None, confidence=0.8), [("judicial_alerts", "J1", "OCR", 1, None, 63, "P2", 1)]),
    # OCR 2 substitutions within judicial_alerts' 2: 90 - 20 = 70; c=0.6 -> floor(70*0.8+0.5) = 56, P3.
    (read("R07", "IXY2999", at("01T08:30:00.000"), country="NL", confidence=0.6), [("judicial_alerts", "J1", "OCR", 2, None, 56, "P3", 1)]),
    # §4 WILDCARD '*' matching zero characters: 85 - 15 = 70 -> 70, P2.
    (read("R08", "AB-12", at("01T08:00:00.000")), [("judicial_alerts", "J2", "WILDCARD", 0, None, 70, "P2", 1)]),
    # WILDCARD '?' and an international code (F -> FR, known): 90 - 15 = 75; c=0.5 -> floor(75*0.75+0.5) = 56, P3.
    (read("R09", "XQRS77", at("01T08:00:00.000"), country="F", confidence=0.5), [("judicial_alerts", "J3", "WILDCARD", 0, None, 56, "P3", 1)]),
    # Wildcards take no OCR substitution (S->5): no hit.
    (read("R10", "XQR577", at("01T08:20:00.000"), confidence=0.9), []),
    # §4 active: valid_from <= t < valid_until.
    (read("R11", "2DEF456", at("01T08:59:59.999"), country=None), []),
    (read("R12", "2DEF456", at("01T09:00:00.000"), country=None), [("stolen_vehicles", "S2", "EXACT", 0, None, 60, "P2", 1)]),
    (read("R13", "2DEF456", at("01T10:00:00.000"), country=None), []),
    # §1 DELETE removes the entry.
    (read("R14", "9ZZZ111", at("01T08:00:00.000")), []),
    # §4 countries: BE vs NL incompatible; an unknown code ('XX') is compatible, with the §6 penalty: 70 - 10.
    (read("R15", "3KLM333", at("01T08:00:00.000"), country="B"), []),
    (read("R16", "3KLM333", at("01T08:01:00.000"), country="XX"), [("stolen_vehicles", "S4", "EXACT", 0, None, 60, "P2", 1)]),
    # §4 a list nobody configured: alert, severity 50, no OCR substitutions.
    (read("R17", "4NOP444", at("01T08:00:00.000")), [("insurance_expired", "I1", "EXACT", 0, None, 50, "P3", 1)]),
    (read("R18", "4N0P444", at("01T08:30:00.000")), []),
    # §1 UPSERT replaces the entry with the same entry_id; times as epoch milliseconds (§10).
    (read("R19", "5TUV555", epoch_ms(at("01T08:00:00.000"))), []),
    (read("R20", "5TUV556", epoch_ms(at("01T08:00:01.000"))), [("stolen_vehicles", "S5", "EXACT", 0, None, 70, "P2", 1)]),
    # §2 canon: punctuation and case; 50 min after the last S1 hit.
    (read("R21", "1.abc.123", at("01T09:30:00.000"), country="b"), [("stolen_vehicles", "S1", "EXACT", 0, None, 70, "P2", 1)]),
    # §4 one read, two lists: each matched entry its own hit.
    (read("R34", "6MUL666", at("01T08:00:00.000")), [("judicial_alerts", "J4", "EXACT", 0, None, 90, "P1", 1),
                                                      ("stolen_vehicles", "S6", "EXACT", 0, None, 70, "P2", 1)]),
    # §5 LEZ: zone-less status admitted=false -> LEZ_NOT_ADMITTED, s=20; c=0.9 -> floor(20*0.95+0.5) = 19, P4.
    (read("R22", "1LEZ001", at("01T08:00:00.000"), camera="CAM-L", confidence=0.9),
     [("lez_vehicle_status", "L1", "LEZ_NOT_ADMITTED", 0, "BXL", 19, "P4", 2)]),
    # §7 LEZ: at most one hit per (kind, plate, zone, Brussels date).
    (read("R23", "1LEZ001", at("01T09:00:00.000"), camera="CAM-L"), []),
    # §5 confidence floor 0.80: no LEZ hit below it.
    (read("R24", "1LEZ001", at("02T08:00:00.000"), camera="CAM-L", confidence=0.79), []),
    # §7 local date: 23:30 UTC on 1 March is 00:30 on 2 March in Brussels -> a new key, a new hit.
    (read("R25", "1LEZ001", at("01T23:30:00.000"), camera="CAM-L"), [("lez_vehicle_status", "L1", "LEZ_NOT_ADMITTED", 0, "BXL", 20, "P4", 1)]),
    # §5 zone-specific status wins in BXL (admitted); zone-less decides in ANT (not admitted); each zone checked.
    (read("R26", "1LEZ002", at("01T08:00:00.000"), camera="CAM-LL"), [("lez_vehicle_status", "L3", "LEZ_NOT_ADMITTED", 0, "ANT", 20, "P4", 1)]),
    # §5 a status entry for another zone never decides: L7 (BXL only) admits in BXL, and the vehicle is
    # unknown to ANT: LEZ_UNREGISTERED, no entry_id (fails closed); s=10, c=1 -> 10, P4.
    (read("R35", "1LEZ006", at("01T08:00:00.000"), camera="CAM-LL"), [("lez_vehicle_status", None, "LEZ_UNREGISTERED", 0, "ANT", 10, "P4", 1)]),
    # §5 an active permit for (r, Z): no hit, whatever the status says.
    (read("R27", "1LEZ003", at("01T08:00:00.000"), camera="CAM-L"), []),
    # §5 admitted = true: no hit.
    (read("R28", "1LEZ004", at("01T08:00:00.000"), camera="CAM-L"), []),
    # §5 several zone-less status entries: the smallest entry_id (L6a, admitted) decides.
    (read("R29", "1LEZ005", at("01T08:00:00.000"), camera="CAM-L"), []),
    # §5 unknown to both lists: LEZ_UNREGISTERED, no entry_id; 10 - 10 (country unknown) = 0 -> 0, P4.
    (read("R30", "9NEW999", at("01T08:00:00.000"), camera="CAM-L", country=None, confidence=0.85),
     [("lez_vehicle_status", None, "LEZ_UNREGISTERED", 0, "BXL", 0, "P4", 2)]),
    # Same plate at a BXL+ANT camera: BXL folded into R30's hit, ANT is a new key.
    (read("R31", "9NEW999", at("01T08:50:00.000"), camera="CAM-LL", country=None),
     [("lez_vehicle_status", None, "LEZ_UNREGISTERED", 0, "ANT", 0, "P4", 1)]),
    # §5 LEZ matches exactly: an OCR variant of a listed plate is an unregistered vehicle; 10*0.95+0.5 -> 10.
    (read("R32", "1LE2001", at("01T08:00:00.000"), camera="CAM-L", confidence=0.9),
     [("lez_vehicle_status", None, "LEZ_UNREGISTERED", 0, "BXL", 10, "P4", 1)]),
    # §3 a camera missing from the registry is valid: alert lists apply.
    (read("R33", "1ABC123", at("02T12:00:00.000"), camera="CAM-X"), [("stolen_vehicles", "S1", "EXACT", 0, None, 70, "P2", 1)]),
    # §11 clone suspicion: 50.4 km in 5 min is 605 km/h; s=40, no penalty, the lower confidence 0.95
    # -> floor(40*0.975+0.5) = 39, P3. C03 (Brussels again 5 min later) is folded into it: same plate, same day.
    (read("C01", "7CLN777", at("01T10:00:00.000"), confidence=0.95), []),
    (read("C02", "7CLN777", at("01T10:05:00.000"), camera="CAM-G"),
     [("clone_detection", None, "CLONE_SUSPECT", 0, None, 39, "P3", 2)]),
    (read("C03", "7CLN777", at("01T10:10:00.000")), []),
    # §11 confidence floor 0.90: below it a read takes no part, as R or as partner.
    (read("C04", "7CLN777", at("01T10:11:00.000"), camera="CAM-G", confidence=0.89), []),
    # §11 the partner is the read nearest in event time, processed before: C06 (Ghent, 10:30) is
    # nearer to C07 than C05 is; Brussels at 10:29 after Ghent at 10:30: c=1 -> 40.
    (read("C05", "7CLN782", at("01T10:00:00.000")), []),
    (read("C06", "7CLN782", at("01T10:30:00.000"), camera="CAM-G"), []),
    (read("C07", "7CLN782", at("01T10:29:00.000")), [("clone_detection", None, "CLONE_SUSPECT", 0, None, 40, "P3", 1)]),
    # §11 a camera outside the registry takes no part (one without a position neither: the unit tests;
    # the Kafka contract gives every camera one).
    (read("C09", "7CLN778", at("01T10:01:00.000"), camera="CAM-X"), []),
    (read("C10", "7CLN778", at("01T10:02:00.000"), camera="CAM-G"), []),
    # §11 under 5 km is never a suspect, even at the same instant.
    (read("C11", "7CLN779", at("01T10:00:00.000")), []),
    (read("C12", "7CLN779", at("01T10:00:00.000"), camera="CAM-N"), []),
    # §11 compatible countries only: BE then NL is another plate.
    (read("C13", "7CLN781", at("01T10:00:00.000")), []),
    (read("C14", "7CLN781", at("01T10:02:00.000"), camera="CAM-G", country="NL"), []),
    # §11 dedup key per Brussels date: 22:55 UTC is 23:55 on 1 March, 23:05 UTC is 00:05 on 2 March.
    (read("C15", "7CLN780", at("01T22:50:00.000")), []),
    (read("C16", "7CLN780", at("01T22:55:00.000"), camera="CAM-G"), [("clone_detection", None, "CLONE_SUSPECT", 0, None, 40, "P3", 1)]),
    (read("C17", "7CLN780", at("01T23:05:00.000")), [("clone_detection", None, "CLONE_SUSPECT", 0, None, 40, "P3", 1)]),
]

# Spec §7: the reads folded into a hit, as (folded read, the hit's read, list, entry, zone,
# the hit's sightings once this read is folded in).
FOLDED = [
    ("R02", "R01", "stolen_vehicles", "S1", None, 2),
    ("R23", "R22", "lez_vehicle_status", "L1", "BXL", 2),
    ("R31", "R30", "lez_vehicle_status", None, "BXL", 2),
    ("C03", "C02", "clone_detection", None, None, 2),
]
# Reference updates the job refuses, as (reason, entry_id): the rest stays in force.
REFUSED = [("BAD_WILDCARD", "BAD")]

BAD_READS = [
    ("this is not json", None, "MALFORMED"),
    (json.dumps({"read_id": "D2", "camera_id": "CAM-A", "event_time": T0, "ocr_confidence": 0.9}), "D2", "MALFORMED"),
    (json.dumps(read("D3", "1ABC123", "yesterday")), "D3", "BAD_TIMESTAMP"),
    (json.dumps({k: v for k, v in read("D4", "1ABC123", T0).items() if k != "event_time"}), "D4", "BAD_TIMESTAMP"),
    (json.dumps(read("D5", "-- . --", T0)), "D5", "EMPTY_PLATE"),
    (json.dumps(read("D6", "ABCDEFGHIJKLM", T0)), "D6", "PLATE_TOO_LONG"),
    (json.dumps(read("D7", "1ABC123", T0, confidence=1.5)), "D7", "BAD_CONFIDENCE"),
    (json.dumps({k: v for k, v in read("D8", "1ABC123", T0).items() if k != "ocr_confidence"}), "D8", "BAD_CONFIDENCE"),
]


def spec_hit_id(read_id, list_name, entry_id, zone) -> str:
    """§9, written out again here so the job's own implementation is checked."""
    text = "|".join([read_id, list_name, entry_id or "", zone or ""])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def expected_hits() -> list[dict]:
    hits = []
    for r, outcomes in CASES:
        for list_name, entry_id, kind, subs, zone, score, priority, sightings in outcomes:
            hits.append({"hit_id": spec_hit_id(r["read_id"], list_name, entry_id, zone), "read_id": r["read_id"],
                         "list_name": list_name, "entry_id": entry_id, "match_kind": kind, "substitutions": subs,
                         "zone": zone, "score": score, "priority": priority, "sightings": sightings})
    return sorted(hits, key=lambda h: h["hit_id"])


def expected_sightings() -> list[tuple[str, str, int]]:
    """(hit_id, folded read_id, sightings so far) of every sighting event."""
    return sorted((spec_hit_id(hit_read, list_name, entry_id, zone), read_id, count)
                  for read_id, hit_read, list_name, entry_id, zone, count in FOLDED)


def expected_refusals() -> list[tuple[str, str]]:
    return sorted(REFUSED)


def test_the_folded_reads_account_for_every_sighting():
    """The data set's own consistency: FOLDED and the hits' sightings tell one story."""
    folded = {}
    for hit_id, _, count in expected_sightings():
        folded[hit_id] = max(count, folded.get(hit_id, 1))
    assert folded == {h["hit_id"]: h["sightings"] for h in expected_hits() if h["sightings"] > 1}


def _write(path, rows):
    path.write_text("".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows))


@pytest.fixture(scope="module", params=[1, 2], ids=["parallelism-1", "parallelism-2"])
def run(request, tmp_path_factory):
    d = tmp_path_factory.mktemp(f"p{request.param}")
    reads = [json.dumps(r) for r, _ in CASES]
    # Bad reads interleaved with good ones, as they arrive in practice.
    for i, (line, _, _) in enumerate(BAD_READS):
        reads.insert(3 * i + 1, line)
    _write(d / "reads.jsonl", reads)
    _write(d / "reference.jsonl", REFERENCE)
    _write(d / "cameras.jsonl", CAMERAS)
    # Relative paths, as a person types them.
    cwd = os.getcwd()
    os.chdir(d)
    try:
        status = main(["run", "--reads", "reads.jsonl", "--reference", "reference.jsonl", "--cameras", "cameras.jsonl",
                       "--hits", "out/hits.jsonl", "--dead-letters", "out/dead.jsonl",
                       "--sightings", "out/sightings.jsonl", "--refusals", "out/refusals.jsonl",
                       "--parallelism", str(request.param), "--history", "history",
                       "--history-now", "2026-03-02T00:00:00Z"])   # the data's dates are fixed
    finally:
        os.chdir(cwd)
    assert status == 0
    hits = [json.loads(line) for line in (d / "out" / "hits.jsonl").read_text().splitlines()]
    dead = [json.loads(line) for line in (d / "out" / "dead.jsonl").read_text().splitlines()]
    sightings = [json.loads(line) for line in (d / "out" / "sightings.jsonl").read_text().splitlines()]
    refusals = [json.loads(line) for line in (d / "out" / "refusals.jsonl").read_text().splitlines()]
    return {"hits": hits, "dead": dead, "sightings": sightings, "refusals": refusals, "reads": reads,
            "history": d / "history"}


FIELDS = ("hit_id", "read_id", "list_name", "entry_id", "match_kind", "substitutions", "zone", "score", "priority", "sightings")


def test_every_expected_hit_and_no_other(run):
    got = sorted(({k: h[k] for k in FIELDS} for h in run["hits"]), key=lambda h: h["hit_id"])
    expected = expected_hits()
    assert [h["read_id"] + ":" + (h["entry_id"] or h["zone"] or h["list_name"]) for h in got] == \
        [h["read_id"] + ":" + (h["entry_id"] or h["zone"] or h["list_name"]) for h in expected]
    assert got == expected


def test_hits_carry_the_fields_of_spec_10(run):
    by_read = {r["read_id"]: r for r, _ in CASES}
    for hit in run["hits"]:
        source = by_read[hit["read_id"]]
        assert hit["camera_id"] == source["camera_id"]
        assert hit["event_time"] == (source["event_time"] if isinstance(source["event_time"], int) else epoch_ms(source["event_time"]))
        assert hit["plate"].isalnum() and hit["plate"].isupper()
        factors = [factor for factor, _ in hit["explanation"]]
        assert factors[0] == "severity" and factors[-1] == "score"
        assert hit["explanation"][-1][1] == hit["score"]


def test_a_clone_suspect_names_its_partner_the_distance_and_the_speed(run):
    """§11: C02 (Ghent) against C01 (Brussels, 5 min before)."""
    hit = next(h for h in run["hits"] if h["read_id"] == "C02")
    assert hit["attributes"] == {"partner_read_id": "C01", "partner_camera_id": "CAM-A"}
    factors = dict(hit["explanation"])
    assert factors["distance_km"] == pytest.approx(50.447, abs=0.001)
    assert factors["seconds_apart"] == 300
    assert factors["speed_kmh"] == pytest.approx(50.447 * 12, abs=0.1)
    assert factors["ocr_confidence"] == 0.95   # the lower of the two reads'
    assert hit["dedup_key"] == "CLONE_SUSPECT|7CLN777|2026-03-01"


def test_every_bad_read_is_a_dead_letter_with_its_reason_and_original_line(run):
    got = sorted((d["read_id"] or "", d["reason"], d["original"]) for d in run["dead"])
    expected = sorted((read_id or "", reason, line) for line, read_id, reason in BAD_READS)
    assert got == expected


def test_every_folded_read_is_a_sighting_event_in_file_order(run):
    assert sorted((s["hit_id"], s["read_id"], s["sightings"]) for s in run["sightings"]) == expected_sightings()
    lines = {json.loads(line)["read_id"]: n for n, line in enumerate(run["reads"], 1) if line.startswith("{")
             and "read_id" in json.loads(line)}
    assert [lines[s["read_id"]] for s in run["sightings"]] == sorted(lines[s["read_id"]] for s in run["sightings"])


def test_refused_updates_are_an_output_with_their_line_and_reason(run):
    assert sorted((r["reason"], json.loads(r["original"])["entry_id"]) for r in run["refusals"]) == expected_refusals()
    bad_line = next(n for n, e in enumerate(REFERENCE, 1) if e["entry_id"] == "BAD")
    assert [(r["source"], r["position"], r["kind"]) for r in run["refusals"]] == [("reference", bad_line, "reference")]


def test_hits_are_written_in_the_order_of_their_reads(run):
    order = {json.loads(line)["read_id"]: n for n, line in enumerate(run["reads"]) if line.startswith("{")
             and "read_id" in json.loads(line)}
    positions = [order[h["read_id"]] for h in run["hits"]]
    assert positions == sorted(positions)


def test_no_read_is_lost(run):
    """§3: every read is a hit candidate or a dead letter; the counts add up."""
    valid = len(CASES)
    assert len(run["reads"]) == valid + len(run["dead"])


def _history(root, table: str) -> str:
    return (f"read_parquet('{root}/{table}/**/part-*', hive_partitioning = true, "
            "hive_types = {'date': 'DATE', 'hour': 'INTEGER'})")


def test_history_holds_every_read_hit_and_sighting_once(run):
    db = duckdb.connect()
    root = run["history"]
    reads = db.execute(f"SELECT read_id, event_time, date, hour, plate FROM {_history(root, 'reads')}").fetchall()
    assert sorted(r[0] for r in reads) == sorted(r["read_id"] for r, _ in CASES)  # each valid read exactly once
    for read_id, event_time, date, hour, plate in reads:
        # Partitions are the UTC date and hour of the event time, and the stored time is UTC.
        assert (event_time.date(), event_time.hour) == (date, hour), read_id
    r01 = next(r for r in reads if r[0] == "R01")
    assert r01[1].isoformat() == "2026-03-01T08:00:00" and r01[4] == "1ABC123"

    hits = db.execute(f"SELECT hit_id, score, explanation_factors, explanation_values FROM {_history(root, 'hits')}").fetchall()
    assert sorted(h[0] for h in hits) == sorted(h["hit_id"] for h in run["hits"])
    by_id = {h["hit_id"]: h for h in run["hits"]}
    for hit_id, score, factors, values in hits:
        assert score == by_id[hit_id]["score"]
        assert list(zip(factors, values)) == [tuple(pair) for pair in by_id[hit_id]["explanation"]]

    sightings = db.execute(f"SELECT hit_id, count(*) FROM {_history(root, 'sightings')} GROUP BY 1").fetchall()
    assert dict(sightings) == {h["hit_id"]: h["sightings"] - 1 for h in run["hits"] if h["sightings"] > 1}


def test_the_history_has_the_columns_its_docstring_lists(run):
    """connectors/history.py tells analysts the columns; the files written are the judge
    (it once documented a column `event_ms` that no file has)."""
    import connectors.history as history

    documented = {}
    for line in history.__doc__.splitlines():
        words = line.split(None, 1)
        if len(words) == 2 and words[0] in ("reads", "hits", "sightings") and "," in words[1]:
            documented[words[0]] = [name.strip() for name in words[1].split(",") if name.strip()]
        elif documented and line.startswith(" " * 15) and "," in line:
            documented[list(documented)[-1]] += [name.strip() for name in line.split(",") if name.strip()]
    assert set(documented) == {"reads", "hits", "sightings"}, documented
    db = duckdb.connect()
    for table, names in documented.items():
        columns = [c[0] for c in db.execute(f"DESCRIBE SELECT * FROM {_history(run['history'], table)}").fetchall()]
        assert columns == names + ["date", "hour"], (table, columns)


def test_a_run_whose_every_read_is_a_dead_letter_fails_and_says_why(tmp_path, capsys):
    """The cameras file given as --reads: 0 hits and exit 0 would look like a quiet day."""
    _write(tmp_path / "reference.jsonl", REFERENCE)
    _write(tmp_path / "cameras.jsonl", CAMERAS)
    status = main(["run", "--reads", str(tmp_path / "cameras.jsonl"), "--reference", str(tmp_path / "reference.jsonl"),
                   "--cameras", str(tmp_path / "cameras.jsonl"), "--hits", str(tmp_path / "hits.jsonl"),
                   "--dead-letters", str(tmp_path / "dead.jsonl")])
    assert status == 1
    err = capsys.readouterr().err
    assert f"every one of the {len(CAMERAS)} reads is a dead letter" in err and "cameras.jsonl a file of plate reads" in err
    assert len((tmp_path / "dead.jsonl").read_text().splitlines()) == len(CAMERAS)
