"""The hit-generation job's settings come from named options, every one of them.

`main` is run up to the point where it would build the Flink job: the settings it
builds are captured instead, so no JVM starts.
"""

from __future__ import annotations

import argparse
import dataclasses

import pytest

import jobs.hit_generation as hit_generation
from jobs.hit_generation import KafkaJobSettings
from jobs.options import add_matching_arguments, matching_settings
from udfs.config import ConfigError, MatchingSettings

# Settings that are not one option each: `matching` is --config with its overrides.
NOT_ONE_OPTION = {"matching"}


class _Env:
    def execute(self, name):
        self.name = name


@pytest.fixture
def built(monkeypatch):
    """Runs main(argv) and returns the KafkaJobSettings it would build the job from."""
    captured = {}
    monkeypatch.setattr(hit_generation, "execution_environment", lambda **kwargs: _Env())
    monkeypatch.setattr(hit_generation, "build_kafka_job", lambda env, settings: captured.setdefault("s", settings))

    def run(*argv: str) -> KafkaJobSettings:
        assert hit_generation.main(list(argv)) == 0
        return captured["s"]
    return run


def test_every_setting_is_an_option_with_help(capsys):
    with pytest.raises(SystemExit):
        hit_generation.main(["--help"])
    text = capsys.readouterr().out
    for field in dataclasses.fields(KafkaJobSettings):
        if field.name not in NOT_ONE_OPTION:
            assert f"--{field.name.replace('_', '-')}" in text, f"no option for {field.name}"
    for option in ("--config", "--allowed-lateness", "--state-retention", "--batch-records", "--batch-delay-ms"):
        assert option in text


def test_the_defaults_are_the_settings_classes(built):
    assert built() == KafkaJobSettings()


def test_each_option_lands_in_its_own_setting(built):
    values = {"bootstrap_servers": "kafka:9093", "registry_url": "https://r/apis/ccompat/v7",
              "reads_topic": "a", "reference_prefix": "lists.", "cameras_topic": "b", "hits_topic": "c",
              "sightings_topic": "d", "dead_letter_topic": "e", "refusals_topic": "f", "group_id": "g",
              "history": "file:///h", "batch_records": 64, "batch_delay_ms": 3, "buffer_timeout_ms": 25, "parallelism": 4}
    argv = [item for name, value in values.items() for item in (f"--{name.replace('_', '-')}", str(value))]
    settings = built(*argv, "--allowed-lateness", "2 h", "--state-retention", "30 h")
    for name, value in values.items():
        assert getattr(settings, name) == value, name
    assert settings.matching.dedup_allowed_lateness_ms == 2 * 3_600_000
    assert settings.matching.dedup_state_retention_ms == 30 * 3_600_000


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_matching_arguments(parser)
    return parser.parse_args(list(argv))


def test_the_overrides_win_over_the_file(tmp_path):
    config = tmp_path / "lists.yaml"
    config.write_text("dedup:\n  allowed_lateness: 1 h\n  state_retention: 40 h\n")
    assert matching_settings(_args("--config", str(config))).dedup_allowed_lateness_ms == 3_600_000
    settings = matching_settings(_args("--config", str(config), "--allowed-lateness", "3 h"))
    assert (settings.dedup_allowed_lateness_ms, settings.dedup_state_retention_ms) == (3 * 3_600_000, 40 * 3_600_000)
    assert matching_settings(_args()) == MatchingSettings()


def test_an_override_the_retention_cannot_honour_is_refused():
    with pytest.raises(ConfigError, match="exceeds dedup.state_retention"):
        matching_settings(_args("--allowed-lateness", "47 h"))


@pytest.mark.parametrize("argv", [["--batch-records", "0"], ["--batch-delay-ms", "-1"], ["--buffer-timeout-ms", "-1"],
                                  ["--allowed-lateness", "5"],
                                  ["--state-retention", "1 h"]])
def test_a_bad_value_is_a_usage_error(argv, capsys):
    with pytest.raises(SystemExit) as done:
        hit_generation.main(argv)
    assert done.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_the_gateway_builds_its_settings_by_name(monkeypatch):
    import jobs.hit_gateway as hit_gateway

    captured = {}
    monkeypatch.setattr(hit_gateway, "execution_environment", lambda **kwargs: _Env())
    monkeypatch.setattr(hit_gateway, "build_gateway_job", lambda env, settings: captured.setdefault("s", settings))
    assert hit_gateway.main([]) == 0
    assert captured["s"] == hit_gateway.GatewayJobSettings()
    captured.clear()
    assert hit_gateway.main(["--lifecycle-events", "events", "--refused-events", "refused", "--audit", "/a"]) == 0
    topics = captured["s"].topics
    assert (topics.lifecycle_events, topics.refused_events, captured["s"].audit) == ("events", "refused", "/a")
