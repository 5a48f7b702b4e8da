"""The StreamExecutionEnvironment every FEBLAM job starts from.

One place decides how a job meets Flink, so that the same job file runs on
the embedded mini-cluster (files mode, tests) and when submitted to a cluster
with `feblam submit`.
"""

from __future__ import annotations

from pyflink.common import Configuration
from pyflink.datastream import StreamExecutionEnvironment

from feblam.flinkconf import connector_jars
from jobs.flinkconf import embedded_config


def execution_environment(embedded: bool, parallelism: int | None = None) -> StreamExecutionEnvironment:
    """A configured environment with the connector jars added.

    `embedded=True` runs the job in-process with flink-conf/config.yaml and the
    virtualenv's Python; otherwise the cluster's configuration (from
    `feblam submit`) applies.
    """
    # embedded_config() must run before the first PyFlink object is made: that
    # starts the JVM, which has to inherit the PATH it sets.
    settings = embedded_config() if embedded else {}
    config = Configuration()
    for key, value in settings.items():
        config.set_string(key, value)
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.add_jars(*connector_jars())
    if parallelism:
        env.set_parallelism(parallelism)
    return env
