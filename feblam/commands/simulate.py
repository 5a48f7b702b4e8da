"""`feblam simulate`: a synthetic Belgian ANPR network, written as the files of the embedded mode or to Kafka."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from feblam.commands import add_kafka_endpoints

HELP = """\
Generate a realistic synthetic ANPR network of Belgium, seeded and reproducible
(the same options give the same bytes), as the JSON Lines files of the embedded
mode (spec §10), ready for `feblam run`:

  cameras.jsonl    the camera registry: camera_id, lat, lon, lez_zones,
                   police_zone, province. Cameras in towns across the eleven
                   provinces (by weight) and on the motorways (a fifth); in
                   Brussels, Antwerp and Ghent some enforce the BXL, ANT or GNT
                   low-emission zone. Mobile ANPR units read plates too but are
                   not in the registry (alert lists apply to their reads, LEZ
                   lists do not).
  reference.jsonl  reference-list updates (UPSERT/DELETE, applied in file order):
                   first a snapshot of every list - stolen_vehicles,
                   judicial_alerts (some partial plates with ? and *),
                   insurance_expired (a list no configuration names),
                   lez_permits (exemptions and day passes per zone) and
                   lez_vehicle_status (by far the largest, --lez-entries) -
                   then the updates that arrive during the run, in arrival
                   order: a car reported stolen, one recovered, an entry filed
                   in error and deleted, an alert escalated, day passes,
                   background churn. The job loads this whole file before the
                   first read, so there an update's timing shows through the
                   validity windows (valid_from / valid_until) it sets.
  reads.jsonl      plate reads in arrival order: read_id, camera_id, event_time,
                   plate_text (as the camera prints it: 1-ABC-123, 1ABC123 or
                   1 ABC 123 by vendor feed), plate_country (B, NL, F, D, L or
                   null), ocr_confidence, make, colour, vehicle_type, image_ref,
                   source. One feed sends event_time as epoch milliseconds.

Traffic follows a daily rhythm (Europe/Brussels rush hours, quiet nights);
each trip is one vehicle passing one to ten cameras minutes apart. Plates are
Belgian (1-ABC-123 and the older ABC-123 / 123-ABC, special series M-, O-, Q-,
T-X..), Dutch, French, German and Luxembourgish in their own formats. Cameras
misread as real ones do (look-alike characters, a dropped or extra character,
low confidence at night, garbage); a few plates are cloned (one plate at two
distant cameras minutes apart). A share of reads (--invalid-rate) is broken in
every way of spec §3 (a cut line, a missing field, a bad timestamp, an empty or
too long plate, a bad confidence), so the dead letters have work.

Alert lists scale with --lez-entries: stolen_vehicles and lez_permits a tenth
of it, insurance_expired a twentieth, judicial_alerts a fortieth (within fixed
bounds). Memory stays bounded: lists and reads are streamed, only the fleet
(--vehicles) and the cameras are held.

