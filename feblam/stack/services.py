"""The services of the local stack and how each is started and probed.

Each service is a `Service`: a name, its daemons, how to launch them, and a
readiness probe that asks the service itself (a metadata request to Kafka, an
HTTP call to the registry, the Flink REST overview), since an open port is
not yet a working service.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import threading
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import yaml

from connectors.kafka_clients import client_config
from connectors.kafka_security import KafkaSecurity
from feblam.flinkconf import python_path_env
from feblam.stack.java import java_home
from feblam.stack.process import Daemon, ServiceStartError, supervised
from feblam.stack.secrets import ensure_secrets, kafka_keystore, server_certificate, write_private
from feblam.stack.settings import HOST, KAFKA_USERS, PROJECT_ROOT, REGISTRY_USER, StackSettings

FLINK_CONF_TEMPLATE = PROJECT_ROOT / "flink-conf" / "config.yaml"
START_TIMEOUT_S = 120.0


def _http_json(url: str, timeout: float = 2.0, context=None, headers: dict | None = None):
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
        return json.loads(response.read())


def _argfile_quoted(arg: str) -> str:
    # In a java argument file a quoted argument keeps its spaces; \ escapes.
    return arg.replace("\\", "\\\\").replace('"', '\\"')


def _require(path: Path, what: str) -> Path:
    if not path.exists():
        raise ServiceStartError(f"{what} not found at {path}: run scripts/setup first")
    return path


@dataclass
class Service:
    name: str
    settings: StackSettings

    @property
    def daemons(self) -> list[Daemon]:
        raise NotImplementedError

    def _daemon(self, name: str, env: dict[str, str] | None = None) -> Daemon:
        s = self.settings
        return Daemon(name, s.run_dir / f"{name}.pid", s.log_dir / f"{name}.log", env or {})

    def running(self) -> bool:
        return all(d.running() for d in self.daemons)

    def ready(self) -> bool:
        raise NotImplementedError

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> bool:
        # Reverse order: the Flink taskmanagers go before their jobmanager.
        return any([d.stop() for d in reversed(self.daemons)])

    def where(self) -> str:
        raise NotImplementedError


class Kafka(Service):
    """A single-node Kafka broker in KRaft mode (broker and controller in one process)."""

    def __init__(self, settings: StackSettings):
        super().__init__("kafka", settings)

    @property
    def daemons(self) -> list[Daemon]:
        return [self._daemon("kafka")]

    @property
    def data_dir(self) -> Path:
        return self.settings.var_dir / "kafka" / "data"

    def _write_config(self) -> Path:
        s = self.settings
        conf_dir = s.var_dir / "kafka"
        conf_dir.mkdir(parents=True, exist_ok=True)
        properties = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@{HOST}:{s.kafka_controller_port}",
            "controller.listener.names": "CONTROLLER",
            **(self._secure_listeners() if s.secure else {
                "listeners": f"PLAINTEXT://{HOST}:{s.kafka_port},CONTROLLER://{HOST}:{s.kafka_controller_port}",
                "advertised.listeners": f"PLAINTEXT://{HOST}:{s.kafka_port}",
                "inter.broker.listener.name": "PLAINTEXT",
                "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            }),
            "log.dirs": str(self.data_dir),
            "num.partitions": "2",
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            # Compacted reference topics should compact soon after a list is replaced.
            "log.cleaner.min.compaction.lag.ms": "0",
        }
        path = conf_dir / "server.properties"
        # 0600: a secured broker's file holds its own SCRAM password and its key store's.
        write_private(path, "".join(f"{k}={v}\n" for k, v in properties.items()))
        log4j = conf_dir / "log4j2.properties"
        log4j.write_text(
            "rootLogger.level = INFO\n"
            "rootLogger.appenderRef.stdout.ref = STDOUT\n"
            "appender.stdout.type = Console\n"
            "appender.stdout.name = STDOUT\n"
            "appender.stdout.layout.type = PatternLayout\n"
            "appender.stdout.layout.pattern = [%d] %p %m (%c)%n\n"
            "logger.kafka.name = kafka\nlogger.kafka.level = WARN\n"
            "logger.apache.name = org.apache.kafka\nlogger.apache.level = WARN\n"
        )
        return path

    def _secure_listeners(self) -> dict[str, str]:
        """The listeners of a secured broker: clients (and the broker itself, as its
        inter-broker listener) on SASL_SSL with SCRAM-SHA-512 and the stack's
        certificate.

        The KRaft controller listener stays PLAINTEXT: it binds to loopback, and on
        this single node only the process itself talks to it (its broker half to
        its controller half), so TLS there would guard a conversation no other
        party can join. A multi-node deployment, whose controllers are reached over
        the network, secures it like the client listener."""
        s = self.settings
        keystore, keystore_password = kafka_keystore(s)
        broker_password = s.kafka_password_file("feblam-broker").read_text()
        return {
            "listeners": f"SASL_SSL://{HOST}:{s.kafka_port},CONTROLLER://{HOST}:{s.kafka_controller_port}",
            "advertised.listeners": f"SASL_SSL://{HOST}:{s.kafka_port}",
            "inter.broker.listener.name": "SASL_SSL",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL",
            "sasl.enabled.mechanisms": "SCRAM-SHA-512",
            "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
            "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config":
                "org.apache.kafka.common.security.scram.ScramLoginModule required "
                f'username="feblam-broker" password="{broker_password}";',
            "ssl.keystore.type": "PKCS12",
            "ssl.keystore.location": str(keystore),
            "ssl.keystore.password": keystore_password.read_text(),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(s.ca_file),
            "ssl.endpoint.identification.algorithm": "https",
            # ACLs are enforced where they exist (KRaft's own authorizer); a resource
            # with none stays open to every authenticated user, so the stack works
            # with no ACL at all and a deployment (or a test) restricts a topic by
            # giving it ACLs. Super users: the broker, and ANONYMOUS, which only the
            # PLAINTEXT loopback controller listener yields (the broker half of this
            # node talking to its controller half).
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "allow.everyone.if.no.acl.found": "true",
            "super.users": "User:feblam-broker;User:ANONYMOUS",
        }

    def _java(self, main: str, *args: str, heap: str = "512m") -> list[str]:
        lib = _require(self.settings.lib_dir / "kafka", "Kafka jars")
        java = java_home(17, "FEBLAM_KAFKA_JAVA_HOME") / "bin" / "java"
        conf_dir = self.settings.var_dir / "kafka"
        return [
            str(java), f"-Xmx{heap}", f"-Xms{heap}",
            f"-Dlog4j2.configurationFile={conf_dir / 'log4j2.properties'}",
            "-cp", f"{lib}/*", main, *args,
        ]

    def start(self) -> None:
        s = self.settings
        formatted = (self.data_dir / "meta.properties").is_file()
        if s.secure:
            if formatted and not s.kafka_password_file("feblam-admin").is_file():
                raise ServiceStartError(
                    f"Kafka's storage in {self.data_dir} was formatted without --secure, so it holds no SCRAM "
                    "users: `stack down`, then delete that directory (its topics go with it) or use another FEBLAM_VAR_DIR")
            ensure_secrets(s)
        config = self._write_config()
        if not formatted:
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
            # "--cluster-id=" keeps an id that starts with "-" (1 in 64 of them) from reading as an option.
            args = ["format", f"--cluster-id={cluster_id}", "--config", str(config)]
            passwords = []
            if s.secure:
                # KRaft keeps SCRAM credentials in its metadata log; format writes the
                # users' into the bootstrap records, so they exist before the broker
                # takes its first connection (KIP-900).
                for user in KAFKA_USERS:
                    passwords.append(s.kafka_password_file(user).read_text())
                    args += ["--add-scram", f"SCRAM-SHA-512=[name={user},password={passwords[-1]}]"]
            result = self._run_private(self._java("kafka.tools.StorageTool", *args, heap="256m"))
            if result.returncode != 0:
                output = f"{result.stdout}\n{result.stderr}"
                for password in passwords:
                    output = output.replace(password, "***")
                raise ServiceStartError(f"formatting Kafka storage failed:\n{output}")
        self.daemons[0].start(self._java("kafka.Kafka", str(config)), cwd=config.parent)

    def _run_private(self, argv: list[str]):
        """Run a java command whose arguments may hold passwords: they go into an
        argument file (mode 0600, deleted afterwards) that the java launcher expands,
        so `ps` shows `java @file` and never a password."""
        import subprocess

        args_file = self.settings.var_dir / "kafka" / "java.args"
        write_private(args_file, "\n".join(f'"{_argfile_quoted(arg)}"' for arg in argv[1:]) + "\n")
        try:
            return subprocess.run([argv[0], f"@{args_file}"], capture_output=True, text=True)
        finally:
            args_file.unlink(missing_ok=True)

    def client_security(self) -> KafkaSecurity:
        """How the stack's own probes reach the broker: as feblam-admin when secured."""
        s = self.settings
        if not s.secure:
            return KafkaSecurity()
        return KafkaSecurity("SASL_SSL", "SCRAM-SHA-512", "feblam-admin", str(s.kafka_password_file("feblam-admin")),
                             str(s.ca_file), origin="the local stack")

    def ready(self) -> bool:
        from confluent_kafka.admin import AdminClient

        admin = AdminClient(client_config({"bootstrap.servers": self.settings.bootstrap_servers, "log_level": 0},
                                          self.client_security()))
        metadata = admin.list_topics(timeout=2)
        return bool(metadata.brokers)

    def where(self) -> str:
        secured = ", SASL_SSL/SCRAM-SHA-512" if self.settings.secure else ""
        return f"bootstrap {self.settings.bootstrap_servers}{secured} (controller {HOST}:{self.settings.kafka_controller_port})"


