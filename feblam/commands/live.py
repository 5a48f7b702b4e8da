"""`feblam live`: both jobs, the simulator and simulated dispatchers on the local stack."""

from __future__ import annotations

import argparse
from pathlib import Path

from feblam.live import LiveSettings, run_live


def register(subparsers) -> None:
    from feblam.live import __doc__ as doc

    defaults = LiveSettings()
    parser = subparsers.add_parser("live", help="the whole system at work on the local stack, until Ctrl-C",
                                   description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=defaults.rate, help="reads per second (default: %(default)s)")
    parser.add_argument("--cameras", type=int, default=defaults.cameras, help="default: %(default)s")
    parser.add_argument("--vehicles", type=int, default=defaults.vehicles, help="default: %(default)s")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="default: %(default)s")
    parser.add_argument("--config", type=Path, default=defaults.config,
                        help="the gateway's routing configuration (default: flink-conf/gateway.yaml)")
    parser.add_argument("--audit", type=Path, default=defaults.audit, help="the gateway's audit root (default: var/live/audit)")
    parser.add_argument("--no-dispatchers", dest="dispatchers", action="store_false",
                        help="nobody acts on the deliveries (every P1 and P2 escalates)")
    parser.add_argument("--no-console", dest="console", action="store_false", help="do not start the dispatch console")
    parser.add_argument("--console-port", type=int, default=defaults.console_port,
                        help="the dispatch console's port (default: %(default)s)")
    parser.add_argument("--for", dest="duration_s", type=float, metavar="S", help="stop after S seconds")
    parser.add_argument("--report-every", dest="report_every_s", type=float, default=defaults.report_every_s,
                        metavar="S", help="seconds between summary lines (default: %(default)s)")
    parser.add_argument("--upkeep-every", dest="upkeep_every_s", type=float, default=defaults.upkeep_every_s,
                        metavar="S", help="seconds between the history's upkeep passes: compaction and a retro-hit "
                        "pass (default: %(default)s)")
    parser.set_defaults(func=lambda args: run_live(LiveSettings(
        rate=args.rate, cameras=args.cameras, vehicles=args.vehicles, seed=args.seed, config=args.config,
        audit=args.audit, dispatchers=args.dispatchers, report_every_s=args.report_every_s,
        duration_s=args.duration_s, upkeep_every_s=args.upkeep_every_s, console=args.console,
        console_port=args.console_port)))
