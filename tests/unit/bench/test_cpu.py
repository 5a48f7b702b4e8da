"""feblam.bench.cpu: cores per kind of process between two snapshots."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from feblam.bench.cpu import (COMPILERS, CpuMeter, CpuSnapshot, cores_between, cpu_figures, still_compiling,
                              thread_cores_between)
from feblam.bench.rss import leaders_by_kind


def snapshot(at: float, machine: float, **processes: tuple[str, float]) -> CpuSnapshot:
    return CpuSnapshot(at, {int(pid.removeprefix("p")): value for pid, value in processes.items()}, machine)


def test_cores_are_each_kinds_cpu_seconds_over_the_window():
    before = snapshot(100.0, 50.0, p1=("taskmanager", 10.0), p2=("taskmanager", 20.0), p3=("kafka", 5.0))
    after = snapshot(110.0, 66.0, p1=("taskmanager", 16.0), p2=("taskmanager", 27.0), p3=("kafka", 6.0))
    cores = cores_between(before, after)
    assert cores == {"taskmanager": 1.3, "kafka": 0.1, "other": 0.2, "machine": 1.6}


def test_a_process_started_in_the_window_counts_from_zero_and_one_that_ended_goes_to_other():
    # p1 was killed within the window, p4 replaced it: the machine saw both.
    before = snapshot(0.0, 0.0, p1=("taskmanager", 40.0), p3=("kafka", 1.0))
    after = snapshot(10.0, 12.0, p4=("taskmanager", 5.0), p3=("kafka", 2.0))
    cores = cores_between(before, after)
    assert cores["taskmanager"] == 0.5 and cores["kafka"] == 0.1
    assert cores["other"] == 0.6 and cores["machine"] == 1.2


def test_a_pid_reused_by_another_kind_counts_from_zero():
    before = snapshot(0.0, 0.0, p7=("registry", 30.0))
    after = snapshot(10.0, 10.0, p7=("taskmanager", 4.0))
    assert cores_between(before, after)["taskmanager"] == 0.4


def test_accounting_skew_never_gives_negative_cores():
    before = snapshot(0.0, 10.0, p1=("kafka", 5.0))
    after = snapshot(1.0, 10.5, p1=("kafka", 5.9))
    assert cores_between(before, after) == {"kafka": 0.9, "other": 0.0, "machine": 0.5}


def test_snapshots_too_close_together_give_no_figures():
    assert cores_between(snapshot(1.0, 0.0), snapshot(1.05, 0.1)) == {}


def test_pid_files_name_the_kinds(tmp_path):
    for name, pid in (("flink-jobmanager", 11), ("flink-taskmanager-1", 12), ("flink-taskmanager-2", 13),
                      ("kafka", 14), ("registry", 15)):
        (tmp_path / f"{name}.pid").write_text(f"{pid}\n")
    (tmp_path / "zookeeper.pid").write_text("not a pid")
    assert sorted(leaders_by_kind(tmp_path, "*.pid")) == [
        ("jobmanager", 11), ("kafka", 14), ("registry", 15), ("taskmanager", 12), ("taskmanager", 13)]
    assert sorted(leaders_by_kind(tmp_path)) == [("jobmanager", 11), ("taskmanager", 12), ("taskmanager", 13)]


def test_the_meter_counts_this_process_and_the_groups_it_is_given(tmp_path):
    # A child in a process group of its own stands for a stack daemon; its CPU is its
    # own, not the benchmark's. It works 0.3 s of CPU when told to, within the window.
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nsys.stdin.readline()\nt = time.process_time()\n"
         "while time.process_time() - t < 0.3: pass\nprint('done', flush=True)\nsys.stdin.readline()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        (tmp_path / "kafka.pid").write_text(str(child.pid))
        meter = CpuMeter(tmp_path, extra=[("embedded", os.getpgid(os.getpid()))])
        before, spent = meter.snapshot(), time.process_time()
        child.stdin.write("go\n")
        child.stdin.flush()
        deadline = time.monotonic() + 10
        while time.process_time() - spent < 0.3 and time.monotonic() < deadline:
            pass
        assert child.stdout.readline().strip() == "done"
        after, spent = meter.snapshot(), time.process_time() - spent
    finally:
        child.kill()
        child.wait()
    cores = cores_between(before, after)
    wall = after.at - before.at
    # This process is "benchmark" even though its group was given as "embedded".
    assert cores["benchmark"] * wall == pytest.approx(spent, abs=0.05)
    assert cores["kafka"] * wall == pytest.approx(0.3, abs=0.1)
    assert cores["machine"] >= cores["benchmark"] + cores["kafka"] - 0.05


def threads(at: float, **named: tuple[str, float]) -> CpuSnapshot:
    """A snapshot of threads only: t<pid>_<tid>=(name, seconds)."""
    return CpuSnapshot(at, {}, 0.0, {tuple(int(part) for part in key[1:].split("_")): value
                                      for key, value in named.items()})


def test_thread_cores_add_up_threads_of_one_name_busiest_first():
    before = threads(0.0, t1_1=("decode-and-matc", 5.0), t2_2=("decode-and-matc", 1.0),
                     t1_3=("C# CompilerThre", 2.0), t1_4=("GC Thread##", 1.0))
    after = threads(10.0, t1_1=("decode-and-matc", 9.0), t2_2=("decode-and-matc", 4.5),
                    t1_3=("C# CompilerThre", 4.0), t1_4=("GC Thread##", 1.04))
    assert thread_cores_between(before, after) == {"decode-and-matc": 0.75, "C# CompilerThre": 0.2}
    assert list(thread_cores_between(before, after, least=0.0)) == [
        "decode-and-matc", "C# CompilerThre", "GC Thread##"]


def test_a_thread_new_in_the_window_or_its_id_reused_counts_from_zero():
    before = threads(0.0, t1_5=("detect-clones -", 30.0))
    after = threads(10.0, t1_5=("deduplicate (#/", 2.0), t1_6=("detect-clones -", 3.0))
    assert thread_cores_between(before, after) == {"detect-clones -": 0.3, "deduplicate (#/": 0.2}
    assert thread_cores_between(before, threads(0.05)) == {}


def test_the_meter_names_the_threads_of_a_taskmanager_with_digits_folded(tmp_path):
    # A child whose busy thread is named as a Flink task's is; only the kinds that run
    # jobs have their threads counted.
    script = ("import ctypes, sys, threading, time\n"
              "def work():\n"
              "    ctypes.CDLL(None).prctl(15, b'step 12 (1/2)')   # PR_SET_NAME, as the JVM names its threads\n"
              "    t = time.thread_time()\n"
              "    while time.thread_time() - t < 0.3: pass\n"
              "    print('done', flush=True)\n"
              "    sys.stdin.readline()   # alive, and named, until the second snapshot\n"
              "sys.stdin.readline()\n"
              "thread = threading.Thread(target=work)\n"
              "thread.start(); thread.join()\n")
    child = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True, start_new_session=True)
    try:
        (tmp_path / "flink-taskmanager-1.pid").write_text(str(child.pid))
        meter = CpuMeter(tmp_path)
        before = meter.snapshot()
        child.stdin.write("go\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "done"
        after = meter.snapshot()
    finally:
        child.kill()
        child.wait()
    figures = cpu_figures(before, after)
    wall = after.at - before.at
    assert figures["cpu_cores_by_thread"]["step # (#/#)"] * wall == pytest.approx(0.3, abs=0.1)
    assert figures["cpu_cores_by_kind"]["taskmanager"] * wall >= 0.25
    assert all(pid == child.pid for pid, _ in after.threads)


def test_a_run_whose_compilers_were_busy_says_so():
    busy = {"cpu_cores_by_kind": {"taskmanager": 1.45},
            "cpu_cores_by_thread": {"decode-and-matc": 0.49, COMPILERS: 0.34}}
    assert "0.34 cores" in still_compiling(busy)
    assert still_compiling({"cpu_cores_by_thread": {"decode-and-matc": 0.53, COMPILERS: 0.08}}) is None
    assert still_compiling({}) is None   # no figures (too short a window): nothing to say
