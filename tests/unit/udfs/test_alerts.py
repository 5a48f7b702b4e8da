"""Spec §4 Alert lists, through the engine."""

import pytest

from udfs.config import ListSettings, MatchingSettings
from udfs.engine import HitEngine

from .helpers import MIN, T0, as_set, entry, read


def engine(*entries, settings=None):
    eng = HitEngine(settings)
    for e in entries:
        eng.apply(e)
    return eng


def kinds(eng, r):
    return {(h.list_name, h.entry_id, h.match_kind, h.substitutions) for h in eng.evaluate(r)}


def test_spec_4_exact_match():
    """§4 EXACT: e has no wildcard and r == e."""
    eng = engine(entry(plate="1-ABC-123"))
    assert kinds(eng, read("1ABC123")) == {("stolen_vehicles", "E1", "EXACT", 0)}
    assert kinds(eng, read("1ABC124")) == set()


def test_spec_4_active_window_is_half_open():
    """§4 active: valid_from <= t < valid_until."""
    eng = engine(entry(valid_from=T0, valid_until=T0 + MIN))
    assert kinds(eng, read(t=T0))
    assert kinds(eng, read(t=T0 + MIN - 1))
    assert not kinds(eng, read(t=T0 - 1))
    assert not kinds(eng, read(t=T0 + MIN))


def test_spec_4_null_validity_means_since_ever_and_for_ever():
    """§1: valid_from null = since ever, valid_until null = for ever."""
    eng = engine(entry())
    assert kinds(eng, read(t=-10**15)) and kinds(eng, read(t=10**15))


@pytest.mark.parametrize("entry_country,read_country,hit", [
    ("BE", "BE", True), ("BE", "B", True), (None, "BE", True), ("BE", None, True),
    (None, None, True), ("BE", "NL", False), ("BE", "ZZ", True),
])
def test_spec_4_country_compatibility(entry_country, read_country, hit):
    """§4 compatible: either side unknown (ZZ is unknown) or both equal."""
    eng = engine(entry(country=entry_country))
    assert bool(kinds(eng, read(country_code=read_country))) is hit


def test_spec_4_ocr_substitution_within_a_class():
    """§4 OCR: positions that differ hold two characters of one OCR class."""
    eng = engine(entry(plate="1ABC123"))
    assert kinds(eng, read("IABC123")) == {("stolen_vehicles", "E1", "OCR", 1)}
    assert kinds(eng, read("1A8C123")) == {("stolen_vehicles", "E1", "OCR", 1)}


def test_spec_4_ocr_difference_across_classes_is_no_match():
    """§4 OCR: a difference between characters of different classes never matches."""
    eng = engine(entry(plate="1ABC123"))
    assert kinds(eng, read("7ABC123")) == set()
    assert kinds(eng, read("1ABC12Z")) == set()  # 3 and Z are not one class


def test_spec_4_ocr_needs_equal_length():
    """§4 OCR: len(r) == len(e)."""
    eng = engine(entry(list_name="judicial_alerts", plate="1ABC123"))
    assert kinds(eng, read("1ABC1230")) == set()
    assert kinds(eng, read("1ABC12")) == set()


@pytest.mark.parametrize("classes", [("0ODQ",), ("1I",), ("2Z",), ("5S",), ("6G",), ("8B",)])
def test_spec_4_every_default_ocr_class(classes):
    """§4 OCR classes (config): {0,O,D,Q}, {1,I}, {2,Z}, {5,S}, {6,G}, {8,B}."""
    members = classes[0]
    eng = engine(entry(plate=f"XX{members[0]}XX"))
    for other in members[1:]:
        assert kinds(eng, read(f"XX{other}XX")) == {("stolen_vehicles", "E1", "OCR", 1)}


def test_spec_4_ocr_max_substitutions_stolen_is_1():
    """§4 OCR max substitutions: stolen_vehicles allows 1."""
    eng = engine(entry(plate="1ABC123"))
    assert kinds(eng, read("IABC123"))
    assert kinds(eng, read("IA8C123")) == set()


def test_spec_4_ocr_max_substitutions_judicial_is_2():
    """§4 OCR max substitutions: judicial_alerts allows 2."""
    eng = engine(entry(list_name="judicial_alerts", plate="1ABC123"))
    assert kinds(eng, read("IA8C123")) == {("judicial_alerts", "E1", "OCR", 2)}
    assert kinds(eng, read("IA8C12Z")) == set()


