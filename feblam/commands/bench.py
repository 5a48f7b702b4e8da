"""`feblam bench`: benchmarks. Each benchmark is a sub-command of its own
(`feblam bench matching`, `feblam bench e2e`, `feblam bench replay`, `feblam bench encoder`);
add one by adding a `_register_<name>` function and calling it from `register`.
Those that run on the local stack (e2e, gateway, console) are in
`feblam.commands.bench_stack`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

MATCHING_HELP = """\
Build a reference index of N synthetic entries (a national mix: LEZ vehicle
status by far the largest, LEZ permits and day passes, stolen vehicles, judicial
alerts, another alert list, some wildcard entries), then match a stream of
pre-generated synthetic reads on one core (one Python thread; --pin also pins
the process to one CPU).
Prints one JSON object: entries, build_s (bulk load of all lists), reads_per_s
(the match step: camera zones, index look-up, verification, LEZ decision; best
of --passes passes, reads_per_s_median beside it),
bytes_per_entry (resident memory grown by the build divided by entries,
measured (psutil) after malloc_trim), evaluate_reads_per_s (match
plus scoring, hit_id and Hit objects), the hit mix, the seed, the CPU and the
load average at the end (other processes on the machine skew the figures).
"""


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _add_network_options(parser: argparse.ArgumentParser, vehicles: int, cameras: int, seed: int) -> None:
    """--vehicles, --cameras and --seed of a benchmark that simulates its network."""
    parser.add_argument("--vehicles", type=_positive, default=vehicles, help="simulated fleet (default: %(default)s)")
    parser.add_argument("--cameras", type=_positive, default=cameras, help="simulated cameras (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=seed, help="seed of the simulation (default: %(default)s)")


def _print(result: dict, as_json: bool, width: int) -> int:
    """A benchmark's figures: one JSON object, or one aligned line per figure."""
    if as_json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>{width}}: {value}")
    return 0


def _run_matching(args: argparse.Namespace) -> int:
    from feblam.bench.matching import run  # numpy work; imported only when asked for

    result = run(args.entries, reads=args.reads, seed=args.seed, pin_cpu=args.pin,
                 passes=args.passes)
    return _print(result, args.json, 32)


def _register_matching(benches) -> None:
    parser = benches.add_parser(
        "matching", help="index build, memory and match throughput on synthetic lists",
        description=MATCHING_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=_positive, default=1_000_000, metavar="N",
                        help="number of synthetic reference entries (default: 1000000)")
    parser.add_argument("--reads", type=_positive, default=200_000, metavar="M",
                        help="number of synthetic reads to match (default: 200000)")
    parser.add_argument("--seed", type=int, default=7,
                        help="seed of the synthetic data, for repeatable runs (default: 7)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object instead of aligned lines")
    parser.add_argument("--passes", type=_positive, default=3,
                        help="timed passes over the reads; the best is reported, the "
                             "median beside it (default: 3)")
    parser.add_argument("--pin", action="store_true",
                        help="pin the process to one CPU (the match loop is one thread "
                             "either way)")
    parser.set_defaults(func=_run_matching)


REPLAY_HELP = """\
The file mode as a replay tool (`feblam run`, the embedded mini-cluster), on a
simulated network: --reads reads against about --entries reference entries.
The data set is simulated once under --data and reused. The reads are replayed
twice, each run a process of its own: the first tenth, then all of them. The
difference between the two runs is what the extra reads cost, so start-up,
list loading and the final merge (paid once per run) are left out of
reads_per_s and reported as fixed_s. Takes a few minutes at the defaults (the
first time, simulating the data set takes about a minute more).

Prints one JSON object (progress on stderr):
  reads_per_s             (N - N/10) / (wall(N) - wall(N/10))
  wall_s                  the whole replay of N reads; end_to_end_reads_per_s = N / wall_s
  fixed_s                 what a run pays whatever its number of reads
  peak_rss_mb             peak resident memory of the run's process group (Python and
                          the JVM); peak_rss_mb_first_tenth the same for N/10 reads
  hits, sightings, dead_letters of the full run, the settings and the machine.
"""


def _run_replay(args: argparse.Namespace) -> int:
    from feblam.bench.e2e import Log
    from feblam.bench.replay import ReplaySettings, run_replay

    try:
        settings = ReplaySettings(reads=args.reads, entries=args.entries, parallelism=args.parallelism,
                                  vehicles=args.vehicles, cameras=args.cameras, seed=args.seed, data=args.data)
    except ValueError as error:
        print(f"bench replay: {error}", file=sys.stderr)
        return 2
    try:
        result = run_replay(settings, Log(quiet=args.quiet, name="bench replay"))
    except RuntimeError as error:
        print(f"bench replay: {error}", file=sys.stderr)
        return 1
    return _print(result, args.json, 24)


