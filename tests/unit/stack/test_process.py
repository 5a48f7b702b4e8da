"""Daemon pids, process groups and resident memory, on processes of the test's own."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from feblam.bench.rss import RssSampler, cluster_rss_mb, group_members, rss_kib
from feblam.stack.process import Daemon, processes


def _daemon(tmp_path, pid: int) -> Daemon:
    pid_file = tmp_path / "run" / "x.pid"
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.write_text(f"{pid}\n")
    return Daemon("x", pid_file, tmp_path / "log" / "x.log")


def test_a_live_process_has_a_pid_and_a_zombie_does_not(tmp_path):
    assert _daemon(tmp_path, os.getpid()).pid() == os.getpid()
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and child.pid not in {p for p, state, _ in processes() if state == "Z"}:
            time.sleep(0.05)
        assert _daemon(tmp_path, child.pid).pid() is None  # exited, not yet reaped
    finally:
        child.wait()
    assert _daemon(tmp_path, child.pid).pid() is None  # gone


def test_stop_ends_the_whole_process_group(tmp_path):
    daemon = Daemon("sleeper", tmp_path / "sleeper.pid", tmp_path / "sleeper.log")
    # A shell with a child of its own: stop must reach the child as well.
    pid = daemon.start(["sh", "-c", "sleep 60 & sleep 60"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(group_members({pid})) < 3:
        time.sleep(0.05)
    assert len(group_members({pid})) == 3 and daemon.running()
    assert daemon.stop(grace=10) is True
    assert not [p for p, state, group in processes() if group == pid and state != "Z"]
    assert not daemon.pid_file.exists() and daemon.stop() is False


def test_processes_lists_this_one_in_its_group():
    assert (os.getpid(), os.getpgid(0)) in {(pid, group) for pid, state, group in processes() if state != "Z"}


def test_resident_memory_of_a_group(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"],
                             stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert child.stdout.readline() == "up\n"  # past exec: the interpreter is loaded
        assert rss_kib(child.pid) > 1000  # a Python interpreter is several MiB
        (tmp_path / "flink-jobmanager.pid").write_text(f"{child.pid}\n")
        (tmp_path / "flink-taskmanager-1.pid").write_text("not a pid\n")
        assert cluster_rss_mb(tmp_path) > 1
        sampler = RssSampler(tmp_path, interval_s=0.01, groups=[child.pid]).start()
        time.sleep(0.1)
        assert sampler.stop() > 1 and sampler.samples
    finally:
        child.kill()
        child.communicate()
    assert rss_kib(child.pid) == 0 and cluster_rss_mb(tmp_path) == 0
