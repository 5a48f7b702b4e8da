"""`feblam submit`: run a PyFlink job file on the standalone cluster with `flink run -py`."""

from __future__ import annotations

import argparse
import runpy
import subprocess
import sys
from pathlib import Path

from feblam.stack.submission import flink_run_command, strip_separator

HELP_FLAGS = ("-h", "--help")

HELP = """\
Submit a PyFlink job to the standalone Flink cluster of `scripts/stack up`,
through the `flink run -py` client shipped in the apache-flink wheel, with the
cluster's configuration (thread mode, the virtualenv's Python, checkpoints under
var/flink). Jobs add the connector jars resolved by scripts/setup themselves
(`jobs.jars`), so one job file runs embedded and submitted.

Arguments after `--` go to the job itself, e.g.
  feblam submit jobs/kafka_passthrough.py -- --input in --output out
  feblam submit jobs/hit_generation.py -- --help    # the job's settings and defaults
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "submit",
        help="submit a PyFlink job file to the standalone Flink cluster",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from feblam.stack.settings import StackSettings

    parser.add_argument("job", type=Path, help="the job's Python file")
    parser.add_argument("--flink-url", default=StackSettings.current().flink_rest_url,
                        help="the cluster's REST address (default: the local stack's, %(default)s)")
    parser.add_argument("--detached", action="store_true", help="return once the job is accepted instead of waiting for it to end")
    parser.add_argument("--parallelism", type=int, help="default parallelism of the job (cluster default otherwise)")
    parser.add_argument("--from-savepoint", metavar="PATH", help="resume from this savepoint or retained checkpoint")
    parser.add_argument("--allow-non-restored-state", action="store_true",
                        help="with --from-savepoint: start even if the savepoint holds state of operators the "
                             "new job no longer has (that state is dropped; see docs/operations.md)")
    parser.add_argument("job_args", nargs=argparse.REMAINDER, help="arguments for the job, after --")
    parser.set_defaults(func=cmd_submit)


def wants_job_help(job_args: list[str]) -> bool:
    """True when the job's own --help was asked for (`feblam submit JOB -- --help`)."""
    return any(arg in HELP_FLAGS for arg in strip_separator(job_args))


def job_help(job: Path) -> int:
    """Print the job's own --help, defaults included, here and now: no cluster, no JVM.

    Runs the job file's `main(["--help"])`, the contract of every FEBLAM job
    (argparse prints the help and exits 0 before anything runs), with this
    process's imports, so the help is that of the code `feblam submit` would send.
    """
    main = runpy.run_path(str(job), run_name="__feblam_job__").get("main")
    if not callable(main):
        print(f"submit: {job} has no main(argv) to ask for its help", file=sys.stderr)
        return 2
    try:
        main(["--help"])
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    print(f"submit: {job}'s main() returned instead of printing its help", file=sys.stderr)
    return 1


def cmd_submit(args) -> int:
    if not args.job.is_file():
        print(f"submit: no job file {args.job}", file=sys.stderr)
        return 2
    if wants_job_help(args.job_args):
        return job_help(args.job)
    if args.allow_non_restored_state and not args.from_savepoint:
        print("submit: --allow-non-restored-state needs --from-savepoint", file=sys.stderr)
        return 2
    from feblam.reach import require_flink

    # Flink's client retries an absent cluster for a minute, then prints its Java trace.
    require_flink(args.flink_url)
    argv, env = flink_run_command(args.job, args.job_args, args.detached, args.parallelism, args.from_savepoint,
                                  args.allow_non_restored_state, args.flink_url)
    return subprocess.run(argv, env=env).returncode
