"""The few Flink REST calls operators need: list jobs, stop with a savepoint, cancel.

Flink's REST API is the cluster's own contract (the web UI uses it), so these
work against any Flink 2.x cluster, not only the local stack.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import requests


class FlinkRestError(RuntimeError):
    """The cluster refused a request or a savepoint failed; the message says why."""


@dataclass
class FlinkRest:
    url: str
    timeout_s: float = 10.0

    def _get(self, path: str) -> dict:
        response = requests.get(f"{self.url}{path}", timeout=self.timeout_s)
        if response.status_code >= 400:
            raise FlinkRestError(f"GET {path}: HTTP {response.status_code} {response.text[:300]}")
        return response.json()

    def jobs(self) -> list[dict]:
        """Every job the cluster knows: jid, name, state, start-time, duration."""
        return self._get("/jobs/overview")["jobs"]

    def job(self, job_id: str) -> dict:
        return self._get(f"/jobs/{job_id}")

    def checkpoints(self, job_id: str) -> dict:
        return self._get(f"/jobs/{job_id}/checkpoints")

    def stop_with_savepoint(self, job_id: str, target_dir: str | None = None, timeout_s: float = 300.0) -> str:
        """Take a savepoint and stop the job; returns the savepoint's location once the
        job has stopped."""
        body = {"drain": False, "formatType": "CANONICAL"}
        if target_dir:
            body["targetDirectory"] = target_dir
        response = requests.post(f"{self.url}/jobs/{job_id}/stop", json=body, timeout=self.timeout_s)
        if response.status_code >= 400:
            raise FlinkRestError(f"stop {job_id}: HTTP {response.status_code} {response.text[:300]}")
        trigger = response.json()["request-id"]
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            status = self._get(f"/jobs/{job_id}/savepoints/{trigger}")
            if status["status"]["id"] == "COMPLETED":
                operation = status["operation"]
                if "failure-cause" in operation:
                    raise FlinkRestError(f"savepoint of {job_id} failed: {operation['failure-cause'].get('stack-trace', '')[:2000]}")
                self.wait_until_terminal(job_id, deadline - time.monotonic())
                return operation["location"]
            time.sleep(0.5)
        raise FlinkRestError(f"savepoint of {job_id} not done within {timeout_s:.0f} s")

    def wait_until_terminal(self, job_id: str, timeout_s: float) -> str:
        deadline = time.monotonic() + max(timeout_s, 1.0)
        while time.monotonic() < deadline:
            state = self.job(job_id)["state"]
            if state in ("FINISHED", "CANCELED", "FAILED"):
                return state
            time.sleep(0.5)
        raise FlinkRestError(f"job {job_id} did not stop within {timeout_s:.0f} s")

    def cancel(self, job_id: str) -> None:
        response = requests.patch(f"{self.url}/jobs/{job_id}?mode=cancel", timeout=self.timeout_s)
        if response.status_code >= 400:
            raise FlinkRestError(f"cancel {job_id}: HTTP {response.status_code} {response.text[:300]}")
