"""Spec §5 LEZ lists."""

import pytest

from udfs.config import MatchingSettings
from udfs.engine import HitEngine
from udfs.model import Camera

from .helpers import MIN, T0, entry, read

STATUS, PERMITS = "lez_vehicle_status", "lez_permits"


def status(eid="S1", plate="1ABC123", admitted="false", **kw):
    return entry(list_name=STATUS, entry_id=eid, plate=plate,
                 attributes={"admitted": admitted}, **kw)


def permit(eid="P1", plate="1ABC123", zone="GENT", **kw):
    return entry(list_name=PERMITS, entry_id=eid, plate=plate, zone=zone, **kw)


def lez_hits(*entries, zones=("GENT",), settings=None, **read_kw):
    eng = HitEngine(settings)
    eng.put_camera(Camera("C1", lez_zones=tuple(zones)))
    eng.put_camera(Camera("C0"))
    for e in entries:
        eng.apply(e)
    return {(h.match_kind, h.entry_id, h.zone) for h in eng.evaluate(read(**read_kw))
            if h.match_kind.startswith("LEZ")}


def test_spec_5_not_admitted_vehicle_gives_lez_not_admitted_with_entry_id():
    """§5 step 2: admitted = "false" gives LEZ_NOT_ADMITTED with that entry_id."""
    assert lez_hits(status()) == {("LEZ_NOT_ADMITTED", "S1", "GENT")}


def test_spec_5_admitted_vehicle_gives_no_hit():
    """§5 step 2: otherwise (admitted = "true") no hit."""
    assert lez_hits(status(admitted="true")) == set()


def test_spec_5_unknown_vehicle_gives_lez_unregistered_without_entry_id():
    """§5 step 3: unknown to both lists: LEZ_UNREGISTERED, no entry_id."""
    assert lez_hits() == {("LEZ_UNREGISTERED", None, "GENT")}


def test_spec_5_active_permit_for_the_zone_means_no_hit():
    """§5 step 1: an active permit for (r, Z): no hit, whatever the status says."""
    assert lez_hits(permit(), status()) == set()
    assert lez_hits(permit()) == set()


def test_spec_5_permit_for_another_zone_does_not_count():
    """§5 step 1: the permit must be for Z."""
    assert lez_hits(permit(zone="BRUSSEL"), status()) == {("LEZ_NOT_ADMITTED", "S1", "GENT")}
    assert lez_hits(permit(zone="BRUSSEL")) == {("LEZ_UNREGISTERED", None, "GENT")}


def test_spec_5_permit_validity_window_counts():
    """§5: only active entries count: a day pass outside its day is no permit."""
    day_pass = permit(valid_from=T0 - 60 * MIN, valid_until=T0)
    assert lez_hits(day_pass, status()) == {("LEZ_NOT_ADMITTED", "S1", "GENT")}
    assert lez_hits(day_pass, status(), t=T0 - 1) == set()


def test_spec_5_zone_specific_status_decides_over_zoneless():
    """§5 step 2: the entry with zone Z decides, over the one with no zone."""
    assert lez_hits(status("S1", admitted="false"),
                    status("S2", admitted="true", zone="GENT")) == set()
    assert lez_hits(status("S1", admitted="true"),
                    status("S2", admitted="false", zone="GENT")) == {
        ("LEZ_NOT_ADMITTED", "S2", "GENT")}


def test_spec_5_zoneless_status_applies_to_all_zones():
    """§5: a status entry with no zone is for all zones."""
    assert lez_hits(status(), zones=("GENT", "ANTWERPEN")) == {
        ("LEZ_NOT_ADMITTED", "S1", "GENT"), ("LEZ_NOT_ADMITTED", "S1", "ANTWERPEN")}


def test_spec_5_smallest_entry_id_decides_among_several():
    """§5 step 2: among several deciding candidates, the smallest entry_id."""
    assert lez_hits(status("B2", admitted="true"), status("A9", admitted="false")) == {
        ("LEZ_NOT_ADMITTED", "A9", "GENT")}
    assert lez_hits(status("A1", admitted="true"), status("A9", admitted="false")) == set()
    assert lez_hits(status("A1", admitted="true", zone="GENT"),
                    status("A0", admitted="false")) == set()


