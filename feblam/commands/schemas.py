"""`feblam schemas apply`: the one governance step of the schema registry."""

from __future__ import annotations

import argparse
import json
import sys

from feblam.commands import add_kafka_endpoints

APPLY_DESCRIPTION = """\
Bring the schema registry in line with FEBLAM's contracts (schemas/*.avsc): for
each feed's topic, and for each reference list's topic <prefix><list>, set the
compatibility of the subject <topic>-value to BACKWARD, then register the
contract as a version of it unless the subject already has a version matching
it. The jobs only look their subjects up at start, and the producers (ingest,
the simulator, `feblam reference load`) register their version if it is
missing but never set a rule: this command is where rules are set. Running it
again changes nothing.

Feeds and their contracts (topics: the options below, defaults in brackets):
{feeds}
  reference lists     ReferenceEntry    one topic per list, <prefix><list>

Reference topics: with --lists, <prefix><list> for each list named (the topics
need not exist yet); without it, every topic on Kafka (--bootstrap-servers) whose
name starts with the prefix.

Each subject gets one line: the contract (new subject / new version / unchanged /
INCOMPATIBLE / FAILED, with the schema id) and its rule (compatibility set, with
the level it had / already BACKWARD). --dry-run changes nothing and says what
would change; it checks compatibility under the rule each subject has now.
--json prints one JSON object instead: {{"dry_run", "registry", "level",
"subjects": [{{"topic", "subject", "contract", "schema", "schema_id",
"compatibility", "level", "previous_level", "detail", "ok"}}], "ok"}}.

The registry's credentials and TLS files come from the environment:
FEBLAM_REGISTRY_BASIC_AUTH_USER_INFO (user:password), FEBLAM_REGISTRY_SSL_CA_LOCATION,
FEBLAM_REGISTRY_SSL_CERTIFICATE_LOCATION, FEBLAM_REGISTRY_SSL_KEY_LOCATION,
FEBLAM_REGISTRY_SSL_KEY_PASSWORD; also FEBLAM_REGISTRY_TIMEOUT_S and
FEBLAM_REGISTRY_MAX_RETRIES (docs/operations.md, "Schema registry").

Exit status:
  0  every subject has its rule and a version matching its contract (or, with
     --dry-run, would have once applied)
  1  the registry refused at least one contract as incompatible with the
     subject's versions (the other subjects were applied); or failed one subject
  2  nothing applied: bad options, the registry unreachable or refusing the
     credentials, Kafka unreachable when looking for reference topics
"""


