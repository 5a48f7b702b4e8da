"""`feblam report`: summarise the output files of `feblam run` for a person."""

from __future__ import annotations

from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "report", help="summarise the hits and dead letters of a run over files",
        description="Print hits by list, kind and priority, the top hits with the explanation of "
        "their score, and dead letters by reason, from the JSON Lines files `feblam run` wrote "
        "(queried with DuckDB).",
    )
    parser.add_argument("--hits", type=Path, required=True, metavar="FILE", help="the hits file of `feblam run --hits`")
    parser.add_argument("--dead-letters", type=Path, required=True, metavar="FILE",
                        help="the dead letters file of `feblam run --dead-letters`")
    parser.add_argument("--history", type=Path, metavar="DIR", help="the run's Parquet history, if it wrote one")
    parser.set_defaults(func=cmd_report)


def cmd_report(args) -> int:
    from feblam.errors import CommandError
    from feblam.report import run_report

    # An empty file is a run without hits; a missing one is a wrong path, not "no hits".
    for option, path in (("--hits", args.hits), ("--dead-letters", args.dead_letters)):
        if not path.is_file():
            raise CommandError(f"{option}: no such file {path}")
    if args.history and not args.history.is_dir():
        raise CommandError(f"--history: no such directory {args.history}")
    print(run_report(args.hits, args.dead_letters, args.history))
    return 0
