"""Formatting Kafka's storage takes every cluster id, also one that starts with '-'."""

from __future__ import annotations

import subprocess
import uuid

import pytest

from feblam.stack import services
from feblam.stack.settings import StackSettings


class Stop(Exception):
    pass


def test_a_cluster_id_starting_with_a_dash_is_not_read_as_an_option(monkeypatch, tmp_path):
    # 0xF8 as first byte: the url-safe base64 id starts with '-'.
    monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(bytes=b"\xf8" + bytes(15)))
    monkeypatch.setattr(services, "_require", lambda path, what: path)
    seen = []

    def run(argv, **kwargs):
        seen.append(argv)
        raise Stop

    monkeypatch.setattr(subprocess, "run", run)
    with pytest.raises(Stop):
        services.Kafka(StackSettings(var_dir=tmp_path)).start()
    [argv] = seen
    cluster = [a for a in argv if a.startswith("--cluster-id=")]
    assert cluster and cluster[0].startswith("--cluster-id=-")
    assert "-t" not in argv
