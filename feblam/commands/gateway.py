"""`feblam gateway`: the Hit Gateway's routing configuration, lifecycle events and figures.

    feblam gateway routes test --config FILE --hit JSON    which routes a hit takes, and why
    feblam gateway config check FILE                        refuse a bad configuration before it goes live
    feblam gateway config apply FILE                        topics, contracts, then publish (the job picks it up)
    feblam gateway config show                              the version in force
    feblam gateway act HIT_ID --destination D --action A --user U [...]
    feblam gateway webhooks                                 POST deliveries to the partners' webhooks
    feblam gateway report --audit ROOT [--from --to]        the figures of docs/gateway.md §7
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path

from feblam.commands import add_kafka_endpoints

DEFAULT_CONFIG = Path("flink-conf/gateway.yaml")

ROUTES_TEST_EPILOG = """\
The hit is JSON: a hit as the hits topic carries it (list_name, match_kind,
priority, score, zone, camera_id, country, attributes{owner, covert}), or a
file holding one (@hit.json). Its camera's province and police zone come from
--camera (JSON) or from --cameras (a JSON Lines camera registry). Prints the
labels, every route tried with the matcher that failed, and the destinations,
with their escalation; --json prints {"labels", "destinations": [{destination,
route, ack_timeout_ms, escalate_to}]}. Exit 0; 2 for a bad configuration or hit.
"""

ACT_EPILOG = """\
Writes one lifecycle event (spec hit-gateway §5) to the gateway's
lifecycle-events topic, key = hit_id. The gateway decides: an event its state
table does not allow is refused, with its reason, on gw.refused-events, and
changes nothing. Reasons (REJECT): FALSE_READ, WRONG_ENTRY, NO_UNIT_AVAILABLE,
OUT_OF_AREA, DUPLICATE, OTHER (with --note); outcomes (CLOSE): INTERCEPTED,
NOT_FOUND, FALSE_READ, OTHER (with --note); the configuration may name others.
"""


def register(subparsers) -> None:
    from connectors.contracts import feed
    from feblam.stack.settings import StackSettings

    stack = StackSettings.current()
    parser = subparsers.add_parser("gateway", help="the Hit Gateway: routes, configuration, lifecycle events",
                                   description="Operate the Hit Gateway (docs/gateway.md).")
    parser.set_defaults(kafka_component="gateway")   # its Kafka user (connectors.kafka_security)
    commands = parser.add_subparsers(dest="gateway_command", metavar="SUBCOMMAND")

    routes = commands.add_parser("routes", help="test the routing tree").add_subparsers(
        dest="routes_command", metavar="SUBCOMMAND")
    test = routes.add_parser("test", help="which destinations a hit reaches, and why",
                             description="Walk the routing tree of a configuration for one hit, "
                             "as `amtool config routes test` does.", epilog=ROUTES_TEST_EPILOG,
                             formatter_class=argparse.RawDescriptionHelpFormatter)
    test.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="the configuration (default: %(default)s)")
    test.add_argument("--hit", required=True, help="the hit as JSON, or @FILE")
    test.add_argument("--camera", help="the hit's camera as JSON (province, police_zone)")
    test.add_argument("--cameras", type=Path, help="a camera registry, JSON Lines, to look the hit's camera up in")
    test.add_argument("--json", action="store_true", help="print JSON instead of the walk")
    test.set_defaults(func=cmd_routes_test)

    config = commands.add_parser("config", help="check, apply or show the routing configuration") \
        .add_subparsers(dest="config_command", metavar="SUBCOMMAND")
    check = config.add_parser("check", help="check a configuration; print every problem with its line")
    check.add_argument("file", type=Path, nargs="?", default=DEFAULT_CONFIG, help="default: %(default)s")
    check.set_defaults(func=cmd_config_check)
    apply = config.add_parser(
        "apply", help="check a configuration, create its topics and contracts, and publish it",
        description="Check the configuration (refused whole, with every problem, if bad: nothing changes), "
        "create the topic gw.<destination> of each destination and the gateway's own topics, register their "
        "contracts, and publish it to gw.config, where the running gateway picks it up for the hits "
        "that arrive after it. Applying the version in force again does nothing.")
    apply.add_argument("file", type=Path, nargs="?", default=DEFAULT_CONFIG, help="default: %(default)s")
    apply.add_argument("--user", default=getpass.getuser(), help="who applies it, for the record (default: %(default)s)")
    apply.add_argument("--partitions", type=int, default=1, help="partitions of new destination topics (default: 1)")
    add_kafka_endpoints(apply, stack)
    apply.set_defaults(func=cmd_config_apply)
    show = config.add_parser("show", help="the configuration in force, as published")
    show.add_argument("--text", action="store_true", help="print the YAML itself")
    add_kafka_endpoints(show, stack)
    show.set_defaults(func=cmd_config_show)

    act = commands.add_parser("act", help="act on a delivery: acknowledge, accept, reject, close",
                              description="Send one lifecycle event for a delivery of a hit.", epilog=ACT_EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    act.add_argument("hit_id", metavar="HIT_ID", help="the hit whose delivery is acted on")
    act.add_argument("--destination", required=True, help="whose delivery (e.g. cic-ant)")
    act.add_argument("--action", required=True, type=str.upper,
                     choices=("ACKNOWLEDGE", "ACCEPT", "REJECT", "CLOSE"),
                     help="the lifecycle action (REJECT needs --reason, CLOSE --outcome)")
    act.add_argument("--user", required=True, help="who acts; must act for the destination")
    act.add_argument("--reason", type=str.upper, help="for REJECT")
    act.add_argument("--outcome", type=str.upper, help="for CLOSE")
    act.add_argument("--note", help="free text (required with OTHER)")
    add_kafka_endpoints(act, stack)
    act.set_defaults(func=cmd_act)

    hooks = commands.add_parser(
        "webhooks", help="POST each destination's records to its partner's webhook, until stopped",
        description="Run the webhook bridge (connectors/webhooks.py): one worker per destination with a "
        "webhook, reading gw.<destination> and POSTing each record as JSON, retried with backoff; a record "
        "the partner never takes goes to the dead-delivery topic. Uses the configuration in force on "
        "gw.config unless --config is given. Stop with Ctrl-C.")
    hooks.add_argument("--config", type=Path, help="a configuration file instead of the one in force")
    hooks.add_argument("--dead-deliveries-topic", default=feed("dead-deliveries").default_topic,
                       help="default: %(default)s")
    hooks.add_argument("--group-prefix", default="feblam-webhooks",
                       help="consumer groups are <prefix>.<destination> (default: %(default)s)")
    hooks.add_argument("--report-every", type=float, default=60.0, metavar="S",
                       help="print the counts every S seconds (default: %(default)s)")
    add_kafka_endpoints(hooks, stack)
    hooks.set_defaults(func=cmd_webhooks)

    report = commands.add_parser(
        "report", help="the gateway's figures for a period, from its audit (docs/gateway.md §7)",
        description="Per destination: deliveries, time to the first action (p50, p90), share escalated, share "
        "never acted on, outcomes; per list entry: feedback received. The period is of the deliveries: "
        "--from and --to are UTC dates or ISO instants (2026-03-01, 2026-03-01T08:00Z); --to is exclusive.")
    report.add_argument("--audit", type=Path, required=True, help="the audit root the gateway writes (--audit)")
    report.add_argument("--from", dest="start", help="first day or instant (default: the beginning)")
    report.add_argument("--to", dest="end", help="day or instant after the last (default: now)")
    report.add_argument("--json", action="store_true", help="print the figures as JSON")
    report.set_defaults(func=cmd_report)

    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def _fail(command: str, message: str) -> int:
    print(f"gateway {command}: {message}", file=sys.stderr)
    return 2


def _load_config(path: Path, command: str):
    from gateway.config import ConfigError, parse_config

    if not path.is_file():
        raise SystemExit(_fail(command, f"no such file {path}"))
    try:
        return parse_config(path.read_text(encoding="utf-8"), str(path))
    except ConfigError as error:
        raise SystemExit(_fail(command, f"refused: {error}"))


def _json_argument(value: str, what: str, command: str):
    text = Path(value[1:]).read_text(encoding="utf-8") if value.startswith("@") else value
    try:
        parsed = json.loads(text)
    except (json.JSONDecodeError, OSError) as error:
        raise SystemExit(_fail(command, f"{what} is not JSON: {error}"))
    if not isinstance(parsed, dict):
        raise SystemExit(_fail(command, f"{what} must be a JSON object"))
    return parsed


def cmd_routes_test(args) -> int:
    from gateway.labels import hit_labels
    from gateway.routing import choose, explain

    config = _load_config(args.config, "routes test")
    hit = _json_argument(args.hit, "--hit", "routes test")
    camera = _json_argument(args.camera, "--camera", "routes test") if args.camera else None
    if camera is None and args.cameras:
        for line in args.cameras.read_text(encoding="utf-8").splitlines():
            record = json.loads(line) if line.strip() else {}
            if record.get("camera_id") == hit.get("camera_id"):
                camera = record
    labels = hit_labels(hit, camera, config.list_owners)
    if args.json:
        print(json.dumps({"labels": labels, "destinations": [
            {"destination": c.destination, "route": c.route, "ack_timeout_ms": c.ack_timeout_ms,
             "escalate_to": c.escalate_to} for c in choose(config, labels)]}))
    else:
        print("\n".join(explain(config, labels)))
        if not choose(config, labels):
            print("-> no destination (audit only)")
    return 0


def cmd_config_check(args) -> int:
    config = _load_config(args.file, "config check")
    print(f"{args.file}: configuration {config.version} is valid: {len(config.destinations)} destinations, "
          f"national centre {config.national}")
    return 0


def _require_services(args) -> None:
    """Kafka and the registry answer, or one line naming the address (feblam.reach)."""
    from feblam.reach import require_kafka, require_registry

    require_kafka(args.bootstrap_servers)
    require_registry(args.registry_url)


def cmd_config_apply(args) -> int:
    from confluent_kafka import KafkaException

    from connectors.gateway_admin import PublishError, apply_config
    from connectors.registry import RegistryClient, RegistryError
    from connectors.topics import TopicError

    _load_config(args.file, "config apply")  # refused here, before touching Kafka
    _require_services(args)
    try:
        applied = apply_config(args.bootstrap_servers, RegistryClient(args.registry_url),
                               args.file.read_text(encoding="utf-8"), str(args.file), args.user,
                               partitions=args.partitions)
    except (KafkaException, TopicError, PublishError, RegistryError, TimeoutError) as error:
        return _fail("config apply", f"not applied: {error}")
    if applied.created_topics:
        print(f"created {len(applied.created_topics)} topics: {', '.join(applied.created_topics)}")
    if applied.published:
        print(f"configuration {applied.config.version} published: in force for the hits that arrive after it")
    else:
        print(f"configuration {applied.config.version} is already in force: nothing published")
    return 0


def cmd_config_show(args) -> int:
    from confluent_kafka import KafkaException

    from connectors.gateway_admin import current_config
    from connectors.registry import RegistryClient, RegistryError

    _require_services(args)
    try:
        version = current_config(args.bootstrap_servers, RegistryClient(args.registry_url))
    except (KafkaException, RegistryError, TimeoutError, ValueError) as error:  # ValueError: AvroDecodeError
        return _fail("config show", f"cannot read the configuration: {error}")
    if version is None:
        print("no configuration applied yet: run `feblam gateway config apply FILE`")
        return 1
    if args.text:
        print(version["text"], end="")
    else:
        print(f"configuration {version['version']} from {version['source']}, applied by {version['applied_by']}")
    return 0


def cmd_act(args) -> int:
    import time

    from confluent_kafka import KafkaException

    from connectors.gateway_admin import PublishError, send_event
    from connectors.registry import RegistryClient, RegistryError
    from gateway.events import EventError, parse_event

    record = {"hit_id": args.hit_id, "destination": args.destination, "action": args.action, "user": args.user,
              "reason": args.reason, "outcome": args.outcome, "note": args.note, "at": int(time.time() * 1000)}
    try:
        parse_event(record)   # a malformed event is refused before any service is asked
    except EventError as error:
        return _fail("act", error.reason)
    _require_services(args)
    try:
        send_event(args.bootstrap_servers, RegistryClient(args.registry_url), record)
    except EventError as error:
        return _fail("act", error.reason)
    except (KafkaException, PublishError, RegistryError) as error:
        return _fail("act", f"not sent: {error}")
    print(f"{args.action} of {args.hit_id} for {args.destination} by {args.user} sent; "
          "refusals appear on gw.refused-events")
    return 0


def cmd_webhooks(args) -> int:
    import time

    from connectors.gateway_admin import current_config
    from connectors.registry import RegistryClient
    from connectors.webhooks import WebhookBridge
    from gateway.config import parse_config

    _require_services(args)
    registry = RegistryClient(args.registry_url)
    if args.config:
        config = _load_config(args.config, "webhooks")
    else:
        version = current_config(args.bootstrap_servers, registry)
        if version is None:
            return _fail("webhooks", "no configuration applied yet: run `feblam gateway config apply FILE`")
        config = parse_config(version["text"], version["source"])
    bridge = WebhookBridge(config, args.bootstrap_servers, registry, args.dead_deliveries_topic, args.group_prefix)
    if not bridge.workers:
        return _fail("webhooks", f"configuration {config.version} gives no destination a webhook")
    print(f"webhooks for {', '.join(w.destination.name for w in bridge.workers)} (configuration {config.version}); "
          "Ctrl-C stops", flush=True)
    bridge.start()
    try:
        while True:
            time.sleep(args.report_every)
            bridge.check()
            print("  ".join(f"{w.destination.name}: {w.delivered} delivered, {w.dead} dead" for w in bridge.workers),
                  flush=True)
    except KeyboardInterrupt:
        return 0
    except RuntimeError as error:
        return _fail("webhooks", str(error))
    finally:
        bridge.stop()


def _instant_ms(text: str | None, option: str) -> int | None:
    import datetime

    if text is None:
        return None
    try:
        value = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SystemExit(_fail("report", f"{option}: a date or ISO instant such as 2026-03-01, got {text!r}"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return int(value.timestamp() * 1000)


def cmd_report(args) -> int:
    from connectors.audit_report import gateway_figures

    try:
        figures = gateway_figures(args.audit, _instant_ms(args.start, "--from"), _instant_ms(args.end, "--to"))
    except FileNotFoundError as error:
        return _fail("report", str(error))
    if args.json:
        print(json.dumps(figures))
        return 0
    def seconds(value):
        return "-" if value is None else f"{value:.1f} s"
    print(f"{'destination':<24} {'deliveries':>10} {'ack p50':>9} {'ack p90':>9} {'escalated':>9} "
          f"{'never acted':>11}  outcomes")
    for name, row in figures["destinations"].items():
        outcomes = ", ".join(f"{k} {v}" for k, v in row["outcomes"].items()) or "-"
        print(f"{name:<24} {row['deliveries']:>10} {seconds(row['ack_p50_s']):>9} {seconds(row['ack_p90_s']):>9} "
              f"{row['escalated_share']:>9.0%} {row['never_acted_share']:>11.0%}  {outcomes}")
    if not figures["destinations"]:
        print("no deliveries in the period")
    if figures["feedback"]:
        print("\nfeedback to list owners:")
        for row in figures["feedback"]:
            print(f"  {row['list_name']} {row['entry_id'] or '-'}: {row['reason']} x{row['count']}")
    return 0
