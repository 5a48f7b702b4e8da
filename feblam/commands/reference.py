"""`feblam reference`: load reference-list exports through their quality gate, and
show the state of each list."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from feblam.commands import add_kafka_endpoints

LOAD_DESCRIPTION = """\
Load one export of reference list NAME (CSV, Parquet or JSON Lines) into its
compacted Kafka topic <prefix><NAME> (default prefix `ref.`).

1. The file is read with the reader of its format (--format, else the mapping's
   `format`, else the file extension: .csv, .parquet/.pq, .jsonl/.ndjson).
2. Its columns are mapped to ReferenceEntry fields by the feed's entry in the
   mapping file (--mapping; YAML, `feeds: {NAME: {columns: {field: column}, ...}}`;
   see docs/adding-a-reference-list.md). Without one, columns carry the field
   names: entry_id, plate, country, valid_from, valid_until, severity, zone,
   and admitted (lez_status lists; published as attributes.admitted). Columns
   the feed lists under `attributes` go into the entry's attributes. Dates are
   ISO-8601 with an offset, YYYY-MM-DD (midnight UTC), epoch milliseconds, or
   Parquet timestamps (naive ones are UTC). The list's kind comes from the
   mapping's `kind`, else FEBLAM's defaults (lez_vehicle_status: lez_status,
   lez_permits: lez_permit, any other list: alert).
3. The list in force is read back from the topic, and the file is checked by the
   great-expectations suite of the list's kind (alert, lez_status, lez_permit):
   required columns present and filled, unique entry ids, plates that survive
   normalisation, the wildcard rules (alert: at most 2 wildcards and 4 other
   characters; LEZ: none), dates that parse with valid_from before valid_until,
   severity 0..100, admitted 'true'/'false', zones among the feed's `zones`, and a
   row count within `row_count_change` (default 50 %) of the published entries.
4. Accepted: only the difference from the published list is written (UPSERT
   records for new or changed entries, tombstones for entries no longer in the
   file); loading the same file again writes nothing. Exit status 0.
   Refused: nothing is written and the list in force stays as it was; the report
   folder (--reports/NAME/<time>/) holds summary.json, report.html (every
   expectation marked PASS or FAIL, the failing rows and their values: one page
   that opens in any browser, with no network) and quarantine/NAME.csv with the
   failing rows. Exit status 1. An accepted load's folder holds summary.json
   and report.html.
Other problems (unknown format, unreadable file, bad mapping, Kafka) exit 2.
"""


SNAPSHOT_DESCRIPTION = """\
Write a start-up snapshot of every reference list: the entries in force on each
topic <prefix><list> now, as Arrow columns, with the topic offsets they stand for.

