"""The `feblam` command line.

Each sub-command lives in its own module under `feblam.commands` and exposes
`register(subparsers)`, which adds its parser and sets `func` to a callable
taking the parsed arguments and returning an exit status. Adding a command is
adding a module and naming it in `COMMANDS`.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from feblam import __version__

# Order is the order shown by `feblam --help`.
COMMANDS = (
    "run",
    "report",
    "stack",
    "submit",
    "jobs",
    "bench",
    "simulate",
    "reference",
    "schemas",
    "connectors",
    "ingest",
    "gateway",
    "live",
)

DESCRIPTION = """\
FEBLAM turns a national stream of ANPR plate reads into scored, prioritised and
de-duplicated hits against reference lists (stolen vehicles, judicial alerts,
low-emission zones, ...), on Apache Flink with Kafka and an Avro schema registry.
"""

EPILOG = """\
Run `feblam COMMAND --help` for the options of one command.
Quick start: scripts/demo (a small run on files), scripts/test (the whole suite).
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="feblam",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"feblam {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"feblam.commands.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
