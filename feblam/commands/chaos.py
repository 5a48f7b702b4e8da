"""`feblam chaos`: faults injected into the local stack while the hit job runs."""

from __future__ import annotations

import argparse
import json
import signal
import sys

from feblam.chaos.plan import ChaosSettings, FaultKind
from feblam.errors import CommandError

# Figures that must be 0 for a run to pass.
FAILURES = ("missing_hits", "unexpected_hits", "duplicate_history_rows", "missing_history_rows",
            "missing_deliveries", "duplicate_audit_rows", "missing_audit_rows")

HELP = """\
Feed a known read set through the hit-generation job on the local stack while
killing and restarting its parts, then count what was lost or doubled.

The run has its own topics and a stolen-vehicle list that one read in
--hit-every matches; every read has a plate of its own, so the hits it must
make are known. Reads are sent at --rate per second; meanwhile --faults faults
fall at random times (from --seed), at least --min-gap seconds apart, each kind
of --kinds once before any comes twice:
  taskmanager-kill   kill -9 of one taskmanager's JVM (the stack starts a new one)
  jobmanager-kill    kill -9 of the jobmanager's JVM (a new one resumes the job
                     from ZooKeeper and its latest checkpoint)
  broker-restart     the Kafka broker stopped and started again
  registry-restart   kill -9 of the schema registry, then started again
The Hit Gateway runs too (unless --no-gateway), on a taskmanager of its own,
routing every hit of the run to one destination of the run's. Then it waits
until every hit has arrived and been delivered and the Parquet histories hold
every read, hit and delivery, cancels the jobs and deletes the run's topics and
files (unless --keep).

Figures (one JSON object with --json): missing_hits (target 0), unexpected_hits,
repeated_hit_messages (hits are at least once: allowed), duplicate_history_rows
and missing_history_rows (the history is exactly once: targets 0), restarts,
longest_hit_gap_s (the longest time without a new hit), each fault with how
long its service took to answer again; for the gateway missing_deliveries
(target 0), repeated_delivery_messages (at least once: allowed),
duplicate_audit_rows and missing_audit_rows (exactly once: targets 0). Exit
status 1 when a hit, a delivery or a history row is missing or doubled.

It kills processes of the local stack (scripts/stack up), so it runs there only,
and nothing else should run on the stack meanwhile. Progress goes to stderr.
"""


def _kinds(text: str) -> tuple[FaultKind, ...]:
    try:
        return tuple(FaultKind(k.strip()) for k in text.split(",") if k.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"kinds are a comma-separated list of {', '.join(k.value for k in FaultKind)}; got {text!r}") from None


def register(subparsers) -> None:
    defaults = ChaosSettings()
    parser = subparsers.add_parser("chaos", help="kill and restart parts of the local stack under load; count losses",
                                   description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reads", type=int, default=defaults.reads, help="reads to send (default: %(default)s)")
    parser.add_argument("--faults", type=int, default=defaults.faults, help="faults to inject (default: %(default)s)")
    parser.add_argument("--rate", type=float, default=defaults.rate, help="reads per second (default: %(default)s)")
    parser.add_argument("--kinds", type=_kinds, default=defaults.kinds, metavar="K1,K2",
                        help="kinds of fault to draw from (default: all four)")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="seed of the fault plan (default: %(default)s)")
    parser.add_argument("--hit-every", type=int, default=defaults.hit_every,
                        help="one read in this many makes a hit (default: %(default)s)")
    parser.add_argument("--min-gap", type=float, default=defaults.min_gap_s, metavar="SECONDS",
                        help="least time between two faults (default: %(default)s)")
    parser.add_argument("--settle", type=float, default=defaults.settle_s, metavar="SECONDS",
                        help="how long, after the last read, every hit and history row may take (default: %(default)s)")
    parser.add_argument("--no-gateway", dest="gateway", action="store_false",
                        help="the hit job alone, on every taskmanager")
    parser.add_argument("--keep", action="store_true",
                        help="keep the run's topics and its histories (under var/chaos/RUN) for a look afterwards")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=cmd_chaos)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def cmd_chaos(args) -> int:
    from feblam.chaos.run import run_chaos
    from feblam.stack.services import all_services
    from feblam.stack.settings import StackSettings

    try:
        settings = ChaosSettings(reads=args.reads, faults=args.faults, rate=args.rate, kinds=args.kinds,
                                 seed=args.seed, hit_every=args.hit_every, min_gap_s=args.min_gap,
                                 settle_s=args.settle, gateway=args.gateway)
    except ValueError as error:
        raise CommandError(f"chaos: {error}") from None
    stack = StackSettings.load()
    down = ["the whole stack"] if stack is None else [s.name for s in all_services(stack) if not s.running()]
    if down:
        raise CommandError(f"chaos: the local stack is not up ({', '.join(down)}): start it with `scripts/stack up`. "
                           "Chaos kills and restarts the stack's processes, so it runs on the local stack only.")

    def log(message: str) -> None:
        print(f"chaos: {message}", file=sys.stderr, flush=True)

    # A run stopped with SIGTERM cleans up as after Ctrl-C: its jobs cancelled, its topics deleted.
    signal.signal(signal.SIGTERM, _interrupt)
    result = run_chaos(settings, stack, stack.var_dir / "chaos", log, keep=args.keep)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>24}: {value}")
    failed = [name for name in FAILURES if result.get(name)]
    return 1 if failed else 0