def _register_replay(benches) -> None:
    from pathlib import Path

    from feblam.bench.replay import ReplaySettings

    defaults = ReplaySettings()
    parser = benches.add_parser(
        "replay", help="the file mode's replay rate and memory on a simulated day",
        description=REPLAY_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reads", type=_positive, default=defaults.reads, metavar="N",
                        help="reads to replay (default: %(default)s)")
    parser.add_argument("--entries", type=_positive, default=defaults.entries, metavar="E",
                        help="reference entries in all lists, about (default: %(default)s)")
    parser.add_argument("--parallelism", type=_positive, default=defaults.parallelism,
                        help="the job's parallelism; the embedded mini-cluster runs all of it under "
                             "one Python interpreter (default: %(default)s)")
    _add_network_options(parser, defaults.vehicles, defaults.cameras, defaults.seed)
    parser.add_argument("--data", type=Path, default=defaults.data,
                        help="where data sets are simulated and kept (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of aligned lines")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.set_defaults(func=_run_replay)


ENCODER_HELP = """\
Encode N Hit-like records (an OCR hit with a three-factor explanation) with
FEBLAM's Avro encoder (connectors.avro.AvroEncoder: fastavro's schemaless
writer behind the 5-byte header) and with confluent-kafka's AvroSerializer set
up as a FEBLAM producer would (schema looked up, not registered; the library's
in-memory registry, so no network), after checking they give the same bytes.
Each pass runs both in turn. Prints microseconds per record for each: the best
pass, the median, the median over CPU time, and library_over_feblam (the ratio
of the CPU medians). What was decided from it: the comment in connectors/avro.py.
"""


def _run_encoder(args: argparse.Namespace) -> int:
    from feblam.bench.encoder import run

    result = run(args.records, passes=args.passes)
    return _print(result, args.json, 24)


def _register_encoder(benches) -> None:
    parser = benches.add_parser(
        "encoder", help="FEBLAM's Avro encoder against confluent-kafka's AvroSerializer, in µs per record",
        description=ENCODER_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=_positive, default=100_000, metavar="N",
                        help="records encoded per pass by each encoder (default: 100000)")
    parser.add_argument("--passes", type=_positive, default=5, help="timed passes (default: 5)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of aligned lines")
    parser.set_defaults(func=_run_encoder)


def _run_clones(args: argparse.Namespace) -> int:
    from feblam.bench.clones import run

    try:
        result = run(args.reads, plates=args.plates, cameras=args.cameras, passes=args.passes, seed=args.seed)
    except ValueError as error:
        print(f"bench clones: {error}", file=sys.stderr)
        return 2
    return _print(result, args.json, 28)


