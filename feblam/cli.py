"""The `feblam` command line.

Each sub-command lives in its own module under `feblam.commands` and exposes
`register(subparsers)`, which adds its parser and sets `func` to a callable
taking the parsed arguments and returning an exit status. Adding a command is
adding a module and naming it in `COMMANDS`.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sys

from connectors.kafka_security import kafka_component
from feblam import __version__
from feblam.errors import CommandError

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
    "console",
    "live",
    "history",
    "chaos",
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
    parser.add_argument("--debug", action="store_true",
                        help="on an error, show the full trace instead of one line")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"feblam.commands.{name}").register(subparsers)
    return parser


LOG_FORMAT = "feblam %(levelname)s [%(name)s] %(message)s"


def configure_logging() -> None:
    """FEBLAM's loggers (`feblam.*`, librdkafka's lines under `feblam.kafka` among them)
    print WARNING and above on stderr, one line each in FEBLAM's format. Idempotent."""
    logger = logging.getLogger("feblam")
    if not any(getattr(h, "feblam", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        handler.setLevel(logging.WARNING)
        handler.feblam = True
        logger.addHandler(handler)
        logger.propagate = False


def main(argv: list[str] | None = None) -> int:
    """Run one command; its exit status. A failure is one line on stderr, prefixed with
    the command (`feblam jobs: ...`), unless --debug asks for the trace."""
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging()
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        # A command that acts as a component (`feblam reference` as the loaders, ...)
        # says so with set_defaults(kafka_component=...). The rest are operators' tools,
        # the stack's default user, and name none: a job they submit (`feblam submit`,
        # `feblam live`) must not inherit an identity that would override its own.
        component = getattr(args, "kafka_component", None)
        with kafka_component(component) if component else contextlib.nullcontext():
            return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(f"feblam {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Whoever read the output stopped (`feblam history journey ... | head`): no error of
        # the command's. Python's own recipe: point stdout at /dev/null, so that the flush
        # at exit does not fail again, and exit as a shell's killed writer does.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as error:  # noqa: BLE001 - every failure gets its one line; --debug the rest
        if args.debug:
            raise
        print(f"feblam {args.command}: {_one_line(error)}", file=sys.stderr)
        return error.exit_code if isinstance(error, CommandError) else 1


def _one_line(error: Exception) -> str:
    if isinstance(error, CommandError):
        return str(error)
    first = (str(error).strip().splitlines() or [""])[0][:300]
    return f"{type(error).__name__}: {first} (`feblam --debug ...` shows the trace)"


if __name__ == "__main__":
    sys.exit(main())
