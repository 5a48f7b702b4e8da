"""The routing tree walks as Alertmanager's does, and the covert rule overrides it (spec §2, §3)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.config import parse_config
from gateway.labels import LABELS, hit_labels
from gateway.routing import COVERT_ROUTE, choose, explain, walk

SAMPLE = parse_config((Path(__file__).resolve().parents[3] / "flink-conf" / "gateway.yaml").read_text())

TREE = parse_config("""\
national: nat
destinations: {nat: {}, a: {}, b: {}, c: {}, d: {}, owner1: {}}
route:
  destination: nat
  routes:
    - matchers: ['list_name = "x"']
      destination: a
      continue: true
      routes:
        - {matchers: ['priority = "P1"'], destination: b}
        - {matchers: ['priority =~ "P[12]"'], destination: c}
    - {matchers: ['list_name =~ "x|y"'], destination: d}
    - {matchers: ['list_name != "z"', 'zone !~ "B.*"'], destination: a}
""")


def dests(config, **labels):
    return [c.destination for c in choose(config, labels)]


def test_first_matching_child_takes_the_hit_and_the_walk_stops_without_continue():
    # root.0 takes it (continue) -> its first matching child b stops that level; root.1 d stops the root level.
    assert [r.path for r in walk(TREE.route, {"list_name": "x", "priority": "P1"})] == ["root.0.0", "root.1"]
    assert dests(TREE, list_name="x", priority="P1") == ["b", "d"]
    assert dests(TREE, list_name="x", priority="P2") == ["c", "d"]


def test_a_route_whose_children_do_not_match_delivers_itself():
    assert dests(TREE, list_name="x", priority="P3") == ["a", "d"]


def test_no_child_matches_the_root_delivers():
    assert dests(TREE, list_name="z") == ["nat"]


def test_absent_labels_read_as_empty_text_and_regexes_are_anchored():
    assert dests(TREE, list_name="y") == ["d"]
    assert dests(TREE, list_name="xy") == ["a"]          # 'x|y' anchored: not 'xy'; root.2: zone '' !~ B.*
    assert dests(TREE, list_name="xy", zone="BXL") == ["nat"]


def test_a_destination_reached_twice_is_delivered_once():
    config = parse_config("""\
national: nat
destinations: {nat: {}, a: {}}
route:
  destination: nat
  routes:
    - {matchers: ['priority = "P1"'], destination: a, continue: true}
    - {matchers: ['list_name = "x"'], destination: a}
