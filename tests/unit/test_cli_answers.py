"""The `feblam` CLI answers like a good tool: help on every option, one line per
failure, fast, and every client finding the stack the same way.

The unreachable-service cases run the real CLI in a subprocess against a loopback
port nobody listens on: what a user with no stack up meets.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from feblam.cli import build_parser, main
from feblam.stack.settings import StackSettings

FLAGS = (argparse._StoreTrueAction, argparse._StoreFalseAction)
SKIPPED = (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction)


def _parsers(parser: argparse.ArgumentParser, path: tuple[str, ...] = ("feblam",)):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, (*path, name))


def test_every_option_of_every_command_has_help_that_shows_its_default():
    missing = []
    for path, parser in _parsers(build_parser()):
        for action in parser._actions:
            if isinstance(action, SKIPPED):
                continue
            where = f"{' '.join(path)} {'/'.join(action.option_strings) or action.dest}"
            if not action.help:
                missing.append(f"{where}: no help")
            elif (action.option_strings and not action.required and not isinstance(action, FLAGS)
                  and action.default is not None and "default" not in action.help.lower()):
                missing.append(f"{where}: default {action.default!r} not shown")
    assert not missing, "\n".join(missing)


def test_the_walk_sees_every_sub_command():
    names = {" ".join(path) for path, _ in _parsers(build_parser())}
    assert {"feblam jobs stop", "feblam reference load", "feblam stack up", "feblam gateway act"} <= names


# Finding the stack ----------------------------------------------------------------

ENDPOINT_OPTIONS = {"--bootstrap-servers": "bootstrap_servers", "--registry-url": "registry_url",
                    "--flink-url": "flink_rest_url"}


def _endpoint_defaults() -> dict[str, str]:
    found = {}
    for path, parser in _parsers(build_parser()):
        for action in parser._actions:
            for option in set(action.option_strings) & set(ENDPOINT_OPTIONS):
                if action.default is not None:
                    found[f"{' '.join(path)} {option}"] = action.default
    return found


def _second_stack(tmp_path: Path) -> StackSettings:
    stack = StackSettings(kafka_port=19092, kafka_controller_port=19093, registry_port=18080,
                          registry_management_port=18090, flink_rest_port=18081, flink_rpc_port=16123,
                          var_dir=tmp_path)
    stack.save()
    return stack


def test_every_client_defaults_to_the_stack_of_feblam_var_dir(tmp_path, monkeypatch):
    for name in ("FEBLAM_KAFKA_PORT", "FEBLAM_REGISTRY_PORT", "FEBLAM_FLINK_REST_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FEBLAM_VAR_DIR", str(tmp_path))
    stack = _second_stack(tmp_path)
    defaults = _endpoint_defaults()
    # simulate, reference, ingest, schemas, connectors, gateway, jobs, submit at least
    commands = {key.split()[1] for key in defaults}
    assert {"simulate", "reference", "ingest", "gateway", "jobs", "submit"} <= commands
    wrong = {key: value for key, value in defaults.items()
             if value != getattr(stack, ENDPOINT_OPTIONS[key.split()[-1]])}
    assert not wrong


def test_the_environment_comes_before_stack_json(tmp_path, monkeypatch):
    monkeypatch.setenv("FEBLAM_VAR_DIR", str(tmp_path))
    _second_stack(tmp_path)
    monkeypatch.setenv("FEBLAM_KAFKA_PORT", "29092")
    assert StackSettings.current().bootstrap_servers == "127.0.0.1:29092"
    assert StackSettings.current().registry_port == 18080  # from stack.json
    assert _endpoint_defaults()["feblam simulate --bootstrap-servers"] == "127.0.0.1:29092"


def test_without_stack_json_the_defaults_hold(tmp_path, monkeypatch):
    for name in ("FEBLAM_KAFKA_PORT", "FEBLAM_REGISTRY_PORT", "FEBLAM_FLINK_REST_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FEBLAM_VAR_DIR", str(tmp_path / "none"))
    assert StackSettings.current().bootstrap_servers == "127.0.0.1:9092"


# One line, in seconds, when a service is not there -----------------------------------

def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _feblam(*args: str, timeout: float = 60.0) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "feblam.cli", *args], capture_output=True, text=True,
                          timeout=timeout)
    return done, time.monotonic() - started


PORT = _closed_port()
SAMPLE_ROUTING = Path(__file__).resolve().parents[2] / "flink-conf" / "gateway.yaml"
KAFKA, FLINK = f"127.0.0.1:{PORT}", f"http://127.0.0.1:{PORT}"


@pytest.mark.parametrize("argv, address", [
    (["jobs", "--flink-url", FLINK, "list"], FLINK),
    (["jobs", "--flink-url", FLINK, "stop", "0" * 32], FLINK),
    (["jobs", "--flink-url", FLINK, "cancel", "0" * 32], FLINK),
    (["submit", "--flink-url", FLINK, "jobs/kafka_passthrough.py", "--", "--input", "a", "--output", "b"], FLINK),
    (["reference", "status", "--live", "--bootstrap-servers", KAFKA], KAFKA),
    (["reference", "load", "--list", "stolen_vehicles", "README.md", "--bootstrap-servers", KAFKA], KAFKA),
    (["simulate", "--kafka", "--reads", "10", "--bootstrap-servers", KAFKA], KAFKA),
    (["gateway", "act", "H1", "--destination", "cic-lie", "--action", "ACCEPT", "--user", "u",
      "--bootstrap-servers", KAFKA], KAFKA),
    (["gateway", "config", "show", "--bootstrap-servers", KAFKA], KAFKA),
    (["gateway", "config", "apply", str(SAMPLE_ROUTING), "--bootstrap-servers", KAFKA], KAFKA),
    (["schemas", "apply", "--bootstrap-servers", KAFKA], KAFKA),
    (["schemas", "apply", "--lists", "a", "--registry-url", FLINK], FLINK),
    (["ingest", "--connector", "vendor-json", "--topic", "t", "--bootstrap-servers", KAFKA], KAFKA),
    (["bench", "e2e", "--bootstrap-servers", KAFKA], KAFKA),
    (["connectors", "measure", "--bootstrap-servers", KAFKA], KAFKA),
], ids=["jobs-list", "jobs-stop", "jobs-cancel", "submit", "status-kafka", "load", "simulate", "gateway-act",
        "gateway-config-show", "gateway-config-apply", "schemas-kafka", "schemas-registry", "ingest", "bench-e2e",
        "connectors-measure"])
def test_an_absent_service_is_one_line_naming_its_address_in_seconds(argv, address, tmp_path):
    done, seconds = _feblam(*argv, "--history", str(tmp_path / "h.json")) if argv[:2] == ["reference", "status"] \
        else _feblam(*argv)
    assert done.returncode == 2, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert address in lines[0] and "scripts/stack up" in lines[0]
    assert "Traceback" not in done.stdout + done.stderr
    assert seconds < 20, f"{seconds:.1f} s to say so"


def test_the_gateway_benchmark_names_the_stack_variable_that_moves_it():
    """bench gateway has no endpoint options: it runs on the local stack, which FEBLAM_*_PORT moves."""
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "feblam.cli", "bench", "gateway", "--json"], capture_output=True,
                          text=True, timeout=60, env={**os.environ, "FEBLAM_KAFKA_PORT": str(PORT)})
    assert done.returncode == 2 and "Traceback" not in done.stderr, done
    (line,) = done.stderr.strip().splitlines()
    assert KAFKA in line and "FEBLAM_KAFKA_PORT" in line and "scripts/stack up" in line
    assert time.monotonic() - started < 20


def test_debug_shows_the_trace():
    done, _ = _feblam("--debug", "jobs", "--flink-url", FLINK, "list")
    assert done.returncode != 0 and "Traceback" in done.stderr


def test_an_unexpected_error_is_one_line_pointing_at_debug(monkeypatch, capsys):
    import feblam.commands.report as report

    def broken(args):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(report, "cmd_report", broken)
    assert main(["report", "--hits", "a", "--dead-letters", "b"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["feblam report: RuntimeError: boom (`feblam --debug ...` shows the trace)"]


# No silent mistakes ----------------------------------------------------------------

def test_report_on_a_missing_file_fails(tmp_path, capsys):
    dead = tmp_path / "dead.jsonl"
    dead.write_text("")
    assert main(["report", "--hits", str(tmp_path / "missing.jsonl"), "--dead-letters", str(dead)]) == 2
    assert "no such file" in capsys.readouterr().err


def test_report_on_empty_files_says_no_hits(tmp_path, capsys):
    for name in ("hits.jsonl", "dead.jsonl"):
        (tmp_path / name).write_text("")
    assert main(["report", "--hits", str(tmp_path / "hits.jsonl"), "--dead-letters", str(tmp_path / "dead.jsonl")]) == 0
    assert "no hits" in capsys.readouterr().out


def test_a_mapping_without_the_lists_feed_is_refused(tmp_path):
    from connectors.reference.mapping import MappingError, load_mapping

    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(json.dumps({"feeds": {"stolen_vehicles": {"columns": {"plate": "registration"}}}}))
    assert load_mapping(mapping, "stolen_vehicles").columns["plate"] == "registration"
    with pytest.raises(MappingError, match="no feed 'stolen_vehicle'.*stolen_vehicles"):
        load_mapping(mapping, "stolen_vehicle")


def test_an_unknown_list_is_refused_with_the_closest_name():
    from connectors.reference.list_names import UnknownList, check_list_name

    known = ["stolen_vehicles", "judicial_alerts", "lez_vehicle_status"]
    with pytest.raises(UnknownList, match="did you mean 'stolen_vehicles'.*--new-list"):
        check_list_name("stolen_vehicle", known)
    check_list_name("stolen_vehicles", known)
    check_list_name("wanted_vans", known, new_list=True)
    with pytest.raises(UnknownList, match="Kafka topic"):
        check_list_name("bad name", known, new_list=True)


def test_librdkafka_lines_come_out_in_feblams_format():
    """A client of a command, its broker gone: librdkafka's complaint is a FEBLAM log line."""
    child = ("from feblam.cli import configure_logging; configure_logging()\n"
             "from confluent_kafka import Consumer\n"
             "from connectors.kafka_clients import client_config\n"
             f"c = Consumer(client_config({{'bootstrap.servers': '{KAFKA}', 'group.id': 'g'}}))\n"
             "c.subscribe(['t']); c.poll(2); c.close()\n")
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=60)
    lines = done.stderr.strip().splitlines()
    assert lines, "the refused connection was not reported at all"
    assert all(line.startswith(("feblam WARNING [feblam.kafka] ", "feblam ERROR [feblam.kafka] ")) for line in lines), lines


def test_reference_load_states_its_row_count_default():
    from connectors.reference.mapping import DEFAULT_ROW_COUNT_CHANGE

    load = build_parser()._subparsers._group_actions[0].choices["reference"]._subparsers \
        ._group_actions[0].choices["load"].format_help()
    percent = f"{DEFAULT_ROW_COUNT_CHANGE:.0%}".replace("%", " %")
    assert f"row_count_change` (default {percent})" in load
    walkthrough = (Path(__file__).resolve().parents[2] / "docs" / "adding-a-reference-list.md").read_text()
    assert f"default {DEFAULT_ROW_COUNT_CHANGE}: {percent}" in walkthrough
