"""List configuration: typed settings with the spec's defaults, loaded from YAML."""

import pytest

from udfs.config import (ConfigError, ListSettings, MatchingSettings, load_settings,
                         parse_duration, settings_from_mapping)


def test_defaults_are_the_specs():
    """§4/§5/§6 (config) defaults."""
    s = MatchingSettings()
    assert s.ocr_classes == ("0ODQ", "1I", "2Z", "5S", "6G", "8B")
    assert (s.lez_confidence_floor, s.lez_not_admitted_severity,
            s.lez_unregistered_severity) == (0.80, 20, 10)
    assert s.for_list("lez_vehicle_status").kind == "lez_status"
    assert s.for_list("lez_permits").kind == "lez_permit"
    assert s.for_list("anything").kind == "alert"


def test_yaml_overrides(tmp_path):
    path = tmp_path / "lists.yaml"
    path.write_text("""
ocr_classes: ["0O", "1I"]
lez: {confidence_floor: 0.9, unregistered_severity: 15}
default_list: {severity: 40, dedup_window: 5 min}
lists:
  stolen_vehicles: {max_ocr_substitutions: 2}
  customs: {severity: 60, dedup_window: 30 s}
""")
    s = load_settings(path)
    assert s.ocr_classes == ("0O", "1I")
    assert s.lez_confidence_floor == 0.9 and s.lez_unregistered_severity == 15
    assert s.for_list("stolen_vehicles") == ListSettings(max_ocr_substitutions=2, severity=70)
    assert s.for_list("customs") == ListSettings(severity=60, dedup_window_ms=30_000)
    assert s.for_list("unnamed") == ListSettings(severity=40, dedup_window_ms=300_000)
    assert s.for_list("judicial_alerts").severity == 90


def test_empty_yaml_is_all_defaults(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("")
    assert load_settings(path) == MatchingSettings()


@pytest.mark.parametrize("doc,needle", [
    ({"ocr_class": []}, "unknown key"),
    ({"lists": {"x": {"severity": 120}}}, "lists.x.severity"),
    ({"lists": {"x": {"severity": "high"}}}, "lists.x.severity"),
    ({"lists": {"x": {"max_ocr_substitutions": -1}}}, "max_ocr_substitutions"),
    ({"lists": {"x": {"max_ocr_substitutions": True}}}, "max_ocr_substitutions"),
    ({"lists": {"x": {"kind": "blocklist"}}}, "lists.x.kind"),
    ({"lists": {"x": {"colour": "red"}}}, "unknown key"),
    ({"lists": {"x": {"dedup_window": 600}}}, "dedup_window"),
    ({"lists": {"x": {"dedup_window": "10 weeks"}}}, "dedup_window"),
    ({"lists": {"x": {"kind": "lez_status"}}}, "at most one list of kind lez_status"),
    ({"lists": ["x"]}, "lists"),
    ({"lez": {"confidence_floor": 1.5}}, "lez.confidence_floor"),
    ({"lez": {"floor": 0.5}}, "unknown key"),
    ({"ocr_classes": ["0O", "O1"]}, "two classes"),
    ({"ocr_classes": ["0"]}, "ocr_classes[0]"),
    ({"ocr_classes": ["0o"]}, "ocr_classes[0]"),
    ({"ocr_classes": "0O"}, "ocr_classes"),
    ({"default_list": {"kind": "lez_permit"}}, "default_list"),
    (["not", "a", "mapping"], "mapping"),
])
def test_bad_configuration_is_refused_at_load_with_a_clear_message(doc, needle):
    with pytest.raises(ConfigError) as info:
        settings_from_mapping(doc)
    assert needle in str(info.value)


def test_bad_yaml_file_is_refused(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("lists: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(path)
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "missing.yaml")
    path.write_text("lists: {x: {severity: 500}}")
    with pytest.raises(ConfigError, match=r"bad.yaml: lists.x.severity"):
        load_settings(path)


@pytest.mark.parametrize("text,ms", [("500 ms", 500), ("30s", 30_000), ("10 min", 600_000),
                                     ("10m", 600_000), ("1 h", 3_600_000), ("0 s", 0)])
def test_durations(text, ms):
    assert parse_duration(text, "w") == ms
