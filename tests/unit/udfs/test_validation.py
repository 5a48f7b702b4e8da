"""Spec §3 Invalid reads (and the time formats of §10)."""

import json
import math

import pytest

from udfs.instant import format_instant, parse_instant
from udfs.validation import (BAD_CONFIDENCE, BAD_TIMESTAMP, EMPTY_PLATE, MALFORMED,
                             PLATE_TOO_LONG, REASONS, InvalidRead, validate_read)

GOOD = {"read_id": "r1", "camera_id": "C1", "event_time": "2026-03-01T08:15:00.250Z",
        "plate_text": "1-abc-123", "plate_country": "B", "ocr_confidence": 0.9}


def with_(**changes):
    record = dict(GOOD)
    for k, v in changes.items():
        if v is ...:
            record.pop(k)
        else:
            record[k] = v
    return record


def reason(raw):
    with pytest.raises(InvalidRead) as info:
        validate_read(raw, position=("plate-reads", 0, 42))
    err = info.value
    assert err.raw is raw, "§3: the dead letter carries the original record"
    assert err.position == ("plate-reads", 0, 42), "§3: and the source position"
    return err.reason


def test_spec_3_valid_read_is_normalised():
    """§2/§3: a valid read carries its canonical plate, ISO country and epoch millis."""
    r = validate_read(GOOD)
    assert (r.plate, r.country, r.event_time) == ("1ABC123", "BE", 1772352900250)
    assert r.plate_text == "1-abc-123" and r.ocr_confidence == 0.9


def test_spec_3_reasons_are_exactly_the_five_of_the_spec():
    """§3: the dead-letter reasons."""
    assert set(REASONS) == {"MALFORMED", "BAD_TIMESTAMP", "EMPTY_PLATE", "PLATE_TOO_LONG",
                            "BAD_CONFIDENCE"}


@pytest.mark.parametrize("raw", [b"{not json", "[1, 2]", b"\xff\xfe", "null", 42, "\"text\""])
def test_spec_3_malformed_when_it_cannot_be_decoded(raw):
    """§3 MALFORMED: cannot be decoded."""
    assert reason(raw) == MALFORMED


@pytest.mark.parametrize("field", ["read_id", "camera_id", "plate_text"])
def test_spec_3_malformed_when_a_required_field_is_missing(field):
    """§3 MALFORMED: a required field is missing (or null, or not text)."""
    assert reason(with_(**{field: ...})) == MALFORMED
    assert reason(with_(**{field: None})) == MALFORMED
    assert reason(with_(**{field: 12})) == MALFORMED


def test_spec_3_bytes_are_decoded_and_kept_raw():
    """§3: a read given as bytes is decoded; the dead letter keeps the bytes."""
    raw = json.dumps(with_(plate_text="---")).encode()
    assert reason(raw) == EMPTY_PLATE
    assert validate_read(json.dumps(GOOD).encode()).plate == "1ABC123"


@pytest.mark.parametrize("value", [..., None, "yesterday", "2026-03-01", "2026-03-01T08:15:00",
                                   "2026-13-01T00:00:00Z", True, 1.5e12, [1]])
def test_spec_3_bad_timestamp_when_event_time_missing_or_unparseable(value):
    """§3 BAD_TIMESTAMP: missing or unparseable event time (a text needs its UTC offset)."""
    assert reason(with_(event_time=value)) == BAD_TIMESTAMP


def test_spec_10_times_are_iso_utc_text_or_epoch_millis():
    """§10: ISO-8601 UTC text or epoch milliseconds, to the millisecond."""
    assert validate_read(with_(event_time=1772352900250)).event_time == 1772352900250
    assert parse_instant("2026-03-01T08:15:00.250Z") == 1772352900250
    assert parse_instant("2026-03-01T09:15:00.250+01:00") == 1772352900250
    assert parse_instant("2026-03-01T08:15:00.250999Z") == 1772352900250
    assert format_instant(1772352900250) == "2026-03-01T08:15:00.250Z"
    assert parse_instant("1969-12-31T23:59:59.999Z") == -1


