"""Resident memory of the Flink cluster's processes, read through psutil.

The stack starts the jobmanager and each taskmanager as the leader of its own
process group (var/run/flink-*.pid); in thread mode the Python interpreter lives
inside each taskmanager's JVM, so the groups' resident set is Java and Python
together. ``RssSampler`` samples it in a thread and keeps the peak.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import psutil

from feblam.stack.process import processes

PID_FILES = "flink-*.pid"  # the jobmanager and every taskmanager


def group_leaders(run_dir: Path) -> list[int]:
    """The pids in the Flink daemons' pid files under `run_dir` (unreadable ones skipped)."""
    return [pid for _, pid in leaders_by_kind(run_dir)]


def leaders_by_kind(run_dir: Path, pattern: str = PID_FILES) -> list[tuple[str, int]]:
    """(kind, pid) of each pid file under `run_dir` matching `pattern` (by default the
    Flink daemons'); the kind is the file's name without "flink-" and a trailing
    "-<n>": "jobmanager" or "taskmanager" for flink-<kind>[-n].pid, "kafka" for
    kafka.pid. Unreadable ones skipped."""
    leaders = []
    for path in sorted(Path(run_dir).glob(pattern)):
        kind = path.stem.removeprefix("flink-").split("-")[0]
        try:
            leaders.append((kind, int(path.read_text().strip())))
        except (OSError, ValueError):
            continue
    return leaders


def rss_kib(pid: int) -> int:
    """Resident set of one process in KiB (the kernel's VmRSS); 0 when it is gone."""
    try:
        return psutil.Process(pid).memory_info().rss // 1024
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return 0


def group_members(groups: set[int]) -> list[int]:
    """Pids whose process group is one of `groups`."""
    return [pid for pid, _, group in processes() if group in groups]


def groups_rss_mb(groups: set[int]) -> float:
    """Resident MiB of every process of the process groups `groups`."""
    return sum(rss_kib(pid) for pid in group_members(groups)) / 1024.0


def cluster_rss_mb(run_dir: Path) -> float:
    """Resident MiB of every process of the Flink process groups."""
    return groups_rss_mb(set(group_leaders(run_dir)))


class RssSampler:
    """Samples the resident MiB of the process groups `groups` (default: the Flink
    cluster's, from the pid files in `run_dir`, looked up at every sample) every
    `interval_s` until `stop()`; `peak_mb` is the largest sample. `peak_mb_by_kind`
    is the largest sum per kind of process: "jobmanager" and "taskmanager" (all
    taskmanagers together) for the cluster, `kind` for `groups`."""

    def __init__(self, run_dir: Path, interval_s: float = 0.5, groups: list[int] | None = None,
                 kind: str = "process"):
        self.run_dir = run_dir
        self.groups = groups
        self.kind = kind
        self.interval_s = interval_s
        self.peak_mb = 0.0
        self.peak_mb_by_kind: dict[str, float] = {}
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _sample(self) -> dict[str, float]:
        leaders = leaders_by_kind(self.run_dir) if self.groups is None else [(self.kind, g) for g in self.groups]
        by_kind: dict[str, float] = {}
        for kind, leader in leaders:
            by_kind[kind] = by_kind.get(kind, 0.0) + groups_rss_mb({leader})
        return by_kind

    def _run(self) -> None:
        while not self._stop.is_set():
            by_kind = self._sample()
            value = sum(by_kind.values())
            self.samples.append(value)
            self.peak_mb = max(self.peak_mb, value)
            for kind, mb in by_kind.items():
                self.peak_mb_by_kind[kind] = max(self.peak_mb_by_kind.get(kind, 0.0), mb)
            self._stop.wait(self.interval_s)

    def start(self) -> "RssSampler":
        self._thread.start()
        return self

    def stop(self) -> float:
        """Stop sampling; returns `peak_mb`."""
        self._stop.set()
        self._thread.join(timeout=5)
        return self.peak_mb


def this_machine() -> dict:
    return {"cpus": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()]}
