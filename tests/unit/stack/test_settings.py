"""Stack settings and the generated Flink configuration: pure logic, no services."""

from __future__ import annotations

from pathlib import Path

import pytest

from feblam.flinkconf import cluster_config
from feblam.stack.settings import StackSettings, StackSettingsError
from jobs.flinkconf import embedded_config, flatten, python_path_env


def test_defaults_and_endpoints():
    s = StackSettings()
    assert s.bootstrap_servers == "127.0.0.1:9092"
    assert s.registry_url == "http://127.0.0.1:8080/apis/ccompat/v7"
    assert s.flink_rest_url == "http://127.0.0.1:8081"


def test_environment_then_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("FEBLAM_KAFKA_PORT", "19092")
    monkeypatch.setenv("FEBLAM_VAR_DIR", str(tmp_path))
    s = StackSettings.from_env(registry_port=18080, flink_rest_port=None)
    assert (s.kafka_port, s.registry_port, s.flink_rest_port) == (19092, 18080, 8081)
    assert s.var_dir == tmp_path.resolve()


def test_bad_port_in_environment_is_refused(monkeypatch):
    monkeypatch.setenv("FEBLAM_REGISTRY_PORT", "eighty")
    with pytest.raises(StackSettingsError, match="FEBLAM_REGISTRY_PORT='eighty' is not a port number"):
        StackSettings.from_env()


@pytest.mark.parametrize("overrides", [{"kafka_port": 0}, {"flink_rpc_port": 70000}, {"registry_port": 9092}])
def test_out_of_range_or_shared_ports_are_refused(overrides):
    with pytest.raises(StackSettingsError):
        StackSettings(**overrides)


def test_taskmanagers_from_environment_then_overrides(monkeypatch):
    assert StackSettings().flink_taskmanagers == 2
    monkeypatch.setenv("FEBLAM_FLINK_TASKMANAGERS", "3")
    assert StackSettings.from_env().flink_taskmanagers == 3
    assert StackSettings.from_env(flink_taskmanagers=1).flink_taskmanagers == 1
    monkeypatch.setenv("FEBLAM_FLINK_TASKMANAGERS", "two")
    with pytest.raises(StackSettingsError, match="FEBLAM_FLINK_TASKMANAGERS='two' is not a whole number"):
        StackSettings.from_env()


@pytest.mark.parametrize("count", [0, 17])
def test_taskmanagers_out_of_range_are_refused(count):
    with pytest.raises(StackSettingsError, match="flink_taskmanagers"):
        StackSettings(flink_taskmanagers=count)


def test_one_daemon_per_taskmanager():
    from feblam.stack.services import Flink

    names = [d.name for d in Flink(StackSettings(flink_taskmanagers=3)).daemons]
    assert names == ["flink-jobmanager", "flink-taskmanager-1", "flink-taskmanager-2", "flink-taskmanager-3"]


def test_embedded_mini_cluster_sizes_its_slots_to_the_job():
    assert "taskmanager.numberOfTaskSlots" not in embedded_config()


def test_save_and_load_round_trip(tmp_path):
    s = StackSettings(kafka_port=29092, var_dir=tmp_path)
    s.save()
    loaded = StackSettings.load(tmp_path)
    assert loaded == s
    assert StackSettings.load(tmp_path / "elsewhere") is None


def test_flatten_nested_yaml_to_dotted_keys():
    assert flatten({"a": {"b": 1, "c": {"d": "x"}}, "e": True}) == {"a.b": 1, "a.c.d": "x", "e": True}


def test_cluster_config_binds_loopback_and_runs_python_in_thread_mode(tmp_path):
    s = StackSettings(flink_rest_port=18081, flink_rpc_port=16123, var_dir=tmp_path, python_executable="/venv/bin/python")
    config = cluster_config(s)
    for key in ("jobmanager.bind-host", "taskmanager.bind-host", "rest.bind-address", "jobmanager.rpc.address"):
        assert config[key] == "127.0.0.1"
    assert (config["rest.port"], config["jobmanager.rpc.port"]) == (18081, 16123)
    assert config["python.execution-mode"] == "thread"
    assert config["python.executable"] == "/venv/bin/python"
    # The wheel's JVM flags for Java 17 survive the project's overrides.
    assert "--add-opens=java.base/java.lang=ALL-UNNAMED" in config["env.java.opts.all"]
    # The project's own settings (flink-conf/config.yaml) are in force.
    assert config["execution.checkpointing.interval"] == "10s"
    assert config["execution.checkpointing.dir"] == f"file://{tmp_path / 'flink' / 'checkpoints'}"