@pytest.mark.parametrize("plate", ["", "---", " . ", "?*", "—"])
def test_spec_3_empty_plate_when_canon_is_empty(plate):
    """§3 EMPTY_PLATE: canon(plate_text) is empty."""
    assert reason(with_(plate_text=plate)) == EMPTY_PLATE


def test_spec_3_plate_too_long_above_12_canonical_characters():
    """§3 PLATE_TOO_LONG: more than 12 characters after canon; 12 is fine."""
    assert reason(with_(plate_text="ABCDEFGHIJKLM")) == PLATE_TOO_LONG
    assert validate_read(with_(plate_text="AB-CD-EF-GH-IJ-KL")).plate == "ABCDEFGHIJKL"


@pytest.mark.parametrize("value", [..., None, math.nan, -0.01, 1.01, "0.9", True, math.inf])
def test_spec_3_bad_confidence_missing_nan_or_outside_unit_interval(value):
    """§3 BAD_CONFIDENCE: missing, NaN or outside [0, 1]."""
    assert reason(with_(ocr_confidence=value)) == BAD_CONFIDENCE


def test_spec_3_confidence_bounds_are_inclusive():
    """§3: 0 and 1 are inside [0, 1]."""
    assert validate_read(with_(ocr_confidence=0)).ocr_confidence == 0.0
    assert validate_read(with_(ocr_confidence=1)).ocr_confidence == 1.0


def test_spec_3_first_failing_check_in_spec_order_gives_the_one_reason():
    """§3 one reason: a read bad in several ways gets the first in the spec's order."""
    bad_everything = with_(event_time="nope", plate_text="", ocr_confidence=7)
    assert reason(bad_everything) == BAD_TIMESTAMP
    assert reason(with_(plate_text="", ocr_confidence=7)) == EMPTY_PLATE
    assert reason(with_(plate_text="A" * 13, ocr_confidence=7)) == PLATE_TOO_LONG


def test_spec_2_unknown_country_on_a_read_is_not_an_error():
    """§2: an unknown or empty country means country unknown, not an invalid read."""
    assert validate_read(with_(plate_country="ZZ")).country is None
    assert validate_read(with_(plate_country=...)).country is None
    assert validate_read(with_(plate_country=7)).country is None


def test_spec_10_dead_letter_record_has_reason_read_id_and_original_line():
    """§10: dead letters carry reason, the read_id where readable, the original line."""
    line = json.dumps(with_(plate_text=""))
    with pytest.raises(InvalidRead) as info:
        validate_read(line)
    record = info.value.to_record()
    assert record["reason"] == EMPTY_PLATE
    assert record["read_id"] == "r1"
    assert record["original"] == line


def test_optional_attributes_are_kept_and_never_invalidate():
    """§1 optional vehicle attributes: kept when text, ignored otherwise."""
    r = validate_read(with_(make="VW", colour=3, source="cam"))
    assert (r.make, r.colour, r.source) == ("VW", None, "cam")


def test_spec_10_epoch_millis_as_text_is_not_an_instant():
    """§3/§10 (reading): epoch milliseconds are a number; digits as text are refused."""
    assert reason(with_(event_time="1772352900250")) == BAD_TIMESTAMP


@pytest.mark.parametrize("value,valid", [
    ("2000-01-01T00:00:00Z", True), ("1999-12-31T23:59:59.999Z", False),
    ("2000-01-01T00:30:00+01:00", False), ("2099-12-31T23:59:59.999Z", True),
    ("2100-01-01T00:00:00Z", False), (0, False), (-1, False), (10**15, False),
    (parse_instant("2100-01-01T00:00:00Z") - 1, True), (253402300800000, False)])
def test_spec_3_bad_timestamp_outside_2000_to_2100(value, valid):
    """§3 BAD_TIMESTAMP: an event time outside [2000-01-01T00:00:00Z, 2100-01-01T00:00:00Z),
    given as text (offsets converted first) or as epoch milliseconds (year 10000 too)."""
    if valid:
        assert validate_read(with_(event_time=value)).event_time == parse_instant(value)
    else:
        assert reason(with_(event_time=value)) == BAD_TIMESTAMP
