"""Flink configuration of the local stack's standalone cluster.

Three layers, later ones winning: the defaults shipped in the apache-flink
wheel (`pyflink/conf/config.yaml`, which carries the JVM `--add-opens` flags
Java 17 needs), the project's `flink-conf/config.yaml`, and what belongs to
this machine (loopback addresses, ports, directories under var/, the
virtualenv's interpreter for Python UDFs).

The layers a job needs as well (flink-conf/config.yaml, thread mode's Python
settings) live in `jobs.flinkconf`, which must not depend on the stack.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from feblam.stack.settings import HOST, StackSettings
from jobs.flinkconf import project_config, python_path_env, python_settings, read_yaml

# python_path_env too: the stack's daemons and `feblam submit` need the PATH rule embedded runs use.
__all__ = ["cluster_config", "flink_home", "python_path_env"]


def flink_home() -> Path:
    """The Flink distribution inside the installed apache-flink wheel."""
    import pyflink

    return Path(pyflink.__file__).resolve().parent


def cluster_config(settings: StackSettings) -> dict[str, Any]:
    """The complete config.yaml of the standalone cluster, as dotted keys."""
    flink_dir = settings.var_dir / "flink"
    config = read_yaml(flink_home() / "conf" / "config.yaml")
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
            **high_availability(settings),
        }
    )
    config.update(prometheus_reporter(settings))
    return config


def high_availability(settings: StackSettings) -> dict[str, Any]:
    """JobManager high availability with ZooKeeper, as Flink documents it: the
    leader's address and the pointers to every job's graph and latest completed
    checkpoint are in ZooKeeper, the graphs and checkpoint metadata in `ha/`. A
    replaced JobManager (the stack's supervisor starts a new one when one dies)
    recovers every job from its latest checkpoint with no hand work."""
    return {
        "high-availability.type": "zookeeper",
        "high-availability.zookeeper.quorum": f"{HOST}:{settings.zookeeper_port}",
        "high-availability.storageDir": f"file://{settings.var_dir / 'flink' / 'ha'}",
        "high-availability.cluster-id": "/feblam",
        # Under HA the jobmanager's RPC port comes from this key (jobmanager.rpc.port is
        # ignored): keep it the stack's fixed port rather than a random one.
        "high-availability.jobmanager.port": str(settings.flink_rpc_port),
    }


def prometheus_reporter(settings: StackSettings) -> dict[str, Any]:
    """Flink's Prometheus reporter on a range of loopback ports: a process takes the
    first free one, and the jobmanager and every taskmanager each need one. Flink
    2.2's own factory takes a port and no address (it listens on every interface),
    so the stack uses FEBLAM's (maven/prometheus-loopback), the same reporter with
    an address; see feblam.stack.services.Flink for the plugin folder."""
    ports = settings.prometheus_ports
    return {
        "metrics.reporter.prom.factory.class": "org.feblam.flink.metrics.LoopbackPrometheusReporterFactory",
        "metrics.reporter.prom.host": HOST,
        "metrics.reporter.prom.port": f"{ports[0]}-{ports[-1]}",
    }
