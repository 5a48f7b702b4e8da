"""`feblam live` on the stack: hits flow to destinations, dispatchers act, sightings follow,
and it stops what it started."""

from __future__ import annotations

import re
import subprocess
import sys

import requests

from feblam.stack.settings import PROJECT_ROOT
from history import layout


def test_live_shows_hits_flowing_to_destinations(stack):
    running_before = _running_jobs(stack)
    result = subprocess.run([sys.executable, "-m", "feblam.cli", "live", "--for", "110", "--rate", "80",
                             "--report-every", "10", "--upkeep-every", "20"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lines = [line for line in result.stdout.splitlines() if line.startswith("[")]
    assert lines, result.stdout
    last = lines[-1]
    figures = {name: int(value.replace(",", "")) for name, value in
               re.findall(r"(?<![\w-])(hits|acknowledged|accepted|escalated) ([\d,]+)", last)}
    deliveries = int(re.search(r"deliveries ([\d,]+)", last).group(1).replace(",", ""))
    forwarded = int(re.search(r"sightings forwarded ([\d,]+)", last).group(1).replace(",", ""))
    assert figures["hits"] > 0 and deliveries >= figures["hits"] // 2, last
    assert figures["acknowledged"] > 0 and forwarded > 0, last
    assert re.search(r"\((lez-|cic-|fjp-|ang|sirene)", last), last
    # The history's upkeep ran at the start and on its schedule, and failed nowhere.
    passes = int(re.search(r"history: (\d+) upkeep passes", last).group(1))
    assert passes >= 2 and "failed" not in last, last
    assert layout.files(PROJECT_ROOT / "var" / "live" / "history", "reads"), "the live job wrote no history"
    assert _running_jobs(stack) == running_before, "live left a job running"


def _running_jobs(stack) -> set[str]:
    jobs = requests.get(f"{stack.flink_rest_url}/jobs", timeout=10).json()["jobs"]
    return {job["id"] for job in jobs if job["status"] == "RUNNING"}