class Registry(Service):
    """Apicurio Registry; clients use its Confluent-compatible API.

    Its storage is Apicurio's SQL store on an H2 database file under
    `var/registry/`, so a restarted registry keeps every subject, version and
    id: consumers decode old records by the ids in their headers, and a registry
    that forgot them (its default in-memory H2) would hand the same ids to other
    schemas. H2 rather than Apicurio's KafkaSQL store keeps the registry up while
    the broker is down; a deployment points `apicurio.datasource.url` at
    PostgreSQL, the same SQL store.
    """

    def __init__(self, settings: StackSettings):
        super().__init__("registry", settings)

    @property
    def daemons(self) -> list[Daemon]:
        return [self._daemon("registry")]

    @property
    def data_dir(self) -> Path:
        return self.settings.var_dir / "registry"

    def start(self) -> None:
        s = self.settings
        jar = _require(s.lib_dir / "apicurio" / "quarkus-run.jar", "Apicurio Registry")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        java = java_home(21, "FEBLAM_REGISTRY_JAVA_HOME") / "bin" / "java"
        argv = [
            str(java), "-Xmx512m",
            f"-Dquarkus.http.host={HOST}",
            f"-Dquarkus.http.port={s.registry_port}",
            # Quarkus' management interface (health, metrics) listens on 0.0.0.0:9000
            # unless told otherwise; it is fixed at build time, so it can only be moved.
            f"-Dquarkus.management.host={HOST}",
            f"-Dquarkus.management.port={s.registry_management_port}",
            "-Dapicurio.storage.kind=sql",
            "-Dapicurio.storage.sql.kind=h2",
            # WRITE_DELAY=0: a commit reaches the file before the registry answers, so
            # even a kill -9 cannot take back an id the registry has handed out.
            f"-Dapicurio.datasource.url=jdbc:h2:file:{self.data_dir / 'registry'};WRITE_DELAY=0",
        ]
        if s.secure:
            # The settings that hold the password are in a file (mode 0600), not in
            # -D options that `ps` would show to anyone on the machine.
            argv.append(f"-Dquarkus.config.locations={self._write_secure_config()}")
        argv += ["-jar", str(jar)]
        self.daemons[0].start(argv, cwd=jar.parent)

    def _write_secure_config(self) -> Path:
        """HTTPS only, with the stack's certificate, on the registry port (and on the
        management port, for health and metrics); every API path needs HTTP basic
        auth as the one registry user, checked by Quarkus' embedded user realm
        (quarkus-elytron-security-properties-file, which Apicurio ships with
        `quarkus.security.users.embedded.enabled` set at build time). Apicurio's own
        authentication (OIDC, with a Keycloak) stays off: it would need an identity
        server this stack does not have."""
        s = self.settings
        certificate, key = server_certificate(s)
        password = s.registry_password_file.read_text()
        properties = {
            "quarkus.http.insecure-requests": "disabled",
            "quarkus.http.ssl-port": str(s.registry_port),
            "quarkus.http.ssl.certificate.files": str(certificate),
            "quarkus.http.ssl.certificate.key-files": str(key),
            "quarkus.management.ssl.certificate.files": str(certificate),
            "quarkus.management.ssl.certificate.key-files": str(key),
            "quarkus.http.auth.basic": "true",
            "quarkus.security.users.embedded.plain-text": "true",
            f"quarkus.security.users.embedded.users.{REGISTRY_USER}": password,
            f"quarkus.security.users.embedded.roles.{REGISTRY_USER}": "sr-admin",
            "quarkus.http.auth.permission.registry.paths": "/*",
            "quarkus.http.auth.permission.registry.policy": "authenticated",
        }
        path = self.data_dir / "secure.properties"
        write_private(path, "".join(f"{k}={v}\n" for k, v in properties.items()))
        return path

    @property
    def _management_url(self) -> str:
        s = self.settings
        return f"{'https' if s.secure else 'http'}://{HOST}:{s.registry_management_port}"

    def ready(self) -> bool:
        s = self.settings
        if not s.secure:
            health = _http_json(f"{self._management_url}/health/ready")
            return health.get("status") == "UP" and _http_json(f"{s.registry_url}/subjects") is not None
        import ssl

        context = ssl.create_default_context(cafile=str(s.ca_file))
        health = _http_json(f"{self._management_url}/health/ready", context=context)
        user_info = f"{REGISTRY_USER}:{s.registry_password_file.read_text()}"
        headers = {"Authorization": "Basic " + base64.b64encode(user_info.encode()).decode()}
        return health.get("status") == "UP" and _http_json(f"{s.registry_url}/subjects", context=context,
                                                           headers=headers) is not None

    def where(self) -> str:
        s = self.settings
        secured = f", HTTPS and basic auth as {REGISTRY_USER}" if s.secure else ""
        return f"Confluent-compatible API {s.registry_url}{secured} (health {self._management_url}/health/ready)"