""")
    assert [(c.destination, c.route) for c in choose(config, {"priority": "P1", "list_name": "x"})] == [("a", "root.0")]


def test_covert_goes_to_its_owner_alone_whatever_the_tree_says():
    [choice] = choose(TREE, {"list_name": "x", "priority": "P1", "covert": "true", "owner": "owner1"})
    assert (choice.destination, choice.route, choice.ack_timeout_ms) == ("owner1", COVERT_ROUTE, None)
    assert choose(TREE, {"list_name": "x", "covert": "true"}) == []
    assert choose(TREE, {"list_name": "x", "covert": "true", "owner": "not-a-destination"}) == []


def test_labels_of_a_hit():
    hit = {"list_name": "judicial_alerts", "match_kind": "OCR", "priority": "P1", "score": 87, "zone": None,
           "camera_id": "CAM-1", "country": "B", "attributes": {"covert": "true", "owner": "sirene"}}
    camera = {"police_zone": "PZ Gent", "province": "Oost-Vlaanderen"}
    assert hit_labels(hit, camera, {"judicial_alerts": "fjp-brussels"}) == {
        "list_name": "judicial_alerts", "match_kind": "OCR", "priority": "P1", "score": "87",
        "camera_id": "CAM-1", "police_zone": "PZ Gent", "province": "Oost-Vlaanderen", "country": "B",
        "owner": "sirene", "covert": "true"}
    plain = hit_labels({**hit, "attributes": {"covert": "TRUE"}}, None, {"judicial_alerts": "fjp-brussels"})
    assert plain["owner"] == "fjp-brussels" and plain["covert"] == "false" and "province" not in plain


def sample(**labels):
    return dests(SAMPLE, **{"covert": "false", **labels})


def test_the_sample_routes_the_simulated_network_as_its_comments_say():
    assert sample(list_name="stolen_vehicles", priority="P1", province="Antwerpen") == ["cic-ant"]
    assert sample(list_name="stolen_vehicles", priority="P2", province="Liège") == ["cic-lie"]
    assert sample(list_name="stolen_vehicles", priority="P3", province="Liège") == ["cic-national"]
    assert sample(list_name="stolen_vehicles", priority="P1") == ["cic-national"]       # a mobile unit
    assert sample(list_name="lez_vehicle_status", match_kind="LEZ_NOT_ADMITTED", zone="ANT",
                  priority="P4", province="Antwerpen") == ["lez-ant"]
    assert sample(list_name="judicial_alerts", priority="P1", owner="fjp-ghent",
                  province="Namur") == ["fjp-ghent", "cic-nam"]
    assert sample(list_name="judicial_alerts", priority="P3", owner="sirene") == ["sirene"]
    assert dests(SAMPLE, list_name="judicial_alerts", priority="P1", owner="sirene", covert="true",
                 province="Namur") == ["sirene"]
    lez = choose(SAMPLE, {"match_kind": "LEZ_UNREGISTERED", "zone": "BXL", "priority": "P4"})
    assert [(c.destination, c.ack_timeout_ms) for c in lez] == [("lez-bxl", None)]
    [p1] = choose(SAMPLE, {"list_name": "stolen_vehicles", "priority": "P1", "province": "Namur"})
    assert (p1.ack_timeout_ms, p1.escalate_to) == (60_000, "cic-national")


def test_explain_says_why():
    lines = explain(SAMPLE, {"list_name": "stolen_vehicles", "priority": "P1", "province": "Namur",
                             "match_kind": "EXACT", "covert": "false"})
    text = "\n".join(lines)
    assert "root.0 (line 55): no, match_kind =~ \"LEZ_.*\" does not hold (match_kind='EXACT')" in text
    assert lines[-1] == "-> cic-nam by root.5.10: escalates after 60 s to cic-national"
    covert = explain(SAMPLE, {"covert": "true", "owner": "sirene"})
    assert covert[-1] == "covert: goes to its owner sirene alone; the tree is not walked"


label_values = st.dictionaries(
    st.sampled_from(LABELS),
    st.one_of(st.sampled_from(["P1", "P2", "P3", "P4", "Antwerpen", "Namur", "BXL", "ANT", "GNT",
                               "LEZ_NOT_ADMITTED", "EXACT", "judicial_alerts", "stolen_vehicles",
                               "sirene", "fjp-ghent", "true", "false", "87", ""]),
              st.text(max_size=8)))


@settings(max_examples=500, deadline=None)
@given(label_values)
def test_every_hit_reaches_a_destination_unless_covert_without_owner(labels):
    for config in (SAMPLE, TREE):
        chosen = choose(config, labels)
        destinations = [c.destination for c in chosen]
        assert len(destinations) == len(set(destinations))
        assert all(d in config.destinations for d in destinations)
        if labels.get("covert") == "true":
            owner = labels.get("owner")
            assert destinations == ([owner] if owner in config.destinations else [])
        else:
            assert destinations, labels


@settings(max_examples=300, deadline=None)
@given(label_values)
def test_the_walk_agrees_with_a_direct_reading_of_the_rule(labels):
    def reference(route):
        # Spec §3 read literally: first matching child takes it, continue goes on, else the route itself.
        if not all(m.holds(labels) for m in route.matchers):
            return None
        out = []
        for child in route.routes:
            got = reference(child)
            if got is not None:
                out += got
                if not child.continue_:
                    break
        return out or [route.destination]
    if labels.get("covert") != "true":
        expected = list(dict.fromkeys(reference(SAMPLE.route)))
        assert [c.destination for c in choose(SAMPLE, labels)] == expected
