"""The dispatch console of `feblam live`: demo accounts for the people of the routing
configuration, and the console served beside the jobs.

Every user of the configuration who is not a simulated dispatcher (`<centre>.sim`)
gets an account for the destinations that list them, with one password made for
this run, printed with the console's address. The accounts file is written under
var/live, replaced at each start; nothing of it is kept in the repository.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
from pathlib import Path

import yaml

from feblam.stack.settings import PROJECT_ROOT

SIMULATED_SUFFIX = ".sim"


def demo_accounts(config, password: str) -> tuple[str, dict[str, list[str]]]:
    """(the accounts file's text, user -> display names of their destinations), for
    every person the configuration names."""
    from console.accounts import hash_password

    destinations: dict[str, list[str]] = {}
    for name, destination in sorted(config.destinations.items()):
        for user in sorted(destination.users):
            if not user.endswith(SIMULATED_SUFFIX):
                destinations.setdefault(user, []).append(name)
    users = {user: {"password": hash_password(password), "destinations": names, "role": "dispatcher"}
             for user, names in destinations.items()}
    shown = {user: [config.destinations[d].display_name for d in names] for user, names in destinations.items()}
    return yaml.safe_dump({"users": users}, sort_keys=False), shown


class ConsoleProcess:
    """`feblam console serve ARGS --port PORT` as a child process, its output in
    `log_file`: what `feblam live`, `feblam bench console` and the tests run."""

    def __init__(self, arguments: list[str], port: int, log_file: Path):
        self.arguments, self.port, self.log_file = arguments, port, log_file
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def health(self) -> dict:
        import requests

        return requests.get(f"{self.url}health", timeout=5).json()

    def start(self, timeout_s: float = 120.0) -> None:
        """Start it and wait until its boards are whole (RuntimeError if it stops or is late)."""
        import requests

        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "feblam.cli", "console", "serve", *self.arguments, "--port", str(self.port)],
                cwd=PROJECT_ROOT, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the console stopped with status {self.process.returncode}: see {self.log_file}")
            try:
                if self.health().get("ready"):
                    return
            except (requests.RequestException, ValueError):
                pass
            time.sleep(0.3)
        raise RuntimeError(f"the console was not ready within {timeout_s:.0f} s: see {self.log_file}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LiveConsole(ConsoleProcess):
    """The console of `feblam live`, on the stack's endpoints, with this run's demo accounts."""

    def __init__(self, accounts: Path, port: int, endpoints: list[str]):
        super().__init__([*endpoints, "--accounts", str(accounts)], port, PROJECT_ROOT / "var" / "log" / "console.log")
        self.accounts = accounts
        self.password = secrets.token_urlsafe(9)

    def start_with_accounts(self, config) -> dict[str, list[str]]:
        """Write the demo accounts, start; the demo logins (user -> destinations' display names)."""
        text, shown = demo_accounts(config, self.password)
        self.accounts.parent.mkdir(parents=True, exist_ok=True)
        self.accounts.write_text(text, encoding="utf-8")
        self.accounts.chmod(0o600)
        self.start()
        return shown