def register(subparsers) -> None:
    from connectors.contracts import DEFAULT_REFERENCE_PREFIX, FEEDS
    from feblam.stack.settings import StackSettings

    parser = subparsers.add_parser("schemas", help="govern the schema registry: register contracts, set rules",
                                   description="Govern FEBLAM's subjects in the schema registry.")
    commands = parser.add_subparsers(dest="schemas_command", metavar="SUBCOMMAND")
    feeds = "\n".join(f"  {f.name:<19} {f.contract:<17} {f.option} [{f.default_topic}]" for f in FEEDS)
    apply = commands.add_parser("apply", help="register every contract for its topic and set BACKWARD on each subject",
                                description=APPLY_DESCRIPTION.format(feeds=feeds),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    for feed in FEEDS:
        apply.add_argument(feed.option, default=feed.default_topic, metavar="TOPIC",
                           dest=_dest(feed.name), help=f"{feed.description} (default: %(default)s)")
    apply.add_argument("--reference-prefix", default=DEFAULT_REFERENCE_PREFIX, metavar="PREFIX",
                       help="reference topics are <prefix><list> (default: %(default)s)")
    apply.add_argument("--lists", metavar="A,B", help="the reference lists, comma-separated; an empty value for "
                       "none (default: every topic on Kafka, --bootstrap-servers, that starts with the prefix)")
    apply.add_argument("--dry-run", action="store_true", help="change nothing; report what would change")
    apply.add_argument("--json", action="store_true", help="print one JSON object instead of one line a subject")
    add_kafka_endpoints(apply, StackSettings.current())
    apply.set_defaults(func=cmd_apply)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def _dest(feed_name: str) -> str:
    return f"{feed_name.replace('-', '_')}_topic"


def _fail(message: str) -> int:
    print(f"schemas apply: {message}", file=sys.stderr)
    return 2


def reference_topics(args) -> list[str]:
    """<prefix><list> for --lists, else the topics on Kafka that start with the prefix.
    Raises KafkaException when Kafka cannot be asked."""
    from connectors.contracts import reference_topic

    if args.lists is not None:
        names = [name.strip() for name in args.lists.split(",") if name.strip()]
        return [reference_topic(args.reference_prefix, name) for name in names]
    from connectors.topics import topic_names

    topics = topic_names(args.bootstrap_servers, timeout_s=15)
    return sorted(t for t in topics if t.startswith(args.reference_prefix) and len(t) > len(args.reference_prefix))


def cmd_apply(args) -> int:
    from confluent_kafka import KafkaException

    from connectors import governance
    from connectors.contracts import FEEDS
    from connectors.registry import RegistryClient, RegistryError

    if not args.reference_prefix:
        return _fail("--reference-prefix must not be empty (every topic would be a reference topic)")
    from feblam.reach import require_kafka, require_registry

    # In the order they are used: Kafka's topics name the lists, then the registry.
    if args.lists is None:
        require_kafka(args.bootstrap_servers)
    require_registry(args.registry_url)
    try:
        references = reference_topics(args)
    except KafkaException as error:
        return _fail(f"cannot list the topics of Kafka at {args.bootstrap_servers} to find the reference topics "
                     f"(name the lists with --lists to do without Kafka): {error}")
    try:
        wanted = governance.targets({f.name: getattr(args, _dest(f.name)) for f in FEEDS}, references)
        registry = RegistryClient(args.registry_url)
        outcomes = governance.apply(registry, wanted, dry_run=args.dry_run)
    except (ValueError, RegistryError) as error:  # RegistrySettingsError is both
        return _fail(str(error))
    ok = all(outcome.ok for outcome in outcomes)
    if args.json:
        print(json.dumps({"dry_run": args.dry_run, "registry": registry.url, "level": governance.COMPATIBILITY,
                          "subjects": [outcome.to_dict() for outcome in outcomes], "ok": ok}))
    else:
        if args.lists is None and not references:
            print(f"no topic on Kafka starts with {args.reference_prefix!r}: no reference subject "
                  "(name the lists with --lists)")
        width = max(len(outcome.subject) for outcome in outcomes)
        for outcome in outcomes:
            print(f"{outcome.subject:<{width}}  {describe(outcome)}")
        print(summary(outcomes))
    return 0 if ok else 1


def describe(outcome) -> str:
    """One subject's line, after its name: the contract's fate, then the rule's."""
    from connectors import governance as g

    would = "would be " if outcome.dry_run else ""
    ident = f" (id {outcome.schema_id})" if outcome.schema_id is not None else ""
    schema = {
        g.NEW_SUBJECT: f"{outcome.contract}: {'would be a ' if outcome.dry_run else ''}new subject{ident}",
        g.NEW_VERSION: f"{outcome.contract}: {'would be a ' if outcome.dry_run else ''}new version{ident}",
        g.UNCHANGED: f"{outcome.contract}: unchanged{ident}",
        g.INCOMPATIBLE: f"{outcome.contract}: INCOMPATIBLE, not registered: {outcome.detail}",
        g.FAILED: f"{outcome.contract}: FAILED: {outcome.detail}",
    }[outcome.schema]
    if outcome.compatibility == g.RULE_ALREADY:
        rule = f"already {outcome.level}"
    else:
        before = f"was {outcome.previous_level}" if outcome.previous_level else "none before"
        rule = f"compatibility {would}set to {outcome.level} ({before})"
    return f"{schema}; {rule}"


def summary(outcomes) -> str:
    from collections import Counter

    from connectors import governance as g

    counts = Counter(outcome.schema for outcome in outcomes)
    labels = {g.NEW_SUBJECT: "new", g.NEW_VERSION: "with a new version", g.UNCHANGED: "unchanged",
              g.INCOMPATIBLE: "INCOMPATIBLE", g.FAILED: "FAILED"}
    parts = [f"{counts[kind]} {label}" for kind, label in labels.items() if counts[kind]]
    rules = sum(outcome.compatibility == g.RULE_SET for outcome in outcomes)
    verb = "would be set" if outcomes and outcomes[0].dry_run else "set"
    return f"{len(outcomes)} subjects: {', '.join(parts)}; compatibility {verb} on {rules}"
