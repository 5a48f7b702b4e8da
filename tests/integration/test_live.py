"""`feblam live` on the stack: hits flow to destinations, dispatchers act, sightings follow,
and it stops what it started."""

from __future__ import annotations

import re
import subprocess
import sys

import requests

from feblam.stack.settings import PROJECT_ROOT
from history import layout


def test_live_shows_hits_flowing_to_destinations_and_serves_the_console(stack):
    running_before = _running_jobs(stack)
    live = subprocess.Popen([sys.executable, "-m", "feblam.cli", "live", "--for", "110", "--rate", "80",
                             "--report-every", "10", "--upkeep-every", "20"], cwd=PROJECT_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    printed: list[str] = []
    try:
        for line in live.stdout:
            printed.append(line)
            if line.startswith("[") and sum(p.startswith("[") for p in printed) == 1:
                # The console and its logins were printed before the first summary: a new user logs in.
                _a_dispatcher_logs_in("".join(printed))
    finally:
        if live.poll() is None:
            live.kill()
    stdout = "".join(printed)
    assert live.wait(60) == 0, stdout[-6000:]
    lines = [line for line in stdout.splitlines() if line.startswith("[")]
    assert lines, stdout
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


def _a_dispatcher_logs_in(stdout: str) -> None:
    """The printed address and demo login work: Liège's dispatcher logs in and sees a board."""
    console = re.search(r"== the dispatch console: (http://127\.0\.0\.1:\d+/)\s+\(password for every demo login: "
                        r"(\S+)\)", stdout)
    assert console, stdout[-3000:]
    assert re.search(r"^\s+lie\.dispatcher\s+CIC Liège$", stdout, re.MULTILINE), stdout[-3000:]
    assert ".sim " not in stdout   # the simulated dispatchers get no login
    session = requests.Session()
    url, password = console.groups()
    login = session.post(f"{url}api/login", json={"user": "lie.dispatcher", "password": password}, timeout=10)
    assert login.status_code == 200 and login.json()["destinations"][0]["name"] == "cic-lie", login.text
    assert session.get(f"{url}api/deliveries", timeout=10).status_code == 200


def _running_jobs(stack) -> set[str]:
    jobs = requests.get(f"{stack.flink_rest_url}/jobs", timeout=10).json()["jobs"]
    return {job["id"] for job in jobs if job["status"] == "RUNNING"}
