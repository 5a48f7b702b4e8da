"""FEBLAM's Flink configuration as a job needs it: flink-conf/config.yaml and the
Python settings of thread mode, layered for the embedded mini-cluster.

Nothing here knows a cluster: a job submitted to one takes the configuration it
is submitted with. The local stack builds its cluster's config.yaml from the
same pieces (`feblam.flinkconf`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import yaml

# The directory holding jobs/, flink-conf/ and var/ when the jobs run from a FEBLAM
# checkout; only the embedded mode and the jar fallback look there.
CHECKOUT_ROOT = Path(__file__).resolve().parents[1]
PROJECT_FLINK_CONF = CHECKOUT_ROOT / "flink-conf" / "config.yaml"
# The embedded mini-cluster's REST endpoint serves this process only.
LOOPBACK = "127.0.0.1"


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested YAML mappings to Flink's dotted keys: {"a": {"b": 1}} -> {"a.b": 1}."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def read_yaml(path: Path) -> dict[str, Any]:
    """A Flink config.yaml as dotted keys."""
    return flatten(yaml.safe_load(path.read_text()) or {})


def project_config() -> dict[str, Any]:
    """flink-conf/config.yaml as dotted keys."""
    return read_yaml(PROJECT_FLINK_CONF)


def python_settings(python: str) -> dict[str, Any]:
    """Flink's Python workers must run the virtualenv's interpreter, or thread mode
    fails with `No module named 'pemja'`."""
    return {
        "python.execution-mode": "thread",
        "python.executable": python,
        "python.client.executable": python,
    }


def python_path_env(python: str, path: str | None = None) -> str:
    """PATH with the virtualenv's bin directory first.

    pemja, which runs Python UDFs in thread mode, finds its interpreter through
    `python` on PATH rather than through `python.executable`: without this a
    job fails with `No module named 'pemja'` on the embedded mini-cluster.
    """
    current = os.environ.get("PATH", "") if path is None else path
    return os.pathsep.join([str(Path(python).parent), current])


def embedded_var_dir() -> Path:
    """Where embedded runs write logs and checkpoints: FEBLAM_VAR_DIR, else the checkout's var/."""
    return Path(os.environ.get("FEBLAM_VAR_DIR") or CHECKOUT_ROOT / "var").resolve()


def embedded_config(var_dir: Path | None = None) -> dict[str, str]:
    """Settings for a job on the embedded mini-cluster (the file mode and the tests).

    Also puts this interpreter's bin directory first on PATH, and points the
    logs at <var_dir>/log/, for the mini-cluster's JVM (started later by PyFlink)
    to inherit. `var_dir` defaults to `embedded_var_dir()`.
    """
    var_dir = var_dir or embedded_var_dir()
    os.environ["PATH"] = python_path_env(sys.executable)
    # PyFlink's gateway JVM reads these when it starts: log to var/log, not to the
    # console or to a log file inside the shared wheel.
    log_dir = var_dir / "log"
    log_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("FLINK_LOG_DIR", str(log_dir))
    os.environ.setdefault("LOG4J_PROPERTIES", str(CHECKOUT_ROOT / "flink-conf" / "log4j-embedded.properties"))
    flink_dir = var_dir / "flink-embedded"
    config = project_config()
    # The mini-cluster is one taskmanager: let it have as many slots as the job's parallelism.
    config.pop("taskmanager.numberOfTaskSlots", None)
    config.update(python_settings(sys.executable))
    config["execution.checkpointing.dir"] = f"file://{flink_dir / 'checkpoints'}"
    config["rest.bind-address"] = LOOPBACK
    config["rest.address"] = LOOPBACK
    # A run over files is short: a failure is reported after two tries, not after
    # the minutes of back-off a long-running cluster job deserves.
    config.update({"restart-strategy.type": "fixed-delay", "restart-strategy.fixed-delay.attempts": 2,
                   "restart-strategy.fixed-delay.delay": "1s"})
    return {key: str(value) for key, value in config.items()}
