"""`feblam connectors`: the installed read connectors, their sample check, and the
cost of the ingest hop."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from feblam.commands import add_kafka_endpoints

CHECK_DESCRIPTION = """\
Check connector NAME against the sample payloads in DIR: every payload goes
through the connector and the validation `feblam ingest` applies, and is
compared with its expectation (SAMPLE.expected.jsonl beside each sample file
SAMPLE.*: one {"read": {...}} or {"rejected": "REASON"} per payload). Every
mismatch is listed. See docs/adding-a-connector.md for the layout.

Exit status: 0 every payload as expected, 1 a mismatch (or no samples), 2 an
unknown or broken connector.
"""

MEASURE_DESCRIPTION = """\
Measure what the ingest stage costs: create throw-away topics, start `feblam
ingest --connector vendor-json` as its own process, produce PAYLOADS vendor
reads at RATE a second (after 50 to warm up), and time each from the vendor
producer's send to its arrival, decoded, at a consumer of the reads topic.
Then the same number of canonical reads produced straight to a topic and
consumed (no ingest), for comparison. Prints one JSON object: percentiles in
milliseconds of both, and the difference of the medians.
"""


def register(subparsers) -> None:
    from feblam.stack.settings import StackSettings

    stack = StackSettings.current()
    parser = subparsers.add_parser("connectors", help="read connectors: list them, check their samples",
                                   description="The read connectors installed (FEBLAM's and other packages' "
                                   "through the `feblam.read_connectors` entry points), their sample check, "
                                   "and the cost of the ingest hop.")
    commands = parser.add_subparsers(dest="connectors_command", metavar="SUBCOMMAND")
    listing = commands.add_parser("list", help="name, kind, providing package and description of each connector",
                                  description="List the read connectors found through the entry-point group "
                                  "`feblam.read_connectors`: name, kind (topic: Kafka message values; folder: "
                                  "files in a drop folder), the distribution providing it, and a description. "
                                  "A connector that cannot be loaded is reported on stderr, naming its entry "
                                  "point and the error, and the exit status is 1; the others are still listed.")
    listing.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    listing.set_defaults(func=cmd_list)
    check = commands.add_parser("check", help="check a connector against sample payloads and expected reads",
                                description=CHECK_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    check.add_argument("name", metavar="NAME", help="the connector")
    check.add_argument("folder", type=Path, metavar="DIR", help="the folder of samples and expectations")
    check.add_argument("--registry-url", help="decode Avro samples with this registry (default: offline, "
                       "schema id 1 is PlateRead)")
    check.set_defaults(func=cmd_check)
    measure = commands.add_parser("measure", help="latency of the ingest hop on the stack (JSON)",
                                  description=MEASURE_DESCRIPTION,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    measure.add_argument("--payloads", type=int, default=2000, help="measured reads (default: %(default)s)")
    measure.add_argument("--rate", type=float, default=500.0, help="reads a second (default: %(default)s)")
    add_kafka_endpoints(measure, stack)
    measure.set_defaults(func=cmd_measure)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def _report_broken(broken) -> None:
    for connector in broken:
        print(f"feblam connectors: {connector.message()}", file=sys.stderr)


def cmd_list(args) -> int:
    from connectors.sources.discovery import discover

    found = discover()
    rows = sorted(found.connectors.values(), key=lambda c: c.name)
    if args.json:
        print(json.dumps({
            "connectors": [{"name": c.name, "kind": c.kind, "distribution": c.distribution,
                            "description": c.description} for c in rows],
            "broken": [{"name": b.name, "target": b.target, "distribution": b.distribution, "error": b.error}
                       for b in found.broken],
        }, indent=2))
    else:
        header = ("NAME", "KIND", "PROVIDED BY", "DESCRIPTION")
        table = [header] + [(c.name, c.kind, c.distribution, c.description) for c in rows]
        widths = [max(len(r[i]) for r in table) for i in range(3)]
        for row in table:
            print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3])
    _report_broken(found.broken)
    if not found.connectors and not found.broken:
        # FEBLAM's own connectors are entry points too: an install older than them has none.
        print("feblam connectors: no read connector is registered; reinstall FEBLAM (scripts/setup, "
              "or pip install -e .) so that its entry points are", file=sys.stderr)
        return 1
    return 1 if found.broken else 0


def cmd_check(args) -> int:
    from connectors.registry import RegistryClient
    from connectors.sources.base import ConnectorContext
    from connectors.sources.discovery import UnknownConnectorError, discover
    from connectors.testkit import OfflineRegistry, check_samples

    found = discover()
    try:
        info = found.get(args.name)
    except UnknownConnectorError as error:
        print(f"feblam connectors check: {error}", file=sys.stderr)
        return 2
    registry = RegistryClient(args.registry_url) if args.registry_url else OfflineRegistry()
    report = check_samples(info.cls, args.folder, ConnectorContext(registry=registry))
    print(report.summary())
    return 0 if report.ok else 1


def cmd_measure(args) -> int:
    from feblam.bench.hop import HopSettings, measure_hop

    if args.payloads < 1 or args.rate <= 0:
        print("feblam connectors measure: --payloads and --rate must be positive", file=sys.stderr)
        return 2
    from feblam.reach import require_kafka, require_registry

    require_kafka(args.bootstrap_servers)
    require_registry(args.registry_url)
    result = measure_hop(HopSettings(args.bootstrap_servers, args.registry_url, args.payloads, args.rate))
    print(json.dumps(result, indent=2))
    return 0
