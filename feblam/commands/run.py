"""`feblam run`: the hit-generation job over files, on the embedded Flink mini-cluster."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HELP = """\
Run the hit-generation job on JSON Lines files (spec §10) on the embedded Flink
mini-cluster, with no Kafka, and exit when the input is exhausted.

Inputs: plate reads, reference-list updates (UPSERT/DELETE, applied in file
order) and cameras. Every reference update and camera is loaded before the
first read is matched. Outputs: the hits and the dead letters (reads that
could not be processed, each with its reason and original line), as JSON Lines.
Reference updates that are refused (e.g. a wildcard pattern the spec forbids)
are reported on stderr and do not stop the run.

Results do not depend on --parallelism: reads are considered in file order.
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
    parser.add_argument("--history", type=Path, metavar="DIR",
                        help="also write every read, hit and sighting as Parquet under DIR (reads/, hits/, sightings/, "
                        "partitioned by date and hour), for DuckDB")
    parser.add_argument("--config", type=Path, metavar="FILE", help="list configuration (YAML); the spec's defaults otherwise")
    parser.add_argument("--parallelism", type=int, default=1, metavar="N", help="parallelism of the matching and de-duplication steps (default 1)")
    parser.add_argument("--json", action="store_true", help="print the run's summary as one JSON object")
    parser.set_defaults(func=cmd_run)


def cmd_run(args) -> int:
    from udfs.config import ConfigError, MatchingSettings, load_settings

    try:
        matching = load_settings(args.config) if args.config else MatchingSettings()
    except (ConfigError, OSError) as error:
        print(f"run: --config {args.config}: {error}", file=sys.stderr)
        return 2
    from jobs.hit_generation import FileJobSettings, run_files

    try:
        settings = FileJobSettings(args.reads, args.reference, args.cameras, args.hits, args.dead_letters,
                                   matching, args.parallelism, args.history)
    except (FileNotFoundError, ValueError) as error:
        print(f"run: {error}", file=sys.stderr)
        return 2
    started = time.monotonic()
    print(f"run: matching {args.reads} against {args.reference} on the embedded Flink mini-cluster ...", file=sys.stderr)
    summary = run_files(settings)
    for refused in summary.refused_updates:
        print(f"run: reference update refused: {refused['reason']}: {refused['original'][:160]}", file=sys.stderr)
    counts = summary.counts()
    counts["seconds"] = round(time.monotonic() - started, 1)
    if args.json:
        print(json.dumps(counts, sort_keys=True))
    else:
        print(f"{counts['hits']} hits -> {args.hits}; {counts['dead_letters']} dead letters -> {args.dead_letters} "
              f"({counts['seconds']} s)")
        if args.history:
            print(f"history (Parquet, by date and hour) -> {args.history}/{{reads,hits,sightings}}")
    return 0