def test_spec_4_ocr_other_lists_default_to_0():
    """§4 OCR: any other alert list defaults to 0 substitutions (exact only)."""
    eng = engine(entry(list_name="customs_watch", plate="1ABC123"))
    assert kinds(eng, read("1ABC123")) == {("customs_watch", "E1", "EXACT", 0)}
    assert kinds(eng, read("IABC123")) == set()


def test_spec_4_ocr_max_substitutions_is_per_list_from_config():
    """§4 (config): max_ocr_substitutions comes from the list's configuration."""
    settings = MatchingSettings(lists={"customs_watch": ListSettings(max_ocr_substitutions=3)})
    eng = engine(entry(list_name="customs_watch", plate="1ABC123"), settings=settings)
    assert kinds(eng, read("IA8C1Z3")) == {("customs_watch", "E1", "OCR", 3)}
    assert kinds(eng, read("IA8CIZ3")) == set()  # 4 > 3


def test_spec_4_ocr_classes_are_configurable():
    """§4 OCR classes (config): a configured class is used, a dropped one is not."""
    settings = MatchingSettings(ocr_classes=("7T",))
    eng = engine(entry(plate="1ABC7"), settings=settings)
    assert kinds(eng, read("1ABCT")) == {("stolen_vehicles", "E1", "OCR", 1)}
    assert kinds(eng, read("IABC7")) == set()


def test_spec_4_wildcard_question_mark_is_exactly_one_character():
    """§4 WILDCARD: ? matches exactly one character."""
    eng = engine(entry(plate="1AB?123"))
    assert kinds(eng, read("1ABC123")) == {("stolen_vehicles", "E1", "WILDCARD", 0)}
    assert kinds(eng, read("1AB123")) == set()
    assert kinds(eng, read("1ABCC123")) == set()


def test_spec_4_wildcard_star_is_zero_or_more_characters():
    """§4 WILDCARD: * matches zero or more characters."""
    eng = engine(entry(plate="1AB*123"))
    for plate in ("1AB123", "1ABC123", "1ABXYZ123"):
        assert kinds(eng, read(plate)) == {("stolen_vehicles", "E1", "WILDCARD", 0)}
    assert kinds(eng, read("1AC123")) == set()


def test_spec_4_wildcard_other_characters_match_exactly_without_ocr():
    """§4 WILDCARD: the other characters must equal those of r exactly (no OCR)."""
    eng = engine(entry(list_name="judicial_alerts", plate="1AB?123"))
    assert kinds(eng, read("IABC123")) == set()


@pytest.mark.parametrize("pattern,plate", [
    ("*ABCD", "XYZABCD"), ("ABCD*", "ABCDXYZ"), ("*AB12*", "XAB12Y"), ("?ABCD?", "1ABCD2"),
    ("A?B*CD", "AXBCD"), ("A*B?CD", "AZZBQCD"), ("**ABCD", "ABCD"), ("AB??CD", "ABXYCD"),
])
def test_spec_4_wildcard_anchors_anywhere(pattern, plate):
    """§4 WILDCARD: leading, trailing, floating and mixed wildcards all match."""
    eng = engine(entry(plate=pattern))
    assert kinds(eng, read(plate)) == {("stolen_vehicles", "E1", "WILDCARD", 0)}


def test_spec_4_wildcard_respects_activity_and_country():
    """§4: a wildcard entry counts only when active and country-compatible."""
    eng = engine(entry(plate="1ABC*", country="NL"), entry(entry_id="E2", plate="1AB?12",
                                                          valid_from=T0 + 1))
    assert kinds(eng, read("1ABC12", country_code="BE")) == set()
    assert kinds(eng, read("1ABC12", country_code="NL")) == {
        ("stolen_vehicles", "E1", "WILDCARD", 0)}


def test_spec_4_several_entries_of_several_lists_each_give_a_hit():
    """§4: a read may match several entries, of one list or several: one hit each."""
    eng = engine(entry(entry_id="E1"), entry(entry_id="E2"),
                 entry(list_name="judicial_alerts", entry_id="J1", plate="IABC123"),
                 entry(list_name="judicial_alerts", entry_id="J2", plate="1ABC*"))
    assert kinds(eng, read("1ABC123")) == {
        ("stolen_vehicles", "E1", "EXACT", 0), ("stolen_vehicles", "E2", "EXACT", 0),
        ("judicial_alerts", "J1", "OCR", 1), ("judicial_alerts", "J2", "WILDCARD", 0)}


