"""Daemon start-up waits, process groups and resident memory, on processes of the test's own."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error

import pytest
from confluent_kafka import KafkaError, KafkaException

from feblam.bench.rss import RssSampler, cluster_rss_mb, group_members, rss_kib
from feblam.stack.process import Daemon, ServiceStartError, not_ready_yet, processes


def _daemon(tmp_path, pid: int) -> Daemon:
    pid_file = tmp_path / "run" / "x.pid"
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.write_text(f"{pid}\n")
    return Daemon("x", pid_file, tmp_path / "log" / "x.log")


class Probe:
    """Raises each of `errors` in turn, then answers `answer`."""

    def __init__(self, *errors: BaseException, answer: bool = True):
        self.errors = list(errors)
        self.answer = answer
        self.calls = 0

    def __call__(self) -> bool:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return self.answer


def test_a_probe_that_is_refused_a_few_times_then_answers_is_waited_for(tmp_path):
    probe = Probe(ConnectionRefusedError(111, "Connection refused"), ConnectionResetError(), ConnectionError())
    _daemon(tmp_path, os.getpid()).wait_ready(probe, timeout=10, poll_s=0.01)
    assert probe.calls == 4


@pytest.mark.parametrize("bug", [TypeError("'NoneType' object is not subscriptable"), KeyError("status"),
                                 AttributeError("no attribute 'brokers'")])
def test_a_bug_in_the_probe_propagates_at_once(tmp_path, bug):
    probe = Probe(bug)
    started = time.monotonic()
    with pytest.raises(type(bug)):
        _daemon(tmp_path, os.getpid()).wait_ready(probe, timeout=30, poll_s=0.5)
    assert probe.calls == 1 and time.monotonic() - started < 1


def test_a_service_that_never_answers_names_its_last_error(tmp_path):
    probe = Probe(*[ConnectionRefusedError(111, "Connection refused")] * 1000)
    with pytest.raises(ServiceStartError, match=r"did not answer within 0 s \(last answer: ConnectionRefusedError"):
        _daemon(tmp_path, os.getpid()).wait_ready(probe, timeout=0.2, poll_s=0.01)


def test_a_process_that_exited_during_start_up_is_reported(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    with pytest.raises(ServiceStartError, match="exited during start-up"):
        _daemon(tmp_path, child.pid).wait_ready(Probe(answer=False), timeout=5, poll_s=0.01)


def _http(code: int) -> urllib.error.HTTPError:
    return urllib.error.HTTPError("http://127.0.0.1:8081/overview", code, "x", {}, None)


@pytest.mark.parametrize("error, expected", [
    (ConnectionRefusedError(111, "Connection refused"), True),
    (TimeoutError("timed out"), True),
    (urllib.error.URLError(ConnectionRefusedError(111, "Connection refused")), True),
    (urllib.error.URLError(TimeoutError("timed out")), True),
    (_http(503), True),
    (_http(404), True),
    (_http(401), False),
    (urllib.error.URLError("unknown url type: htp"), False),
    (KafkaException(KafkaError(KafkaError._TRANSPORT)), True),
    (KafkaException(KafkaError(KafkaError._TIMED_OUT)), True),
    (KafkaException(KafkaError(KafkaError._INVALID_ARG)), False),
    (ValueError("bad config"), False),
    (TypeError("bug"), False),
])
def test_not_ready_yet_tells_a_starting_service_from_a_bug(error, expected):
    assert not_ready_yet(error) is expected


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


def test_resident_memory_by_kind_of_daemon(tmp_path):
    # Two "taskmanagers" and a "jobmanager": the taskmanagers' peak is their sum.
    children = [subprocess.Popen([sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"],
                                 stdout=subprocess.PIPE, text=True, start_new_session=True) for _ in range(3)]
    try:
        for child in children:
            assert child.stdout.readline() == "up\n"
        for name, child in zip(("jobmanager", "taskmanager-1", "taskmanager-2"), children):
            (tmp_path / f"flink-{name}.pid").write_text(f"{child.pid}\n")
        sizes = [rss_kib(child.pid) / 1024 for child in children]
        sampler = RssSampler(tmp_path, interval_s=0.01).start()
        time.sleep(0.2)
        sampler.stop()
        by_kind = sampler.peak_mb_by_kind
        assert set(by_kind) == {"jobmanager", "taskmanager"}
        assert by_kind["jobmanager"] == pytest.approx(sizes[0], rel=0.2)
        assert by_kind["taskmanager"] == pytest.approx(sizes[1] + sizes[2], rel=0.2)
        assert sampler.peak_mb == pytest.approx(sum(sizes), rel=0.2)
    finally:
        for child in children:
            child.kill()
            child.communicate()