def test_cluster_config_makes_the_jobmanager_highly_available_through_the_stacks_zookeeper(tmp_path):
    s = StackSettings(flink_rpc_port=16123, zookeeper_port=12181, var_dir=tmp_path)
    config = cluster_config(s)
    assert config["high-availability.type"] == "zookeeper"
    assert config["high-availability.zookeeper.quorum"] == "127.0.0.1:12181"
    assert config["high-availability.storageDir"] == f"file://{tmp_path / 'flink' / 'ha'}"
    # Under HA the jobmanager's RPC port is this key, not jobmanager.rpc.port: still the stack's port.
    assert config["high-availability.jobmanager.port"] == "16123"


def test_embedded_config_puts_the_virtualenv_first_on_path(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", "/usr/bin")
    # Set here so the test leaves the process environment as it found it.
    monkeypatch.setenv("FLINK_LOG_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("LOG4J_PROPERTIES", "/etc/mine.properties")
    config = embedded_config(tmp_path)
    assert __import__("os").environ["FLINK_LOG_DIR"] == str(tmp_path / "elsewhere")  # an operator's choice wins
    assert config["python.execution-mode"] == "thread"
    bin_dir = str(Path(config["python.executable"]).parent)
    assert __import__("os").environ["PATH"] == f"{bin_dir}:/usr/bin"
    assert all(isinstance(v, str) for v in config.values())


def test_python_path_env_prepends_interpreter_directory():
    assert python_path_env("/opt/venv/bin/python", "/usr/bin:/bin") == "/opt/venv/bin:/usr/bin:/bin"


def test_prometheus_reporter_takes_one_port_per_flink_process(monkeypatch, tmp_path):
    s = StackSettings(prometheus_port=19250, flink_taskmanagers=3, var_dir=tmp_path)
    assert list(s.prometheus_ports) == [19250, 19251, 19252, 19253]   # the jobmanager and three taskmanagers
    config = cluster_config(s)
    assert config["metrics.reporter.prom.factory.class"] == \
        "org.feblam.flink.metrics.LoopbackPrometheusReporterFactory"
    assert config["metrics.reporter.prom.host"] == "127.0.0.1"
    assert config["metrics.reporter.prom.port"] == "19250-19253"
    assert s.endpoints()["prometheus_urls"][0] == "http://127.0.0.1:19250/metrics"
    monkeypatch.setenv("FEBLAM_PROMETHEUS_PORT", "29999")
    assert StackSettings.from_env().prometheus_port == 29999


def test_prometheus_range_may_not_overlap_another_port():
    with pytest.raises(StackSettingsError, match="Prometheus ports 8080-8082 overlap"):
        StackSettings(prometheus_port=8080, registry_port=8081, flink_rest_port=9081)
    with pytest.raises(StackSettingsError, match="Prometheus ports"):
        StackSettings(prometheus_port=6122)   # 6122-6124 holds the rpc port 6123


def test_the_cluster_loads_one_plugin_the_wheels_reporter_with_the_loopback_factory(tmp_path):
    from feblam.stack.services import Flink

    flink = Flink(StackSettings(var_dir=tmp_path))
    flink.write_config()
    assert [p.name for p in flink.plugins_dir.iterdir()] == ["metrics-prometheus"]
    assert sorted(j.name for j in (flink.plugins_dir / "metrics-prometheus").glob("*.jar")) == \
        ["feblam-prometheus-loopback-0.1.0.jar", "flink-metrics-prometheus-2.2.1.jar"]
    assert flink._env["FLINK_PLUGINS_DIR"] == str(flink.plugins_dir)


def test_submissions_at_once_write_the_cluster_configuration_without_tripping_on_each_other(tmp_path):
    """Two `feblam submit`s at once both write the cluster's lib/, plugins/ and
    config.yaml; neither may fail on what the other does, and the result is whole."""
    from concurrent.futures import ThreadPoolExecutor

    from feblam.stack.services import Flink

    flink = Flink(StackSettings(var_dir=tmp_path))
    flink.write_config()
    expected = sorted(p.name for p in flink.lib_dir.iterdir())
    # Stale links, left by an older wheel: each writer may find one another has just removed.
    for round_ in range(20):
        for n in range(5):
            (flink.lib_dir / f"stale-{round_}-{n}.jar").symlink_to(tmp_path / "gone.jar")
        with ThreadPoolExecutor(8) as pool:
            for future in [pool.submit(flink.write_config) for _ in range(8)]:
                future.result()
    assert sorted(p.name for p in flink.lib_dir.iterdir()) == expected
    assert all(p.is_symlink() and p.resolve().is_file() for p in flink.lib_dir.iterdir())
    assert [p.name for p in flink.conf_dir.glob("config.yaml*")] == ["config.yaml"]
    assert "high-availability.type" in (flink.conf_dir / "config.yaml").read_text()
