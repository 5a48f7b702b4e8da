"""Plate formats per country, display styles, and index-addressed plates."""

from __future__ import annotations

import random
import re

import pytest

from feblam.simulate.fleet import build_fleet
from feblam.simulate.plates import CANON_PATTERNS, FORMAT_MIX, FORMATS, STYLES, format_at
from feblam.simulate.seeding import IndexPermutation
from udfs.normalise import canon

COUNTRY_PATTERNS = {
    "BE": r"[12][A-Z]{3}\d{3}|[A-Z]{3}\d{3}|\d{3}[A-Z]{3}|[MOQ][A-Z]{3}\d{3}|TX[A-Z]{2}\d{3}",
    "NL": r"[A-Z0-9]{6}",
    "FR": r"[A-Z]{2}\d{3}[A-Z]{2}|\d{3,4}[A-Z]{2}\d{2}",
    "DE": r"[A-Z]{1,3}[A-Z]{1,2}[1-9]\d{0,3}",
    "LU": r"[A-Z]{2}\d{4}|\d{5}",
}
DISPLAY = {"be_current": r"[12]-[A-Z]{3}-\d{3}", "be_1973": r"[A-Z]{3}-\d{3}",
           "fr_siv": r"[A-Z]{2}-\d{3}-[A-Z]{2}", "de_2": r"[A-Z]{1,3}-[A-Z]{2} [1-9]\d{0,3}",
           "lu_letters": r"[A-Z]{2} \d{4}", "nl_sc9": r"[A-Z]{2}-\d{3}-[A-Z]"}


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_sampled_plates_match_their_format_in_every_style(name):
    fmt, rng = FORMATS[name], random.Random(name)
    for _ in range(300):
        plate = fmt.sample(rng)
        assert CANON_PATTERNS[name].fullmatch(plate.canon), plate
        assert re.fullmatch(COUNTRY_PATTERNS[fmt.country], plate.canon), plate
        assert len(plate.canon) <= 12
        for style in STYLES:
            assert canon(plate.display(style)) == plate.canon
        if name in DISPLAY:
            assert re.fullmatch(DISPLAY[name], plate.display()), plate.display()


def test_belgian_special_series_and_current_format_look_right():
    rng = random.Random(3)
    assert re.fullmatch(r"[12]-[A-Z]{3}-\d{3}", FORMATS["be_current"].sample(rng).display())
    for name, letter in (("be_motorcycle", "M"), ("be_oldtimer", "O"), ("be_trailer", "Q"),
                         ("be_taxi", "T")):
        assert FORMATS[name].sample(rng).display().startswith(letter + "-")
    # The current series never uses the letters that look like digits in the group.
    groups = {FORMATS["be_current"].sample(rng).segments[1] for _ in range(2000)}
    assert not set("".join(groups)) & set("IMOQUWZ")


def test_fleet_plates_are_distinct_and_match_their_country():
    fleet = build_fleet(5, 600)
    originals = [v for v in fleet.vehicles if v.clone_of is None]
    assert len({v.plate.canon for v in originals}) == len(originals)
    countries = {v.country for v in fleet.vehicles}
    assert countries == set(FORMAT_MIX)
    for v in fleet.vehicles:
        assert re.fullmatch(COUNTRY_PATTERNS[v.country], v.plate.canon), v.plate
    belgian = sum(v.country == "BE" for v in fleet.vehicles) / len(fleet.vehicles)
    assert 0.8 < belgian < 0.93


@pytest.mark.parametrize("size", [1, 2, 7, 12, 1000, 9_251_739])
def test_index_permutation_is_a_bijection(size):
    perm = IndexPermutation(size, 0xDEADBEEF)
    sample = range(min(size, 5000))
    images = [perm(j) for j in sample]
    assert len(set(images)) == len(images)
    assert all(0 <= i < size for i in images)


def test_index_addressed_plates_are_distinct():
    fmt = FORMATS["be_current"]
    perm = IndexPermutation(fmt.size, 42)
    plates = {fmt.plate(perm(j)).canon for j in range(20_000)}
    assert len(plates) == 20_000


def test_format_at_follows_the_mix():
    assert format_at("BE", 0.0).name == "be_current"
    assert format_at("BE", 0.9999).name == FORMAT_MIX["BE"][-1][0]
    with pytest.raises(ValueError):
        FORMATS["lu_digits"].plate(FORMATS["lu_digits"].size)
