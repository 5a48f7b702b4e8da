"""Spec §1 ReferenceEntry updates and §4 wildcard limits, at load."""

import pytest

from udfs.model import DELETE, FOR_EVER, SINCE_EVER, UPSERT
from udfs.reference import (BAD_ATTRIBUTES, BAD_CAMERA, BAD_OP, BAD_SEVERITY, BAD_VALIDITY,
                            BAD_WILDCARD, EMPTY_PLATE, MALFORMED, InvalidEntry, parse_camera,
                            parse_entry)

BASE = {"list_name": "stolen_vehicles", "entry_id": "E1", "plate": "1-abc-123"}


def refused(**changes):
    record = {**BASE, **changes}
    record = {k: v for k, v in record.items() if v is not ...}
    with pytest.raises(InvalidEntry) as info:
        parse_entry(record)
    assert info.value.raw is record
    return info.value.reason


def test_spec_1_entry_fields_are_normalised():
    """§1/§2: plate canonical, country alpha-2, nullable bounds open, op UPSERT by default."""
    e = parse_entry({**BASE, "country": "D", "valid_from": "2026-01-01T00:00:00Z",
                     "severity": 0, "zone": "GENT", "attributes": {"case": "X1"}})
    assert (e.op, e.plate, e.country, e.severity, e.zone) == (UPSERT, "1ABC123", "DE", 0, "GENT")
    assert e.valid_from == 1767225600000 and e.valid_until == FOR_EVER
    assert parse_entry(BASE).valid_from == SINCE_EVER
    assert e.attributes == {"case": "X1"}


def test_spec_1_delete_needs_only_list_and_id():
    """§1: a DELETE removes (list_name, entry_id); no plate needed."""
    e = parse_entry({"list_name": "stolen_vehicles", "entry_id": "E1", "op": "DELETE"})
    assert e.op == DELETE


@pytest.mark.parametrize("plate", ["AB?CD", "*ABCD", "AB*CD*", "A?B?CD", "1ABC*", "??ABCD"])
def test_spec_4_wildcard_within_limits_is_accepted(plate):
    """§4: at most two wildcards, at least four other characters."""
    assert parse_entry({**BASE, "plate": plate}).is_wildcard


@pytest.mark.parametrize("plate", ["AB?C", "A*B?C", "*ABC*", "?AB*CD?", "AB***CD", "A?B?C?D"])
def test_spec_4_wildcard_breaking_the_limits_is_rejected_with_a_reason(plate):
    """§4: an entry with more than two wildcards or fewer than four other characters
    is rejected when loaded."""
    assert refused(plate=plate) == BAD_WILDCARD


def test_spec_4_plain_plates_have_no_wildcard_limit():
    """§4: the limits are about wildcard entries; a short plain plate is an entry."""
    assert parse_entry({**BASE, "plate": "AB1"}).plate == "AB1"


@pytest.mark.parametrize("changes,expected", [
    ({"list_name": ...}, MALFORMED), ({"entry_id": ""}, MALFORMED), ({"plate": ...}, MALFORMED),
    ({"plate": 5}, MALFORMED), ({"op": "MERGE"}, BAD_OP), ({"plate": "--"}, EMPTY_PLATE),
    ({"valid_from": "soon"}, BAD_VALIDITY), ({"valid_until": True}, BAD_VALIDITY),
    ({"severity": 101}, BAD_SEVERITY), ({"severity": -1}, BAD_SEVERITY),
    ({"severity": "90"}, BAD_SEVERITY), ({"attributes": {"a": 1}}, BAD_ATTRIBUTES),
    ({"attributes": ["x"]}, BAD_ATTRIBUTES), ({"zone": 3}, MALFORMED),
])
def test_invalid_reference_updates_are_refused_with_a_reason(changes, expected):
    """§1: every malformed update is refused with a typed reason and its raw record."""
    assert refused(**changes) == expected


def test_non_record_update_is_malformed():
    with pytest.raises(InvalidEntry) as info:
        parse_entry(["list"])
    assert info.value.reason == MALFORMED


def test_spec_1_camera_parsing_and_invalid_cameras():
    """§1 Camera: lez_zones may be empty; a bad camera record is refused."""
    c = parse_camera({"camera_id": "C1", "lat": 51.0, "lon": 4.4, "lez_zones": ["A", "A", "B"]})
    assert c.lez_zones == ("A", "B")
    assert parse_camera({"camera_id": "C2"}).lez_zones == ()
    for bad in ({}, {"camera_id": 1}, {"camera_id": "C", "lez_zones": "A"},
                {"camera_id": "C", "lat": "north"}, "C1"):
        with pytest.raises(InvalidEntry) as info:
            parse_camera(bad)
        assert info.value.reason == BAD_CAMERA


@pytest.mark.parametrize("name, value", [("lat", float("nan")), ("lon", float("nan")), ("lat", float("inf")),
                                         ("lon", float("-inf")), ("lat", 90.5), ("lat", -91), ("lon", 180.01),
                                         ("lon", -200)])
def test_a_camera_position_must_be_a_finite_number_in_range(name, value):
    """A NaN latitude was accepted, and a distance from it is NaN: clone suspicion and
    the gateway's places would be silently wrong."""
    with pytest.raises(InvalidEntry) as info:
        parse_camera({"camera_id": "C1", "lat": 50.8, "lon": 4.3, name: value})
    assert info.value.reason == BAD_CAMERA and name in info.value.detail


def test_the_edges_of_the_globe_are_positions():
    for lat, lon in ((90, 180), (-90, -180), (0, 0)):
        assert (parse_camera({"camera_id": "C", "lat": lat, "lon": lon}).lat, lon) == (lat, lon)


def test_refused_upsert_leaves_the_previous_version_in_place():
    """§1 (reading): a refused UPSERT changes nothing, it does not delete."""
    from udfs.engine import HitEngine
    eng = HitEngine()
    eng.apply_record({**BASE})
    with pytest.raises(InvalidEntry):
        eng.apply_record({**BASE, "plate": "A?B?C?D"})
    assert eng.index.get("stolen_vehicles", "E1").plate == "1ABC123"


def test_empty_validity_window_is_accepted_and_never_active():
    """§4 (reading): valid_from >= valid_until is accepted, never active."""
    from udfs.engine import HitEngine
    from .helpers import T0, read
    eng = HitEngine()
    eng.apply_record({**BASE, "valid_from": T0, "valid_until": T0})
    assert len(eng.index) == 1 and eng.evaluate(read(t=T0)) == []


def test_op_is_case_insensitive_and_defaults_to_upsert():
    """§1 (reading): op absent means UPSERT; the value's case does not matter."""
    assert parse_entry(BASE).op == UPSERT
    assert parse_entry({**BASE, "op": "delete"}).op == DELETE
    assert parse_entry({**BASE, "op": "Upsert"}).op == UPSERT


def test_empty_zone_means_no_zone():
    """§1 (reading): an empty zone is no zone (valid in every zone for LEZ)."""
    assert parse_entry({**BASE, "zone": ""}).zone is None


def test_entry_id_longer_than_65535_bytes_is_malformed():
    assert refused(entry_id="é" * 40_000) == MALFORMED
