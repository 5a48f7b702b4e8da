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
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import psutil

from feblam.bench.rss import leaders_by_kind
from feblam.stack.process import processes

MACHINE, BENCHMARK, OTHER = "machine", "benchmark", "other"


def _cpu_seconds(pid: int) -> float:
    try:
        times = psutil.Process(pid).cpu_times()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return 0.0
    return times.user + times.system


def _machine_busy_seconds() -> float:
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


@dataclass(frozen=True)
class CpuSnapshot:
    """At `at` (time.monotonic): each counted process's kind and cumulative CPU
    seconds, by pid, and the machine's busy seconds."""

    at: float
    processes: dict[int, tuple[str, float]]
    machine: float


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
        for pid, _, group in processes():
            kind = kind_of_group.get(group)
            if kind is not None and pid != own:
                counted[pid] = (kind, _cpu_seconds(pid))
        return CpuSnapshot(time.monotonic(), counted, _machine_busy_seconds())


def cores_between(before: CpuSnapshot, after: CpuSnapshot) -> dict[str, float]:
    """Cores used per kind between two snapshots (module docstring), rounded to
    hundredths; empty when they are not at least a tenth of a second apart. A
    process that started within the window counts from zero; the time within the
    window of one that ended before its end falls into "other"."""
    wall = after.at - before.at
    if wall < 0.1:
        return {}
    cores: dict[str, float] = {}
    for pid, (kind, spent) in after.processes.items():
        earlier = before.processes.get(pid)
        start = earlier[1] if earlier is not None and earlier[0] == kind else 0.0
        cores[kind] = cores.get(kind, 0.0) + max(0.0, spent - start) / wall
    machine = max(0.0, (after.machine - before.machine) / wall)
    cores[OTHER] = max(0.0, machine - sum(cores.values()))
    cores[MACHINE] = machine
    return {kind: round(value, 2) for kind, value in cores.items()}
