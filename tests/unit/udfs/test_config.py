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
    ({"clones": {"speed": 300}}, "unknown key"),
    ({"clones": {"enabled": "yes"}}, "clones.enabled"),
    ({"clones": {"confidence_floor": 1.2}}, "clones.confidence_floor"),
    ({"clones": {"window": 21600}}, "clones.window"),
    ({"clones": {"min_distance_km": 0}}, "clones.min_distance_km"),
    ({"clones": {"max_speed_kmh": "fast"}}, "clones.max_speed_kmh"),
    ({"clones": {"severity": 101}}, "clones.severity"),
    ({"clones": {"buckets": 0}}, "clones.buckets"),
    ({"clones": {"buckets": 129}}, "clones.buckets"),
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


def test_spec_7_dedup_state_defaults_and_yaml(tmp_path):
    """§7 State (config): allowed_lateness 6 h by default; the retention 48 h."""
    s = MatchingSettings()
    assert (s.dedup_allowed_lateness_ms, s.dedup_state_retention_ms) == (6 * 3_600_000,
                                                                          48 * 3_600_000)
    path = tmp_path / "lists.yaml"
    path.write_text("dedup: {allowed_lateness: 90 min, state_retention: 30 h}\n")
    s = load_settings(path)
    assert (s.dedup_allowed_lateness_ms, s.dedup_state_retention_ms) == (5_400_000,
                                                                          108_000_000)


@pytest.mark.parametrize("doc,needle", [
    ({"dedup": {"lateness": "1 h"}}, "dedup: unknown key(s) ['lateness']"),
    ({"dedup": {"allowed_lateness": 3600}}, "dedup.allowed_lateness"),
    ({"dedup": {"state_retention": "two days"}}, "dedup.state_retention"),
    ({"dedup": "6 h"}, "dedup: must be a mapping"),
    # dedup_window + allowed_lateness beyond the retention: the list and the numbers.
    ({"lists": {"customs": {"dedup_window": "43 h"}}},
     "lists.customs.dedup_window: 43 h + dedup.allowed_lateness 6 h = 49 h exceeds "
     "dedup.state_retention 48 h"),
    ({"default_list": {"dedup_window": "3 h"}, "dedup": {"state_retention": "7 h",
                                                          "allowed_lateness": "5 h"}},
     "default_list.dedup_window: 3 h + dedup.allowed_lateness 5 h = 8 h exceeds "
     "dedup.state_retention 7 h"),
    ({"dedup": {"state_retention": "6 h"}},
     "lists.stolen_vehicles.dedup_window: 10 min + dedup.allowed_lateness 6 h = 370 min"),
    # The LEZ key's window is its Brussels day, up to 25 h.
    ({"dedup": {"allowed_lateness": "24 h"}},
     "dedup.allowed_lateness: a LEZ day of up to 25 h + 24 h = 49 h exceeds "
     "dedup.state_retention 48 h"),
])
def test_spec_7_a_window_the_retention_cannot_honour_is_refused_at_load(doc, needle):
    """§7: "A dedup_window longer than what the retention can honour is refused when
    the configuration is loaded"; the message names the list and the numbers."""
    with pytest.raises(ConfigError) as info:
        settings_from_mapping(doc)
    assert needle in str(info.value)


def test_spec_7_retention_exactly_enough_is_accepted():
    """§7: a key kept exactly as long as the retention allows is honoured."""
    s = settings_from_mapping({"lists": {"customs": {"dedup_window": "42 h"}},
                               "dedup": {"allowed_lateness": "6 h"}})
    assert s.for_list("customs").dedup_window_ms == 42 * 3_600_000
    settings_from_mapping({"dedup": {"allowed_lateness": "23 h"}})  # 25 h + 23 h = 48 h
    # With no LEZ status list there is no LEZ day to honour.
    MatchingSettings(lists={"stolen_vehicles": ListSettings()},
                     dedup_allowed_lateness_ms=40 * 3_600_000)
    with pytest.raises(ConfigError, match="LEZ day"):
        MatchingSettings(dedup_allowed_lateness_ms=40 * 3_600_000)


def test_spec_11_clone_thresholds_are_configuration(tmp_path):
    from udfs.clones import CloneSettings

    assert MatchingSettings().clones == CloneSettings(0.90, 6 * 3_600_000, 5.0, 250.0, 40, True, 16)
    path = tmp_path / "clones.yaml"
    path.write_text("clones:\n  window: 2 h\n  max_speed_kmh: 180\n  min_distance_km: 10\n  enabled: false\n")
    clones = load_settings(path).clones
    assert (clones.window_ms, clones.max_speed_kmh, clones.min_distance_km, clones.enabled) == \
        (2 * 3_600_000, 180, 10, False)
    assert clones.confidence_floor == 0.90   # what the file does not name keeps the spec's value
