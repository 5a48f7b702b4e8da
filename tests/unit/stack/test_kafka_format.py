"""Formatting Kafka's storage takes every cluster id, also one that starts with '-'."""

from __future__ import annotations

import subprocess
import uuid

import pytest

from feblam.stack import services
from feblam.stack.settings import StackSettings


class Stop(Exception):
    pass


def java_arguments(argv: list[str]) -> list[str]:
    """argv with the java argument file it names (`java @file`) read back, one quoted
    argument a line as Kafka.start writes it."""
    [java, at_file] = argv
    assert at_file.startswith("@")
    lines = open(at_file[1:]).read().splitlines()
    return [java, *(line[1:-1].replace('\\"', '"').replace("\\\\", "\\") for line in lines)]


def test_a_cluster_id_starting_with_a_dash_is_not_read_as_an_option(monkeypatch, tmp_path):
    # 0xF8 as first byte: the url-safe base64 id starts with '-'.
    monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(bytes=b"\xf8" + bytes(15)))
    monkeypatch.setattr(services, "_require", lambda path, what: path)
    seen = []

    def run(argv, **kwargs):
        seen.append(java_arguments(argv))
        raise Stop

    monkeypatch.setattr(subprocess, "run", run)
    with pytest.raises(Stop):
        services.Kafka(StackSettings(var_dir=tmp_path)).start()
    [argv] = seen
    cluster = [a for a in argv if a.startswith("--cluster-id=")]
    assert cluster and cluster[0].startswith("--cluster-id=-")
    assert "-t" not in argv


def test_secured_format_adds_the_scram_users_and_no_password_reaches_the_command_line(monkeypatch, tmp_path):
    from feblam.stack.settings import KAFKA_USERS

    monkeypatch.setattr(services, "_require", lambda path, what: path)
    seen, files = [], []

    def run(argv, **kwargs):
        files.append(argv[1][1:])
        seen.append((argv, java_arguments(argv)))
        raise Stop

    monkeypatch.setattr(subprocess, "run", run)
    settings = StackSettings(var_dir=tmp_path, secure=True)
    with pytest.raises(Stop):
        services.Kafka(settings).start()
    [(argv, arguments)] = seen
    passwords = {user: settings.kafka_password_file(user).read_text() for user in KAFKA_USERS}
    assert not any(password in arg for password in passwords.values() for arg in argv)
    scram = [arguments[i + 1] for i, arg in enumerate(arguments) if arg == "--add-scram"]
    assert scram == [f"SCRAM-SHA-512=[name={user},password={passwords[user]}]" for user in KAFKA_USERS]
    # The argument file is gone once the command has run, and was the owner's alone.
    import os
    assert not os.path.exists(files[0])
    for user in KAFKA_USERS:
        assert settings.kafka_password_file(user).stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "kafka" / "server.properties").stat().st_mode & 0o777 == 0o600
    assert settings.secrets_dir.stat().st_mode & 0o777 == 0o700
