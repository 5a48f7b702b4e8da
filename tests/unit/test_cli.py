"""The `feblam` command line: every command has a working --help."""

from __future__ import annotations

import os

import pytest

from feblam.cli import COMMANDS, build_parser, main


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().out


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([command, "--help"])
    assert exit_info.value.code == 0
    assert command in capsys.readouterr().out


def test_stack_help_lists_every_port_setting(capsys):
    with pytest.raises(SystemExit):
        main(["stack", "--help"])
    text = capsys.readouterr().out
    for variable in ("FEBLAM_KAFKA_PORT", "FEBLAM_REGISTRY_PORT", "FEBLAM_FLINK_REST_PORT", "FEBLAM_VAR_DIR"):
        assert variable in text


def test_unknown_service_is_refused(capsys):
    assert main(["stack", "up", "postgres"]) == 2
    assert "unknown service" in capsys.readouterr().err
    assert main(["stack", "down", "postgres"]) == 2
    assert "unknown service" in capsys.readouterr().err


def test_submit_passes_savepoint_options_to_flink_run(tmp_path, monkeypatch):
    from feblam.stack.submission import flink_run_command
    from feblam.stack.settings import StackSettings

    monkeypatch.setenv("FEBLAM_VAR_DIR", str(tmp_path))
    StackSettings(var_dir=tmp_path).save()
    job = tmp_path / "job.py"
    job.write_text("")
    argv, _ = flink_run_command(job, ["--", "--x"], from_savepoint="/sp/1", allow_non_restored_state=True)
    assert argv[argv.index("--fromSavepoint") + 1] == "/sp/1"
    assert "--allowNonRestoredState" in argv and argv[-2:] == ["--", "--x"]
    argv, _ = flink_run_command(job, [], from_savepoint="/sp/1")
    assert "--allowNonRestoredState" not in argv


def test_submit_refuses_non_restored_state_without_a_savepoint(tmp_path, capsys):
    job = tmp_path / "job.py"
    job.write_text("")
    assert main(["submit", "--allow-non-restored-state", str(job)]) == 2
    assert "needs --from-savepoint" in capsys.readouterr().err


def test_submit_keeps_job_options_away_from_flink_run(tmp_path, monkeypatch):
    from feblam.stack.submission import flink_run_command
    from feblam.stack.settings import StackSettings

    monkeypatch.setenv("FEBLAM_VAR_DIR", str(tmp_path))
    StackSettings(var_dir=tmp_path).save()
    job = tmp_path / "job.py"
    job.write_text("")
    argv, _ = flink_run_command(job, ["--", "--parallelism", "2"], parallelism=3)
    # Flink's parser stops at `--`: the job, not `flink run`, gets its own --parallelism.
    assert argv[-3:] == ["--", "--parallelism", "2"]
    assert argv[argv.index("--parallelism") + 1] == "3" and argv.index("--parallelism") < argv.index("-py")


@pytest.mark.parametrize("job, default", [("kafka_passthrough.py", "(default: 127.0.0.1:9092)"),
                                          ("hit_generation.py", "(default: plate-reads)")])
def test_submit_job_help_prints_the_jobs_own_settings_without_flink(job, default, monkeypatch, capsys):
    import subprocess

    from feblam.stack.settings import PROJECT_ROOT

    def no_flink(*args, **kwargs):
        raise AssertionError("--help must not go through flink run")

    monkeypatch.setattr(subprocess, "run", no_flink)
    assert main(["submit", str(PROJECT_ROOT / "jobs" / job), "--", "--help"]) == 0
    text = capsys.readouterr().out
    assert f"usage: {job}" in text and default in text and "--jars JARS" in text


@pytest.mark.parametrize(("argv", "user"), [
    (["reference", "status"], "feblam-loaders"),
    (["gateway", "routes", "test", "--config", "c.yaml", "--hit", "{}"], "feblam-gateway"),
    (["ingest", "--connector", "c", "--topic", "t"], "feblam-ingest"),
    (["jobs", "list"], None),   # an operator's tool, and what it submits keeps its own user
])
def test_a_command_runs_as_its_components_kafka_user_and_leaves_none_behind(argv, user, monkeypatch):
    monkeypatch.delenv("FEBLAM_KAFKA_SASL_USERNAME", raising=False)
    args = build_parser().parse_args(argv)
    seen = []
    monkeypatch.setattr(args, "func", lambda _: seen.append(os.environ.get("FEBLAM_KAFKA_SASL_USERNAME")) or 0,
                        raising=False)
    monkeypatch.setattr("feblam.cli.build_parser", lambda: _Parsed(args))
    assert main(argv) == 0
    assert seen == [user]
    assert "FEBLAM_KAFKA_SASL_USERNAME" not in os.environ


class _Parsed:
    """A parser that answers with namespace already parsed (its func replaced)."""

    def __init__(self, args):
        self.args = args

    def parse_args(self, argv):
        return self.args
