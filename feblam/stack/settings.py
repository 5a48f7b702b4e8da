"""Where the local stack lives and listens.

Every port can be set by an environment variable (so CI or a developer with a
busy port can move it) or by a `scripts/stack up` option; the values in force
are written to `var/run/stack.json` by `up`, and read back by `status`, `down`,
the tests and every client command, through `StackSettings.current()`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from connectors.kafka_security import COMPONENT_USERS

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Installed by scripts/setup and shared by every stack, wherever its var_dir is.
LIB_DIR = PROJECT_ROOT / "var" / "lib"
HOST = "127.0.0.1"  # every service binds to loopback only
# The SCRAM users of a secured stack's Kafka: feblam-broker is the broker's own
# (inter-broker listener); then one per FEBLAM component (connectors.kafka_security.
# COMPONENT_USERS), feblam-admin the operator's and the default of tests.
KAFKA_USERS = ("feblam-broker", *COMPONENT_USERS.values())
REGISTRY_USER = "feblam"


class StackSettingsError(ValueError):
    """A stack setting is missing or does not make sense."""


def _env_port(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        port = int(raw)
    except ValueError:
        raise StackSettingsError(f"{name}={raw!r} is not a port number") from None
    return port


def _env_count(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise StackSettingsError(f"{name}={raw!r} is not a whole number") from None


@dataclass(frozen=True)
class StackSettings:
    """Ports and directories of one local stack.

    `var_dir` (default `var/`, or FEBLAM_VAR_DIR) holds everything the stack
    writes: data, logs, pid files and the generated Flink configuration. It is
    ignored by git and safe to delete when the stack is down. Two stacks with
    different ports and var dirs can run side by side.
    """

    kafka_port: int = 9092
    kafka_controller_port: int = 9093
    registry_port: int = 8080
    registry_management_port: int = 8090
    flink_rest_port: int = 8081
    flink_rpc_port: int = 6123
    # ZooKeeper, for JobManager high availability: the leader and each job's latest checkpoint.
    zookeeper_port: int = 2181
    # Flink's Prometheus reporter: the jobmanager and each taskmanager take the first free
    # port of prometheus_port .. prometheus_port + flink_taskmanagers (`prometheus_ports`).
    prometheus_port: int = 9249
    # Taskmanagers of the Flink cluster, one task slot each: thread mode runs all the
    # Python of one taskmanager under one GIL, so a second core needs a second JVM.
    flink_taskmanagers: int = 2
    var_dir: Path = PROJECT_ROOT / "var"
    python_executable: str = sys.executable
    # `scripts/stack up --secure`: Kafka over TLS with SCRAM users, the registry over
    # HTTPS with a password. Kept in stack.json, so a var dir once secured stays so.
    secure: bool = False

    def __post_init__(self) -> None:
        ports = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name.endswith("_port")}
        for name, port in ports.items():
            if not 1 <= port <= 65535:
                raise StackSettingsError(f"{name}={port} is outside 1..65535")
        if len(set(ports.values())) != len(ports):
            raise StackSettingsError(f"two services share a port: {ports}")
        others = {name: port for name, port in ports.items() if name != "prometheus_port"}
        clash = {name: port for name, port in others.items() if port in self.prometheus_ports}
        if clash or self.prometheus_ports[-1] > 65535:
            raise StackSettingsError(f"the Prometheus ports {self.prometheus_ports[0]}-{self.prometheus_ports[-1]} "
                                     f"overlap {clash or 'the end of the port range'}")
        if not 1 <= self.flink_taskmanagers <= 16:
            raise StackSettingsError(f"flink_taskmanagers={self.flink_taskmanagers} is outside 1..16")

    @classmethod
    def from_env(cls, base: "StackSettings | None" = None, **overrides) -> "StackSettings":
        """`base` (default: the defaults), then FEBLAM_*_PORT and FEBLAM_FLINK_TASKMANAGERS
        environment variables, then `overrides` (None = not given)."""
        base = base or cls()
        values = {
            "kafka_port": _env_port("FEBLAM_KAFKA_PORT", base.kafka_port),
            "kafka_controller_port": _env_port("FEBLAM_KAFKA_CONTROLLER_PORT", base.kafka_controller_port),
            "registry_port": _env_port("FEBLAM_REGISTRY_PORT", base.registry_port),
            "registry_management_port": _env_port("FEBLAM_REGISTRY_MANAGEMENT_PORT", base.registry_management_port),
            "flink_rest_port": _env_port("FEBLAM_FLINK_REST_PORT", base.flink_rest_port),
            "flink_rpc_port": _env_port("FEBLAM_FLINK_RPC_PORT", base.flink_rpc_port),
            "zookeeper_port": _env_port("FEBLAM_ZOOKEEPER_PORT", base.zookeeper_port),
            "prometheus_port": _env_port("FEBLAM_PROMETHEUS_PORT", base.prometheus_port),
            "flink_taskmanagers": _env_count("FEBLAM_FLINK_TASKMANAGERS", base.flink_taskmanagers),
            "var_dir": base.var_dir,
            "python_executable": base.python_executable,
            "secure": base.secure,
        }
        if os.environ.get("FEBLAM_VAR_DIR"):
            values["var_dir"] = Path(os.environ["FEBLAM_VAR_DIR"]).resolve()
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    # Derived locations -----------------------------------------------------

    @property
    def lib_dir(self) -> Path:
        return LIB_DIR

    @property
    def log_dir(self) -> Path:
        return self.var_dir / "log"

    @property
    def run_dir(self) -> Path:
        return self.var_dir / "run"

    @property
    def state_file(self) -> Path:
        return self.run_dir / "stack.json"

    @property
    def secrets_dir(self) -> Path:
        """A secured stack's CA, certificates, keys and passwords (directory mode 0700,
        keys and passwords 0600)."""
        return self.var_dir / "secrets"

    @property
    def ca_file(self) -> Path:
        """The CA certificate (PEM) clients verify the stack's Kafka and registry with."""
        return self.secrets_dir / "ca.pem"

    def kafka_password_file(self, user: str) -> Path:
        return self.secrets_dir / f"kafka-{user}.password"

    @property
    def registry_password_file(self) -> Path:
        return self.secrets_dir / f"registry-{REGISTRY_USER}.password"

    def client_security(self) -> dict:
        """Where a client of a secured stack finds its settings (no secret), for
        stack.json and `status`; empty for a plain stack."""
        if not self.secure:
            return {}
        return {
            "kafka": {"security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512",
                      "users": {user: str(self.kafka_password_file(user)) for user in KAFKA_USERS},
                      "ssl_ca_location": str(self.ca_file)},
            "registry": {"user": REGISTRY_USER, "password_file": str(self.registry_password_file),
                         "ssl_ca_location": str(self.ca_file)},
        }

    @property
    def bootstrap_servers(self) -> str:
        return f"{HOST}:{self.kafka_port}"

    @property
    def registry_url(self) -> str:
        return f"{'https' if self.secure else 'http'}://{HOST}:{self.registry_port}/apis/ccompat/v7"

    @property
    def flink_rest_url(self) -> str:
        return f"http://{HOST}:{self.flink_rest_port}"

    @property
    def prometheus_ports(self) -> range:
        """One port for the jobmanager and one per taskmanager, taken first come first served."""
        return range(self.prometheus_port, self.prometheus_port + self.flink_taskmanagers + 1)

    @property
    def prometheus_urls(self) -> list[str]:
        """Where Flink's Prometheus reporter may answer: every port of the range."""
        return [f"http://{HOST}:{port}/metrics" for port in self.prometheus_ports]

    def endpoints(self) -> dict:
        """What a client needs to reach the stack."""
        return {
            "bootstrap_servers": self.bootstrap_servers,
            "schema_registry_url": self.registry_url,
            "flink_rest_url": self.flink_rest_url,
            "prometheus_urls": self.prometheus_urls,
        }

    def save(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["var_dir"] = str(self.var_dir)
        data.update(self.endpoints())
        if self.secure:
            data["client_security"] = self.client_security()
        self.state_file.write_text(json.dumps(data, indent=2) + "\n")

    @classmethod
    def load(cls, var_dir: Path | None = None) -> "StackSettings | None":
        """The settings of the stack last brought up from `var_dir` (default: FEBLAM_VAR_DIR
        or var/), or None if none was."""
        var_dir = var_dir or Path(os.environ.get("FEBLAM_VAR_DIR") or cls.var_dir).resolve()
        path = var_dir / "run" / "stack.json"
        if not path.is_file():
            return None
        data = json.loads(path.read_text())
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        values["var_dir"] = Path(values.get("var_dir", var_dir))
        return cls(**values)

    @classmethod
    def current(cls) -> "StackSettings":
        """Where every client finds the stack, the one place that decides it: the
        FEBLAM_*_PORT environment variables, then the stack last brought up from
        FEBLAM_VAR_DIR (its var/run/stack.json), then the defaults. A command's own
        options (--bootstrap-servers, --registry-url, --flink-url) come before all
        three: they default to what this returns."""
        return cls.from_env(base=cls.load())
