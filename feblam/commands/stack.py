"""`feblam stack up|down|status`: the local Kafka broker, schema registry and Flink cluster."""

from __future__ import annotations

import argparse
import json
import sys
import time

from feblam.stack.java import JavaNotFoundError
from feblam.stack.process import ServiceStartError, port_open
from feblam.stack.services import START_TIMEOUT_S, all_services
from feblam.stack.settings import HOST, StackSettings, StackSettingsError

HELP = """\
Run the services FEBLAM needs on this machine, on 127.0.0.1 only:
  kafka     a single-node Apache Kafka broker in KRaft mode (storage formatted on first start)
  registry  Apicurio Registry, stored in var/registry/ (kept across restarts), Confluent-compatible API under /apis/ccompat/v7
  zookeeper a single ZooKeeper server, the Flink cluster's high-availability store
  flink     a standalone Flink cluster configured from flink-conf/: 1 jobmanager and
            --taskmanagers taskmanagers of 1 task slot each (thread mode runs the Python
            of one taskmanager under one GIL: a job uses N cores through N taskmanagers).
            Each process is supervised: one that dies is started again, and a new
            jobmanager resumes every job from its latest checkpoint.

Data, logs and pid files live under var/ (logs in var/log/). `up` waits until each
service really answers and is harmless when the stack already runs; `down` stops
every process it started; `status` says what runs where. Both `up` and `down` take
service names: `down registry` then `up registry` restarts the registry alone.

Ports (option, environment variable, default):
  --kafka-port             FEBLAM_KAFKA_PORT             9092
  --kafka-controller-port  FEBLAM_KAFKA_CONTROLLER_PORT  9093
  --registry-port          FEBLAM_REGISTRY_PORT          8080
  --registry-management-port FEBLAM_REGISTRY_MANAGEMENT_PORT 8090
  --flink-rest-port        FEBLAM_FLINK_REST_PORT        8081
  --flink-rpc-port         FEBLAM_FLINK_RPC_PORT         6123
  --zookeeper-port         FEBLAM_ZOOKEEPER_PORT         2181
  --prometheus-port        FEBLAM_PROMETHEUS_PORT        9249 (to 9249 + taskmanagers)
  --taskmanagers           FEBLAM_FLINK_TASKMANAGERS     2
The values in force are kept in var/run/stack.json, which clients and tests read.
FEBLAM_VAR_DIR moves var/ (data, logs, pids) elsewhere, e.g. for a second stack.

--secure runs Kafka with TLS and SCRAM-SHA-512 users and the registry over HTTPS
with basic auth, with a CA, certificates and passwords made under var/secrets/
(mode 0600, never printed). FEBLAM clients and tests of this stack then use them
by themselves (see docs/operations.md, "Security"). A var dir once secured stays
secured: its Kafka storage holds the SCRAM users.
"""

SERVICE_NAMES = ("kafka", "registry", "zookeeper", "flink")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "stack",
        help="start, stop or inspect the local Kafka, registry and Flink cluster",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    up = actions.add_parser("up", help="start every service (or those named) and wait until they answer")
    defaults = StackSettings()
    for option in ("kafka-port", "kafka-controller-port", "registry-port", "registry-management-port",
                   "flink-rest-port", "flink-rpc-port", "zookeeper-port", "prometheus-port"):
        field = option.replace("-", "_")
        up.add_argument(f"--{option}", type=int, metavar="PORT",
                        help=f"{option.removesuffix('-port').replace('-', ' ')} port (default "
                             f"{getattr(defaults, field)}, or FEBLAM_{field.upper()})")
    up.add_argument("--taskmanagers", type=int, metavar="N",
                    help="Flink taskmanagers, one task slot each (default 2, or FEBLAM_FLINK_TASKMANAGERS)")
    up.add_argument("--secure", action="store_true", default=None,
                    help="Kafka over TLS with SCRAM users, the registry over HTTPS with a password (see above)")
    up.add_argument("services", nargs="*", metavar="SERVICE",
                    help=f"only these services ({', '.join(SERVICE_NAMES)}); default all")
    up.set_defaults(func=cmd_up)
    down = actions.add_parser("down", help="stop every service of the stack (or those named); no process is left behind")
    down.add_argument("services", nargs="*", metavar="SERVICE",
                      help=f"only these services ({', '.join(SERVICE_NAMES)}); default all")
    down.set_defaults(func=cmd_down)
    status = actions.add_parser("status", help="say what runs where; exit 0 only if everything runs")
    status.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    status.set_defaults(func=cmd_status)


def _selected(services, names):
    return [s for s in services if not names or s.name in names]


def _unknown_services(names) -> bool:
    unknown = sorted(set(names) - set(SERVICE_NAMES))
    if unknown:
        print(f"stack: unknown service(s) {unknown}; known: {', '.join(SERVICE_NAMES)}", file=sys.stderr)
    return bool(unknown)