Prints one JSON object (counts per file) on stdout; progress goes to stderr.
"""


def _positive(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text}") from None
    if not 0.0 <= value <= 0.5:
        raise argparse.ArgumentTypeError(f"must be in [0, 0.5], got {text}")
    return value


def _hours(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def register(subparsers) -> None:
    from connectors.contracts import DEFAULT_REFERENCE_PREFIX, feed
    from feblam.simulate.simulation import SimulationSettings
    from feblam.stack.settings import StackSettings

    d = SimulationSettings()
    parser = subparsers.add_parser(
        "simulate", help="generate a synthetic ANPR network, as files for `feblam run` or onto Kafka",
        description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="directory to write cameras.jsonl, reference.jsonl and reads.jsonl "
                             "to (created if missing; existing files are replaced); or --kafka")
    kafka = parser.add_argument_group(
        "Kafka", "with --kafka the run goes to Kafka as the Kafka-mode job reads it (Avro, Confluent "
                 "wire format, subjects registered BACKWARD): cameras keyed by camera_id, each list "
                 "to the compacted topic <prefix><list> keyed by entry_id (a DELETE is a tombstone), "
                 "then the reads, at --rate per second (as fast as Kafka takes them when unset)")
    kafka.add_argument("--kafka", action="store_true", help="write to Kafka instead of files")
    add_kafka_endpoints(kafka, StackSettings.current())
    kafka.add_argument("--rate", type=float, metavar="R", help="reads per second (default: as fast as possible)")
    kafka.add_argument("--reads-topic", default=feed("reads").default_topic, help="default: %(default)s")
    kafka.add_argument("--reference-prefix", default=DEFAULT_REFERENCE_PREFIX,
                       help="reference topics are <prefix><list> (default: %(default)s)")
    kafka.add_argument("--cameras-topic", default=feed("cameras").default_topic, help="default: %(default)s")
    kafka.add_argument("--read-partitions", type=_positive, default=1, metavar="N",
                       help="partitions of the reads topic when it is created (default 1)")
    parser.add_argument("--reads", type=_positive, default=d.reads, metavar="N",
                        help=f"number of plate reads, invalid ones included (default {d.reads})")
    parser.add_argument("--cameras", type=_positive, default=d.cameras, metavar="N",
                        help=f"number of registered cameras, at least 12 (default {d.cameras}); "
                             "one mobile unit per hundred is added outside the registry")
    parser.add_argument("--vehicles", type=_positive, default=d.vehicles, metavar="N",
                        help=f"size of the fleet that drives during the run, clones included "
                             f"(default {d.vehicles}; at least 50)")
    parser.add_argument("--lez-entries", type=_positive, default=d.lez_entries, metavar="N",
                        help=f"size of the lez_vehicle_status list, the largest (default "
                             f"{d.lez_entries}; up to 10000000); the other lists scale with it")
    parser.add_argument("--start", default=d.start, metavar="ISO",
                        help=f"start of the simulated period, ISO-8601 with an offset "
                             f"(default {d.start})")
    parser.add_argument("--hours", type=_hours, default=d.hours, metavar="H",
                        help=f"length of the simulated period in hours (default {d.hours:g})")
    parser.add_argument("--seed", type=int, default=d.seed, metavar="S",
                        help=f"seed of every random choice; same seed, same files (default {d.seed})")
    parser.add_argument("--invalid-rate", type=_rate, default=d.invalid_rate, metavar="R",
                        help=f"share of reads broken on purpose for the dead letters, 0..0.5 "
                             f"(default {d.invalid_rate})")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr (every 3 s otherwise)")
    parser.set_defaults(func=cmd_simulate)


def cmd_simulate(args) -> int:
    from feblam.simulate.progress import Progress
    from feblam.simulate.simulation import SimulationSettings, run
    from feblam.simulate.writer import FileSink

    try:
        settings = SimulationSettings(
            reads=args.reads, cameras=args.cameras, vehicles=args.vehicles,
            lez_entries=args.lez_entries, start=args.start, hours=args.hours, seed=args.seed,
            invalid_rate=args.invalid_rate)
    except ValueError as error:
        print(f"simulate: {error}", file=sys.stderr)
        return 2
    if (args.out is None) == (not args.kafka):
        print("simulate: give either --out DIR or --kafka", file=sys.stderr)
        return 2
    if args.rate is not None and args.rate <= 0:
        print(f"simulate: --rate must be positive, got {args.rate}", file=sys.stderr)
        return 2
    started = time.monotonic()
    progress = Progress(stream=None if args.quiet else sys.stderr)
    if args.kafka:
        from feblam.reach import require_kafka, require_registry
        from feblam.simulate.kafka_writer import KafkaSink

        require_kafka(args.bootstrap_servers)
        require_registry(args.registry_url)
        try:
            sink = KafkaSink(args.bootstrap_servers, args.registry_url, reads_topic=args.reads_topic,
                             reference_prefix=args.reference_prefix, cameras_topic=args.cameras_topic,
                             rate=args.rate, read_partitions=args.read_partitions)
        except Exception as error:  # broker or registry unreachable, a topic refused
            print(f"simulate: Kafka at {args.bootstrap_servers}, registry at {args.registry_url}: {error}",
                  file=sys.stderr)
            return 2
    else:
        try:
            sink = FileSink(args.out)
        except OSError as error:
            print(f"simulate: --out {args.out}: {error}", file=sys.stderr)
            return 2
    try:
        summary = run(settings, sink, progress)
    except ValueError as error:
        print(f"simulate: {error}", file=sys.stderr)
        return 2
    if args.kafka:
        summary["kafka"] = {**sink.topics(), "bootstrap_servers": args.bootstrap_servers,
                            "reads_sent_as_raw_json": sink.counts["reads_raw"],
                            "tombstones": sink.counts["tombstones"],
                            "reads_per_s": round(sink.pacer.achieved(), 1)}
    else:
        summary["out"] = str(args.out)
    summary["seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(summary, ensure_ascii=False))
    return 0
