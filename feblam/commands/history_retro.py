"""`feblam history retro-hits`: match the history's past reads against alert-list entries
added or changed since the last pass, and send the retro-hits out as hits.

The logic is `history.retro` (pure); Kafka in and out is `connectors.retro_hits`. A
pass reads the updates since its consumer group's last commit, asks the history
through the gate (two accesses per purpose, logged as `feblam-retro-hits`), sends the
hits and sightings, writes them to the history, and commits: run it every minute
(`--follow`), or from cron. With `--updates FILE` it works on a file of updates
instead, and writes the hits as JSON Lines (`--out`), as `feblam run` does.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

from feblam.commands.history import default_log, duration, history_option, instant, open_history
from feblam.errors import CommandError

DESCRIPTION = """\
A vehicle reported stolen this morning passed a camera yesterday. This pass
matches the reads of the --days before each alert-list entry was added or
changed against it, with the job's own rules (udfs: EXACT, OCR, WILDCARD,
validity, scores, hit_id, de-duplication), and sends what it finds as hits
marked retro: true, with the past read's time and camera, to the hits topic,
where the gateway routes them like any other. LEZ lists are not searched.

Each search of the history passes the access gate with the list's purpose
(--purpose; JUDICIAL unless told) and is written to the access log: a --days
beyond what that purpose may see is narrowed, and the pass says so.

Kafka (the default): the updates published on the reference topics since this
command's last pass (its consumer group's committed offsets), the hits and
sightings to their topics, then the hits into the history, then the commit.
Files (--updates): reference updates as `feblam run --reference` reads them,
all taken as published at --published; hits as JSON Lines to --out.
"""

EPILOG = """\
examples:
  feblam history retro-hits --history var/history --follow
  feblam history retro-hits --history var/demo/history --updates new-entries.jsonl --out retro.jsonl
  feblam history retro-hits --history var/history --purpose lez_suspects=ADMINISTRATIVE --days 14
