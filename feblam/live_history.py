"""The history's upkeep in `feblam live`: what a deployment runs from cron or a systemd
timer, on a schedule beside the jobs.

Every `every_s` seconds, one after the other, as the operator's commands (separate
processes, as the timer would start them):

- `feblam history compact`: each day of the live history that ended 2 h ago, into
  its daily file sorted for look-ups;
- `feblam history retro-hits`: the alert-list entries published since the last pass,
  matched against the history's past reads; the retro-hits go to the hits topic, and
  the gateway routes them like the job's.

The first pass runs at once, before the simulator publishes anything: it takes in
what earlier runs left on the reference topics (with an empty history, it finds
nothing), so that later passes see this run's updates only.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from feblam.stack.settings import PROJECT_ROOT


@dataclass
class UpkeepFigures:
    passes: int = 0
    retro_hits: int = 0
    compacted_days: int = 0
    failures: int = 0
    last_failure: str = ""

    def line(self) -> str:
        failed = f", {self.failures} failed ({self.last_failure})" if self.failures else ""
        return (f"history: {self.passes} upkeep passes, {self.compacted_days} days compacted, "
                f"retro-hits {self.retro_hits:,}{failed}")


class HistoryUpkeep(threading.Thread):
    """Runs a pass every `every_s` until `stop()` (`run_pass` runs one now); `figures`
    says what they did. A failed command is counted and named, and the next pass
    goes on: a timer's job fails alone too."""

    def __init__(self, history: Path, access_log: Path, endpoints: list[str], group: str, every_s: float):
        super().__init__(name="history-upkeep", daemon=True)
        self.history, self.access_log, self.endpoints, self.group = history, access_log, endpoints, group
        self.every_s = every_s
        self.figures = UpkeepFigures()
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.wait(self.every_s):
            self.run_pass()

    def stop(self) -> None:
        self._stopping.set()

    def run_pass(self) -> None:
        compacted = self._feblam("history", "compact", "--history", str(self.history), "--json")
        retro = self._feblam("history", "retro-hits", "--history", str(self.history), "--access-log",
                             str(self.access_log), "--group", self.group, "--json", *self.endpoints)
        self.figures.passes += 1
        if compacted is not None:
            # One entry per table and day: a day counts once.
            self.figures.compacted_days += len({day["date"] for day in compacted.get("days", [])})
        if retro is not None:
            self.figures.retro_hits += retro["hits"]

    def _feblam(self, *argv: str) -> dict | None:
        result = subprocess.run([sys.executable, "-m", "feblam.cli", *argv], cwd=PROJECT_ROOT, capture_output=True,
                                text=True)
        if result.returncode != 0:
            self.figures.failures += 1
            self.figures.last_failure = (result.stderr.strip().splitlines() or ["no message"])[-1][:200]
            return None
        lines = result.stdout.strip().splitlines()
        return json.loads(lines[-1]) if lines else {}
