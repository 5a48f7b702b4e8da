"""Spec §4 WILDCARD: the wildcard index finds what a scan finds, without scanning."""

from hypothesis import given, settings, strategies as st

from udfs.reference import check_pattern, parse_entry
from udfs.wildcard import FLOATING, FROM_END, FROM_START, WildcardIndex, WildcardPattern

from .helpers import _wild_match


def pattern(plate, eid="W"):
    return parse_entry({"list_name": "stolen_vehicles", "entry_id": eid, "plate": plate})


def test_anchor_prefers_fixed_places_and_long_runs():
    assert WildcardPattern(0, pattern("1ABC*")).anchor == (FROM_START, 0, 4)
    assert WildcardPattern(0, pattern("*ABC12")).anchor == (FROM_END, 0, 4)
    assert WildcardPattern(0, pattern("?AB?CDE")).anchor == (FROM_START, 4, 3)
    assert WildcardPattern(0, pattern("A*BCD*E")).anchor[0] == FLOATING


def test_a_read_sees_only_the_patterns_filed_under_its_anchors():
    """No scan: a read is verified against the patterns filed under what it holds."""
    index = WildcardIndex()
    for i in range(500):
        index.add(0, pattern(f"{i:04d}*", eid=f"W{i}"))
    assert [p.entry.entry_id for p in index.candidates("0042XYZ")] == ["W42"]
    assert index.candidates("ZZZZZZ") == []


def test_remove_and_replace():
    index = WildcardIndex()
    index.add(0, pattern("1ABC*"))
    index.add(0, pattern("*XYZ9"))  # same id: replaces
    assert len(index) == 1 and index.match("1ABC22") == []
    assert [p.entry.plate for p in index.match("QXYZ9")] == ["*XYZ9"]
    assert index.remove(0, "W") and not index.remove(0, "W")
    assert index.match("QXYZ9") == [] and index.fixed == ()


patterns = st.lists(st.sampled_from(list("AB12?*")), min_size=4, max_size=8).map("".join) \
    .filter(lambda p: check_pattern(p) is None)


@settings(max_examples=200, deadline=None)
@given(st.lists(patterns, min_size=1, max_size=8), st.text("AB12", min_size=1, max_size=8))
def test_wildcard_index_agrees_with_a_scan(plates, read_plate):
    """§4 WILDCARD property: ? is one character, * zero or more, others exact."""
    index = WildcardIndex()
    for i, p in enumerate(plates):
        index.add(0, pattern(p, eid=str(i)))
    found = sorted(p.entry.entry_id for p in index.match(read_plate))
    assert found == sorted(str(i) for i, p in enumerate(plates) if _wild_match(p, read_plate))
    assert len(found) == len(set(found))