def cmd_up(args) -> int:
    if _unknown_services(args.services):
        return 2
    try:
        running = StackSettings.load()
        settings = StackSettings.from_env(
            base=StackSettings(secure=True) if running and running.secure else None,
            secure=args.secure,
            kafka_port=args.kafka_port,
            kafka_controller_port=args.kafka_controller_port,
            registry_port=args.registry_port,
            registry_management_port=args.registry_management_port,
            flink_rest_port=args.flink_rest_port,
            flink_rpc_port=args.flink_rpc_port,
            zookeeper_port=args.zookeeper_port,
            prometheus_port=args.prometheus_port,
            flink_taskmanagers=args.taskmanagers,
        )
    except StackSettingsError as error:
        print(f"stack: {error}", file=sys.stderr)
        return 2
    if running and any(s.running() for s in all_services(running)):
        # Ports and taskmanagers of a running stack cannot change under it: keep them.
        if args.secure and not running.secure:
            print("stack: the stack runs without --secure; `stack down` first, then `up --secure` "
                  "(with a new FEBLAM_VAR_DIR, or after deleting var/kafka/data)", file=sys.stderr)
            return 2
        settings = running
    settings.save()
    for service in _selected(all_services(settings), args.services):
        started = time.monotonic()
        try:
            if service.running() and _answers(service):
                print(f"{service.name:9} already up    {service.where()}")
                continue
            _refuse_busy_ports(service, settings)
            print(f"{service.name:9} starting ...", flush=True)
            service.start()
            for daemon in service.daemons:
                daemon.wait_ready(service.ready, START_TIMEOUT_S)
        except (ServiceStartError, JavaNotFoundError) as error:
            print(f"stack: {service.name} failed to start: {error}", file=sys.stderr)
            return 1
        print(f"{service.name:9} up in {time.monotonic() - started:4.1f} s  {service.where()}", flush=True)
    if settings.secure:
        print(_secured_note(settings))
    return 0


def _secured_note(settings: StackSettings) -> str:
    return (f"secured: TLS (CA {settings.ca_file}), Kafka SCRAM users and registry password in "
            f"{settings.secrets_dir}; client settings in {settings.state_file} (\"client_security\")")


def _answers(service) -> bool:
    try:
        return service.ready()
    except Exception:
        return False


def _port_of(service, settings: StackSettings) -> list[int]:
    return {
        "kafka": [settings.kafka_port, settings.kafka_controller_port],
        "registry": [settings.registry_port, settings.registry_management_port],
        "zookeeper": [settings.zookeeper_port],
        "flink": [settings.flink_rest_port, settings.flink_rpc_port, *settings.prometheus_ports],
    }[service.name]


def _refuse_busy_ports(service, settings: StackSettings) -> None:
    # A service partly up (a Flink jobmanager whose taskmanager died) holds its own ports.
    if any(daemon.running() for daemon in service.daemons):
        return
    busy = [p for p in _port_of(service, settings) if port_open(HOST, p)]
    if busy:
        raise ServiceStartError(
            f"port(s) {busy} on {HOST} are taken by another process; stop it or choose other ports (see `scripts/stack up --help`)"
        )


def cmd_down(args) -> int:
    if _unknown_services(args.services):
        return 2
    settings = StackSettings.current()
    for service in reversed(_selected(all_services(settings), args.services)):
        stopped = service.stop()
        print(f"{service.name:9} {'stopped' if stopped else 'was not running'}")
    return 0


def _scrapes(url: str) -> bool:
    """Whether a Prometheus reporter answers at `url`."""
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


def cmd_status(args) -> int:
    settings = StackSettings.current()
    report = {}
    for service in all_services(settings):
        report[service.name] = {
            "running": service.running(),
            "answering": service.running() and _answers(service),
            "pids": [d.pid() for d in service.daemons],
            "where": service.where(),
            "logs": [str(d.log_file) for d in service.daemons],
        }
    healthy = all(r["answering"] for r in report.values())
    # Which daemon took which port of the range is first come first served: say which answer.
    metrics = [url for url in settings.prometheus_urls if report["flink"]["running"] and _scrapes(url)]
    if args.json:
        print(json.dumps({"healthy": healthy, "services": report, **settings.endpoints(),
                          "prometheus_answering": metrics, "secure": settings.secure,
                          **({"client_security": settings.client_security()} if settings.secure else {})}, indent=2))
    else:
        for name, r in report.items():
            state = "up" if r["answering"] else ("starting/unhealthy" if r["running"] else "down")
            print(f"{name:9} {state:18} {r['where']}")
        print(f"{'metrics':9} {len(metrics)} of {len(settings.prometheus_urls):<13} "
              f"{' '.join(metrics) or 'no Prometheus reporter answers'}")
        print(f"logs under {settings.log_dir}")
        if settings.secure:
            print(_secured_note(settings))
    return 0 if healthy else 3