class ZooKeeper(Service):
    """A single ZooKeeper server: the Flink cluster's high-availability store (leader
    election, and the pointers to each job's graph and latest checkpoint)."""

    def __init__(self, settings: StackSettings):
        super().__init__("zookeeper", settings)

    @property
    def daemons(self) -> list[Daemon]:
        return [self._daemon("zookeeper")]

    @property
    def data_dir(self) -> Path:
        return self.settings.var_dir / "zookeeper" / "data"

    def _write_config(self) -> Path:
        conf_dir = self.settings.var_dir / "zookeeper"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        properties = {
            "dataDir": str(self.data_dir),
            "clientPort": str(self.settings.zookeeper_port),
            "clientPortAddress": HOST,
            "tickTime": "2000",
            "maxClientCnxns": "0",
            # The admin server would listen on 0.0.0.0:8080, the registry's port.
            "admin.enableServer": "false",
            # `ready` asks "srvr"; "ruok" is for an operator at a terminal.
            "4lw.commands.whitelist": "ruok,srvr",
            # Old snapshots and logs are purged hourly, keeping three.
            "autopurge.snapRetainCount": "3",
            "autopurge.purgeInterval": "1",
        }
        path = conf_dir / "zoo.cfg"
        path.write_text("".join(f"{k}={v}\n" for k, v in properties.items()))
        # Its logback logs every connection at DEBUG without a configuration.
        (conf_dir / "logback.xml").write_text(
            "<configuration>\n"
            "  <appender name=\"STDOUT\" class=\"ch.qos.logback.core.ConsoleAppender\">\n"
            "    <encoder><pattern>[%d] %level %logger - %msg%n</pattern></encoder>\n"
            "  </appender>\n"
            "  <root level=\"WARN\"><appender-ref ref=\"STDOUT\"/></root>\n"
            "  <logger name=\"org.apache.zookeeper.server.ZooKeeperServer\" level=\"INFO\"/>\n"
            "</configuration>\n"
        )
        return path

    def start(self) -> None:
        lib = _require(self.settings.lib_dir / "zookeeper", "ZooKeeper jars")
        java = java_home(17, "FEBLAM_FLINK_JAVA_HOME") / "bin" / "java"
        config = self._write_config()
        argv = [str(java), "-Xmx256m", "-Dzookeeper.jmx.log4j.disable=true",
                f"-Dlogback.configurationFile={config.parent / 'logback.xml'}", "-cp", f"{lib}/*",
                "org.apache.zookeeper.server.ZooKeeperServerMain", str(config)]
        self.daemons[0].start(argv, cwd=config.parent)

    def ready(self) -> bool:
        # "ruok" says imok as soon as the port listens; "srvr" answers "This ZooKeeper
        # instance is not currently serving requests" until the server really runs.
        with socket.create_connection((HOST, self.settings.zookeeper_port), timeout=2) as conn:
            conn.sendall(b"srvr")
            return conn.recv(256).startswith(b"Zookeeper version")

    def where(self) -> str:
        return f"{HOST}:{self.settings.zookeeper_port} (Flink's high-availability store)"


