"""Flink configuration shared by the standalone cluster and the embedded mini-cluster.

Three layers, later ones winning: the defaults shipped in the apache-flink
wheel (`pyflink/conf/config.yaml`, which carries the JVM `--add-opens` flags
Java 17 needs), the project's `flink-conf/config.yaml`, and what belongs to
this machine (loopback addresses, ports, directories under var/, the
virtualenv's interpreter for Python UDFs).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import yaml

from feblam.stack.settings import HOST, LIB_DIR, PROJECT_ROOT, StackSettings

PROJECT_FLINK_CONF = PROJECT_ROOT / "flink-conf" / "config.yaml"


def flink_home() -> Path:
    """The Flink distribution inside the installed apache-flink wheel."""
    import pyflink

    return Path(pyflink.__file__).resolve().parent


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


def _read_yaml(path: Path) -> dict[str, Any]:
    return flatten(yaml.safe_load(path.read_text()) or {})


def project_config() -> dict[str, Any]:
    """flink-conf/config.yaml as dotted keys."""
    return _read_yaml(PROJECT_FLINK_CONF)


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


def cluster_config(settings: StackSettings) -> dict[str, Any]:
    """The complete config.yaml of the standalone cluster, as dotted keys."""
    flink_dir = settings.var_dir / "flink"
    config = _read_yaml(flink_home() / "conf" / "config.yaml")
    config.update(project_config())
    config.update(python_settings(settings.python_executable))
    config.update(
        {
            "jobmanager.bind-host": HOST,
            "jobmanager.rpc.address": HOST,
            "jobmanager.rpc.port": settings.flink_rpc_port,
            "taskmanager.bind-host": HOST,
            "taskmanager.host": HOST,
            "rest.address": HOST,
            "rest.bind-address": HOST,
            "rest.port": settings.flink_rest_port,
            "io.tmp.dirs": str(flink_dir / "tmp"),
            "web.upload.dir": str(flink_dir / "upload"),
            "execution.checkpointing.dir": f"file://{flink_dir / 'checkpoints'}",
            "execution.checkpointing.savepoint-dir": f"file://{flink_dir / 'savepoints'}",
            # flink-python sits in the cluster's lib/ (see feblam.stack.services.Flink);
            # pemja must come from there too, never from a job's own class loader.
            "classloader.parent-first-patterns.additional": "pemja.",
        }
    )
    return config


def embedded_config(var_dir: Path | None = None) -> dict[str, str]:
    """Settings for a job on the embedded mini-cluster (the file mode and the tests).

    Also puts this interpreter's bin directory first on PATH, and points the
    logs at var/log/, for the mini-cluster's JVM (started later by PyFlink) to inherit.
    """
    os.environ["PATH"] = python_path_env(sys.executable)
    # PyFlink's gateway JVM reads these when it starts: log to var/log, not to the
    # console or to a log file inside the shared wheel.
    log_dir = (var_dir or StackSettings.var_dir) / "log"
    log_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("FLINK_LOG_DIR", str(log_dir))
    os.environ.setdefault("LOG4J_PROPERTIES", str(PROJECT_ROOT / "flink-conf" / "log4j-embedded.properties"))
    flink_dir = (var_dir or StackSettings.var_dir) / "flink-embedded"
    config = project_config()
    # The mini-cluster is one taskmanager: let it have as many slots as the job's parallelism.
    config.pop("taskmanager.numberOfTaskSlots", None)
    config.update(python_settings(sys.executable))
    config["execution.checkpointing.dir"] = f"file://{flink_dir / 'checkpoints'}"
    config["rest.bind-address"] = HOST
    config["rest.address"] = HOST
    # A run over files is short: a failure is reported after two tries, not after
    # the minutes of back-off a long-running cluster job deserves.
    config.update({"restart-strategy.type": "fixed-delay", "restart-strategy.fixed-delay.attempts": 2,
                   "restart-strategy.fixed-delay.delay": "1s"})
    return {key: str(value) for key, value in config.items()}


def connector_jars(lib_dir: Path | None = None) -> list[str]:
    """file:// URLs of the connector and format jars resolved by scripts/setup."""
    jar_dir = (lib_dir or LIB_DIR) / "flink-jars"
    jars = sorted(jar_dir.glob("*.jar"))
    if not jars:
        raise FileNotFoundError(f"no connector jars in {jar_dir}: run scripts/setup first")
    return [jar.as_uri() for jar in jars]
