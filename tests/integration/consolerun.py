"""Helpers for tests of the dispatch console: a Hit Gateway run with centres and an
owner, its accounts, `feblam console serve` as a real server on a free port, and a
logged-in HTTP client."""

from __future__ import annotations

import time
from pathlib import Path

import requests

from console.accounts import hash_password
from feblam.live_console import ConsoleProcess, free_port

PASSWORD = "correct horse battery"
CONFIG = """\
national: {run}-nat
destinations:
  {run}-nat: {display_name: "National centre", users: [nat.disp]}
  {run}-lie: {display_name: "CIC Liège", users: [lie.disp, lie.watch, lie.typo1, lie.typo2], escalate_to: {run}-nat}
  {run}-ant: {display_name: "CIC Antwerpen", users: [ant.disp], escalate_to: {run}-nat}
  {run}-fjp: {display_name: "FJP Liège", users: [fjp.inv]}
unknown_hit_grace: 3 s
route:
  destination: {run}-nat
  ack_timeout: {P1: 8 s, P2: 10 min}
  routes:
    - {matchers: ['list_name = "shared_alerts"'], destination: {run}-nat, continue: true, ack_timeout: none}
    - {matchers: ['province = "Liège"'], destination: {run}-lie}
    - {matchers: ['province = "Antwerpen"'], destination: {run}-ant}
"""
# user -> (destinations, role)
ACCOUNTS = {"lie.disp": (["lie"], "dispatcher"), "lie.watch": (["lie"], "observer"),
            "nat.disp": (["nat"], "dispatcher"), "ant.disp": (["ant"], "dispatcher"),
            "fjp.inv": (["fjp"], "dispatcher"),
            # Whom the throttle tests lock out, one each.
            "lie.typo1": (["lie"], "dispatcher"), "lie.typo2": (["lie"], "dispatcher")}


class ConsoleServer(ConsoleProcess):
    """`feblam console serve` for a GatewayRun (throttle at 3 wrong passwords), its log
    in `log_file`; `restart()` keeps the port."""

    def __init__(self, stack, run, work: Path):
        self.accounts = work / "accounts.yaml"
        super().__init__([
            "--bootstrap-servers", stack.bootstrap_servers, "--registry-url", stack.schema_registry_url,
            "--accounts", str(self.accounts), "--config-topic", run.config_topic, "--lifecycle-events-topic",
            run.events, "--refused-events-topic", run.refused, "--cameras-topic", run.cameras, "--max-failures", "3"],
            free_port(), work / "console.log")
        self.base = self.url.rstrip("/")
        hashed = hash_password(PASSWORD)
        lines = ["users:"]
        for user, (destinations, role) in ACCOUNTS.items():
            names = ", ".join(run.name(d) for d in destinations)
            lines.append(f"  {user}: {{password: \"{hashed}\", destinations: [{names}], role: {role}}}")
        self.accounts.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def restart(self) -> None:
        self.stop()
        self.start()

    def login(self, user: str, password: str = PASSWORD) -> "Client":
        client = Client(self.base)
        answer = client.post("/api/login", {"user": user, "password": password}, csrf=False)
        assert answer.status_code == 200, answer.text
        client.me = answer.json()
        return client


class Client:
    """A logged-in user's HTTP session: cookie kept, CSRF token sent on actions."""

    def __init__(self, url: str):
        self.url = url
        self.http = requests.Session()
        self.me: dict = {}

    def get(self, path: str) -> requests.Response:
        return self.http.get(f"{self.url}{path}", timeout=10)

    def post(self, path: str, body: dict, csrf: bool = True) -> requests.Response:
        headers = {"X-CSRF-Token": self.me["csrf"]} if csrf and self.me else {}
        return self.http.post(f"{self.url}{path}", json=body, headers=headers, timeout=15)

    def open_ids(self) -> list[str]:
        answer = self.get("/api/deliveries")
        assert answer.status_code == 200, answer.text
        return [d["hit_id"] for d in answer.json()["deliveries"]]

    def wait_for(self, hit_id: str, timeout_s: float = 60.0) -> dict:
        """The open delivery of `hit_id` as the list shows it, once it is there."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for delivery in self.get("/api/deliveries").json().get("deliveries", []):
                if delivery["hit_id"] == hit_id:
                    return delivery
            time.sleep(0.3)
        raise AssertionError(f"{hit_id} did not reach {self.me.get('user')}'s list within {timeout_s} s")

    def act(self, delivery_id: str, action: str, **extra) -> requests.Response:
        return self.post(f"/api/deliveries/{delivery_id}/actions", {"action": action, **extra})