def _register_clones(benches) -> None:
    from feblam.bench.clones import __doc__ as doc

    parser = benches.add_parser("clones", help="the clone-suspicion rule: bytes held and µs per read",
                                description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reads", type=int, default=300_000, help="reads fed (default: %(default)s)")
    parser.add_argument("--plates", type=int, default=100_000, help="distinct plates (default: %(default)s)")
    parser.add_argument("--cameras", type=int, default=3_000, help="cameras (default: %(default)s)")
    parser.add_argument("--passes", type=int, default=3, help="timed passes (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=7, help="default: %(default)s")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of aligned lines")
    parser.set_defaults(func=_run_clones)


def _run_history(args: argparse.Namespace) -> int:
    from feblam.bench.history import run

    try:
        result = run(args.reads, days=args.days, cameras=args.cameras, plates=args.plates, windows=args.windows,
                     convoys=args.convoys, entries=args.entries, seed=args.seed, workdir=args.workdir, keep=args.keep,
                     bloom_filters=args.bloom_filters,
                     progress=lambda message: print(f"bench history: {message}", file=sys.stderr))
    except ValueError as error:
        print(f"bench history: {error}", file=sys.stderr)
        return 2
    return _print(result, args.json, 20)


def _register_history(benches) -> None:
    from feblam.bench.history import __doc__ as doc

    parser = benches.add_parser("history", help="the analysts' questions over a large synthetic history",
                                description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reads", type=int, default=10_000_000, help="reads generated (default: %(default)s)")
    parser.add_argument("--days", type=int, default=2, help="days they cover, up to today (default: %(default)s)")
    parser.add_argument("--cameras", type=int, default=3_000, help="cameras (default: %(default)s)")
    parser.add_argument("--plates", type=int, default=50, help="journeys asked (default: %(default)s)")
    parser.add_argument("--windows", type=int, default=20, help="camera windows asked (default: %(default)s)")
    parser.add_argument("--convoys", type=int, default=5, help="convoys asked (default: %(default)s)")
    parser.add_argument("--entries", type=int, default=10_000, help="new entries of the retro-hit pass (default: %(default)s)")
    parser.add_argument("--bloom-filters", action="store_true",
                        help="compact with Bloom filters on the text columns, to compare (docs/benchmarks.md)")
    parser.add_argument("--seed", type=int, default=7, help="default: %(default)s")
    parser.add_argument("--workdir", type=Path, help="where the history is written (default: var/bench-history; "
                        "100,000,000 reads take about 3 GB)")
    parser.add_argument("--keep", action="store_true", help="keep the generated history afterwards")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of aligned lines")
    parser.set_defaults(func=_run_history)


CLONE_TRUTH_HELP = """\
The clone-suspicion rule (spec §11, udfs.clones) on the simulator's network
against its ground truth: the simulator plants plates that two vehicles carry
(`cloned_plates` in the run's summary), and every other vehicle's trips are
physically possible. Every valid read goes through the rule in arrival order,
as the file job takes them, and the first hit of each dedup key counts.

Prints one JSON object:
  planted_clone_plates, planted_found, recall   planted plates with a hit
  false_suspicions, false_per_100k_valid_reads  hits on other plates
  false_by_cause    misread (an OCR misread on either side), same_vehicle,
                    two_vehicles or unknown
and the simulation's settings. Pure Python, no service; some 30 s at the defaults.
"""


def _run_clone_truth(args: argparse.Namespace) -> int:
    import time

    from feblam.bench.clone_truth import evaluate
    from feblam.simulate.simulation import SimulationSettings
    from udfs.config import ConfigError, MatchingSettings, load_settings

    try:
        rule = (load_settings(args.config) if args.config else MatchingSettings()).clones
        settings = SimulationSettings(reads=args.reads, vehicles=args.vehicles, cameras=args.cameras, seed=args.seed,
                                      invalid_rate=args.invalid_rate)
    except (ConfigError, ValueError) as error:
        print(f"bench clone-truth: {error}", file=sys.stderr)
        return 2
    print(f"bench clone-truth: simulating {args.reads:,} reads of {args.vehicles:,} vehicles at "
          f"{args.cameras:,} cameras ...", file=sys.stderr)
    started = time.monotonic()
    result = evaluate(settings, rule)
    result.update({"vehicles": args.vehicles, "cameras": args.cameras, "seed": args.seed,
                   "invalid_rate": args.invalid_rate, "config": str(args.config) if args.config else None,
                   "seconds": round(time.monotonic() - started, 1)})
    return _print(result, args.json, 28)


def _register_clone_truth(benches) -> None:
    from pathlib import Path

    parser = benches.add_parser("clone-truth", help="the clone-suspicion rule's recall and false suspicions "
                                "on the simulated network", description=CLONE_TRUTH_HELP,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reads", type=_positive, default=200_000, help="simulated reads (default: %(default)s)")
    _add_network_options(parser, vehicles=50_000, cameras=1_000, seed=7)
    parser.add_argument("--invalid-rate", type=float, default=0.005,
                        help="share of reads broken on purpose, as `feblam simulate` (default: %(default)s)")
    parser.add_argument("--config", type=Path, metavar="YAML",
                        help="list configuration whose `clones:` thresholds to use (default: the spec's)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of aligned lines")
    parser.set_defaults(func=_run_clone_truth)


def register(subparsers) -> None:
    """Add `bench` and its benchmarks to the `feblam` command line."""
    parser = subparsers.add_parser(
        "bench", help="run a benchmark and print its figures",
        description="Benchmarks of FEBLAM. Run `feblam bench BENCHMARK --help` for one.")
    benches = parser.add_subparsers(dest="benchmark", metavar="BENCHMARK")
    from feblam.commands.bench_stack import register_stack_benches

    _register_matching(benches)
    register_stack_benches(benches)   # e2e, gateway, console: the benchmarks on the running stack
    _register_replay(benches)
    _register_encoder(benches)
    _register_clones(benches)
    _register_clone_truth(benches)
    _register_history(benches)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def main(argv: list[str] | None = None) -> int:
    """Run `bench` alone (e.g. `python -m feblam.commands.bench matching --json`)."""
    parser = argparse.ArgumentParser(prog="feblam")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["bench", *(sys.argv[1:] if argv is None else argv)])
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
