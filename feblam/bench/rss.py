"""Resident memory of the Flink cluster's processes, read from /proc.

The stack starts the jobmanager and each taskmanager as the leader of its own
process group (var/run/flink-*.pid); in thread mode the Python interpreter lives
inside each taskmanager's JVM, so the groups' resident set is Java and Python
together. ``RssSampler`` samples it in a thread and keeps the peak.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from feblam.stack.process import processes

PID_FILES = "flink-*.pid"  # the jobmanager and every taskmanager


def group_leaders(run_dir: Path) -> list[int]:
    leaders = []
    for path in sorted(Path(run_dir).glob(PID_FILES)):
        try:
            leaders.append(int(path.read_text().strip()))
        except (OSError, ValueError):
            continue
    return leaders


def rss_kib(pid: int, proc: Path = Path("/proc")) -> int:
    """VmRSS of one process in KiB (0 when it is gone)."""
    try:
        for line in (proc / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def group_members(groups: set[int], proc: Path = Path("/proc")) -> list[int]:
    """Pids whose process group is one of `groups`."""
    return [pid for pid, _, group in processes(proc) if group in groups]


def cluster_rss_mb(run_dir: Path, proc: Path = Path("/proc")) -> float:
    """Resident MiB of every process of the Flink process groups."""
    groups = set(group_leaders(run_dir))
    return sum(rss_kib(pid, proc) for pid in group_members(groups, proc)) / 1024.0


class RssSampler:
    """Samples `cluster_rss_mb` every `interval_s` until `stop()`; `peak_mb` is the largest."""

    def __init__(self, run_dir: Path, interval_s: float = 0.5, groups: list[int] | None = None):
        self.run_dir = run_dir
        self.groups = groups
        self.interval_s = interval_s
        self.peak_mb = 0.0
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.groups is None:
                value = cluster_rss_mb(self.run_dir)
            else:
                value = sum(rss_kib(pid) for pid in group_members(set(self.groups))) / 1024.0
            self.samples.append(value)
            self.peak_mb = max(self.peak_mb, value)
            self._stop.wait(self.interval_s)

    def start(self) -> "RssSampler":
        self._thread.start()
        return self

    def stop(self) -> float:
        self._stop.set()
        self._thread.join(timeout=5)
        return self.peak_mb


def this_machine() -> dict:
    return {"cpus": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()]}
