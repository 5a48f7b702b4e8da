"""`feblam bench`: benchmarks. Each benchmark is a sub-command of its own
(`feblam bench matching`, later `feblam bench e2e`); add one by adding a
`_register_<name>` function and calling it from `register`."""

from __future__ import annotations

import argparse
import json
import sys

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
measured with /proc/self/statm after malloc_trim), evaluate_reads_per_s (match
plus scoring, hit_id and Hit objects), the hit mix, the seed, the CPU and the
load average at the end (other processes on the machine skew the figures).
"""


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _run_matching(args: argparse.Namespace) -> int:
    from udfs.bench_matching import run  # numpy work; imported only when asked for

    result = run(args.entries, reads=args.reads, seed=args.seed, pin_cpu=args.pin,
                 passes=args.passes)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>32}: {value}")
    return 0


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


def register(subparsers) -> None:
    """Add `bench` and its benchmarks to the `feblam` command line."""
    parser = subparsers.add_parser(
        "bench", help="run a benchmark and print its figures",
        description="Benchmarks of FEBLAM. Run `feblam bench BENCHMARK --help` for one.")
    benches = parser.add_subparsers(dest="benchmark", metavar="BENCHMARK")
    _register_matching(benches)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def main(argv: list[str] | None = None) -> int:
    """Run `bench` alone (e.g. `python -m feblam.commands.bench matching --json`)."""
    parser = argparse.ArgumentParser(prog="feblam")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["bench", *(sys.argv[1:] if argv is None else argv)])
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