@pytest.mark.parametrize("admitted", ["true", "false"])
def test_spec_5_status_for_another_zone_only_leaves_the_vehicle_unregistered(admitted):
    """§5 step 2-3: a status entry for another zone says nothing about Z and never
    decides; with no deciding entry the vehicle is unknown to Z: LEZ_UNREGISTERED,
    no entry_id (fails closed: a registration for Brussels does not admit to Gent)."""
    assert lez_hits(status(zone="BRUSSEL", admitted=admitted)) == {
        ("LEZ_UNREGISTERED", None, "GENT")}


@pytest.mark.parametrize("admitted,expected", [
    ("true", set()), ("false", {("LEZ_NOT_ADMITTED", "S1", "GENT")})])
def test_spec_5_zoneless_status_decides_when_the_zone_has_none(admitted, expected):
    """§5 step 2: with no entry for Z, the entry with no zone decides, beside an
    entry for another zone that does not."""
    assert lez_hits(status("S1", admitted=admitted)) == expected
    assert lez_hits(status("S0", admitted="true", zone="BRUSSEL"),
                    status("S1", admitted=admitted)) == expected


def test_spec_5_zones_own_status_wins_over_zoneless_and_other_zones():
    """§5 step 2: entries for Z and with no zone both present: the zone's own decides."""
    assert lez_hits(status("S2", admitted="true", zone="GENT"), status("S1"),
                    status("S0", zone="BRUSSEL")) == set()
    assert lez_hits(status("S2", zone="GENT"), status("S1", admitted="true"),
                    status("S0", admitted="true", zone="BRUSSEL")) == {
        ("LEZ_NOT_ADMITTED", "S2", "GENT")}


@pytest.mark.parametrize("admitted,in_gent", [
    ("true", set()), ("false", {("LEZ_NOT_ADMITTED", "S1", "GENT")})])
@pytest.mark.parametrize("validity", [{}, {"valid_from": T0 - MIN}], ids=["for-ever", "from"])
def test_spec_5_camera_in_two_zones_with_status_for_one(admitted, in_gent, validity):
    """§5: checked per zone: the entry decides in its zone; the other zone knows
    nothing of the vehicle (LEZ_UNREGISTERED). Both shapes of the index's chain of
    one status entry (valid for ever, or with a validity) give the same."""
    assert lez_hits(status(zone="GENT", admitted=admitted, **validity),
                    zones=("GENT", "ANTWERPEN")) == in_gent | {
        ("LEZ_UNREGISTERED", None, "ANTWERPEN")}
    assert lez_hits(status(zone="GENT", admitted=admitted, **validity),
                    zones=("GENT",)) == in_gent


def test_spec_5_inactive_status_counts_as_unknown():
    """§5: only active entries count; an expired status leaves the vehicle unknown."""
    assert lez_hits(status(valid_until=T0)) == {("LEZ_UNREGISTERED", None, "GENT")}


def test_spec_5_exact_match_only_no_ocr_no_wildcard():
    """§5: matching on r exactly, no OCR substitutions, no wildcards."""
    assert lez_hits(status(plate="IABC123")) == {("LEZ_UNREGISTERED", None, "GENT")}
    assert lez_hits(status(plate="1ABC*")) == {("LEZ_UNREGISTERED", None, "GENT")}
    assert lez_hits(permit(plate="1ABC*")) == {("LEZ_UNREGISTERED", None, "GENT")}


def test_spec_5_country_compatibility_applies():
    """§5: country compatible entries only."""
    assert lez_hits(status(country="NL"), country_code="BE") == {
        ("LEZ_UNREGISTERED", None, "GENT")}
    assert lez_hits(status(country="NL"), country_code=None) == {
        ("LEZ_NOT_ADMITTED", "S1", "GENT")}
    assert lez_hits(permit(country="NL"), country_code="BE") == {
        ("LEZ_UNREGISTERED", None, "GENT")}


def test_spec_5_confidence_floor_default_080():
    """§5: no LEZ hit below ocr_confidence 0.80; 0.80 itself counts."""
    assert lez_hits(status(), confidence=0.79) == set()
    assert lez_hits(status(), confidence=0.80) == {("LEZ_NOT_ADMITTED", "S1", "GENT")}
    assert lez_hits(confidence=0.5) == set()