A hit job given --reference-snapshots DIR loads the newest snapshot there in
bulk, then reads each topic only after the snapshot's offset: its start and
every restore take seconds instead of decoding every entry (docs/operations.md,
"Reference snapshots"). Take one after loading a big list, and then regularly
(hourly, say): what was published since is still read from the topics, so an
old snapshot costs start-up time, never an entry. A snapshot is written whole
before it is used (its manifest.json last); the newest --keep are kept.
The records the hit job would refuse are kept too, and reported by it again at
start-up as after a load from the topics.
"""


# Reports and history live in the stack's var dir, wherever the command runs from.
_VAR_HELP = "var_dir being FEBLAM_VAR_DIR or the project's var/; here %(default)s"


def _default_var_path(settings, name: str) -> Path:
    """``<var_dir>/reference/<name>``, ``var_dir`` that of ``StackSettings`` (FEBLAM_VAR_DIR or var/)."""
    return settings.var_dir / "reference" / name


def register(subparsers) -> None:
    from connectors.contracts import DEFAULT_REFERENCE_PREFIX, feed
    from feblam.stack.settings import StackSettings

    settings = StackSettings.current()
    parser = subparsers.add_parser("reference", help="load reference-list exports; show their state",
                                   description="Load reference-list exports through their quality gate "
                                   "into Kafka, and show the state of each list.")
    parser.set_defaults(kafka_component="loaders")   # its Kafka user (connectors.kafka_security)
    commands = parser.add_subparsers(dest="reference_command", metavar="SUBCOMMAND")
    load = commands.add_parser("load", help="check one export and publish its difference",
                               description=LOAD_DESCRIPTION,
                               formatter_class=argparse.RawDescriptionHelpFormatter)
    load.add_argument("--list", required=True, metavar="NAME", dest="list_name", help="the reference list")
    load.add_argument("file", type=Path, metavar="FILE", help="the export to load")
    load.add_argument("--mapping", type=Path, metavar="YAML", help="per-feed column mapping file")
    load.add_argument("--format", choices=("csv", "parquet", "jsonl"), help="override the file's format")
    load.add_argument("--prefix", default=DEFAULT_REFERENCE_PREFIX, help="reference topic prefix (default: %(default)s)")
    load.add_argument("--topic", help="the list's topic (default: <prefix><NAME>)")
    load.add_argument("--reports", type=Path, default=_default_var_path(settings, "reports"), metavar="DIR",
                      help=f"where load reports go (default: <var_dir>/reference/reports, {_VAR_HELP})")
    load.add_argument("--history", type=Path, default=_default_var_path(settings, "history.json"), metavar="FILE",
                      help=f"load and refusal history (default: <var_dir>/reference/history.json, {_VAR_HELP})")
    load.add_argument("--dry-run", action="store_true", help="check and report the difference; publish and record nothing")
    load.add_argument("--new-list", action="store_true",
                      help="create list NAME: without it, NAME must be a list of --config, a feed of --mapping, "
                           "or a list already on Kafka (a typo would otherwise start a new live alert list)")
    load.add_argument("--config", type=Path, metavar="YAML",
                      help="the hit job's list configuration (its --config), whose lists count as known "
                           "(default: FEBLAM's default lists)")
    add_kafka_endpoints(load, settings)
    load.set_defaults(func=cmd_load)
    status = commands.add_parser("status", help="entries, last load, last refusal and why, of each list",
                                 description="Show, for each list loaded with `feblam reference load`, its "
                                 "entries, its last load and its last refusal with the reasons, from the "
                                 "history file. With --live, also the entries in force on each list's "
                                 "topic now, read from Kafka (what the hit job holds, whoever published it), "
                                 "and the updates the hit job refused, from its refusals topic.")
    status.add_argument("--history", type=Path, default=_default_var_path(settings, "history.json"), metavar="FILE",
                        help=f"load and refusal history (default: <var_dir>/reference/history.json, {_VAR_HELP})")
    status.add_argument("--live", action="store_true",
                        help="count each list's entries on its topic too, and show the hit job's refusals")
    status.add_argument("--refusals-topic", default=feed("refusals").default_topic,
                        help="the hit job's refusals topic, with --live (default: %(default)s)")
    add_kafka_endpoints(status, settings, ", with --live")
    status.set_defaults(func=cmd_status)
    snapshot = commands.add_parser("snapshot", help="write the lists' start-up snapshot for the hit job",
                                   description=SNAPSHOT_DESCRIPTION,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    snapshot.add_argument("--to", dest="root", default=str(_default_var_path(settings, "snapshots")),
                          metavar="DIR",
                          help="where snapshots are kept: the hit job's --reference-snapshots (default: "
                               f"<var_dir>/reference/snapshots, {_VAR_HELP})")
    snapshot.add_argument("--prefix", default=DEFAULT_REFERENCE_PREFIX,
                          help="reference topic prefix, the hit job's --reference-prefix (default: %(default)s)")
    snapshot.add_argument("--cameras-topic", default=feed("cameras").default_topic,
                          help="the camera registry, left out of the snapshot (default: %(default)s)")
    snapshot.add_argument("--keep", type=int, default=3, metavar="N",
                          help="snapshots kept; older ones are removed (default: %(default)s)")
    add_kafka_endpoints(snapshot, settings)
    snapshot.set_defaults(func=cmd_snapshot)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def cmd_snapshot(args) -> int:
    import time

    from confluent_kafka import KafkaException

    from connectors.reference.snapshot import SnapshotError, take_kafka_snapshot
    from connectors.registry import RegistryError
    from feblam.reach import require_kafka, require_registry

    if args.keep < 1:
        print("reference snapshot: --keep must be at least 1", file=sys.stderr)
        return 2
    started = time.monotonic()

    def progress(seen) -> None:
        print(f"  {seen.records:,} records read, {seen.refused:,} refused, {time.monotonic() - started:.0f} s",
              file=sys.stderr, flush=True)

    try:
        require_kafka(args.bootstrap_servers)
        require_registry(args.registry_url)
        snapshot = take_kafka_snapshot(args.bootstrap_servers, args.registry_url, args.prefix, args.cameras_topic,
                                       args.root, args.keep, progress)
    except (SnapshotError, OSError, RegistryError, KafkaException, TimeoutError) as error:
        print(f"reference snapshot: {error}", file=sys.stderr)
        return 2
    lists = ", ".join(f"{item['name']} {item['entries']:,}" for item in snapshot.lists) or "no list"
    print(f"snapshot {snapshot.name} in {args.root}: {snapshot.entries:,} entries ({lists}), "
          f"{len(snapshot.refusals):,} refused records, in {time.monotonic() - started:.1f} s")
    return 0


def cmd_load(args) -> int:
    from confluent_kafka import KafkaException

    from connectors.reference.formats import UnknownFormat, UnreadableFile
    from connectors.reference.list_names import UnknownList
    from connectors.reference.loader import LoadRequest, load
    from connectors.reference.mapping import MappingError, load_mapping
    from connectors.reference.publisher import PublishError
    from connectors.registry import RegistryError
    from feblam.reach import require_kafka, require_registry
    from udfs.config import ConfigError

    try:
        mapping = load_mapping(args.mapping, args.list_name)
        require_kafka(args.bootstrap_servers)
        require_registry(args.registry_url)
        _check_known(args)
        outcome = load(LoadRequest(file=args.file, mapping=mapping, bootstrap_servers=args.bootstrap_servers,
                                   registry_url=args.registry_url, prefix=args.prefix, topic=args.topic,
                                   format=args.format, report_root=args.reports, history_file=args.history,
                                   dry_run=args.dry_run))
    except (UnknownFormat, UnreadableFile, MappingError, FileNotFoundError, UnknownList, ConfigError) as error:
        print(f"reference load: {error}", file=sys.stderr)
        return 2
    except (PublishError, RegistryError, KafkaException) as error:
        print(f"reference load: Kafka or registry problem; if publishing had begun the list may be partly "
              f"updated (loading the file again completes it): {error}", file=sys.stderr)
        return 2
    name = args.list_name
    if not outcome.accepted:
        print(f"{name}: REFUSED {args.file}; nothing published, the list in force "
              f"({outcome.published_before} entries) is unchanged.")
        for reason in outcome.reasons:
            print(f"  - {reason}")
        print(f"report: {outcome.report_file}")
        print(f"summary: {outcome.report_dir}/summary.json")
        print(f"quarantine: {outcome.report_dir}/quarantine/{name}.csv")
        return 1
    verb = "would publish" if args.dry_run else "published"
    print(f"{name}: accepted {args.file}: {outcome.entries} entries ({outcome.published_before} before); "
          f"{verb} {len(outcome.changes.upserts)} upserts and {len(outcome.changes.deletes)} deletes.")
    print(f"report: {outcome.report_file}")
    print(f"summary: {outcome.report_dir}/summary.json")
    return 0


def _check_known(args) -> None:
    """Refuse (UnknownList) a list that is neither configured, mapped nor published."""
    from connectors.reference.list_names import check_list_name
    from connectors.topics import topic_names
    from udfs.config import DEFAULT_LISTS, load_settings

    configured = load_settings(args.config).lists if args.config else DEFAULT_LISTS
    # The mapping has a feed for the list, or load_mapping refused it already.
    mapped = [args.list_name] if args.mapping else []
    topics = topic_names(args.bootstrap_servers)
    published = {topic[len(args.prefix):] for topic in topics if topic.startswith(args.prefix)}
    if args.topic in topics:
        published.add(args.list_name)
    check_list_name(args.list_name, [*configured, *mapped, *published], args.new_list)


def _entries_on_topic(args, name: str, topic: str) -> int:
    from connectors.reference.publisher import read_published
    from connectors.registry import RegistryClient

    prefix = topic[: -len(name)] if topic.endswith(name) else ""
    return len(read_published(args.bootstrap_servers, RegistryClient(args.registry_url), topic, prefix))


def cmd_status(args) -> int:
    from connectors.reference.history import read_history
    from feblam.reach import require_kafka, require_registry

    if args.live:
        require_kafka(args.bootstrap_servers)
        require_registry(args.registry_url)
    lists = read_history(args.history)["lists"]
    if not lists:
        print(f"no reference load recorded in {args.history}")
    else:
        _print_loads(args, lists)
    if args.live:
        _print_refusals(args)
    return 0


# The refusals shown per source topic: the latest few, the rest counted.
LATEST_REFUSALS = 5


def _print_refusals(args) -> None:
    from collections import defaultdict
    from datetime import datetime, timezone

    from connectors.reference.refusals import read_refusals
    from connectors.registry import RegistryClient

    refusals, undecodable = read_refusals(args.bootstrap_servers, RegistryClient(args.registry_url),
                                          args.refusals_topic)
    if undecodable:
        where = ", ".join(f"{partition}/{offset}" for partition, offset in undecodable[:5])
        print(f"{args.refusals_topic}: {len(undecodable)} record(s) that are not a ReferenceRefusal the registry "
              f"knows (partition/offset {where}{', ...' if len(undecodable) > 5 else ''})")
    if not refusals:
        print(f"refused by the hit job ({args.refusals_topic}): none")
        return
    print(f"refused by the hit job ({args.refusals_topic}): {len(refusals)} update(s)")
    by_topic = defaultdict(list)
    for refusal in refusals:
        by_topic[refusal["source_topic"]].append(refusal)
    for topic in sorted(by_topic):
        found = sorted(by_topic[topic], key=lambda r: r["refused_at"])
        print(f"  {topic}: {len(found)}")
        for refusal in found[-LATEST_REFUSALS:]:
            at = datetime.fromtimestamp(refusal["refused_at"] / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            # The reason and the position only: the record itself may hold a plate.
            print(f"    - {at} partition {refusal['source_partition']} offset {refusal['source_offset']}: "
                  f"{refusal['reason']} ({refusal['kind']})")
        if len(found) > LATEST_REFUSALS:
            print(f"    ... and {len(found) - LATEST_REFUSALS} earlier")


def _print_loads(args, lists: dict) -> None:
    for name in sorted(lists):
        state = lists[name]
        entries = state.get("entries")
        print(f"{name}: {entries} entries" if entries is not None else f"{name}: never loaded")
        last = state.get("last_load")
        if args.live and last:
            print(f"  on {last['topic']} now: {_entries_on_topic(args, name, last['topic'])} entries")
        if last:
            print(f"  last load:    {last['at']} {last['file']} -> {last['topic']}: "
                  f"{last['upserts']} upserts, {last['deletes']} deletes")
        else:
            print("  last load:    none")
        refusal = state.get("last_refusal")
        if refusal:
            print(f"  last refusal: {refusal['at']} {refusal['file']} (report {refusal['report']})")
            for reason in refusal["reasons"]:
                print(f"    - {reason}")
        else:
            print("  last refusal: none")
