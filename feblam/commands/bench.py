"""`feblam bench ...`: benchmarks that print one JSON object, for anyone to rerun."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="run a benchmark and print its figures as JSON",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_subparsers(dest="benchmark", metavar="BENCHMARK", required=True)