def test_spec_5_confidence_floor_is_configurable():
    """§5 (config): the floor comes from the configuration."""
    settings = MatchingSettings(lez_confidence_floor=0.5)
    assert lez_hits(status(), confidence=0.6, settings=settings) == {
        ("LEZ_NOT_ADMITTED", "S1", "GENT")}


def test_spec_5_camera_in_several_zones_is_checked_for_each():
    """§5: a camera in several zones is checked for each zone."""
    assert lez_hits(permit(zone="GENT"), zones=("GENT", "ANTWERPEN")) == {
        ("LEZ_UNREGISTERED", None, "ANTWERPEN")}


def test_spec_3_camera_missing_from_registry_no_lez_but_alerts_apply():
    """§3: a read from an unknown camera is valid: alert lists apply, LEZ lists do not."""
    eng = HitEngine()
    eng.apply(status())
    eng.apply(entry(entry_id="E1"))
    hits = eng.evaluate(read(camera_id="UNKNOWN"))
    assert [(h.list_name, h.match_kind) for h in hits] == [("stolen_vehicles", "EXACT")]


def test_spec_5_camera_without_zones_gives_no_lez_hit():
    """§1/§5: a camera whose lez_zones is empty decides no zone."""
    assert lez_hits(status(), camera_id="C0") == set()
    assert lez_hits(camera_id="C0") == set()


@pytest.mark.parametrize("value,hit", [("false", True), ("true", False), ("FALSE", True),
                                       (None, False), ("maybe", False)])
def test_spec_5_admitted_attribute_values(value, hit):
    """§5: only admitted = "false" raises a hit; anything else admits (reading: case-blind)."""
    e = entry(list_name=STATUS, entry_id="S1", plate="1ABC123",
              attributes={} if value is None else {"admitted": value})
    assert bool(lez_hits(e)) is hit


def test_spec_9_both_lez_kinds_carry_the_status_list_name():
    """§9: both LEZ kinds carry list_name = lez_vehicle_status, even on a permit miss."""
    eng = HitEngine()
    eng.put_camera(Camera("C1", lez_zones=("GENT",)))
    assert [h.list_name for h in eng.evaluate(read())] == ["lez_vehicle_status"]
    eng.apply(status())
    assert [h.list_name for h in eng.evaluate(read())] == ["lez_vehicle_status"]


def test_spec_5_lez_severity_defaults_20_and_10():
    """§6: LEZ_NOT_ADMITTED severity 20, LEZ_UNREGISTERED 10 (config); an entry's own
    severity, when set, wins for LEZ_NOT_ADMITTED."""
    eng = HitEngine()
    eng.put_camera(Camera("C1", lez_zones=("GENT",)))
    assert [h.severity for h in eng.evaluate(read())] == [10]
    eng.apply(status())
    assert [h.severity for h in eng.evaluate(read())] == [20]
    eng.apply(status(severity=35))
    assert [h.severity for h in eng.evaluate(read())] == [35]
    eng = HitEngine(MatchingSettings(lez_unregistered_severity=40))
    eng.put_camera(Camera("C1", lez_zones=("GENT",)))
    assert [h.severity for h in eng.evaluate(read())] == [40]


def test_spec_5_permit_without_zone_is_valid_in_every_zone():
    """§5 step 1 (reading, docs/hit-semantics-notes.md): a permit with no zone is a
    permit for every zone, like a status entry with no zone."""
    assert lez_hits(permit(zone=None), status(), zones=("GENT", "ANTWERPEN")) == set()


def test_spec_5_ocr_variant_of_an_admitted_vehicle_is_unregistered():
    """§5 exact matching: a read that is only an OCR variant of a registered,
    admitted vehicle (same OCR-class key, other plate) is an unknown vehicle."""
    assert lez_hits(status(plate="1A7C723", admitted="true"), plate="IA7C723") == {
        ("LEZ_UNREGISTERED", None, "GENT")}
    assert lez_hits(status(plate="1A7C723", admitted="true"), plate="1A7C723") == set()
    assert lez_hits(status(plate="1ABC723", admitted="true"), plate="1A8C723") == {
        ("LEZ_UNREGISTERED", None, "GENT")}
