"""The gateway configuration is refused at load, whole, with each problem's line (spec §3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import DEFAULT_ACK_TIMEOUT_MS, ConfigError, parse_config

SAMPLE = Path(__file__).resolve().parents[3] / "flink-conf" / "gateway.yaml"

MINIMAL = """\
national: nat
destinations:
  nat: {users: [n1]}
  ant: {display_name: CIC Antwerpen, users: [a1, a2], escalate_to: nat}
route:
  destination: nat
  routes:
    - matchers: ['province = "Antwerpen"']
      destination: ant
"""


def problems(text: str) -> list[tuple[int, str]]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "test.yaml")
    return [(p.line, p.message) for p in caught.value.problems]


def test_the_sample_configuration_loads_and_has_the_destinations_the_network_needs():
    config = parse_config(SAMPLE.read_text(), str(SAMPLE))
    centres = [name for name in config.destinations if name.startswith("cic-") and name != "cic-national"]
    assert len(centres) == 11
    assert {"cic-national", "lez-bxl", "lez-ant", "lez-gnt"} <= set(config.destinations)
    assert config.route.ack_timeout_ms == {"P1": 60_000, "P2": 300_000}


def test_inherited_settings_and_defaults():
    config = parse_config(MINIMAL)
    child = config.route.routes[0]
    assert child.path == "root.0" and child.line == 8
    assert child.ack_timeout_ms == DEFAULT_ACK_TIMEOUT_MS and child.escalate_to == "nat"
    assert config.destinations["ant"].users == {"a1", "a2"}
    assert config.destinations["ant"].topic == "gw.ant"
    assert config.version == parse_config(MINIMAL).version != parse_config(MINIMAL + "\n# x\n").version


def test_an_unknown_destination_is_refused_with_its_line():
    text = MINIMAL.replace("destination: ant", "destination: antwerp")
    assert problems(text) == [(9, "root.0.destination: unknown destination 'antwerp'; known: ant, nat")]


def test_a_bad_regex_is_refused_with_its_line():
    text = MINIMAL.replace("'province = \"Antwerpen\"'", "'province =~ \"Antw(erpen\"'")
    [(line, message)] = problems(text)
    assert line == 8 and message.startswith("root.0.matchers[0]: bad regex 'Antw(erpen'")


def test_a_root_that_does_not_match_everything_is_refused():
    text = MINIMAL.replace("  destination: nat\n  routes:", "  destination: nat\n  matchers: ['priority = \"P1\"']\n  routes:")
    assert problems(text) == [(7, "route: the root matches every hit, so it takes no matchers")]


def test_every_problem_is_reported_at_once():
    text = """\
national: nowhere
destinations:
  nat: {users: [n1], colour: red}
  Bad_Name: {}
route:
  destination: nat
  ack_timeout: {P1: 60}
  routes:
    - matchers: ['plate = "1ABC123"']
    - matchers: ['priority == P1']
      continue: yes please
    - escalate_to: somewhere
reasons: [FALSE_READ, lower]
feedback_on: [WRONG_ENTRY]
"""
    found = problems(text)
    assert [line for line, _ in found] == [1, 3, 4, 7, 9, 10, 11, 12, 13, 14]
    messages = "\n".join(message for _, message in found)
    for part in ("national: unknown destination 'nowhere'", "unknown key 'colour'",
                 "'Bad_Name' is not a valid name", "root.ack_timeout.P1: a duration with a unit",
                 "unknown label 'plate'", "'priority == P1' is not 'label op \"value\"'",
                 "root.1.continue: true or false", "root.2.escalate_to: unknown destination 'somewhere'",
                 "reasons[1]: 'lower' is not a valid name",
                 "feedback_on: 'WRONG_ENTRY' is neither a reason nor an outcome"):
        assert part in messages


def test_the_error_message_names_the_file_and_line():
    with pytest.raises(ConfigError) as caught:
        parse_config(MINIMAL.replace("destination: ant", "destination: antwerp"), "routes.yaml")
    assert "routes.yaml:9: root.0.destination: unknown destination 'antwerp'" in str(caught.value)


def test_not_yaml_and_duplicate_keys_are_refused():
    assert problems("national: [unclosed\n")[0][1].startswith("not YAML")
    assert "found the key 'nat' twice" in problems(MINIMAL.replace("  ant:", "  nat:"))[0][1]


@pytest.mark.parametrize("missing,message", [
    ("national", "national: required"), ("destinations", "destinations: required"), ("route", "route: required")])
def test_required_keys(missing, message):
    text = "\n".join(line for line in MINIMAL.splitlines()
                     if not line.startswith(missing) and not (missing == "route" and line.startswith(" "))
                     and not (missing == "destinations" and line.startswith("  ") and ":" in line and "{" in line))
    assert any(message in m for _, m in problems(text))


def test_webhook_and_ack_timeout_forms():
    text = MINIMAL.replace("  nat: {users: [n1]}", "  nat:\n    users: [n1]\n    webhook: {url: 'http://127.0.0.1:9/x', tries: 3, backoff: 100 ms}") \
        .replace("      destination: ant", "      destination: ant\n      ack_timeout: 10 s\n      escalate_to: none")
    config = parse_config(text)
    hook = config.destinations["nat"].webhook
    assert (hook.url, hook.tries, hook.backoff_ms, hook.timeout_ms) == ("http://127.0.0.1:9/x", 3, 100, 2000)
    assert hook.delays_ms() == [100, 200]
    child = config.route.routes[0]
    assert child.ack_timeout_ms == {"P1": 10_000, "P2": 10_000, "P3": 10_000, "P4": 10_000}
    assert child.escalate_to is None
    bad = MINIMAL.replace("  nat: {users: [n1]}", "  nat: {users: [n1], webhook: {url: 'ftp://x', tries: 0}}")
    assert [m.split(":")[0] for _, m in problems(bad)] == ["destinations.nat.webhook.url"]
