"""The Flink cluster as a chaos run needs it: a job running, cancelled whatever the
state of the cluster, and the cluster whole again before the run returns."""

from __future__ import annotations

import time

from feblam.stack.settings import StackSettings


def wait_running(stack: StackSettings, job_id: str, timeout_s: float) -> None:
    import requests

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = requests.get(f"{stack.flink_rest_url}/jobs/{job_id}", timeout=10).json()
        if job.get("state") == "RUNNING" and all(v["status"] == "RUNNING" for v in job["vertices"]):
            return
        if job.get("state") in ("FAILED", "CANCELED", "FINISHED"):
            raise RuntimeError(f"job {job_id} is {job['state']} before the run began")
        time.sleep(1)
    raise RuntimeError(f"job {job_id} did not run within {timeout_s:.0f} s")


def job_account(stack: StackSettings, job_id: str) -> dict:
    """The job's state and its latest failure's first line, as the run ends: what an
    operator looks at first when a run came out short."""
    import requests

    try:
        state = requests.get(f"{stack.flink_rest_url}/jobs/{job_id}", timeout=10).json().get("state")
        history = requests.get(f"{stack.flink_rest_url}/jobs/{job_id}/exceptions", timeout=10).json() \
            .get("exceptionHistory", {}).get("entries", [])
    except Exception as error:   # the jobmanager does not answer: that is the account
        return {"state": None, "latest_failure": f"no answer from the jobmanager: {error}"}
    latest = history[0]["stacktrace"].splitlines()[0] if history and history[0].get("stacktrace") else None
    return {"state": state, "latest_failure": latest}


def cancel(stack: StackSettings, job_id: str, log) -> None:
    from feblam.flinkrest import FlinkRest

    rest = FlinkRest(stack.flink_rest_url)
    deadline = time.monotonic() + 180   # a jobmanager killed last may still be recovering the job
    while True:
        try:
            rest.cancel(job_id)
            rest.wait_until_terminal(job_id, 60)
            return
        except Exception as error:
            if time.monotonic() > deadline:
                log(f"job {job_id} could not be cancelled ({error}): `feblam jobs cancel {job_id}`")
                return
            time.sleep(2)


def wait_whole(stack: StackSettings, log, timeout_s: float = 180) -> None:
    """Until the cluster is as before the run: its taskmanagers registered and every
    slot free. A killed taskmanager stays listed until its heartbeat times out, and
    a job submitted meanwhile could be given its slot."""
    import requests

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            overview = requests.get(f"{stack.flink_rest_url}/overview", timeout=5).json()
            if overview["taskmanagers"] == stack.flink_taskmanagers and \
                    overview["slots-available"] == overview["slots-total"] == stack.flink_taskmanagers:
                return
        except Exception:
            pass
        time.sleep(2)
    log(f"the Flink cluster is not whole again after {timeout_s:.0f} s: see `feblam stack status`")