def test_spec_4_one_hit_per_entry_best_way_counts():
    """§4: one entry matched in more than one way gives one hit, the best way:
    an exact read of a plate with confusable characters is EXACT, not OCR."""
    eng = engine(entry(list_name="judicial_alerts", plate="0OD1I"))
    hits = eng.evaluate(read("0OD1I"))
    assert [(h.match_kind, h.substitutions) for h in hits] == [("EXACT", 0)]


def test_spec_4_unconfigured_list_takes_the_defaults():
    """§4: a list the configuration does not name is an alert list with the defaults
    (0 substitutions, severity 50, 10 min), so it can be fed before anyone configures it."""
    eng = engine(entry(list_name="brand_new_list", plate="1ABC123"))
    (hit,) = eng.evaluate(read("1ABC123"))
    assert (hit.match_kind, hit.severity, hit.dedup_window_ms) == ("EXACT", 50, 600_000)


def test_spec_4_default_list_settings_table():
    """§4 List defaults table."""
    s = MatchingSettings()
    assert (s.for_list("stolen_vehicles").max_ocr_substitutions, s.for_list("stolen_vehicles")
            .severity, s.for_list("stolen_vehicles").dedup_window_ms) == (1, 70, 600_000)
    assert (s.for_list("judicial_alerts").max_ocr_substitutions,
            s.for_list("judicial_alerts").severity) == (2, 90)
    assert (s.for_list("other").max_ocr_substitutions, s.for_list("other").severity,
            s.for_list("other").dedup_window_ms) == (0, 50, 600_000)


def test_spec_5_lez_lists_never_give_alert_hits():
    """§4/§5: the two LEZ lists are not alert lists: matching one gives no alert hit."""
    eng = engine(entry(list_name="lez_vehicle_status", plate="1ABC123",
                       attributes={"admitted": "true"}),
                 entry(list_name="lez_permits", entry_id="P1", plate="1ABC123", zone="Z"))
    assert eng.evaluate(read("1ABC123")) == []


def test_spec_4_inert_long_entry_never_matches_but_is_held():
    """§3/§4: an entry plate longer than 12 characters can never equal a valid read."""
    eng = engine(entry(plate="ABCDEFGHIJKLMN"))
    assert len(eng.index) == 1
    assert eng.evaluate(read("ABCDEFGHIJKL")) == []
    assert as_set(eng.evaluate(read("ABCDEFGHIJKL"))) == set()


def test_spec_8_reads_see_the_reference_state_as_it_stands():
    """§8: a read is matched against the state when it is processed; the validity
    window decides by the read's event time, not by the processing time."""
    eng = engine()
    assert kinds(eng, read()) == set()
    eng.apply(entry(valid_from=T0 - 60 * MIN, valid_until=T0 - 30 * MIN))
    assert kinds(eng, read(t=T0 - 45 * MIN)) == {("stolen_vehicles", "E1", "EXACT", 0)}
    assert kinds(eng, read(t=T0)) == set()
    from .helpers import delete
    eng.apply(delete("stolen_vehicles", "E1"))
    assert kinds(eng, read(t=T0 - 45 * MIN)) == set()


def test_hits_of_a_read_come_sorted_by_list_entry_and_zone():
    """§10 (reading): the output does not depend on the index's layout or history."""
    eng = engine(entry(list_name="judicial_alerts", entry_id="J2"),
                 entry(list_name="judicial_alerts", entry_id="J1"),
                 entry(list_name="a_list", entry_id="Z9"))
    from udfs.model import Camera
    eng.put_camera(Camera("C1", lez_zones=("GENT", "ANTWERPEN")))
    hits = eng.evaluate(read())
    assert [(h.list_name, h.entry_id, h.zone) for h in hits] == [
        ("a_list", "Z9", None), ("judicial_alerts", "J1", None),
        ("judicial_alerts", "J2", None), ("lez_vehicle_status", None, "ANTWERPEN"),
        ("lez_vehicle_status", None, "GENT")]
