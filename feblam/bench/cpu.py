"""Where a benchmark's CPU went: the cores each kind of process used over a window.

On this machine every service of the stack, the Flink cluster and the benchmark's
own process share two cores, and a figure such as reads/s or a delivery's p99
means little without knowing who had the CPU. `CpuMeter.snapshot()` reads the
cumulative CPU time (user and system) of every process group the stack started
(var/run/*.pid: each daemon leads its own group, children included), of the
benchmark's own process, and of the whole machine; `cores_between` turns two
snapshots into cores used per kind over the time between them:

- one entry per kind of stack process: "taskmanager" (all of them together),
  "jobmanager", "kafka", "registry", "zookeeper", and any kind given to the meter
  (an embedded job's process group);
- "benchmark": this process (its threads, the producer and observers in it);
- "other": the rest of the machine's busy time (the kernel's own threads, other
  processes, and the time of processes that ended within the window);
- "machine": the machine's busy time in all, at most the number of cores.

Values are cores: 1.0 is one core busy for the whole window.

`thread_cores_between` splits the taskmanagers' share (and an embedded job's) by
thread: Flink names a task's thread after the steps chained in it, and the
kernel keeps the first 15 characters of a thread's name, so "decode-and-matc" is
the match step's thread, "detect-clones -" the clone step's, "route-and-follo"
the gateway's routing step. Digits are folded to "#", so that the threads of
every subtask and taskmanager doing the same work add up under one name: "C#
CompilerThre" is the JVM's just-in-time compilers, C1 and C2, busy in the first
jobs a taskmanager runs while it compiles Flink's and PyFlink's own code
(docs/benchmarks.md, "By thread").
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from feblam.bench.rss import leaders_by_kind
from feblam.stack.process import processes

MACHINE, BENCHMARK, OTHER = "machine", "benchmark", "other"
# The kinds whose threads `thread_cores_between` names: where the jobs run.
THREAD_KINDS = frozenset({"taskmanager", "embedded"})
# The JVM's just-in-time compilers (C1 and C2) under `thread_cores_between`'s names, and
# the cores of them above which a run's taskmanagers were still compiling
# (`still_compiling`): warm, they used 0.03-0.08 (docs/benchmarks.md, "By thread").
COMPILERS = "C# CompilerThre"
STILL_COMPILING_CORES = 0.1
_DIGITS = re.compile(r"[0-9]+")


def _cpu_seconds(pid: int) -> float:
    try:
        times = psutil.Process(pid).cpu_times()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return 0.0
    return times.user + times.system


def _thread_seconds(pid: int) -> dict[tuple[int, int], tuple[str, float]]:
    """(pid, thread id) -> (thread name with its digits folded to "#", CPU seconds) of
    every thread of `pid`; empty for a process that is gone (or on a system without
    /proc). The names are the kernel's (/proc/<pid>/task/<tid>/comm), which psutil
    does not give, and so are the times: the scheduler's run time of the thread,
    in nanoseconds (its schedstat). psutil's thread times, tick-sampled, gave
    0.14 s for a thread that had just run 0.30 s (tests/unit/bench/test_cpu.py)."""
    try:
        tids = [int(tid) for tid in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        return {}
    named = {}
    for tid in tids:
        try:
            name = Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip()
            ran_ns = int(Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue   # ended since the listing
        named[(pid, tid)] = (_DIGITS.sub("#", name), ran_ns / 1e9)
    return named


def _machine_busy_seconds() -> float:
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


@dataclass(frozen=True)
class CpuSnapshot:
    """At `at` (time.monotonic): each counted process's kind and cumulative CPU
    seconds, by pid, the machine's busy seconds, and the name and cumulative CPU
    seconds of each thread of the processes of THREAD_KINDS, by (pid, thread id)."""

    at: float
    processes: dict[int, tuple[str, float]]
    machine: float
    threads: dict[tuple[int, int], tuple[str, float]] = field(default_factory=dict)


class CpuMeter:
    """Snapshots of the CPU time of the stack's process groups (from the pid files
    under `run_dir`, read at each snapshot, so a restarted taskmanager is counted),
    of the groups of `extra` ((kind, process group leader) pairs: an embedded job's
    process), and of this process."""

    def __init__(self, run_dir: Path, extra: Iterable[tuple[str, int]] = ()):
        self.run_dir = Path(run_dir)
        self.extra = list(extra)

    def snapshot(self) -> CpuSnapshot:
        leaders = leaders_by_kind(self.run_dir, "*.pid") + self.extra
        kind_of_group = {pid: kind for kind, pid in leaders}
        own = os.getpid()
        counted = {own: (BENCHMARK, _cpu_seconds(own))}
        threads: dict[tuple[int, int], tuple[str, float]] = {}
        for pid, _, group in processes():
            kind = kind_of_group.get(group)
            if kind is not None and pid != own:
                counted[pid] = (kind, _cpu_seconds(pid))
                if kind in THREAD_KINDS:
                    threads.update(_thread_seconds(pid))
        return CpuSnapshot(time.monotonic(), counted, _machine_busy_seconds(), threads)


def _cores_by_label(before: dict, after: dict, wall: float) -> dict[str, float]:
    """Cores per label over `wall` seconds, from two maps of id -> (label, cumulative
    CPU seconds): an id new in `after`, or whose label changed (a reused pid or
    thread id), counts from zero, and accounting skew never makes a value negative."""
    cores: dict[str, float] = {}
    for key, (label, spent) in after.items():
        earlier = before.get(key)
        start = earlier[1] if earlier is not None and earlier[0] == label else 0.0
        cores[label] = cores.get(label, 0.0) + max(0.0, spent - start) / wall
    return cores


def cores_between(before: CpuSnapshot, after: CpuSnapshot) -> dict[str, float]:
    """Cores used per kind between two snapshots (module docstring), rounded to
    hundredths; empty when they are not at least a tenth of a second apart. A
    process that started within the window counts from zero; the time within the
    window of one that ended before its end falls into "other"."""
    wall = after.at - before.at
    if wall < 0.1:
        return {}
    cores = _cores_by_label(before.processes, after.processes, wall)
    machine = max(0.0, (after.machine - before.machine) / wall)
    cores[OTHER] = max(0.0, machine - sum(cores.values()))
    cores[MACHINE] = machine
    return {kind: round(value, 2) for kind, value in cores.items()}


def thread_cores_between(before: CpuSnapshot, after: CpuSnapshot, least: float = 0.01) -> dict[str, float]:
    """Cores used per thread name (module docstring) of the processes of THREAD_KINDS
    between two snapshots, rounded to hundredths, the busiest first, leaving out
    the names under `least` cores; empty when the snapshots are not at least a
    tenth of a second apart. A thread that started within the window counts from
    zero, as in `cores_between`."""
    wall = after.at - before.at
    if wall < 0.1:
        return {}
    cores = _cores_by_label(before.threads, after.threads, wall)
    busiest = sorted(cores.items(), key=lambda item: (-item[1], item[0]))
    return {name: round(value, 2) for name, value in busiest if round(value, 2) >= least}


def cpu_figures(before: CpuSnapshot, after: CpuSnapshot) -> dict[str, dict[str, float]]:
    """A benchmark's CPU figures over a window: `cpu_cores_by_kind` (`cores_between`)
    and `cpu_cores_by_thread` (`thread_cores_between`)."""
    return {"cpu_cores_by_kind": cores_between(before, after),
            "cpu_cores_by_thread": thread_cores_between(before, after)}


def still_compiling(figures: dict[str, dict[str, float]]) -> str | None:
    """A warning for the log when `cpu_figures` show the taskmanagers' compilers at
    STILL_COMPILING_CORES or more, else None: such a run measured JVMs that were
    still compiling the job's code, and its throughput is not comparable with that
    of warm ones."""
    cores = figures.get("cpu_cores_by_thread", {}).get(COMPILERS, 0.0)
    if cores < STILL_COMPILING_CORES:
        return None
    return (f"the taskmanagers' JIT compilers used {cores:g} cores in this window: their JVMs were still "
            "compiling (the first jobs after a start), so compare these figures only with runs that "
            "show the same (docs/benchmarks.md, \"By thread\")")
