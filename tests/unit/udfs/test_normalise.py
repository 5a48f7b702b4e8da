"""Spec §2 Normalisation."""

import pytest

from udfs.normalise import canon, canon_pattern, compatible, country


@pytest.mark.parametrize("text", ["1-abc-123", "1 ABC 123", "1.ABC.123", "1ABC123", " 1/abc_123 "])
def test_spec_2_canon_examples_give_the_same_plate(text):
    """§2 canon: separators dropped, upper-cased."""
    assert canon(text) == "1ABC123"


def test_spec_2_canon_nfkd_drops_combining_marks():
    """§2 canon: NFKD then drop combining marks: accented letters lose their accent."""
    assert canon("1-ébç-123") == "1EBC123"
    assert canon("Ä1Ö") == "A1O"


def test_spec_2_canon_compatibility_forms_decompose():
    """§2 canon: NFKD maps full-width and ligature forms to their ASCII letters."""
    assert canon("ＡＢ１２") == "AB12"
    assert canon("ﬁ9") == "FI9"


def test_spec_2_canon_keeps_only_a_to_z_and_digits():
    """§2 canon: anything else (wildcards, Greek, emoji) is dropped."""
    assert canon("AB?*Ω😀12") == "AB12"
    assert canon("--- ...") == ""


def test_spec_2_entry_plates_keep_wildcards():
    """§2: entry plates are normalised like reads but keep ? and *."""
    assert canon_pattern("1-ab?-*23") == "1AB?*23"
    assert canon_pattern("é?") == "E?"


@pytest.mark.parametrize("code,iso", [
    ("B", "BE"), ("F", "FR"), ("D", "DE"), ("L", "LU"), ("NL", "NL"), ("GB", "GB"),
    ("UK", "GB"), ("E", "ES"), ("I", "IT"), ("A", "AT"), ("CH", "CH"), ("PL", "PL"),
])
def test_spec_2_international_vehicle_codes_map_to_alpha2(code, iso):
    """§2 countries: the international vehicle codes of the spec are accepted."""
    assert country(code) == iso
    assert country(code.lower()) == iso


def test_spec_2_iso_alpha2_codes_pass_through():
    """§2 countries: ISO 3166-1 alpha-2 codes are kept."""
    assert country("BE") == "BE"
    assert country(" be ") == "BE"
    assert country("CZ") == "CZ"


@pytest.mark.parametrize("value", ["", "  ", "XX", "ZZZ", "Q", None, 32, "BEL"])
def test_spec_2_empty_or_unknown_country_is_unknown_not_an_error(value):
    """§2 countries: an empty or unknown value means country unknown."""
    assert country(value) is None


def test_spec_4_countries_compatible_when_either_unknown_or_equal():
    """§4 compatible countries: either side unknown, or both equal."""
    assert compatible(None, "BE") and compatible("BE", None) and compatible(None, None)
    assert compatible("BE", "BE")
    assert not compatible("BE", "NL")


def test_spec_2_canon_upper_cases_after_decomposition():
    """§2 (reading): upper-casing comes after NFKD, so ß becomes SS."""
    assert canon("straße 1") == "STRASSE1"
