"""Property tests: the index and engine agree with the naive matcher of helpers.py
(spec §4 and §5 read literally, a scan over every entry) on random update/read
sequences, including DELETE, re-UPSERT and confusable characters."""

from hypothesis import HealthCheck, given, settings, strategies as st

from udfs.engine import HitEngine
from udfs.model import Camera, DELETE, ReferenceEntry
from udfs.reference import InvalidEntry, parse_entry
from udfs.scoring import score

from .helpers import T0, NaiveMatcher, as_set, read

ALPHABET = "0ODQ1I2Z8BA7"
LISTS = ["stolen_vehicles", "judicial_alerts", "other_list", "lez_vehicle_status",
         "lez_permits"]
CAMERAS = {"C1": ("Z1", "Z2"), "C2": ("Z1",), "C0": ()}

# A small pool of confusable plates makes reads and entries meet often; free text
# keeps the rest of the space in play.
POOL = ["1ABC", "IABC", "1A8C", "IA8C", "1ABC0", "1ABCO", "7ABC", "AB", "A8", "0O0O"]
plates = st.one_of(st.sampled_from(POOL), st.sampled_from(POOL),
                   st.text(ALPHABET, min_size=1, max_size=5))
patterns = st.one_of(
    st.sampled_from(["1ABC*", "*ABC", "1A?C", "1AB?", "?ABC0", "1*BC", "1ABC*0", "*1ABC*"]),
    st.lists(st.sampled_from(list(ALPHABET) + ["?", "*"]), min_size=4,
             max_size=7).map("".join))
times = st.sampled_from([None, T0 - 2, T0, T0 + 3])


@st.composite
def updates(draw):
    list_name = draw(st.sampled_from(LISTS))
    entry_id = draw(st.sampled_from(["a", "b", "c", "d", "e"]))
    if draw(st.integers(0, 9)) == 0:
        return ReferenceEntry(list_name=list_name, entry_id=entry_id, op=DELETE)
    plate = draw(st.one_of(plates, plates, patterns, st.just("ABCDEFGHIJKLM")))
    record = {"list_name": list_name, "entry_id": entry_id, "plate": plate,
              "country": draw(st.sampled_from([None, "BE", "NL"])),
              "valid_from": draw(times), "valid_until": draw(times),
              "zone": draw(st.sampled_from([None, "Z1", "Z2"])),
              "severity": draw(st.sampled_from([None, 0, 95])),
              "attributes": {"admitted": draw(st.sampled_from(["true", "false"]))}}
    try:
        return parse_entry(record)
    except InvalidEntry:
        return None  # a rejected update leaves both unchanged


@st.composite
def reads(draw):
    return read(draw(st.one_of(st.sampled_from(POOL), plates)), t=draw(st.sampled_from([T0 - 1, T0, T0 + 2, T0 + 5])),
                country_code=draw(st.sampled_from([None, "BE", "NL"])),
                confidence=draw(st.sampled_from([0.5, 0.8, 0.95])),
                camera_id=draw(st.sampled_from(["C1", "C2", "C0", "CX"])))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(updates(), reads()), min_size=1, max_size=40))
def test_engine_agrees_with_naive_matcher(steps):
    """§4 EXACT/OCR/WILDCARD and §5 LEZ against the brute-force matcher, after any
    sequence of UPSERT/DELETE applied one at a time (§1)."""
    engine, naive = HitEngine(), NaiveMatcher()
    for camera_id, zones in CAMERAS.items():
        engine.put_camera(Camera(camera_id, lez_zones=zones))
    for step in steps:
        if step is None:
            continue
        if isinstance(step, ReferenceEntry):
            engine.apply(step)
            naive.apply(step)
            continue
        hits = engine.evaluate(step)
        expected = naive.match(step, CAMERAS.get(step.camera_id, ()))
        assert as_set(hits) == expected
        assert len(hits) == len(expected), "one hit per matched entry and zone"
        for h in hits:
            assert h.score == score(h.severity, h.match_kind, h.substitutions,
                                    step.country is not None, step.ocr_confidence)[0]
    assert sorted(engine.index.keys()) == sorted(naive.entries)


@settings(max_examples=200, deadline=None)
@given(st.lists(updates(), max_size=30), plates)
def test_index_holds_exactly_the_applied_entries(ups, plate):
    """§1: after any update sequence the index holds what a dict of the last UPSERT
    per (list, entry_id) holds, field for field."""
    engine, naive = HitEngine(), NaiveMatcher()
    for u in ups:
        if u is not None:
            engine.apply(u)
            naive.apply(u)
    for (list_name, entry_id), e in naive.entries.items():
        got = engine.index.get(list_name, entry_id)
        expected_attrs = dict(e.attributes)
        if list_name != "lez_vehicle_status" and not ("?" in e.plate or "*" in e.plate
                                                      or len(e.plate) > 12):
            assert got.attributes == expected_attrs
        assert (got.plate, got.country, got.valid_from, got.valid_until, got.severity,
                got.zone) == (e.plate, e.country, e.valid_from, e.valid_until, e.severity,
                              e.zone)
    assert len(engine.index) == len(naive.entries)


LEZ_PLATES = ["1ABC", "IABC", "7ABC", "1A7C", "IA7C", "1A8C"]


@st.composite
def lez_updates(draw):
    list_name = draw(st.sampled_from(["lez_vehicle_status", "lez_permits"]))
    entry_id = draw(st.sampled_from(["a", "b", "c", "d"]))
    if draw(st.integers(0, 7)) == 0:
        return ReferenceEntry(list_name=list_name, entry_id=entry_id, op=DELETE)
    return parse_entry({
        "list_name": list_name, "entry_id": entry_id,
        "plate": draw(st.sampled_from(LEZ_PLATES + ["1ABC*"])),
        "country": draw(st.sampled_from([None, None, "BE", "NL"])),
        "valid_from": draw(st.sampled_from([None, None, T0, T0 + 3])),
        "valid_until": draw(st.sampled_from([None, None, T0 + 3])),
        "zone": draw(st.sampled_from([None, "Z1", "Z2"])),
        "attributes": {"admitted": draw(st.sampled_from(["true", "false"]))}})


@settings(max_examples=300, deadline=None)
@given(st.lists(lez_updates(), min_size=1, max_size=12),
       st.lists(st.tuples(st.sampled_from(LEZ_PLATES), st.sampled_from([T0, T0 + 3]),
                          st.sampled_from([None, "BE", "NL"]),
                          st.sampled_from(["C1", "C2"])), min_size=1, max_size=6))
def test_lez_decision_agrees_with_naive_matcher(ups, probes):
    """§5 permits, zone-specific over zone-less status, smallest entry_id, unknown
    vehicles, validity and country: the index agrees with the spec read literally."""
    engine, naive = HitEngine(), NaiveMatcher()
    for camera_id, zones in CAMERAS.items():
        engine.put_camera(Camera(camera_id, lez_zones=zones))
    for u in ups:
        engine.apply(u)
        naive.apply(u)
    for plate, t, country_code, camera_id in probes:
        r = read(plate, t=t, country_code=country_code, camera_id=camera_id)
        assert as_set(engine.evaluate(r)) == naive.match(r, CAMERAS[camera_id])
