"""`feblam run`: the hit-generation job over files, on the embedded Flink mini-cluster."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HELP = """\
Run the hit-generation job on JSON Lines files (docs/hits.md §10) on the embedded Flink
mini-cluster, with no Kafka, and exit when the input is exhausted.

Inputs: plate reads, reference-list updates (UPSERT/DELETE, applied in file
order) and cameras. Every reference update and camera is loaded before the
first read is matched. Outputs, as JSON Lines in the order of the input lines
that made them: the hits (each with `sightings`, the reads folded into it), the
dead letters (reads that could not be processed, each with its reason and
original line), and optionally the sightings (every read folded into an
earlier hit) and the refused reference and camera updates (e.g. a wildcard
pattern the spec forbids; they do not stop the run, and are counted on stderr).

This is the Kafka job's chain on files: results do not depend on --parallelism,
reads are considered in file order, and outputs stream to disk as they are made.

Exit status: 0 when the run finished, 1 when every read was a dead letter (the
wrong file given as --reads, say), 2 for a bad argument, a missing input or a
bad configuration.
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run the hit-generation job over files (embedded mode)",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--reads", type=Path, required=True, metavar="FILE", help="plate reads, JSON Lines")
    parser.add_argument("--reference", type=Path, required=True, metavar="FILE", help="reference-list updates, JSON Lines")
    parser.add_argument("--cameras", type=Path, required=True, metavar="FILE", help="the camera registry, JSON Lines")
    parser.add_argument("--hits", type=Path, required=True, metavar="FILE", help="where to write the hits (JSON Lines)")
    parser.add_argument("--dead-letters", type=Path, required=True, metavar="FILE", help="where to write the dead letters (JSON Lines)")
    parser.add_argument("--sightings", type=Path, metavar="FILE",
                        help="also write every sighting (a read folded into an earlier hit) as JSON Lines")
    parser.add_argument("--refusals", type=Path, metavar="FILE",
                        help="also write the refused reference and camera updates as JSON Lines")
    parser.add_argument("--history", type=Path, metavar="DIR",
                        help="also write every read, hit and sighting as Parquet under DIR (reads/, hits/, sightings/, "
                        "partitioned by date and hour), for DuckDB")
    from jobs.options import add_history_now_argument

    add_history_now_argument(parser)
    parser.add_argument("--parallelism", type=int, default=1, metavar="N", help="parallelism of the matching and de-duplication steps (default 1)")
    parser.add_argument("--json", action="store_true", help="print the run's summary as one JSON object")
    from jobs.options import add_matching_arguments

    add_matching_arguments(parser)   # the Kafka job's own options, read the same way
    parser.set_defaults(func=cmd_run)


def cmd_run(args) -> int:
    from jobs.options import matching_settings
    from udfs.config import ConfigError

    try:
        matching = matching_settings(args)
    except (ConfigError, OSError) as error:
        where = f"--config {args.config}" if args.config else "the matching options"
        print(f"run: {where}: {error}", file=sys.stderr)
        return 2
    from jobs.hit_generation import FileJobSettings, run_files

    try:
        settings = FileJobSettings(args.reads, args.reference, args.cameras, args.hits, args.dead_letters,
                                   matching, args.parallelism, args.history, args.sightings, args.refusals,
                                   args.history_now)
    except (FileNotFoundError, ValueError) as error:
        print(f"run: {error}", file=sys.stderr)
        return 2
    started = time.monotonic()
    print(f"run: matching {args.reads} against {args.reference} on the embedded Flink mini-cluster ...", file=sys.stderr)
    counts = run_files(settings).as_dict()
    for reason, count in sorted(counts["refusals_by_reason"].items()):
        where = f" (see {args.refusals})" if args.refusals else " (--refusals FILE lists them)"
        print(f"run: {count} reference or camera update(s) refused: {reason}{where}", file=sys.stderr)
    counts["seconds"] = round(time.monotonic() - started, 1)
    if args.json:
        print(json.dumps(counts, sort_keys=True))
    else:
        print(f"{counts['hits']} hits -> {args.hits}; {counts['sightings']} later sightings folded into them; "
              f"{counts['dead_letters']} dead letters -> {args.dead_letters} ({counts['seconds']} s)")
        if args.history:
            print(f"history (Parquet, by date and hour) -> {args.history}/{{reads,hits,sightings}}")
    reads = _lines(args.reads)
    if reads and counts["dead_letters"] >= reads:
        reason = max(counts["dead_letters_by_reason"].items(), key=lambda item: item[1])[0]
        print(f"run: every one of the {reads} reads is a dead letter (most: {reason}); is {args.reads} a file of "
              f"plate reads? (see {args.dead_letters})", file=sys.stderr)
        return 1
    return 0


def _lines(path: Path) -> int:
    """The non-blank lines of `path`: the records a JSON Lines input holds."""
    with path.open("rb") as lines:
        return sum(1 for line in lines if line.strip())
