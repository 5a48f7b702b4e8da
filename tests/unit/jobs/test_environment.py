"""How a job finds its jars and configuration without the local stack: pure logic,
no JVM (execution_environment itself is exercised by the embedded and cluster tests)."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from jobs.environment import JobHelpFormatter, add_deployment_arguments
from jobs.flinkconf import CHECKOUT_ROOT, embedded_var_dir
from jobs.jars import ConnectorJarsNotFound, connector_jars, is_checkout, parse_jars


def _file(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def _checkout(root: Path, *jars: str) -> Path:
    (root / "jobs").mkdir(parents=True)
    _file(root / "flink-conf" / "config.yaml")
    for name in jars:
        _file(root / "var" / "lib" / name)
    return root


def test_jars_option_takes_files_directories_and_urls_in_order(tmp_path):
    one = _file(tmp_path / "one.jar")
    _file(tmp_path / "dir" / "b.jar"), _file(tmp_path / "dir" / "a.jar"), _file(tmp_path / "dir" / "notes.txt")
    value = f"{one}, {tmp_path / 'dir'},https://repo.example/kafka.jar"
    assert parse_jars(value) == [one.as_uri(), (tmp_path / "dir" / "a.jar").as_uri(),
                                 (tmp_path / "dir" / "b.jar").as_uri(), "https://repo.example/kafka.jar"]
    assert parse_jars("none") == []


@pytest.mark.parametrize("value, message", [("/no/such.jar", "no such jar file or directory"),
                                            ("EMPTY", "a directory holding no .jar file"),
                                            (" , ", "no jar in")])
def test_a_bad_jars_option_is_a_one_line_usage_error(tmp_path, capsys, value, message):
    (tmp_path / "empty").mkdir()
    parser = argparse.ArgumentParser(prog="job.py")
    add_deployment_arguments(parser)
    with pytest.raises(SystemExit) as exit_info:
        parser.parse_args(["--jars", value.replace("EMPTY", str(tmp_path / "empty"))])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.splitlines()[-1]
    assert error.startswith("job.py: error: argument --jars: ") and message in error


def test_given_jars_win_over_the_checkout(tmp_path):
    root = _checkout(tmp_path, "flink-jars/kafka.jar")
    assert connector_jars(["file:/elsewhere/x.jar"], root=root) == ["file:/elsewhere/x.jar"]
    assert connector_jars([], root=root) == []  # --jars none: the cluster's lib/ holds them


def test_a_checkout_falls_back_to_its_var_lib(tmp_path):
    root = _checkout(tmp_path, "flink-jars/b.jar", "flink-jars/a.jar", "baseline-jars/avro.jar")
    lib = root / "var" / "lib"
    assert connector_jars(root=root) == [(lib / "flink-jars" / "a.jar").as_uri(), (lib / "flink-jars" / "b.jar").as_uri()]
    assert connector_jars(dirs=("flink-jars", "baseline-jars"), root=root)[-1] == (lib / "baseline-jars" / "avro.jar").as_uri()


def test_this_checkout_uses_the_jars_scripts_setup_resolved():
    jar_dir = CHECKOUT_ROOT / "var" / "lib" / "flink-jars"
    assert is_checkout()
    assert connector_jars() == [jar.as_uri() for jar in sorted(jar_dir.glob("*.jar"))]


def test_no_jars_outside_a_checkout_names_the_option(tmp_path):
    with pytest.raises(ConnectorJarsNotFound) as error:
        connector_jars(root=tmp_path)
    assert "pass --jars" in str(error.value) and "\n" not in str(error.value)
    with pytest.raises(ConnectorJarsNotFound, match="run scripts/setup first, or pass --jars"):
        connector_jars(root=_checkout(tmp_path / "fresh"))


def test_a_job_shipped_without_its_checkout_exits_with_one_line(tmp_path):
    # The jobs package as `flink run -pyfs` or an installed wheel leaves it: no flink-conf/ beside it.
    shutil.copytree(CHECKOUT_ROOT / "jobs", tmp_path / "jobs", ignore=shutil.ignore_patterns("__pycache__"))
    result = subprocess.run([sys.executable, "-c", "from jobs.jars import connector_jars; connector_jars()"],
                            capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "no connector jars: pass --jars with the jar files, directories or URLs (comma-separated), "
        "or --jars none if the cluster's lib/ holds them"]


def test_embedded_runs_write_under_feblam_var_dir_or_the_checkouts_var(monkeypatch, tmp_path):
    monkeypatch.delenv("FEBLAM_VAR_DIR", raising=False)
    assert embedded_var_dir() == (CHECKOUT_ROOT / "var").resolve()
    monkeypatch.setenv("FEBLAM_VAR_DIR", str(tmp_path))
    assert embedded_var_dir() == tmp_path.resolve()


def test_job_help_shows_defaults_but_not_unset_options(capsys):
    parser = argparse.ArgumentParser(prog="job.py", description="One.\n\nTwo\nlines.\n\n    job.py --x\n",
                                     formatter_class=JobHelpFormatter)
    parser.add_argument("--topic", default="plate-reads", help="where reads are")
    parser.add_argument("--count", type=int, default=0, help="how many")
    add_deployment_arguments(parser)
    parser.print_help()
    text = capsys.readouterr().out
    assert "where reads are (default: plate-reads)" in text and "how many (default: 0)" in text
    assert "(default: None)" not in text and "(default: False)" not in text
    assert "One.\n\nTwo lines.\n\n    job.py --x\n" in text
