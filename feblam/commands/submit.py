"""`feblam submit`: run a PyFlink job file on the standalone cluster with `flink run -py`."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

HELP = """\
Submit a PyFlink job to the standalone Flink cluster of `scripts/stack up`,
through the `flink run -py` client shipped in the apache-flink wheel, with the
cluster's configuration (thread mode, the virtualenv's Python, checkpoints under
var/flink). Jobs add the connector jars resolved by scripts/setup themselves
(`feblam.flinkconf.connector_jars()`), so one job file runs embedded and submitted.

Arguments after `--` go to the job itself, e.g.
  feblam submit jobs/kafka_passthrough.py -- --input in --output out
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "submit",
        help="submit a PyFlink job file to the standalone Flink cluster",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("job", type=Path, help="the job's Python file")
    parser.add_argument("--detached", action="store_true", help="return once the job is accepted instead of waiting for it to end")
    parser.add_argument("--parallelism", type=int, help="default parallelism of the job (cluster default otherwise)")
    parser.add_argument("--from-savepoint", metavar="PATH", help="resume from this savepoint or retained checkpoint")
    parser.add_argument("--allow-non-restored-state", action="store_true",
                        help="with --from-savepoint: start even if the savepoint holds state of operators the "
                             "new job no longer has (that state is dropped; see docs/operations.md)")
    parser.add_argument("job_args", nargs=argparse.REMAINDER, help="arguments for the job, after --")
    parser.set_defaults(func=cmd_submit)


def flink_run_command(job: Path, job_args: list[str], detached: bool = False, parallelism: int | None = None,
                      from_savepoint: str | None = None, allow_non_restored_state: bool = False,
                      ) -> tuple[list[str], dict[str, str]]:
    """The `flink run -py` command line and environment for `job` on the running stack."""
    from feblam.flinkconf import flink_home, python_path_env
    from feblam.stack.java import java_home
    from feblam.stack.services import Flink
    from feblam.stack.settings import StackSettings

    settings = StackSettings.current()
    cluster = Flink(settings)
    cluster.write_config()
    argv = ["bash", str(flink_home() / "bin" / "flink"), "run", "-m", f"127.0.0.1:{settings.flink_rest_port}"]
    if detached:
        argv.append("--detached")
    if parallelism:
        argv += ["--parallelism", str(parallelism)]
    if from_savepoint:
        argv += ["--fromSavepoint", from_savepoint]
        if allow_non_restored_state:
            argv.append("--allowNonRestoredState")
    # After `--` Flink's own parser stops: a job option that shares a name with one of
    # `flink run`'s (--parallelism, --help) still reaches the job.
    argv += ["-py", str(job.resolve()), "-pyexec", settings.python_executable, "--", *_strip_separator(job_args)]
    env = {
        **os.environ,
        "FLINK_CONF_DIR": str(cluster.conf_dir),
        "FLINK_LIB_DIR": str(cluster.lib_dir),
        "FLINK_LOG_DIR": str(settings.log_dir),
        "JAVA_HOME": str(java_home(17, "FEBLAM_FLINK_JAVA_HOME")),
        "PATH": python_path_env(settings.python_executable),
    }
    return argv, env


def _strip_separator(job_args: list[str]) -> list[str]:
    return job_args[1:] if job_args[:1] == ["--"] else job_args


def cmd_submit(args) -> int:
    if not args.job.is_file():
        print(f"submit: no job file {args.job}", file=sys.stderr)
        return 2
    if args.allow_non_restored_state and not args.from_savepoint:
        print("submit: --allow-non-restored-state needs --from-savepoint", file=sys.stderr)
        return 2
    argv, env = flink_run_command(args.job, args.job_args, args.detached, args.parallelism, args.from_savepoint,
                                  args.allow_non_restored_state)
    return subprocess.run(argv, env=env).returncode