"""


def register(commands) -> None:
    from connectors.contracts import DEFAULT_REFERENCE_PREFIX, feed
    from feblam.commands import add_kafka_endpoints
    from feblam.stack.settings import StackSettings
    from jobs.options import add_matching_arguments

    retro = commands.add_parser("retro-hits", help="match past reads against alert entries added since, as hits",
                                description=DESCRIPTION, epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    history_option(retro)
    retro.add_argument("--access-log", type=Path, default=default_log(), metavar="FILE",
                       help="the access log (default: FEBLAM_ACCESS_LOG, else %(default)s)")
    retro.add_argument("--days", type=int, default=7, help="how far back before each update (default: %(default)s)")
    retro.add_argument("--purpose", action="append", default=[], metavar="LIST=PURPOSE", type=_purpose,
                       help="the purpose of a list's searches, ADMINISTRATIVE or JUDICIAL (repeatable; "
                       "a list not named: --default-purpose)")
    retro.add_argument("--default-purpose", type=str.upper, choices=("ADMINISTRATIVE", "JUDICIAL"),
                       default="JUDICIAL", help="the purpose of the other lists' searches (default: %(default)s)")
    retro.add_argument("--authorisation", metavar="REFERENCE",
                       help="the prosecutor's decision that lets JUDICIAL searches look past 30 days")
    retro.add_argument("--user", default="feblam-retro-hits", help="who the access log names (default: %(default)s)")
    retro.add_argument("--unit", default="FEBLAM", help="the unit of the searches of non-covert entries "
                       "(a covert entry's search is its owner's; default: %(default)s)")
    add_matching_arguments(retro)
    files = retro.add_argument_group("files instead of Kafka")
    files.add_argument("--updates", type=Path, metavar="FILE",
                       help="reference updates, JSON Lines (as `feblam run --reference` reads them)")
    files.add_argument("--published", type=instant, metavar="TIME",
                       help="when the --updates were published (default: now)")
    files.add_argument("--out", type=Path, metavar="FILE", help="with --updates: write the hits here, JSON Lines")
    kafka = retro.add_argument_group("Kafka")
    add_kafka_endpoints(kafka, StackSettings.current())
    kafka.add_argument("--reference-prefix", default=DEFAULT_REFERENCE_PREFIX,
                       help="the reference topics' prefix (default: %(default)s)")
    kafka.add_argument("--hits-topic", default=feed("hits").default_topic, help="default: %(default)s")
    kafka.add_argument("--sightings-topic", default=feed("sightings").default_topic, help="default: %(default)s")
    kafka.add_argument("--group", default="feblam-retro-hits",
                       help="the consumer group whose offsets mark the last pass (default: %(default)s)")
    kafka.add_argument("--follow", action="store_true", help="pass again every --every until interrupted")
    kafka.add_argument("--every", type=duration, default=duration("1m"), metavar="DURATION",
                       help="with --follow: the time between passes (default: 1m)")
    retro.add_argument("--json", action="store_true", help="each pass's summary as one JSON object")
    retro.set_defaults(func=cmd_retro_hits, kafka_component="jobs")   # it writes hits, as the job does


def _purpose(text: str) -> tuple[str, str]:
    name, _, purpose = text.partition("=")
    if not name or purpose.upper() not in ("ADMINISTRATIVE", "JUDICIAL"):
        raise argparse.ArgumentTypeError(f"{text!r}: give LIST=ADMINISTRATIVE or LIST=JUDICIAL")
    return name, purpose.upper()


def cmd_retro_hits(args) -> int:
    from history.retro import RetroSettings
    from jobs.options import matching_settings
    from udfs.config import ConfigError

    if args.out and not args.updates:
        raise CommandError("--out goes with --updates; on Kafka the hits go to --hits-topic")
    try:
        matching = matching_settings(args)
        settings = RetroSettings(args.days, dict(args.purpose), args.default_purpose, args.user, args.unit,
                                 args.authorisation)
    except (ConfigError, OSError, ValueError) as error:
        raise CommandError(str(error)) from None
    history = open_history(args)
    if args.updates:
        return _from_file(args, history, matching, settings)
    return _from_kafka(args, history, matching, settings)


def _pass(history, changes, matching, settings):
    from history.accesslog import AccessLogError
    from history.gate import AccessError
    from history.retro import retro_hits

    try:
        return retro_hits(history, changes, matching, settings)
    except AccessError as refused:
        raise CommandError(f"{refused} (recorded in the access log)", exit_code=3) from None
    except AccessLogError as error:
        raise CommandError(f"{error}: nothing was read") from None


def _report(args, result, extra: dict | None = None) -> None:
    summary = {**result.summary(), **(extra or {})}
    if args.json:
        print(json.dumps(summary), flush=True)
        return
    for search in result.searches:
        print(f"retro-hits: {search.purpose} search for {search.entries} entries (unit {search.unit}, "
              f"accesses {', '.join(map(str, search.access_ids))}): {search.statement}", file=sys.stderr)
    print(f"retro-hits: {summary['entries']} entries, {summary['candidate_reads']} candidate reads, "
          f"{summary['hits']} retro-hits, {summary['sightings']} sightings, {summary['already_hit']} reads "
          f"already hit" + "".join(f", {k.replace('_', ' ')} {v}" for k, v in (extra or {}).items()), flush=True)


def _from_file(args, history, matching, settings) -> int:
    from history.retro import Change, write_to_history
    from udfs.reference import InvalidEntry, parse_entry

    if not args.updates.is_file():
        raise CommandError(f"--updates: no such file {args.updates}")
    published = args.published or datetime.now(timezone.utc)
    at = int(published.timestamp() * 1000)
    changes, refused = [], 0
    with args.updates.open(encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            try:
                changes.append(Change(parse_entry(json.loads(line)), at))
            except (InvalidEntry, ValueError):
                refused += 1
    result = _pass(history, changes, matching, settings)
    if args.out:
        with args.out.open("w", encoding="utf-8") as out:
            for hit in result.hits:
                out.write(json.dumps(hit, ensure_ascii=False) + "\n")
    write_to_history(history.root, result, f"retro-{uuid.uuid4().hex[:12]}")
    _report(args, result, {"refused_updates": refused} if refused else None)
    return 0


def _from_kafka(args, history, matching, settings) -> int:
    from connectors.retro_hits import ReferenceChanges, publish
    from feblam.reach import require_kafka, require_registry
    from history.retro import searched, write_to_history

    require_kafka(args.bootstrap_servers)
    require_registry(args.registry_url)
    source = ReferenceChanges(args.bootstrap_servers, args.registry_url, args.reference_prefix,
                              lambda name: searched(name, matching), args.group)
    try:
        while True:
            began = time.monotonic()
            changes = source.read()
            result = _pass(history, changes, matching, settings)
            publish(args.bootstrap_servers, args.registry_url, result, args.hits_topic, args.sightings_topic)
            write_to_history(history.root, result, f"retro-{uuid.uuid4().hex[:12]}")
            source.commit()
            _report(args, result, {"refused_updates": source.refused} if source.refused else None)
            source.refused = 0
            if not args.follow:
                return 0
            time.sleep(max(0.0, args.every.total_seconds() - (time.monotonic() - began)))
    except KeyboardInterrupt:
        return 130
    finally:
        source.close()
