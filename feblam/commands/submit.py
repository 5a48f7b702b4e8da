"""`feblam submit`: run a PyFlink job file on the standalone cluster with `flink run -py`."""

from __future__ import annotations

import argparse
import os
import runpy
import subprocess
import sys
from pathlib import Path

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


def flink_run_command(job: Path, job_args: list[str], detached: bool = False, parallelism: int | None = None,
                      from_savepoint: str | None = None, allow_non_restored_state: bool = False,
                      flink_url: str | None = None) -> tuple[list[str], dict[str, str]]:
    """The `flink run -py` command line and environment for `job` on the cluster at
    `flink_url` (its REST address; default: the running stack's)."""
    from urllib.parse import urlsplit

    from feblam.flinkconf import flink_home, python_path_env
    from feblam.stack.java import java_home
    from feblam.stack.services import Flink
    from feblam.stack.settings import StackSettings

    settings = StackSettings.current()
    cluster = Flink(settings)
    cluster.write_config()
    rest = urlsplit(flink_url or settings.flink_rest_url)
    argv = ["bash", str(flink_home() / "bin" / "flink"), "run", "-m", f"{rest.hostname}:{rest.port or 8081}"]
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


def submit_detached(job: Path, job_args: list[str], parallelism: int | None = None) -> str:
    """Submit `job` with `job_args` to the running stack, detached; its JobID. Raises
    RuntimeError with the client's output when Flink did not accept it."""
    from feblam.stack.settings import PROJECT_ROOT

    argv, env = flink_run_command(job, ["--", *job_args], detached=True, parallelism=parallelism)
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300, cwd=PROJECT_ROOT)
    for line in result.stdout.splitlines():
        if "submitted with JobID" in line:
            return line.split()[-1]
    raise RuntimeError(f"{job.name}: submission failed (exit {result.returncode}):\n"
                       f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}")


def _strip_separator(job_args: list[str]) -> list[str]:
    return job_args[1:] if job_args[:1] == ["--"] else job_args


def wants_job_help(job_args: list[str]) -> bool:
    """True when the job's own --help was asked for (`feblam submit JOB -- --help`)."""
    return any(arg in HELP_FLAGS for arg in _strip_separator(job_args))


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