class Flink(Service):
    """A standalone Flink cluster from the scripts inside the apache-flink wheel:
    one jobmanager and `flink_taskmanagers` taskmanagers of one slot each
    (daemons flink-taskmanager-1, -2, ...), Python UDFs in thread mode, each
    process supervised (restarted when it dies), the jobmanager highly available
    through ZooKeeper."""

    def __init__(self, settings: StackSettings):
        super().__init__("flink", settings)

    @property
    def conf_dir(self) -> Path:
        return self.settings.var_dir / "flink" / "conf"

    @property
    def lib_dir(self) -> Path:
        return self.settings.var_dir / "flink" / "lib"

    @property
    def plugins_dir(self) -> Path:
        return self.settings.var_dir / "flink" / "plugins"

    @property
    def _env(self) -> dict[str, str]:
        return {
            "FLINK_CONF_DIR": str(self.conf_dir),
            "FLINK_LIB_DIR": str(self.lib_dir),
            # Only the Prometheus reporter, linked from the wheel (see _link_plugins).
            "FLINK_PLUGINS_DIR": str(self.plugins_dir),
            "FLINK_LOG_DIR": str(self.settings.log_dir),
            "JAVA_HOME": str(java_home(17, "FEBLAM_FLINK_JAVA_HOME")),
            "PATH": python_path_env(self.settings.python_executable),
        }

    @property
    def daemons(self) -> list[Daemon]:
        env = self._env
        return [self._daemon("flink-jobmanager", env),
                *(self._daemon(f"flink-taskmanager-{i}", env) for i in range(1, self.settings.flink_taskmanagers + 1))]

    def write_config(self) -> Path:
        """Write the cluster's config.yaml (flink-conf/config.yaml plus this machine's
        addresses, ports, directories and Python interpreter) and its lib/."""
        from feblam.flinkconf import cluster_config, flink_home

        home = flink_home()
        self._link_lib(home)
        self._link_plugins(home)
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        for name in ("log4j-console.properties", "log4j-cli.properties", "log4j.properties"):
            shutil.copy(home / "conf" / name, self.conf_dir / name)
        config = cluster_config(self.settings)
        path = self.conf_dir / "config.yaml"
        # Every `feblam submit` writes it again, two submissions may do so at once, and a
        # Flink client may be reading it meanwhile: it is replaced whole, never half-written.
        partial = path.with_name(f"config.yaml.{os.getpid()}.{threading.get_ident()}")
        partial.write_text(yaml.safe_dump(config, sort_keys=True))
        os.replace(partial, path)
        return path

    def _link_lib(self, home: Path) -> None:
        """The wheel's lib/ plus flink-python from its opt/, as the distribution docs
        advise for thread mode: pemja's native library can be loaded once per JVM,
        so it must live in the cluster's class loader, not in each job's. Loaded
        per job, the second Python job on a taskmanager fails on Java 17 with
        `NoSuchFieldException: loadedLibraryNames`."""
        _link_folder(self.lib_dir, [*home.glob("lib/*.jar"), *home.glob("opt/flink-python-*.jar")])

    def _link_plugins(self, home: Path) -> None:
        """One plugin folder, metrics-prometheus: the wheel's flink-metrics-prometheus jar
        (the runtime's own version; the Maven artifact is the same jar) and FEBLAM's
        loopback factory built from maven/prometheus-loopback, which uses its classes
        (a plugin folder is one class loader)."""
        loopback = sorted((self.settings.lib_dir / "flink-plugins").glob("feblam-prometheus-loopback-*.jar"))
        _require(loopback[-1] if loopback else self.settings.lib_dir / "flink-plugins" / "feblam-prometheus-loopback-*.jar",
                 "FEBLAM's Prometheus reporter factory")
        _link_folder(self.plugins_dir, [])   # nothing but the folder below
        _link_folder(self.plugins_dir / "metrics-prometheus",
                     [*home.glob("plugins/metrics-prometheus/*.jar"), loopback[-1]])

    def start(self) -> None:
        from feblam.flinkconf import flink_home

        self.write_config()
        bin_dir = flink_home() / "bin"
        jobmanager, *taskmanagers = self.daemons
        # A JVM writes its crash report (hs_err_pid*.log) into its working directory:
        # keep it under var/, beside the logs, not wherever `up` was typed.
        work_dir = self.settings.var_dir / "flink"
        # Supervised, as an orchestrator would run them: a JobManager or TaskManager
        # that dies is started again, and the new JobManager recovers every job from
        # ZooKeeper and its latest checkpoint (feblam.flinkconf.high_availability).
        if not jobmanager.running():
            jobmanager.start(supervised(["bash", str(bin_dir / "jobmanager.sh"), "start-foreground"]), cwd=work_dir)
        for taskmanager in taskmanagers:
            if not taskmanager.running():
                taskmanager.start(supervised(["bash", str(bin_dir / "taskmanager.sh"), "start-foreground"]), cwd=work_dir)

    def ready(self) -> bool:
        overview = _http_json(f"{self.settings.flink_rest_url}/overview")
        return overview.get("taskmanagers", 0) >= self.settings.flink_taskmanagers

    def where(self) -> str:
        ports = self.settings.prometheus_ports
        return (f"REST/UI {self.settings.flink_rest_url} (jobmanager rpc {HOST}:{self.settings.flink_rpc_port}; "
                f"Prometheus metrics http://{HOST}:{ports[0]}-{ports[-1]}/metrics)")


def _link_folder(folder: Path, targets: list[Path]) -> None:
    """Make `folder` hold exactly one symlink per target, named as it. Idempotent and
    safe when two processes do it at once (two `feblam submit`s): nothing that is
    already right is touched, and a link another process made or removed first is
    taken as done. Folders inside `folder` stay."""
    folder.mkdir(parents=True, exist_ok=True)
    wanted = {target.name: str(target) for target in targets}
    for entry in folder.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            continue
        try:
            right = entry.is_symlink() and wanted.get(entry.name) == os.readlink(entry)
        except FileNotFoundError:   # another process removed it since iterdir: done
            continue
        if not right:
            entry.unlink(missing_ok=True)
    for name, target in wanted.items():
        try:
            (folder / name).symlink_to(target)
        except FileExistsError:
            pass


def all_services(settings: StackSettings) -> list[Service]:
    """In start order: Flink jobs need Kafka and the registry, not the other way round."""
    return [Kafka(settings), Registry(settings), ZooKeeper(settings), Flink(settings)]
