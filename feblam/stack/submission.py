"""Submitting a PyFlink job file to the local stack's Flink cluster with `flink run -py`,
for `feblam submit` and for the tools that start jobs themselves (the benchmarks,
`feblam live`). The cluster's configuration is the stack's (`feblam.flinkconf`).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


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
    argv += ["-py", str(job.resolve()), "-pyexec", settings.python_executable, "--", *strip_separator(job_args)]
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


def strip_separator(job_args: list[str]) -> list[str]:
    return job_args[1:] if job_args[:1] == ["--"] else job_args
