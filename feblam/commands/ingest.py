"""`feblam ingest`: vendor payloads to canonical reads, in front of the hit-generation job."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from feblam.commands import add_kafka_endpoints

DESCRIPTION = """\
Run one read connector: read vendor payloads from Kafka topics (--topic) or
from a drop folder (--folder), decode each with the connector, validate it
with the hit-generation job's rules, and write canonical PlateRead Avro to the
reads topic the job consumes, or a DeadLetter (the original bytes, the reason,
the source position) to the dead-letter topic.

Topics: offsets are committed (group --group-id) only after the records made
from them are acknowledged by Kafka: at least once. Run more processes with
the same group to share a topic's partitions.

Folder: files matching the connector's pattern (csv-folder: *.csv) are taken
oldest first; write `name.csv.part` and rename it when complete. A file is
moved to processed/ once its records are acknowledged; a crash before that
reads it again (at least once).

Progress goes to stderr every --progress-s seconds. SIGINT or SIGTERM stops
cleanly: what was produced is flushed and committed. `feblam connectors list`
shows the connectors; docs/operations.md, "Ingest", explains the stage.

Exit status: 0 stopped cleanly, 1 ingest failed (Kafka refused a record, a
vendor topic does not exist, a connector broke its contract), 2 bad options,
an unknown connector or a missing drop folder.
"""

EPILOG = """\
examples:
  feblam ingest --connector vendor-json --topic vigilant.reads
  feblam ingest --connector csv-folder --folder /srv/anpr/drop --once
"""


def _option(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def _defaults() -> dict:
    """IngestSettings' defaults by field: the options show and pass the settings' own."""
    import dataclasses

    from ingest.settings import IngestSettings

    return {f.name: f.default for f in dataclasses.fields(IngestSettings) if f.default is not dataclasses.MISSING}


def register(subparsers) -> None:
    from feblam.stack.settings import StackSettings

    stack = StackSettings.current()
    parser = subparsers.add_parser("ingest", help="run a read connector: vendor payloads to canonical reads",
                                   description=DESCRIPTION, epilog=EPILOG,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.set_defaults(kafka_component="ingest")   # its Kafka user (connectors.kafka_security)
    parser.add_argument("--connector", required=True, metavar="NAME", help="the read connector (feblam connectors list)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--topic", action="append", metavar="TOPIC", dest="topics",
                        help="a vendor topic, for a topic connector (repeat for several)")
    source.add_argument("--folder", type=Path, metavar="DIR", help="the drop folder, for a folder connector")
    add_kafka_endpoints(parser, stack)
    defaults = _defaults()
    parser.add_argument("--reads-topic", default=defaults["reads_topic"], help="canonical reads go here (default: %(default)s)")
    parser.add_argument("--dead-letter-topic", default=defaults["dead_letter_topic"],
                        help="refused payloads go here (default: %(default)s)")
    parser.add_argument("--group-id", help="consumer group of the vendor topics (default: feblam-ingest.<connector>)")
    parser.add_argument("--option", action="append", type=_option, default=[], metavar="KEY=VALUE",
                        help="a setting of the connector itself (repeatable; default: none)")
    parser.add_argument("--once", action="store_true",
                        help="stop when drained: topics read to their end, or the files present processed")
    parser.add_argument("--max-idle-s", type=float, metavar="S", help="stop after S seconds without a payload")
    parser.add_argument("--progress-s", type=float, default=defaults["progress_s"], metavar="S",
                        help="progress line on stderr every S seconds (default: %(default)s)")
    parser.add_argument("--commit-interval-s", type=float, default=defaults["commit_interval_s"], metavar="S",
                        help="flush and commit every S seconds (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print the final counters as one JSON object on stdout")
    parser.set_defaults(func=cmd_ingest)


def cmd_ingest(args) -> int:
    from connectors.registry import RegistryError
    from connectors.sources.base import ConnectorError
    from connectors.sources.discovery import UnknownConnectorError
    from ingest import run_ingest
    from ingest.counters import IngestCounters
    from ingest.settings import IngestSettings, IngestSettingsError
    from ingest.writer import DeliveryError

    try:
        settings = IngestSettings(
            connector=args.connector, bootstrap_servers=args.bootstrap_servers, registry_url=args.registry_url,
            topics=tuple(args.topics or ()), folder=args.folder, reads_topic=args.reads_topic,
            dead_letter_topic=args.dead_letter_topic, group_id=args.group_id, once=args.once,
            max_idle_s=args.max_idle_s, progress_s=args.progress_s, commit_interval_s=args.commit_interval_s,
            options=dict(args.option),
        )
    except IngestSettingsError as error:
        print(f"feblam ingest: {error}", file=sys.stderr)
        return 2
    from feblam.reach import require_kafka, require_registry

    require_kafka(args.bootstrap_servers)   # one line naming the address, not a minute of retries
    require_registry(args.registry_url)
    stop = threading.Event()
    counters = IngestCounters()

    def request_stop(signum, frame) -> None:
        print(f"feblam ingest: {signal.Signals(signum).name}, stopping after the current batch", file=sys.stderr)
        stop.set()

    previous = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        run_ingest(settings, stop, counters)
    except (UnknownConnectorError, IngestSettingsError, FileNotFoundError) as error:
        print(f"feblam ingest: {error}", file=sys.stderr)
        return 2
    except (DeliveryError, ConnectorError, RegistryError) as error:
        print(f"feblam ingest: failed, nothing after the last commit is committed: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # Kafka errors: say what, without a traceback
        print(f"feblam ingest: failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if args.json:
        print(json.dumps({"connector": settings.connector, **counters.as_dict()}))
    return 0
